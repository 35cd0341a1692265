"""Tests of train.py and modeling_ctam.training: configuration files and overrides through HfArgumentParser, presets,
settings, end-to-end runs on a tiny random encoder (the real offline tokenizer, real GKLMIP / SST-2 rows), resume after
a SIGKILL, and a 2-process DDP run."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pytest
import torch
from tiny_runs import slow_train_script

import modeling_ctam.training as T
from modeling_ctam.utils.paths import data_dir

REPO = Path(__file__).resolve().parent.parent

GKLMIP = ("my", "gklmip")
SST2_DEV = data_dir() / "en" / "sst2" / "dev.tsv"

needs_data = pytest.mark.skipif(
    not (data_dir() / "my" / "gklmip").is_dir(), reason="shared data folder not found (set CTAM_DATA_DIR)"
)


# ----------------------------------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="session")
def small_data(tmp_path_factory) -> dict[str, str]:
    """Real GKLMIP rows, fewer of them (Burmese preprocessing dominates load time): every 12th train row and every 4th
    dev row (the files are sorted by stars), in the original file format and names."""
    if not (data_dir() / "my" / "gklmip").is_dir():
        pytest.skip("shared data folder not found (set CTAM_DATA_DIR)")
    out = tmp_path_factory.mktemp("gklmip")
    paths = {}
    for split, step in (("train", 12), ("dev", 4)):
        name = f"product_sentiment_dataset_{split}.json"
        rows = json.loads((data_dir().joinpath(*GKLMIP) / name).read_text(encoding="utf-8"))[::step]
        (out / name).write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
        paths[split] = str(out / name)
    paths["source"] = str(SST2_DEV)
    return paths


def _tiny_overrides(encoder: str, data: dict[str, str], **extra) -> dict:
    cfg = dict(
        encoder=encoder,
        source_data=[data["source"]],
        max_source_examples=32,
        target_train=data["train"],
        target_dev=data["dev"],
        max_length=24,
        max_steps=4,
        per_device_train_batch_size=4,
        per_device_eval_batch_size=32,
        learning_rate=1e-3,
        logging_steps=1,
        eval_strategy="steps",
        eval_steps=2,
        save_strategy="steps",
        save_steps=2,
        use_cpu=True,
        disable_tqdm=True,
        seed=3,
    )
    cfg.update(extra)
    return cfg


def _write_yaml(path: Path, flat: dict) -> Path:
    import yaml

    path.write_text(yaml.safe_dump(flat), encoding="utf-8")
    return path


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("OMP_NUM_THREADS", "1")
    env["TOKENIZERS_PARALLELISM"] = "false"
    return env


def _run(cmd: list[str], timeout: int = 240) -> subprocess.CompletedProcess:
    result = subprocess.run(cmd, cwd=REPO, env=_env(), capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"{' '.join(cmd)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-6000:]}"
    return result


def _kill_after_first_checkpoint(tmp_path: Path, config: Path, out: Path, folder: Path, timeout: int = 240) -> int:
    """Start train.py's CLI (each step slowed), SIGKILL it once `folder` holds a complete checkpoint; its step."""
    slow = slow_train_script(tmp_path, 1.0)
    process = subprocess.Popen(
        [sys.executable, str(slow), "--config", str(config), "--output-dir", str(out)],
        cwd=REPO,
        env=_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.time() + timeout
    try:
        while T.find_last_checkpoint(folder) is None:
            assert process.poll() is None, f"training ended before a checkpoint: {process.stderr.read()[-3000:]}"
            assert time.time() < deadline, f"no checkpoint in {folder} within {timeout} s"
            time.sleep(0.2)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    return int(T.find_last_checkpoint(folder).rsplit("-", 1)[1])


# ----------------------------------------------------------------------------------------------------- config parsing
def test_config_file_groups_flat_keys_and_command_line_overrides(tmp_path):
    config = tmp_path / "run.yaml"
    config.write_text(
        "model:\n  preset: vxlm\n  ctam: {lambda_cls: 0.5}\n"
        "data:\n  max-length: 48\n  source_data: en/uci_sentiment_labelled/yelp_labelled.txt\n"
        "learning_rate: 3.0e-5\nseed: 7\n",
        encoding="utf-8",
    )
    cfg = T.load_config(
        config,
        [
            "--seed",
            "11",
            "--training.max_steps=20",
            "--ctam.grl_schedule",
            "constant",
            "--max-source-examples",
            "null",
            "--source_data",
            "[a.tsv, b.tsv]",
            "--bf16",
            "--use-cpu",
            "--resume_from_checkpoint",
            "--training_args.optim",
            "adafactor",
        ],
    )
    model, data, training = cfg.model, cfg.data, cfg.training
    assert model.preset == "vxlm" and data.max_length == 48 and training.learning_rate == 3e-5
    assert training.seed == 11 and training.max_steps == 20 and data.max_source_examples is None
    assert training.bf16 is True
    assert model.ctam == {"lambda_cls": 0.5, "grl_schedule": "constant"}  # file and command line merge
    assert data.source_data == ["a.tsv", "b.tsv"]
    assert training.resume_from_checkpoint == "latest"  # a bare flag means the newest checkpoint
    assert training.optim == "adafactor"  # --training_args.<field> sets the TrainingArguments field
    # JSON works the same, and a single path becomes a one-element list
    as_json = tmp_path / "run.json"
    as_json.write_text(json.dumps({"data": {"source_data": "x.tsv"}, "warmup_steps": 20}), encoding="utf-8")
    cfg = T.load_config(as_json)
    assert cfg.data.source_data == ["x.tsv"] and cfg.training.warmup_steps == 20


def test_yaml_groups_and_every_command_line_form_reach_the_dataclasses(tmp_path):
    """HfArgumentParser: grouped YAML keys, then --key value / --key=value / --group.key / dashes / bare flags /
    a,b lists / null / TrainingArguments fields set directly, with CTAM's defaults where nothing is given."""
    config = tmp_path / "run.yaml"
    config.write_text(
        "model:\n  encoder: some/encoder\n  freeze_layers: 3\n  alignment_args: {vocab_size: 100}\n"
        "data:\n  setting: few-shot\n  few_shot_n: 4\n  source_data: [a.tsv]\n"
        "training:\n  eval_strategy: steps\n  eval_steps: 5\n  save_strategy: best\n  num_train_epochs: 2\n"
        "  path_by_path_backward: true\n"
        "hub:\n  hub_model_id: me/ctam\n",
        encoding="utf-8",
    )
    cfg = T.load_config(
        config,
        [
            "--few-shot-n=7",
            "--data.max_length",
            "32",
            "--freeze_layers",
            "2",
            "--source_data",
            "a.tsv,b.tsv",
            "--alignment_args.max-sentences",
            "10",
            "--lr_scheduler_type",
            "cosine",
            "--word_ids",
            "--max_source_examples",
            "null",
            "--hub.push_to_hub",
            "--no-balance-source",
            "--output-dir",
            str(tmp_path / "out"),
        ],
    )
    model, data, run, training = cfg.model, cfg.data, cfg.run, cfg.training
    assert (model.encoder, model.freeze_layers) == ("some/encoder", 2)  # the command line wins over the file
    assert model.alignment_args == {"vocab_size": 100, "max_sentences": 10}
    assert (data.setting, data.few_shot_n, data.max_length, data.word_ids) == ("few-shot", 7, 32, True)
    assert data.source_data == ["a.tsv", "b.tsv"] and data.max_source_examples is None
    assert data.balance_source is False  # HfArgumentParser's --no_<flag> for a flag that defaults to true
    assert run.path_by_path_backward is True
    assert training.eval_strategy == "steps" and training.eval_steps == 5 and training.save_strategy == "best"
    assert training.num_train_epochs == 2 and training.lr_scheduler_type == "cosine"
    assert training.push_to_hub is True and training.hub_model_id == "me/ctam"
    assert training.output_dir == str(tmp_path / "out")
    # CTAM's TrainingArguments defaults (not transformers'), and the values CTAM fixes or derives
    assert training.per_device_train_batch_size == 16 and training.learning_rate == 2e-5
    assert training.warmup_steps == 0.1 and training.metric_for_best_model == "macro_f1"
    assert training.load_best_model_at_end is True and training.save_total_limit == 2
    assert training.remove_unused_columns is False and training.label_names == ["labels"]
    assert training.data_seed == training.seed == 42 and training.greater_is_better is True
    # every key of every group lands in the one flat record train_config.json writes
    flat = cfg.to_dict()
    assert flat["few_shot_n"] == 7 and flat["freeze_layers"] == 2 and flat["eval_steps"] == 5
    assert flat["path_by_path_backward"] is True and flat["lr_scheduler_type"] == "cosine"


def test_a_deprecated_key_is_accepted_with_a_message_naming_the_new_key(tmp_path):
    config = tmp_path / "old.yaml"
    config.write_text("training:\n  warmup: 20\n", encoding="utf-8")
    with pytest.warns(FutureWarning, match="'warmup' is deprecated; use 'warmup_steps'"):
        cfg = T.load_config(config)
    assert cfg.training.warmup_steps == 20
    with pytest.warns(FutureWarning, match="'warmup' is deprecated; use 'warmup_steps'"):
        cfg = T.load_config(None, ["--warmup", "0.25"])
    assert cfg.training.warmup_steps == 0.25
    with pytest.warns(FutureWarning, match="'gradient_checkpointing' is deprecated; use 'activation_checkpointing'"):
        cfg = T.load_config(None, ["--gradient-checkpointing"])
    assert cfg.training.activation_checkpointing is True
    with warnings.catch_warnings():  # the shipped configs use the current keys
        warnings.simplefilter("error", FutureWarning)
        for path in sorted((REPO / "configs").glob("*.yaml")):
            T.load_config(path)


@pytest.mark.parametrize(
    "tokens, message",
    [
        (["--learnin_rate", "1e-4"], "unknown key 'learnin_rate' (did you mean 'learning_rate'"),
        (["--model.encodr", "x"], "unknown key 'encodr' (did you mean 'encoder'"),
        (["--few_shot", "3"], "unknown key 'few_shot' (did you mean 'few_shot_n'"),
    ],
)
def test_an_unknown_key_is_refused_with_a_suggestion(tokens, message, capsys):
    with pytest.raises(ValueError) as err:
        T.load_config(None, tokens)
    assert message in str(err.value)
    with pytest.raises(SystemExit):  # the script: usage and the same message on stderr
        T.parse_args(["--output-dir", "x", *tokens])
    assert message in capsys.readouterr().err


def test_help_lists_every_group_with_help_text_and_ctam_defaults(capsys):
    with pytest.raises(SystemExit) as exit_:
        T.parse_args(["--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert "model:" in out and "data:" in out and "--freeze_layers" in out and "--ctam CTAM" in out
    assert "Ablation preset" in out and "--resume_from_checkpoint" in out and "--print-config" in out
    assert "(default: 16)" in out  # CTAM's per_device_train_batch_size, not transformers' 8


def test_shipped_presets_load(tmp_path):
    files = sorted((REPO / "configs").glob("*.yaml"))
    assert any(f.name == "zero-shot-ctam.yaml" for f in files)
    for path in files:
        cfg = T.load_config(path, output_dir=str(tmp_path))
        assert cfg.model.preset in T.PRESETS, path


@pytest.mark.parametrize(
    "tokens, message",
    [
        (
            ["--learnin_rate", "1e-4"],
            r"unknown key 'learnin_rate' \(did you mean 'learning_rate'[^)]*\)\. Valid keys: ",
        ),
        (["--training.max_length", "64"], "'max_length' belongs to the 'data' group"),
        (["--max_steps", "ten"], "max_steps: expected an integer"),
        (["--freeze_embeddings", "maybe"], "freeze_embeddings: expected true or false"),
        (["--preset", "xlmr"], r"preset='xlmr' is not supported; use one of \['xlmr-base', 'vxlm', 'ctam'\]"),
        (["--setting", "one-shot"], "setting='one-shot' is not supported"),
        (["--ctam.lamda_align", "0"], "ctam.lamda_align is not a CTAMConfig field .did you mean 'lambda_align'"),
        (["--ctam.encoder_config", "{}"], "ctam.encoder_config is set by train.py"),
        (["--training_args.learning_rate", "1"], "use the top-level key 'learning_rate'"),
        (["--training_args.no_such_arg", "1"], "not a TrainingArguments field"),
        (["--remove_unused_columns", "true"], "remove_unused_columns is set by train.py"),
        (["--pairing", "label"], "zero-shot setting has no Burmese labels"),
        (["--pairing", "parallel"], "pairing='parallel' needs parallel_data"),
        (["--preset", "xlmr-base", "--run_alignment"], "has no VecMap mapping"),
        (["--alignment", "a", "--run_alignment"], "use one of them"),
        (["--eval_strategy", "no"], "load_best_model_at_end needs dev evaluation"),
        (["--eval_strategy", "steps", "--save_strategy", "epoch"], "must equal eval_strategy"),
        (["--metric_for_best_model", "f1"], "is not a dev metric; use one of"),
        (["--max_length", "4"], "max_length=4 is too short"),
        (["--push_to_hub"], "push_to_hub needs hub_model_id"),
        (["seed", "1"], "expected an option like --key value"),
    ],
)
def test_bad_configuration_is_refused_with_a_clear_message(tokens, message):
    with pytest.raises(ValueError, match=message):
        T.load_config(None, tokens)


def test_config_file_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="config file .*missing.yaml does not exist"):
        T.load_config(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("data:\n  learning_rate: 1\n", encoding="utf-8")
    with pytest.raises(ValueError, match="'learning_rate' belongs to the 'training' group"):
        T.load_config(bad)
    bad.write_text("- a\n- b\n", encoding="utf-8")
    with pytest.raises(ValueError, match="top level must be a mapping"):
        T.load_config(bad)
    txt = tmp_path / "run.txt"
    txt.write_text("seed: 1\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"must end in \.yaml, \.yml or \.json"):
        T.load_config(txt)


def test_command_line_errors_exit_with_usage(capsys):
    with pytest.raises(SystemExit):
        T.parse_args(["--config", "configs/zero-shot-ctam.yaml"])  # no --output-dir
    assert "pass --output-dir" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        T.parse_args(["--output-dir", "x", "--bogus", "1"])
    assert "unknown key 'bogus'" in capsys.readouterr().err


def test_missing_data_and_three_class_with_binary_source_are_named(tmp_path, small_data):
    cfg = T.load_config(None, output_dir=str(tmp_path), target_train="my/gklmip/no_such_file.json")
    with pytest.raises(FileNotFoundError, match="target_train: 'my/gklmip/no_such_file.json' not found .looked for"):
        T.load_target(cfg.data, seed=42)
    cfg = T.load_config(None, output_dir=str(tmp_path), labels="three-class", source_data=[small_data["source"]])
    with pytest.raises(ValueError, match="source_data=.*binary English data cannot train a three-class model"):
        T.load_source(cfg.data, seed=42)


# ----------------------------------------------------------------------------------------------------- presets
@pytest.mark.parametrize("preset", sorted(T.PRESETS))
def test_presets_build_the_ablation_model(preset, tiny_encoder_dir, tmp_path):
    cfg = T.load_config(
        None,
        output_dir=str(tmp_path),
        encoder=tiny_encoder_dir,
        preset=preset,
        ctam={"classifier_dropout": 0.2},
        labels="three-class",
    )
    model, tokenizer, counts = T.build_model(cfg.model, cfg.data)
    config = model.config
    expected = {"xlmr-base": (False, 0.0, 0.0), "vxlm": (True, 0.0, 0.0), "ctam": (True, 0.4, 0.1)}[preset]
    assert (config.use_vxlm, config.lambda_align, config.lambda_domain) == expected
    assert (model.dual_path is not None) == (preset == "ctam")
    assert (model.domain_discriminator is not None) == (preset == "ctam")
    assert (model.ctam.mapping is not None) == (preset != "xlmr-base")
    assert config.classifier_dropout == 0.2
    assert config.id2label == {0: "negative", 1: "neutral", 2: "positive"} and config.num_labels == 3
    assert config.label2id == {"negative": 0, "neutral": 1, "positive": 2}
    # freeze_embeddings (default on): the word-embedding matrix gets no gradient, the rest trains
    assert not model.ctam.encoder.get_input_embeddings().weight.requires_grad
    assert counts["trainable"] == counts["total"] - 250037 * 32
    assert all(p.requires_grad for n, p in model.named_parameters() if "classifier" in n)


def test_freeze_layers_and_lora(tiny_encoder_dir, tmp_path):
    cfg = T.load_config(None, output_dir=str(tmp_path), encoder=tiny_encoder_dir, freeze_layers=1)
    model, _, _ = T.build_model(cfg.model, cfg.data)
    frozen = {n for n, p in model.named_parameters() if not p.requires_grad}
    assert any(".layer.0." in n for n in frozen) and not any(".layer.1." in n for n in frozen)
    assert any("position_embeddings" in n for n in frozen)
    cfg = T.load_config(None, output_dir=str(tmp_path), encoder=tiny_encoder_dir, lora=True, lora_r=2)
    model, _, counts = T.build_model(cfg.model, cfg.data)
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    assert any("lora_" in n for n in trainable) and any("classifier" in n for n in trainable)
    assert not any("encoder.layer.0.attention.self.query.base_layer" in n for n in trainable)


# ----------------------------------------------------------------------------------------------------- settings
@pytest.mark.parametrize("setting", ["zero-shot", "few-shot", "supervised"])
def test_settings_decide_which_burmese_labels_reach_the_model(setting, small_data, tmp_path):
    # driver 'target': one training item per Burmese example, so the items show every target label that is used
    cfg = T.load_config(
        None,
        output_dir=str(tmp_path),
        setting=setting,
        few_shot_n=3,
        seed=5,
        pairing_driver="target",
        source_data=[small_data["source"]],
        max_source_examples=32,
        target_train=small_data["train"],
        target_dev=small_data["dev"],
    )
    train, dev, summary = T.build_datasets(cfg.data, cfg.training.seed)
    items = [train[i] for i in range(len(train))]
    assert len(items) == summary["target_train_examples"] > 100
    assert {i["source_label"] for i in items} == {0, 1} and summary["source_labels"] == {
        "negative": 16,
        "positive": 16,
    }
    labelled = [i["label"] for i in items if i["label"] != -100]
    if setting == "zero-shot":
        assert labelled == [] and summary["target_train_labels"] == {"unlabelled": len(items)}
    elif setting == "few-shot":
        assert sorted(labelled) == [0, 0, 0, 1, 1, 1]  # 3 per class; the other texts stay, unlabelled
    else:
        assert len(labelled) == len(items) and set(labelled) == {0, 1}
    assert all(v >= 0 for v in dev["label"]) and summary["dev_labels"]["negative"] > 0
    # the same seed gives the same subsample and the same pairs
    again, _, _ = T.build_datasets(cfg.data, cfg.training.seed)
    assert [again[i] for i in range(len(again))] == items


def test_few_shot_can_train_on_the_labelled_few_only_with_label_pairing(small_data, tmp_path):
    cfg = T.load_config(
        None,
        output_dir=str(tmp_path),
        setting="few-shot",
        few_shot_n=2,
        pairing="label",
        few_shot_keep_unlabelled=False,
        source_data=[small_data["source"]],
        max_source_examples=8,
        target_train=small_data["train"],
        target_dev=small_data["dev"],
    )
    train, _, summary = T.build_datasets(cfg.data, cfg.training.seed)
    assert summary["target_train_examples"] == 4
    for i in range(len(train)):
        item = train[i]
        assert item["label"] == item["source_label"]  # label pairing


# ----------------------------------------------------------------------------------------------------- checkpoints
def test_find_last_checkpoint_skips_incomplete_ones(tmp_path):
    from safetensors.torch import save_file

    assert T.find_last_checkpoint(tmp_path) is None
    for step, complete in ((2, True), (4, True), (6, False)):
        folder = tmp_path / f"checkpoint-{step}"
        folder.mkdir()
        save_file({"w": torch.zeros(2)}, folder / "model.safetensors")
        if complete:
            (folder / "trainer_state.json").write_text("{}")
    assert T.find_last_checkpoint(tmp_path) == str(tmp_path / "checkpoint-4")
    cfg = T.load_config(None, ["--resume_from_checkpoint"], output_dir=str(tmp_path / "empty"))
    with pytest.raises(FileNotFoundError, match="no complete checkpoint"):
        T.resolve_resume(cfg.training.resume_from_checkpoint, cfg.training.output_dir)
    cfg = T.load_config(None, output_dir=str(tmp_path), resume_from_checkpoint=str(tmp_path / "checkpoint-6"))
    with pytest.raises(FileNotFoundError, match="not a complete checkpoint folder"):
        T.resolve_resume(cfg.training.resume_from_checkpoint, cfg.training.output_dir)
    assert T.resolve_resume("latest", tmp_path) == str(tmp_path / "checkpoint-4")


# ----------------------------------------------------------------------------------------------------- end to end
def test_train_end_to_end_writes_a_loadable_model_and_dev_metrics(tiny_encoder_dir, small_data, tmp_path):
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from modeling_ctam.data import load_examples
    from modeling_ctam.evaluation import compute_metrics, predict

    out = tmp_path / "run"
    config = _write_yaml(tmp_path / "tiny.yaml", _tiny_overrides(tiny_encoder_dir, small_data))
    result = _run(
        [
            sys.executable,
            "train.py",
            "--config",
            str(config),
            "--output-dir",
            str(out),
            "--gradient_accumulation_steps",
            "2",
        ]
    )
    assert "dev macro-F1" in result.stdout and "majority-class baseline" in result.stdout

    metrics = json.loads((out / "dev_metrics.json").read_text())
    for key in (
        "macro_f1",
        "accuracy",
        "per_class",
        "confusion_matrix",
        "majority_baseline",
        "best_model_checkpoint",
        "global_step",
    ):
        assert key in metrics, key
    assert set(metrics["per_class"]) == {"negative", "positive"}
    assert metrics["global_step"] == 4 and metrics["n_examples"] == sum(
        v["support"] for v in metrics["per_class"].values()
    )
    resolved = json.loads((out / "train_config.json").read_text())
    assert resolved["config"]["gradient_accumulation_steps"] == 2 and resolved["data"]["setting"] == "zero-shot"
    state = json.loads((out / "trainer_state.json").read_text())
    train_logs = [log for log in state["log_history"] if "loss" in log]
    assert train_logs and all(k in train_logs[0] for k in ("loss_cls", "loss_align", "loss_domain", "gate_mean"))
    assert any("eval_macro_f1" in log for log in state["log_history"])
    # best checkpoint by dev macro-F1: the final model is the best evaluated one
    evals = [log["eval_macro_f1"] for log in state["log_history"] if "eval_macro_f1" in log]
    assert state["best_metric"] == pytest.approx(max(evals))
    assert metrics["macro_f1"] == pytest.approx(max(evals))
    # checkpoints hold safetensors weights only
    checkpoints = sorted(out.glob("checkpoint-*"))
    assert checkpoints and all((c / "model.safetensors").is_file() for c in checkpoints)
    assert not list(out.rglob("*.bin")) or all(p.name == "training_args.bin" for p in out.rglob("*.bin"))

    model = AutoModelForSequenceClassification.from_pretrained(str(out), trust_remote_code=True)
    assert model.config.id2label == {0: "negative", 1: "positive"}
    assert "AutoModelForSequenceClassification" in model.config.auto_map
    tokenizer = AutoTokenizer.from_pretrained(str(out))
    dev = load_examples(small_data["dev"])
    predictions, _ = predict(model, tokenizer, dev["text"], max_length=24)
    again = compute_metrics(predictions, dev["label"], ["negative", "positive"])
    assert again["macro_f1"] == pytest.approx(metrics["macro_f1"], abs=1e-6)  # the saved model is the evaluated one


def test_a_run_killed_after_a_checkpoint_resumes_and_finishes(tiny_encoder_dir, small_data, tmp_path):
    out = tmp_path / "run"
    config = _write_yaml(
        tmp_path / "tiny.yaml",
        _tiny_overrides(
            tiny_encoder_dir,
            small_data,
            max_steps=8,
            eval_strategy="no",
            save_strategy="steps",
            save_steps=2,
            load_best_model_at_end=False,
            save_total_limit=None,
        ),
    )
    step = _kill_after_first_checkpoint(tmp_path, config, out, out)
    assert step < 8 and not (out / "dev_metrics.json").exists()

    _run([sys.executable, "train.py", "--config", str(config), "--output-dir", str(out), "--resume_from_checkpoint"])
    state = json.loads((out / "trainer_state.json").read_text())
    assert state["global_step"] == 8
    assert json.loads((out / "train_config.json").read_text())["resumed_from"].endswith(f"checkpoint-{step}")
    logged_steps = [log["step"] for log in state["log_history"] if "loss" in log]
    assert logged_steps == sorted(set(logged_steps)) and logged_steps[-1] == 8  # no step trained twice
    assert (out / "dev_metrics.json").is_file() and (out / "model.safetensors").is_file()


@pytest.mark.slow
def test_two_process_ddp_run_through_accelerate(tiny_encoder_dir, small_data, tmp_path):
    out = tmp_path / "ddp"
    config = _write_yaml(tmp_path / "tiny.yaml", _tiny_overrides(tiny_encoder_dir, small_data))
    accelerate = shutil.which("accelerate")
    if accelerate is None:
        pytest.skip("the accelerate CLI is not on PATH")
    _run(
        [
            accelerate,
            "launch",
            "--config_file",
            str(REPO / "configs" / "accelerate" / "cpu_2proc.yaml"),
            "train.py",
            "--config",
            str(config),
            "--output-dir",
            str(out),
        ],
        timeout=300,
    )
    metrics = json.loads((out / "dev_metrics.json").read_text())
    assert metrics["world_size"] == 2
    resolved = json.loads((out / "train_config.json").read_text())
    assert resolved["world_size"] == 2 and resolved["data"]["train_items_per_epoch"] == 32
    state = json.loads((out / "trainer_state.json").read_text())
    # 2 processes x 4 pairs per step: 32 pairs make an epoch of 4 steps
    assert state["global_step"] == 4 and state["log_history"][-1]["epoch"] == pytest.approx(1.0)


# ----------------------------------------------------------------------------------------------------- alignment
def test_alignment_folder_initialises_the_mapping(tiny_encoder_dir, tmp_path):
    from safetensors.torch import save_file

    weight = torch.linalg.qr(torch.randn(32, 32, generator=torch.Generator().manual_seed(0)))[0].contiguous()
    (tmp_path / "align").mkdir()
    save_file(
        {"weight": weight, "target_mean": torch.full((32,), 0.5), "source_mean": torch.zeros(32)},
        str(tmp_path / "align" / "mapping.safetensors"),
    )
    cfg = T.load_config(None, output_dir=str(tmp_path), encoder=tiny_encoder_dir, alignment=str(tmp_path / "align"))
    model, _, _ = T.build_model(cfg.model, cfg.data, alignment=cfg.model.alignment)
    torch.testing.assert_close(model.ctam.mapping.weight.detach(), weight)
    torch.testing.assert_close(model.ctam.mapping.target_mean, torch.full((32,), 0.5))


def test_run_alignment_options_use_this_runs_data_the_lexicon_split_and_the_configs_static_layer(
    tiny_encoder_dir, small_data, tmp_path
):
    cfg = T.load_config(
        None,
        output_dir=str(tmp_path),
        encoder=tiny_encoder_dir,
        run_alignment=True,
        source_data=[small_data["source"]],
        target_train=small_data["train"],
        alignment_args={"max_sentences": 300, "vocab-size": 500, "cache": False},
    )
    static_layer = T.build_config(cfg.model, cfg.data).static_layer
    assert static_layer == 2  # CTAMConfig's default: the last layer of the 2-layer encoder
    options = T.alignment_options(cfg.model, cfg.data, tmp_path / "alignment", static_layer)
    assert options["encoder"] == tiny_encoder_dir and options["output_dir"] == str(tmp_path / "alignment")
    assert options["source_corpus"] == [small_data["source"]] and options["target_corpus"] == [small_data["train"]]
    assert options["layer"] == 2 and options["identical"] is True and options["numerals"] is True
    assert options["cache"] is False and options["max_sentences"] == 300 and options["vocab_size"] == 500
    seed = tmp_path / "alignment" / "lexicon" / "seed.tsv"
    assert options["seed_dict"] == [str(seed)] and seed.is_file()
    assert options["eval_dict"] == str(tmp_path / "alignment" / "lexicon" / "dev.tsv")


def test_run_alignment_runs_in_process_at_the_models_static_layer(tiny_encoder_dir, small_data, tmp_path):
    from safetensors import safe_open

    cfg = T.load_config(
        None,
        output_dir=str(tmp_path),
        encoder=tiny_encoder_dir,
        run_alignment=True,
        source_data=[small_data["source"]],
        target_train=small_data["train"],
        ctam={"static_layer": 1},
        alignment_args={"max_sentences": 200, "vocab_size": 300, "cache": False, "quiet": True},
    )
    folder = T.run_alignment(cfg.model, cfg.data, tmp_path, T.build_config(cfg.model, cfg.data).static_layer)
    assert folder == str(tmp_path / "alignment")
    with safe_open(str(tmp_path / "alignment" / "mapping.safetensors"), "pt") as f:
        assert f.metadata()["layer"] == "1" and tuple(f.get_tensor("weight").shape) == (32, 32)
    model, _, _ = T.build_model(cfg.model, cfg.data, alignment=folder)  # the model accepts the mapping's layer
    assert model.config.static_layer == 1
    assert T.run_alignment(cfg.model, cfg.data, tmp_path, 1) == folder  # an existing mapping is reused


def test_path_by_path_backward_trains_through_train_py(tiny_encoder_dir, small_data, tmp_path):
    out = tmp_path / "pbp"
    cfg = T.load_config(
        None,
        **_tiny_overrides(
            tiny_encoder_dir,
            small_data,
            output_dir=str(out),
            max_steps=2,
            eval_strategy="no",
            save_strategy="no",
            load_best_model_at_end=False,
            path_by_path_backward=True,
        ),
    )
    report = T.train(cfg)
    assert report["global_step"] == 2
    state = json.loads((out / "trainer_state.json").read_text())
    logs = [log for log in state["log_history"] if "loss" in log]
    assert logs and all(k in logs[0] for k in ("loss_cls", "loss_align", "loss_domain", "gate_mean"))
    assert json.loads((out / "train_config.json").read_text())["config"]["path_by_path_backward"] is True


# ---------------------------------------------------------------------------------------------------- two-stage recipe
def _two_stage_overrides(encoder: str, data: dict[str, str], **extra) -> dict:
    cfg = _tiny_overrides(
        encoder,
        data,
        recipe="two-stage",
        stage1_steps=2,
        stage2_steps=6,
        eval_strategy="no",
        load_best_model_at_end=False,
        save_strategy="steps",
        save_steps=2,
        save_total_limit=None,
        parallel_data=[str(data_dir() / "parallel" / "talpco")],
        parallel_share=0.5,
        ctam={"teacher_head": True, "align_reduction": "normalized"},
    )
    cfg.update(extra)
    return cfg


def test_two_stage_recipe_trains_teacher_then_student_and_saves_one_ordinary_checkpoint(
    tiny_encoder_dir, small_data, tmp_path
):
    from transformers import AutoModelForSequenceClassification

    out = tmp_path / "run"
    config = _write_yaml(tmp_path / "two.yaml", _two_stage_overrides(tiny_encoder_dir, small_data))
    result = _run([sys.executable, "train.py", "--config", str(config), "--output-dir", str(out)])
    assert "dev macro-F1" in result.stdout
    metrics = json.loads((out / "dev_metrics.json").read_text())
    assert metrics["global_step"] == 8 and metrics["recipe"] == "two-stage"
    assert metrics["best_model_checkpoint"] is None  # strict protocol: no checkpoint chosen by Burmese dev labels
    record = json.loads((out / "train_config.json").read_text())["transfer"]
    assert record["stage1"] == "trained" and record["stage1_steps"] == 2
    stage2 = record["stage2_rounds"][0]
    assert stage2["items"]["total"] == 6 * 4 and stage2["items"]["parallel"] == 12  # parallel_share 0.5
    assert stage2["items"]["with_teacher_pair"] >= 12 and sum(stage2["pseudo_labels"]["counts"]) > 0
    assert abs(sum(stage2["target_prior"]["prior"]) - 1) < 1e-6
    teacher = out / "stage1" / "teacher.safetensors"
    assert teacher.is_file() and list((out / "stage1").glob("posteriors-*.safetensors"))
    # stage 2 logged L_R against the cached teacher states and the pseudo-labelled L_T
    state = json.loads((out / "stage2" / "checkpoint-6" / "trainer_state.json").read_text())
    logs = [log for log in state["log_history"] if "loss" in log]
    assert logs[-1]["step"] == 6 and all("loss_align" in log and "loss_domain" in log for log in logs)
    # the teacher's weights differ from the final student's, and the top level holds one ordinary CTAM model
    from safetensors.torch import load_file

    final = load_file(str(out / "model.safetensors"))
    start = load_file(str(teacher))
    assert torch.equal(final["dual_path.teacher_gru.weight_ih_l0"], start["dual_path.teacher_gru.weight_ih_l0"])
    assert not torch.equal(final["classifier.out_proj.weight"], start["classifier.out_proj.weight"])
    model = AutoModelForSequenceClassification.from_pretrained(str(out), trust_remote_code=True)
    assert model.config.teacher_head and model.dual_path.teacher_head is not None


def test_two_stage_run_killed_in_stage_2_resumes_there(tiny_encoder_dir, small_data, tmp_path):
    out = tmp_path / "run"
    config = _write_yaml(tmp_path / "two.yaml", _two_stage_overrides(tiny_encoder_dir, small_data))
    step = _kill_after_first_checkpoint(tmp_path, config, out, out / "stage2")
    assert step < 6 and not (out / "dev_metrics.json").exists()

    _run([sys.executable, "train.py", "--config", str(config), "--output-dir", str(out), "--resume_from_checkpoint"])
    record = json.loads((out / "train_config.json").read_text())["transfer"]
    assert record["stage1"] == "resumed (finished before)"
    state = json.loads((out / "stage2" / "checkpoint-6" / "trainer_state.json").read_text())
    logged = [log["step"] for log in state["log_history"] if "loss" in log]
    assert logged == sorted(set(logged)) and logged[-1] == 6  # no stage-2 step trained twice
    assert (out / "dev_metrics.json").is_file()


def test_two_stage_refuses_burmese_dev_checkpoint_choice_and_missing_parallel_data(tmp_path):
    with pytest.raises(ValueError, match="strict zero-shot protocol"):
        T.load_config(
            None,
            {
                "recipe": "two-stage",
                "parallel_share": 0.0,
                "output_dir": str(tmp_path),
                "eval_strategy": "steps",
                "save_strategy": "steps",
                "load_best_model_at_end": True,
            },
        )
    with pytest.raises(ValueError, match="ends on its last step in every setting"):
        T.load_config(
            None,
            {
                "recipe": "two-stage",
                "parallel_share": 0.0,
                "output_dir": str(tmp_path),
                "setting": "supervised",
                "eval_strategy": "steps",
                "save_strategy": "steps",
                "load_best_model_at_end": True,
            },
        )
    with pytest.raises(ValueError, match="use recipe='joint'"):
        T.load_config(
            None,
            {
                "recipe": "two-stage",
                "parallel_share": 0.0,
                "output_dir": str(tmp_path),
                "setting": "supervised",
                "labels": "three-class",
                "use_source_labels": False,
                "load_best_model_at_end": False,
            },
        )
    with pytest.raises(ValueError, match="needs parallel_data"):
        T.load_config(None, {"recipe": "two-stage", "output_dir": str(tmp_path), "load_best_model_at_end": False})


def test_two_stage_supervised_and_few_shot_use_the_burmese_labels_in_both_stages(
    tiny_encoder_dir, small_data, tmp_path, monkeypatch
):
    """Labelled settings: stage 1's teacher learns from the Burmese labels too, stage 2 has a gold stream (hard labels
    under the run's logit adjustment) and the prior is the labels' own when no review is unlabelled."""
    from safetensors.torch import load_file

    from modeling_ctam.training import trainer as trainer_module

    policies = []  # (label_loss, source_label_loss) of every trainer the run builds: the trainers own the policy

    class RecordingTrainer(trainer_module.CTAMTrainer):
        def __init__(self, *args, **kwargs):
            policies.append((kwargs.get("label_loss"), kwargs.get("source_label_loss")))
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(trainer_module, "CTAMTrainer", RecordingTrainer)

    out = tmp_path / "sup"
    report = T.train(
        T.load_config(
            None,
            _two_stage_overrides(
                tiny_encoder_dir,
                small_data,
                output_dir=str(out),
                setting="supervised",
                parallel_share=0.0,
                save_strategy="no",
                match_prior=True,
            ),
        )
    )
    saved = json.loads((out / "train_config.json").read_text())
    record, data = saved["transfer"], saved["data"]
    n_labelled = sum(data["target_train_labels"].values())
    assert n_labelled == data["target_train_examples"] == 200 and "unlabelled" not in data["target_train_labels"]
    assert record["english_rows"] + record["english_heldout"] == 32 and report["setting"] == "supervised"
    stage2 = record["stage2_rounds"][0]
    assert stage2["items"]["labelled"] == stage2["items"]["total"] == 24  # every stage-2 Burmese row is gold
    negative = data["target_train_labels"]["negative"]
    assert stage2["target_prior"]["from"] == "target labels"
    assert abs(stage2["target_prior"]["prior"][0] - (negative + 1) / (n_labelled + 2)) < 1e-4
    assert "pseudo_labels" not in stage2  # nothing unlabelled to pseudo-label
    match = record["prior_matching"]  # supervised: the decision matched on the labelled reviews, at their prior
    assert match["rows"] == 200 and match["prior"][0] == round(stage2["target_prior"]["prior"][0], 4)
    assert abs(match["predicted_share_after"][0] - match["prior"][0]) < 2 / 200
    imbalance = saved["imbalance_handling"]
    assert imbalance["applied"] and imbalance["method"] == "logit-adjustment"
    assert imbalance["labelled_rows"] == {k: v for k, v in data["target_train_labels"].items()}
    # the teacher trained on the English and the Burmese rows, under the prior of both
    assert record["stage1_burmese_rows"] == 200 and record["stage1_rows"] == record["english_rows"] + 200
    assert (out / "stage1" / "teacher.safetensors").is_file() and load_file(str(out / "model.safetensors"))
    # the scoring trainer, stage 1's, stage 2's: the Burmese path's logit adjustment in each, the English path's by
    # stage (stage 1 mixes the 90/10 Burmese labels into the teacher's rows), none of it on the model
    assert len(policies) == 3 and all(label_loss is policies[0][0] for label_loss, _ in policies)
    assert policies[0][0].offsets is not None and policies[0][1] is None
    stage1_offsets = policies[1][1].offsets
    assert stage1_offsets[0] < stage1_offsets[1]  # the negative class is the rarer one among stage 1's labels

    few = tmp_path / "few"
    T.train(
        T.load_config(
            None,
            _two_stage_overrides(
                tiny_encoder_dir,
                small_data,
                output_dir=str(few),
                setting="few-shot",
                few_shot_n=4,
                parallel_share=0.0,
                save_strategy="no",
                labelled_share=0.5,
                match_prior=True,
            ),
        )
    )
    saved = json.loads((few / "train_config.json").read_text())
    stage2 = saved["transfer"]["stage2_rounds"][0]
    assert (
        saved["data"]["target_train_labels"]["negative"] == 4 and saved["data"]["target_train_labels"]["positive"] == 4
    )
    assert saved["data"]["few_shot_rows"]["k"] == 4 and len(saved["data"]["few_shot_rows"]["rows"]) == 8
    assert stage2["items"]["labelled"] == 12  # half of the 24 items; the rest unlabelled reviews
    assert sum(stage2["pseudo_labels"]["counts"]) > 0 and "fallback" in stage2["target_prior"]
    match = saved["transfer"]["prior_matching"]
    assert match["rows"] == saved["data"]["target_train_examples"] - 8
    assert abs(match["predicted_share_after"][0] - match["prior"][0]) < 2 / match["rows"]
