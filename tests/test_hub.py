"""Tests of the Hub repository build (hub/): the folder a Hub user downloads, loaded where CTAM is NOT installed.

The model is a tiny CTAM (random xlm-roberta encoder: hidden 32, 2 layers, vocabulary 250,037) saved with the real
offline XLM-R tokenizer, so its outputs are random but must be identical for Unicode and Zawgyi input, and between
the pipeline, the Inference Endpoints handler and the card's manual-loading recipe. Everything a Hub user runs is
run in a fresh Python process whose import system refuses ``modeling_ctam`` (and ``hub``).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
import yaml
from transformers import AutoTokenizer

from modeling_ctam import CTAMConfig, CTAMForSequenceClassification
from modeling_ctam.hub import card as card_lib
from modeling_ctam.hub import prepare, push
from modeling_ctam.hub.record import HubBuildError

REPO_ROOT = Path(__file__).resolve().parent.parent

REPO_ID = "ctam/ctam-tiny-test"
LABELS = ["negative", "positive"]
TINY_ENCODER = dict(
    model_type="xlm-roberta",
    hidden_size=32,
    num_hidden_layers=2,
    num_attention_heads=2,
    intermediate_size=37,
    vocab_size=250037,
    max_position_embeddings=514,
    pad_token_id=1,
    bos_token_id=0,
    eos_token_id=2,
)
TRAIN_MAX_LENGTH = 64  # differs from the default 128: the build must carry the run's value into config.json
# A real Zawgyi line: the phrasebook row "How are you?" of lexicon/open-lexicon.my-en.zawgyi.tsv, and its Unicode.
PHRASEBOOK_ZAWGYI = "ေနေကာင္းရဲ႕လား။"
PHRASEBOOK_UNICODE = "နေကောင်းရဲ့လား။"


def _metrics_record() -> dict:
    """A metrics.json record as eval.py writes it (modeling_ctam.evaluation.metrics.metrics_record: scores, majority
    baseline, provenance fields), with the confusion matrix [[12, 23], [22, 286]] on the 343 binary GKLMIP dev
    reviews."""
    from modeling_ctam.evaluation.metrics import metrics_record

    references = [0] * 35 + [1] * 308
    predictions = [0] * 12 + [1] * 23 + [0] * 22 + [1] * 286
    return metrics_record(
        references,
        predictions,
        LABELS,
        model="/somewhere/runs/tiny",
        method="ctam",
        data="/somewhere/data/my/gklmip/product_sentiment_dataset_dev.json",
        data_name="product_sentiment_dataset_dev.json",
        split=None,
        label_scheme="binary",
        max_length=128,
    )


# ---------------------------------------------------------------------------------------------------------------------
# Fixtures
# ---------------------------------------------------------------------------------------------------------------------
def _tiny_model(labels, seed=0) -> CTAMForSequenceClassification:
    torch.manual_seed(seed)
    config = CTAMConfig(
        encoder_config=dict(TINY_ENCODER),
        num_labels=len(labels),
        id2label=dict(enumerate(labels)),
        label2id={name: i for i, name in enumerate(labels)},
        encoder_name_or_path="ctam/e5-small-offline",
        initializer_range=0.2,  # spread the random outputs, so that different inputs give visibly different scores
    )
    return CTAMForSequenceClassification(config).eval()


@pytest.fixture(scope="module")
def offline_tokenizer(offline_encoder_dir):
    return AutoTokenizer.from_pretrained(offline_encoder_dir)


@pytest.fixture(scope="module")
def tiny_model_dir(tmp_path_factory, offline_tokenizer) -> Path:
    """A trained-model folder as train.py leaves it: save_pretrained model + tokenizer, train_config, metrics."""
    folder = tmp_path_factory.mktemp("trained") / "tiny-ctam"
    model = _tiny_model(LABELS)
    model.ctam.set_word_boundaries(offline_tokenizer)
    # As `from_encoder_pretrained` leaves it: the encoder folder it loaded, a path of this machine.
    model.config.encoder_config._name_or_path = str(Path(offline_tokenizer.name_or_path).resolve())
    model.save_pretrained(folder)
    offline_tokenizer.save_pretrained(folder)
    # train_config.json as train.py writes it (the resolved configuration, the data summary, the versions).
    (folder / "train_config.json").write_text(
        json.dumps(
            {
                "config": {
                    "encoder": "ctam/e5-small-offline",
                    "preset": "ctam",
                    "setting": "zero-shot",
                    "labels": "binary",
                    "source_data": ["en/sst2/train.tsv", "en/mr"],
                    "max_source_examples": 2000,
                    "target_train": "my/gklmip/product_sentiment_dataset_train.json",
                    "target_dev": "my/gklmip/product_sentiment_dataset_dev.json",
                    "pairing": "random",
                    "max_length": TRAIN_MAX_LENGTH,
                    "word_ids": False,
                    "output_dir": str(folder),
                    "learning_rate": 2e-5,
                    "seed": 42,
                    "freeze_embeddings": True,
                },
                "model_config": {"id2label": {"0": "negative", "1": "positive"}},
                "data": {
                    "source_examples": 2000,
                    "source_labels": {"negative": 1000, "positive": 1000},
                    "dev_labels": {"negative": 35, "positive": 308},
                },
                "device": "cpu",
                "versions": {"torch": torch.__version__, "transformers": "5.24.0", "numpy": "2"},
            }
        )
    )
    # eval.py's output as docs/evaluation.md runs it (MODEL/eval-dev/metrics.json) wins over train.py's dev_metrics.
    (folder / "eval-dev").mkdir()
    (folder / "eval-dev" / "metrics.json").write_text(json.dumps(_metrics_record()))
    (folder / "dev_metrics.json").write_text(json.dumps({**_metrics_record(), "macro_f1": 0.1234}))
    (folder / "checkpoint-10").mkdir()  # training leftovers stay out of the Hub folder
    (folder / "checkpoint-10" / "optimizer.pt").write_bytes(b"not for the Hub")
    return folder


@pytest.fixture(scope="module")
def built(tmp_path_factory, tiny_model_dir):
    """`python hub/push.py --dry-run` (its `main`, in-process) on the tiny model; records the isolated check."""
    out = tmp_path_factory.mktemp("hub") / "repo"
    recorded = {}
    original = prepare.run_isolated_checks

    def recording(*args, **kwargs):
        recorded["checks"] = original(*args, **kwargs)
        return recorded["checks"]

    prepare.run_isolated_checks = recording
    try:
        code = push.main(
            [
                "--model",
                str(tiny_model_dir),
                "--repo-id",
                REPO_ID,
                "--dry-run",
                "--output-dir",
                str(out),
                "--space-dir",
                str(out.parent / "space"),
            ]
        )
    finally:
        prepare.run_isolated_checks = original
    assert code == 0
    return {"folder": out, "checks": recorded["checks"], "space": out.parent / "space"}


HUB_USER_SCRIPT = textwrap.dedent(r"""
    import importlib.abc, importlib.util, json, os, sys
    class Block(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in ("modeling_ctam", "hub"):
                raise ImportError(f"{name} is not importable for a Hub user")
    sys.meta_path.insert(0, Block())
    sys.path = [p for p in sys.path if p not in ("", ".")]
    import torch
    from transformers import (AutoModel, AutoModelForSequenceClassification, AutoTokenizer, TextClassificationPipeline,
                              pipeline)
    from transformers.dynamic_module_utils import get_class_from_dynamic_module

    folder, request, result_path = sys.argv[1:4]
    request = json.loads(open(request, encoding="utf-8").read())
    out = {}
    try:
        import modeling_ctam
        out["package_importable"] = True
    except ImportError:
        out["package_importable"] = False

    def logits(pipe, text):
        return {d["label"]: d["score"] for d in pipe(text, top_k=None, function_to_apply="none")}

    pipe = pipeline("text-classification", model=folder, trust_remote_code=True)
    out["pipeline_class"] = type(pipe).__name__
    out["model_module"] = type(pipe.model).__module__
    out["pairs"] = [{"unicode": logits(pipe, u), "zawgyi": logits(pipe, z),
                     "unicode_scores": pipe(u, top_k=None), "zawgyi_scores": pipe(z, top_k=None)}
                    for u, z in request["pairs"]]
    out["default_call"] = pipe(request["pairs"][0][0])
    texts = [t for pair in request["pairs"] for t in pair]
    out["one_by_one"] = [pipe(t, top_k=None) for t in texts]
    out["batched"] = pipe(texts, top_k=None, batch_size=4)
    out["task_none_class"] = type(pipeline(model=folder, tokenizer=pipe.tokenizer, trust_remote_code=True)).__name__

    # Control: transformers' stock pipeline feeds the raw Zawgyi to the tokenizer.
    stock = pipeline("text-classification", model=folder, tokenizer=pipe.tokenizer, trust_remote_code=True,
                     pipeline_class=TextClassificationPipeline)
    out["stock_class"] = type(stock).__name__
    out["stock_pairs"] = [{"unicode": logits(stock, u), "zawgyi": logits(stock, z)} for u, z in request["pairs"]]

    # handler.py, as Inference Endpoints use it.
    spec = importlib.util.spec_from_file_location("handler", os.path.join(folder, "handler.py"))
    handler_module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(handler_module)
    handler = handler_module.EndpointHandler(path=folder)
    out["handler_single"] = handler({"inputs": texts[1]})
    out["pipeline_single"] = pipe(texts[1])
    out["handler_batch"] = handler({"inputs": texts, "parameters": {"top_k": None}})
    out["pipeline_batch"] = pipe(texts, top_k=None)
    try:
        handler({"inputs": texts[0], "parameters": {"padding": "max_length"}})
        out["handler_refuses_unknown_parameter"] = False
    except ValueError:
        out["handler_refuses_unknown_parameter"] = True

    # The card's "without the pipeline" recipe.
    preprocess = get_class_from_dynamic_module("burmese.preprocess", folder)
    tokenizer = AutoTokenizer.from_pretrained(folder, trust_remote_code=True)
    model = AutoModelForSequenceClassification.from_pretrained(folder, trust_remote_code=True).eval()
    max_length = model.config.ctam_inference["max_length"]
    batch = tokenizer([preprocess(t) for t in texts], truncation=True, max_length=max_length, padding=True,
                      return_token_type_ids=False, return_tensors="pt")
    with torch.no_grad():
        manual = model(**batch).logits
    out["manual_logits"] = manual.tolist()
    out["manual_labels"] = [model.config.id2label[int(i)] for i in manual.argmax(-1)]
    out["max_length"] = max_length
    out["automodel_class"] = type(AutoModel.from_pretrained(folder, trust_remote_code=True)).__name__

    # A model trained with Burmese word_ids (config.ctam_inference["word_ids"]): the pipeline adds the segmenter's
    # word_ids, as the training collator does.
    pipe.model.config.ctam_inference = {**pipe.model.config.ctam_inference, "word_ids": True}
    batch_word_ids = get_class_from_dynamic_module("burmese.batch_word_ids", folder)
    out["word_ids"] = []
    for u, z in request["pairs"][:2]:
        enc = batch_word_ids(tokenizer, [preprocess(u)], max_length=max_length, return_tensors="pt")
        with torch.no_grad():
            direct = model(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"],
                           word_ids=enc["word_ids"]).logits[0].tolist()
        out["word_ids"].append({"unicode": logits(pipe, u), "zawgyi": logits(pipe, z), "direct": direct})
    firsts = [pair[0] for pair in request["pairs"]]
    out["word_ids_single"] = [pipe(t, top_k=None) for t in firsts]
    out["word_ids_batched"] = pipe(firsts, top_k=None, batch_size=4)
    with open(result_path, "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False)
""")


def _pairs() -> list[tuple[str, str]]:
    """(Unicode, Zawgyi) pairs: the widget sentences converted with python-myanmar, and a real phrasebook line."""
    pairs = [(e["text"], e["zawgyi"]) for e in card_lib.widget_examples()]
    pairs.append((PHRASEBOOK_UNICODE, PHRASEBOOK_ZAWGYI))
    return pairs


@pytest.fixture(scope="module")
def hub_user(built, tmp_path_factory):
    """What a Hub user gets from the built folder, computed in a process where CTAM cannot be imported."""
    tmp = tmp_path_factory.mktemp("hub-user")
    (tmp / "user.py").write_text(HUB_USER_SCRIPT)
    (tmp / "request.json").write_text(json.dumps({"pairs": _pairs()}, ensure_ascii=False), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(HF_MODULES_CACHE=str(tmp / "modules"), HF_HUB_OFFLINE="1")
    result = subprocess.run(
        [
            sys.executable,
            str(tmp / "user.py"),
            str(built["folder"]),
            str(tmp / "request.json"),
            str(tmp / "result.json"),
        ],
        cwd=tmp,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    return json.loads((tmp / "result.json").read_text(encoding="utf-8"))


def _by_label(scores: list[dict]) -> dict:
    return {s["label"]: s["score"] for s in scores}


def _card(folder: Path) -> dict:
    text = (folder / "README.md").read_text(encoding="utf-8")
    return yaml.safe_load(re.match(r"^---\n(.*?)\n---\n", text, flags=re.S).group(1))


# ---------------------------------------------------------------------------------------------------------------------
# The folder
# ---------------------------------------------------------------------------------------------------------------------
def test_dry_run_writes_the_complete_repository_folder(built, tiny_model_dir):
    folder = built["folder"]
    files = {p.name for p in folder.iterdir()}
    assert files == {
        "README.md",
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "tokenizer_config.json",
        "burmese.py",
        "pipeline_ctam.py",
        "handler.py",
        "requirements.txt",
        "modeling_ctam.py",
        "configuration_ctam.py",
        "vxlm.py",
        "dual_path.py",
        "domain.py",
        "ngram_head.py",
        "outputs_ctam.py",
        "loss_ctam.py",
        "tokenization_ctam.py",
    }
    assert prepare.check_hub_folder(folder) == []
    config = json.loads((folder / "config.json").read_text())
    assert config["auto_map"] == prepare.EXPECTED_AUTO_MAP
    assert config["custom_pipelines"]["text-classification"]["impl"] == "pipeline_ctam.CTAMTextClassificationPipeline"
    assert config["id2label"] == {"0": "negative", "1": "positive"}
    assert config["ctam_inference"] == {"max_length": TRAIN_MAX_LENGTH, "word_ids": False, "preprocess": True}
    assert config["encoder_name_or_path"] == "ctam/e5-small-offline"
    assert config["encoder_config"]["_name_or_path"] == "ctam/e5-small-offline"  # not the cache path
    # burmese.py is the package's own preprocessing, byte for byte; the templates are modeling_ctam/hub/templates/.
    import modeling_ctam

    package_dir = Path(modeling_ctam.__file__).parent
    templates = package_dir / "hub" / "templates"
    assert (folder / "burmese.py").read_bytes() == (package_dir / "data" / "burmese.py").read_bytes()
    assert (folder / "pipeline_ctam.py").read_bytes() == (templates / "pipeline_ctam.py").read_bytes()
    assert (folder / "handler.py").read_bytes() == (templates / "handler.py").read_bytes()
    requirements = (folder / "requirements.txt").read_text().splitlines()
    for name in ("myanmartools", "burmesenlp", "torch"):
        assert any(line.startswith(name) for line in requirements), requirements
    assert "transformers>=5.20,<6" in requirements
    tokenizer_config = json.loads((folder / "tokenizer_config.json").read_text())
    assert "is_local" not in tokenizer_config and tokenizer_config["tokenizer_class"] == "CTAMTokenizer"
    assert tokenizer_config["auto_map"]["AutoTokenizer"][0] == "tokenization_ctam.CTAMTokenizer"
    assert (folder / "tokenization_ctam.py").read_bytes() == (
        package_dir / "data" / "tokenization_ctam.py"
    ).read_bytes()
    # No path of this machine (the trained folder, the output, the home folder) in any text file.
    for path in folder.iterdir():
        if path.suffix in (".json", ".py", ".md", ".txt") and path.name != "tokenizer.json":  # (vocabulary)
            text = path.read_text(encoding="utf-8")
            for machine_path in (str(tiny_model_dir), str(tiny_model_dir.parent), str(folder), str(Path.home())):
                assert machine_path not in text, (path.name, machine_path)


def test_weights_are_safetensors_holding_the_trained_tensors(built, tiny_model_dir):
    from safetensors.torch import load_file

    built_weights = load_file(built["folder"] / "model.safetensors")
    trained = load_file(tiny_model_dir / "model.safetensors")
    assert built_weights.keys() == trained.keys()
    for key in trained:
        assert torch.equal(built_weights[key], trained[key]), key
    assert not any(p.suffix in (".bin", ".pt", ".pkl") for p in built["folder"].iterdir())


def test_model_card_metadata(built):
    folder = built["folder"]
    meta = _card(folder)
    assert meta["library_name"] == "transformers"
    assert meta["pipeline_tag"] == "text-classification"
    assert meta["language"] == ["my", "en"]
    assert meta["base_model"] == "intfloat/multilingual-e5-small"
    assert meta["license"] == "apache-2.0"
    assert meta["datasets"][0] == "SEACrowd/gklmip_sentiment"
    assert {"stanfordnlp/sst2", "cornell-movie-review-data/rotten_tomatoes"} <= set(meta["datasets"])
    # model-index results are metrics.json's, parsed back by huggingface_hub.
    from huggingface_hub import ModelCard

    metrics = _metrics_record()
    results = {r.metric_name: r for r in ModelCard.load(folder / "README.md").data.eval_results}
    assert results["Macro F1"].metric_value == round(metrics["macro_f1"], 4)
    assert results["Macro F1"].metric_args == {"average": "macro"}
    assert results["Weighted F1"].metric_value == round(metrics["weighted_f1"], 4)
    assert results["Accuracy"].metric_value == round(metrics["accuracy"], 4) == round(298 / 343, 4)
    assert results["Macro F1"].dataset_type == "SEACrowd/gklmip_sentiment"
    assert results["Macro F1"].dataset_split == "validation"
    body = (folder / "README.md").read_text(encoding="utf-8")
    for needle in (
        "trust_remote_code=True",
        "revision=",
        "rebuilt from the 4-bit",
        "Inference Endpoints",
        "Space",
        "0.95",
        "2,151 positive",
        "@article{zhou2025ctam",
        "jiang2021gklmip",
        "artetxe2018robust",
        "conneau2020xlmr",
        "ganin2016dann",
        "| **negative** | 12 | 23 |",
        "| learning rate | 2e-05 |",
        "product_sentiment_dataset_dev.json`, 343 reviews",
        "| English data | en/sst2/train.tsv, en/mr |",
        "always `positive`): macro-F1 0.4731, accuracy 0.8980",
        "scored with inputs truncated at 128 tokens; the pipeline truncates at 64",
    ):
        assert needle in body, needle
    assert "<commit-sha>" in body  # the dry run cannot know the commit; push.py pins it after uploading
    assert "/somewhere" not in body  # paths from the metrics record stay out of the card


def test_widget_examples_carry_the_outputs_the_model_gives(built, hub_user):
    widget = _card(built["folder"])["widget"]
    examples = card_lib.widget_examples()
    assert len(widget) == len(examples) + 1  # one extra: a Zawgyi-encoded example
    for entry, pair in zip(widget[: len(examples)], hub_user["pairs"][: len(examples)]):
        expected = [{"label": s["label"], "score": round(s["score"], 4)} for s in pair["unicode_scores"]]
        assert entry["output"] == expected
        assert re.search("[\u1000-\u109f]", entry["text"])
    zawgyi_entry = widget[-1]
    assert "Zawgyi" in zawgyi_entry["example_title"]
    assert zawgyi_entry["text"] == examples[card_lib.ZAWGYI_WIDGET_INDEX]["zawgyi"]
    assert zawgyi_entry["output"] == widget[card_lib.ZAWGYI_WIDGET_INDEX]["output"]
    assert {o["label"] for e in widget for o in e["output"]} == set(LABELS)


# ---------------------------------------------------------------------------------------------------------------------
# What a Hub user gets (fresh process, CTAM package not importable)
# ---------------------------------------------------------------------------------------------------------------------
def test_hub_user_process_cannot_import_the_package(hub_user):
    assert hub_user["package_importable"] is False
    assert hub_user["model_module"].startswith("transformers_modules.")
    assert hub_user["pipeline_class"] == "CTAMTextClassificationPipeline"
    assert hub_user["task_none_class"] == "CTAMTextClassificationPipeline"
    assert hub_user["automodel_class"] == "CTAMModel"


def test_pipeline_returns_named_labels_and_the_same_result_for_unicode_and_zawgyi(hub_user):
    assert hub_user["default_call"][0]["label"] in LABELS
    for pair in hub_user["pairs"]:
        assert set(pair["unicode"]) == set(LABELS)
        assert pair["zawgyi"] == pair["unicode"]  # raw logits, exactly
        assert pair["zawgyi_scores"] == pair["unicode_scores"]
    # Different sentences get different outputs, so the equality above is not a constant model's.
    assert len({json.dumps(p["unicode"], sort_keys=True) for p in hub_user["pairs"]}) == len(hub_user["pairs"])


def test_stock_pipeline_converts_zawgyi_too_through_the_tokenizer(hub_user):
    """transformers' stock pipeline hands the raw Zawgyi to the tokenizer; the repository's CTAMTokenizer converts it,
    so the stock pipeline agrees with the custom one."""
    assert hub_user["stock_class"] == "TextClassificationPipeline"
    for stock, ours in zip(hub_user["stock_pairs"], hub_user["pairs"]):
        assert stock["unicode"] == pytest.approx(ours["unicode"], abs=1e-6)
        assert stock["zawgyi"] == pytest.approx(stock["unicode"], abs=1e-6)


def test_batched_calls_give_the_one_by_one_results(hub_user):
    assert len(hub_user["batched"]) == len(hub_user["one_by_one"]) == 2 * len(hub_user["pairs"])
    for batched, single in zip(hub_user["batched"], hub_user["one_by_one"]):
        assert _by_label(batched) == pytest.approx(_by_label(single), abs=1e-5)


def test_pipeline_adds_segmenter_word_ids_when_the_model_was_trained_with_them(hub_user):
    for row in hub_user["word_ids"]:
        assert row["zawgyi"] == row["unicode"]
        assert [row["unicode"][label] for label in LABELS] == pytest.approx(row["direct"], abs=1e-6)
    assert len(hub_user["word_ids_batched"]) == len(hub_user["word_ids_single"]) == len(hub_user["pairs"])
    for batched, single in zip(hub_user["word_ids_batched"], hub_user["word_ids_single"]):
        assert _by_label(batched) == pytest.approx(_by_label(single), abs=1e-5)


def test_handler_returns_what_the_pipeline_returns(hub_user):
    assert hub_user["handler_single"] == hub_user["pipeline_single"]
    assert hub_user["handler_batch"] == hub_user["pipeline_batch"]
    assert hub_user["handler_refuses_unknown_parameter"] is True


def test_handler_and_pipeline_refuse_empty_text_and_out_of_range_max_length(built, tmp_path):
    """An empty or whitespace-only text has no sentiment: refused, never scored. max_length must be 1..the model's
    limit (the tokenizer's model_max_length, 512 here)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("ctam_hub_handler", built["folder"] / "handler.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    handler = module.EndpointHandler(str(built["folder"]))
    for inputs in ("", "   \n\t ", ["ကောင်းတယ်", " "]):
        with pytest.raises(ValueError, match="empty or whitespace-only"):
            handler({"inputs": inputs})
    for value in (2000, -1, 0, "64", 1.5):
        with pytest.raises(ValueError, match=r"max_length.* must be an integer from 1 to 512"):
            handler({"inputs": "ကောင်းတယ်", "parameters": {"max_length": value}})
    assert handler({"inputs": "ကောင်းတယ်", "parameters": {"max_length": 16}})[0]["label"] in LABELS
    for text in ("", "  ", "\u200b\u200b"):
        with pytest.raises(ValueError, match="CTAM pipeline: a text"):
            handler.pipeline(text)


def test_card_manual_recipe_matches_the_pipeline(hub_user):
    assert hub_user["max_length"] == TRAIN_MAX_LENGTH
    expected = [max(s, key=lambda d: d["score"])["label"] for s in hub_user["one_by_one"]]
    assert hub_user["manual_labels"] == expected
    pipeline_logits = [p[k] for p in hub_user["pairs"] for k in ("unicode", "zawgyi")]
    for manual, ours in zip(hub_user["manual_logits"], pipeline_logits):
        assert manual == pytest.approx([ours[label] for label in LABELS], abs=1e-5)


def test_build_checked_the_same_things_in_its_own_isolated_process(built):
    checks = built["checks"]
    assert checks["errors"] == {}
    assert checks["package_blocked"] is True
    assert checks["model"]["missing_keys"] == checks["model"]["unexpected_keys"] == []


# ---------------------------------------------------------------------------------------------------------------------
# Refusals and checks that must fire
# ---------------------------------------------------------------------------------------------------------------------
def test_training_record_picks_the_evaluation_to_report(tmp_path):
    assert prepare.read_training_record(tmp_path).metrics is None
    (tmp_path / "dev_metrics.json").write_text('{"macro_f1": 0.1}')
    assert prepare.read_training_record(tmp_path).metrics_source == "dev_metrics.json"
    (tmp_path / "eval-dev").mkdir()
    (tmp_path / "eval-dev" / "metrics.json").write_text('{"macro_f1": 0.2}')
    assert prepare.read_training_record(tmp_path).metrics == {"macro_f1": 0.2}
    (tmp_path / "eval-test").mkdir()
    (tmp_path / "eval-test" / "metrics.json").write_text('{"macro_f1": 0.3}')
    with pytest.raises(HubBuildError, match="several eval.py results.*--metrics"):
        prepare.read_training_record(tmp_path)
    chosen = prepare.read_training_record(tmp_path, tmp_path / "eval-test" / "metrics.json")
    assert chosen.metrics == {"macro_f1": 0.3}
    (tmp_path / "metrics.json").write_text('{"macro_f1": 0.4}')
    assert prepare.read_training_record(tmp_path).metrics == {"macro_f1": 0.4}
    with pytest.raises(HubBuildError, match="does not exist"):
        prepare.read_training_record(tmp_path, tmp_path / "nope.json")


def test_card_reports_warmup_under_the_current_and_the_old_key():
    # train.py records TrainingArguments' `warmup_steps` (a fraction of the run below 1); runs from before the move to
    # HfArgumentParser recorded `warmup`. The card shows either, under one label.
    current = dict(card_lib.training_rows({"config": {"warmup_steps": 0.1, "learning_rate": 2e-5}}, {}))
    assert current["warmup"] == "0.1"
    old = dict(card_lib.training_rows({"config": {"warmup": 0.06}}, {}))
    assert old["warmup"] == "0.06"


def test_card_shows_the_two_stage_budget_instead_of_the_joint_one():
    record = {
        "config": {
            "recipe": "two-stage",
            "stage1_steps": 60,
            "stage2_steps": 90,
            "max_steps": -1,
            "num_train_epochs": 3,
            "pairing": "random",
            "metric_for_best_model": "macro_f1",
            "heldout_data": "en/uci_sentiment_labelled/imdb_labelled.txt",
            "match_prior": False,
        }
    }
    rows = dict(card_lib.training_rows(record, {}))
    assert rows["recipe"] == "two-stage" and rows["stage-1 steps"] == "60" and rows["stage-2 steps"] == "90"
    assert (
        rows["prior's held-out English"].endswith("imdb_labelled.txt")
        and rows["decision at the target prior"] == "False"
    )
    assert not {"epochs", "max_steps", "pairing", "model selection"} & set(rows)  # the joint run's keys, unused here
    joint = dict(card_lib.training_rows({"config": dict(record["config"], recipe="joint")}, {}))
    assert joint["max_steps"] == "-1" and joint["pairing"] == "random"


def test_build_refuses_generic_label_names(tmp_path):
    model = _tiny_model(["LABEL_0", "LABEL_1"])
    model.save_pretrained(tmp_path / "model")
    with pytest.raises(HubBuildError, match="LABEL_0.*--labels"):
        prepare.build_hub_folder(tmp_path / "model", tmp_path / "out", repo_id=REPO_ID)
    with pytest.raises(HubBuildError, match="--labels gives 3 names"):
        prepare.build_hub_folder(tmp_path / "model", tmp_path / "out2", repo_id=REPO_ID, labels=["a", "b", "c"])


def test_build_refuses_a_local_encoder_path_without_base_model(tmp_path):
    with pytest.raises(HubBuildError, match="--base-model"):
        prepare.resolve_base_model(str(tmp_path), None)
    assert prepare.resolve_base_model("FacebookAI/xlm-roberta-base") == ("FacebookAI/xlm-roberta-base", None)
    base, note = prepare.resolve_base_model("ctam/e5-small-offline")
    assert base == "intfloat/multilingual-e5-small" and "4-bit" in note


def test_build_refuses_a_non_empty_output_dir_and_the_model_dir(built, tiny_model_dir, tmp_path):
    with pytest.raises(HubBuildError, match="not empty"):
        prepare.build_hub_folder(tiny_model_dir, built["folder"], repo_id=REPO_ID)
    with pytest.raises(HubBuildError, match="must not be the model folder"):
        prepare.build_hub_folder(tiny_model_dir, tiny_model_dir, repo_id=REPO_ID, overwrite=True)
    assert (tiny_model_dir / "model.safetensors").is_file()


def test_folder_check_catches_pickles_missing_files_paths_and_tokens(built, tmp_path):
    folder = tmp_path / "repo"
    shutil.copytree(built["folder"], folder)
    (folder / "training_args.bin").write_bytes(b"pickle")
    (folder / "handler.py").unlink()
    config = json.loads((folder / "config.json").read_text())
    config["id2label"] = {"0": "LABEL_0", "1": "LABEL_1"}
    config["encoder_name_or_path"] = str(tmp_path / "encoder")
    del config["custom_pipelines"]
    (folder / "config.json").write_text(json.dumps(config))
    (folder / "requirements.txt").write_text("transformers>=5.20\n")
    (folder / "notes.txt").write_text("token hf_" + "a" * 34)
    problems = "\n".join(prepare.check_hub_folder(folder, forbidden_strings=[str(tmp_path)]))
    for needle in (
        "missing handler.py",
        "training_args.bin is not a safe file format",
        "named labels",
        "custom_pipelines",
        "requirements.txt lacks",
        "machine path",
        "looks like a Hugging Face token",
    ):
        assert needle in problems, needle


def test_card_check_catches_bad_metadata(built, tmp_path):
    config = json.loads((built["folder"] / "config.json").read_text())
    text = (built["folder"] / "README.md").read_text(encoding="utf-8")
    meta = _card(built["folder"])
    body = text.split("\n---\n", 1)[1]

    def problems_with(changes: dict, drop=(), body_text=body) -> str:
        data = {k: v for k, v in meta.items() if k not in drop}
        data.update(changes)
        path = tmp_path / "README.md"
        path.write_text(
            "---\n" + yaml.safe_dump(data, allow_unicode=True, sort_keys=False) + "---\n" + body_text, encoding="utf-8"
        )
        return "\n".join(card_lib.check_card(path, config))

    assert problems_with({}) == ""
    assert "library_name" in problems_with({}, drop=("library_name",))
    assert "pipeline_tag" in problems_with({"pipeline_tag": "fill-mask"})
    assert "language" in problems_with({"language": ["my"]})
    assert "base_model" in problems_with({"base_model": "/models/e5"})
    bad_widget = [
        {
            "text": meta["widget"][0]["text"],
            "output": [{"label": "LABEL_0", "score": 0.7}, {"label": "LABEL_1", "score": 0.3}],
        }
    ]
    assert "LABEL_i" in problems_with({"widget": bad_widget})
    assert "not Burmese" in problems_with({"widget": [{"text": "great", "output": meta["widget"][0]["output"]}]})
    broken_index = [{"name": "x", "results": [{"task": {"type": "text-classification"}, "metrics": "oops"}]}]
    assert "does not parse" in problems_with({"model-index": broken_index})
    assert "revision" in problems_with({}, body_text=body.replace("revision=", "rev="))


def test_token_free_push_uploads_with_create_repo_and_upload_folder(built, tiny_model_dir, monkeypatch, capsys):
    """The real upload path, with the Hub calls replaced: create_repo, upload_folder, then the pinned card."""
    import huggingface_hub

    secret = "hf_" + "S" * 34
    monkeypatch.setenv("HF_TOKEN", secret)
    calls = []

    class FakeApi:
        def __init__(self, *args, **kwargs):
            calls.append(("init", kwargs))

        def whoami(self):
            return {"name": "tester"}

        def create_repo(self, repo_id, **kwargs):
            calls.append(("create_repo", repo_id, kwargs))
            return huggingface_hub.RepoUrl(f"https://huggingface.co/{repo_id}")

        def create_branch(self, repo_id, **kwargs):
            calls.append(("create_branch", repo_id, kwargs))

        def upload_folder(self, **kwargs):
            calls.append(("upload_folder", kwargs, sorted(p.name for p in Path(kwargs["folder_path"]).iterdir())))
            return type("Commit", (), {"oid": "0123456789abcdef0123456789abcdef01234567"})()

        def upload_file(self, **kwargs):
            calls.append(("upload_file", kwargs, Path(kwargs["path_or_fileobj"]).read_text(encoding="utf-8")))

    monkeypatch.setattr(huggingface_hub, "HfApi", FakeApi)
    monkeypatch.setattr(huggingface_hub.ModelCard, "validate", lambda self, repo_type=None: None)  # network-only
    monkeypatch.setattr(prepare, "run_isolated_checks", lambda *a, **k: built["checks"])  # checked by `built`
    code = push.main(
        [
            "--model",
            str(tiny_model_dir),
            "--repo-id",
            REPO_ID,
            "--private",
            "--revision",
            "v1",
            "--commit-message",
            "first upload",
        ]
    )
    assert code == 0
    names = [c[0] for c in calls]
    assert names == ["init", "create_repo", "create_branch", "upload_folder", "upload_file"]
    assert calls[1][2]["private"] is True
    upload = calls[3][1]
    assert upload["repo_id"] == REPO_ID and upload["revision"] == "v1" and upload["commit_message"] == "first upload"
    assert calls[3][2] == sorted(p.name for p in built["folder"].iterdir())
    pinned = calls[4][2]
    assert calls[4][1]["path_in_repo"] == "README.md" and calls[4][1]["revision"] == "v1"
    assert 'REVISION = "0123456789abcdef0123456789abcdef01234567"' in pinned and "<commit-sha>" not in pinned
    output = capsys.readouterr()
    assert secret not in output.out + output.err


def test_dry_run_writes_the_demo_space_beside_the_model_and_the_card_links_it(built):
    """--space-dir: the Gradio app of hub/space/, its metadata naming the model, the package beside it."""
    import modeling_ctam

    space = built["space"]
    assert {p.name for p in space.iterdir()} == {
        "app.py",
        "requirements.txt",
        "README.md",
        "space_config.json",
        "modeling_ctam",
    }
    assert (space / "app.py").read_bytes() == (REPO_ROOT / "hub" / "space" / "app.py").read_bytes()
    assert json.loads((space / "space_config.json").read_text()) == {"model": REPO_ID, "revision": None}
    header = yaml.safe_load((space / "README.md").read_text(encoding="utf-8").split("---")[1])
    assert header["sdk"] == "gradio" and header["app_file"] == "app.py" and header["models"] == [REPO_ID]
    assert len(header["short_description"]) <= 60  # the Hub refuses longer ones
    assert re.fullmatch(r"\d+\.\d+\.\d+", str(header["sdk_version"]))
    assert "{{" not in (space / "README.md").read_text(encoding="utf-8")
    package = Path(modeling_ctam.__file__).parent
    for parts in (("data", "burmese.py"), ("data", "readers.py"), ("hub", "demo.py"), ("__init__.py",)):
        assert (space / "modeling_ctam").joinpath(*parts).read_bytes() == package.joinpath(*parts).read_bytes()
    assert not list((space / "modeling_ctam").rglob("__pycache__"))
    # `python app.py` in the Space imports the package beside it, and reads its model from space_config.json
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "import app, modeling_ctam; print(modeling_ctam.__file__); "
            "a = app.parse_args([]); print(a.model, a.revision)",
        ],
        cwd=space,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert probe.returncode == 0, probe.stderr[-2000:]
    assert probe.stdout.splitlines()[-2] == str(space / "modeling_ctam" / "__init__.py")
    assert probe.stdout.splitlines()[-1] == f"{REPO_ID} None"
    # the Space installs what the package needs (pyproject.toml's dependencies)
    import tomllib

    wanted = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    listed = [line for line in (space / "requirements.txt").read_text().splitlines() if line and line[0] != "#"]
    assert listed == wanted
    card = (built["folder"] / "README.md").read_text(encoding="utf-8")
    assert f"https://huggingface.co/spaces/{REPO_ID}-demo" in card


def test_push_space_uploads_the_space_pinned_to_the_model_commit(built, tiny_model_dir, tmp_path, monkeypatch):
    import huggingface_hub

    calls = []
    sha = "0123456789abcdef0123456789abcdef01234567"

    class FakeApi:
        def __init__(self, *args, **kwargs):
            """Takes the real HfApi's arguments (token, endpoint) and needs none of them."""

        def whoami(self):
            return {"name": "tester"}

        def create_repo(self, repo_id, **kwargs):
            calls.append(("create_repo", repo_id, kwargs))
            return huggingface_hub.RepoUrl(f"https://huggingface.co/{repo_id}")

        def upload_folder(self, **kwargs):
            config = Path(kwargs["folder_path"]) / "space_config.json"
            calls.append(("upload_folder", kwargs, json.loads(config.read_text()) if config.exists() else None))
            return type("Commit", (), {"oid": sha})()

        def upload_file(self, **kwargs):
            calls.append(("upload_file", kwargs, Path(kwargs["path_or_fileobj"]).read_text(encoding="utf-8")))

    monkeypatch.setattr(huggingface_hub, "HfApi", FakeApi)
    monkeypatch.setattr(huggingface_hub.ModelCard, "validate", lambda self, repo_type=None: None)  # network-only
    monkeypatch.setattr(prepare, "run_isolated_checks", lambda *a, **k: built["checks"])  # checked by `built`
    space_dir = tmp_path / "space"
    code = push.main(
        [
            "--model",
            str(tiny_model_dir),
            "--repo-id",
            REPO_ID,
            "--space-dir",
            str(space_dir),
            "--space-id",
            "ctam/tiny-demo",
            "--push-space",
        ]
    )
    assert code == 0
    assert [c[0] for c in calls] == ["create_repo", "upload_folder", "upload_file", "create_repo", "upload_folder"]
    assert calls[3][1] == "ctam/tiny-demo" and calls[3][2]["repo_type"] == "space"
    assert calls[3][2]["space_sdk"] == "gradio"
    assert calls[4][1]["repo_type"] == "space" and calls[4][2] == {"model": REPO_ID, "revision": sha}
    assert json.loads((space_dir / "space_config.json").read_text())["revision"] == sha  # kept beside, pinned
    assert "https://huggingface.co/spaces/ctam/tiny-demo" in calls[2][2]  # the pinned card links the Space


def test_cli_runs_as_a_script_and_checks_its_arguments(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    ok = subprocess.run(
        [sys.executable, str(REPO_ROOT / "hub" / "push.py"), "--help"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ok.returncode == 0 and "--dry-run" in ok.stdout
    bad = subprocess.run(
        [sys.executable, str(REPO_ROOT / "hub" / "push.py"), "--model", "m", "--repo-id", "a/b", "--dry-run"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 2 and "--dry-run needs --output-dir" in bad.stderr
    module = subprocess.run(
        [sys.executable, "-m", "modeling_ctam.hub.push", "--help"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert module.returncode == 0 and "python -m modeling_ctam.hub.push" in module.stdout


def test_the_folder_can_ship_the_int8_onnx_graph_beside_the_safetensors(built, tiny_model_dir, tmp_path, monkeypatch):
    pytest.importorskip("onnxruntime")
    from modeling_ctam.serving import load_classifier

    # the isolated load gives what it gave for the same model in `built` (the ONNX files do not take part in it)
    monkeypatch.setattr(prepare, "run_isolated_checks", lambda *args, **kwargs: built["checks"])
    folder = tmp_path / "repo"
    report = prepare.build_hub_folder(tiny_model_dir, folder, repo_id=REPO_ID, onnx=True)
    assert set(report.files) - {p.name for p in built["folder"].iterdir()} == {
        "model_quantized.onnx",
        "ctam_onnx.json",
    }
    assert prepare.check_hub_folder(folder) == []
    assert "`model_quantized.onnx` beside the safetensors" in (folder / "README.md").read_text(encoding="utf-8")
    classifier = load_classifier(folder, "onnx")  # the Hub folder is an ONNX folder too
    assert classifier.label_names == LABELS and classifier.max_length == TRAIN_MAX_LENGTH
    (folder / "model_quantized.onnx").unlink()
    assert any("ctam_onnx.json names" in p for p in prepare.check_hub_folder(folder))
    assert push.parse_args(["--model", "m", "--repo-id", "a/b", "--dry-run", "--output-dir", "o", "--onnx"]).onnx
