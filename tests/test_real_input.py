"""Real input on every path: raw Zawgyi reviews and raw text ending in a space, through the tokenizer CTAM saves
(`CTAMTokenizer`), `AutoTokenizer`, the stock `pipeline("text-classification")` / `pipeline("sentiment-analysis")`
and a user's own `tokenizer(text)`, in this process and in one where `modeling_ctam` cannot be imported.

The model is a tiny random CTAM built by train.py's own `build_model` around a tiny BERT with the real offline
XLM-R tokenizer, so its scores are random but must be identical for a Zawgyi review and its Unicode twin."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from modeling_ctam.data.burmese import is_zawgyi, preprocess
from modeling_ctam.utils.paths import data_dir

GKLMIP_DEV = data_dir() / "my" / "gklmip" / "product_sentiment_dataset_dev.json"
needs_data = pytest.mark.skipif(not GKLMIP_DEV.is_file(), reason="shared data folder not found (set CTAM_DATA_DIR)")


def _dev_texts() -> list[str]:
    return [row["text"] for row in json.loads(GKLMIP_DEV.read_text(encoding="utf-8"))]


@pytest.fixture(scope="module")
def zawgyi_reviews() -> list[str]:
    """The first 20 real Zawgyi reviews of GKLMIP dev, raw, as users have them."""
    if not GKLMIP_DEV.is_file():
        pytest.skip("shared data folder not found (set CTAM_DATA_DIR)")
    reviews = [text for text in _dev_texts() if is_zawgyi(text)][:20]
    assert len(reviews) == 20
    return reviews


@pytest.fixture(scope="module")
def trained_folder(tmp_path_factory, tiny_encoder_dir) -> Path:
    """The folder train.py saves (model + tokenizer from `modeling_ctam.training.build_model`), tiny and random."""
    import modeling_ctam.training as T

    model, tokenizer, _ = T.build_model(T.ModelArguments(encoder=tiny_encoder_dir), T.DataArguments())
    folder = tmp_path_factory.mktemp("run") / "model"
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


# --------------------------------------------------------------------------------------------- trailing space
@needs_data
def test_offline_tokenizer_matches_the_reference_pipeline_on_raw_text(offline_encoder_dir):
    """AutoTokenizer on the offline folder gives the ids of the XLM-R `tokenizer.json` pipeline (SentencePiece's
    charsmap + Metaspace, prepend always, no whitespace split) on raw reviews, trailing spaces included: that
    pipeline emits a final `▁` for text ending in a space."""
    from tokenizers import Tokenizer
    from transformers import AutoTokenizer

    texts = _dev_texts()
    reference = [
        e.ids for e in Tokenizer.from_file(str(Path(offline_encoder_dir) / "tokenizer.json")).encode_batch(texts)
    ]
    tokenizer = AutoTokenizer.from_pretrained(offline_encoder_dir)
    ours = tokenizer(texts)["input_ids"]
    assert sum(a == b for a, b in zip(ours, reference)) == len(texts)
    ending_in_space = [i for i, text in enumerate(texts) if text.endswith(" ")]
    assert len(ending_in_space) > 20
    space_id = tokenizer.convert_tokens_to_ids("\u2581")
    assert all(ours[i][-2] == space_id for i in ending_in_space)
    assert tokenizer.tokenize("good ") == tokenizer.tokenize("good") + ["\u2581"]


# --------------------------------------------------------------------------------------------- Zawgyi on every path
def test_build_model_gives_a_ctam_tokenizer_that_preprocesses(trained_folder, zawgyi_reviews):
    from transformers import AutoTokenizer

    config = json.loads((trained_folder / "tokenizer_config.json").read_text(encoding="utf-8"))
    assert config["tokenizer_class"] == "CTAMTokenizer" and config["burmese_preprocess"] is True
    assert config["auto_map"]["AutoTokenizer"][0] == "tokenization_ctam.CTAMTokenizer"
    assert (trained_folder / "tokenization_ctam.py").is_file() and (trained_folder / "burmese.py").is_file()
    tokenizer = AutoTokenizer.from_pretrained(trained_folder)
    assert type(tokenizer).__name__ == "CTAMTokenizer"
    twins = [preprocess(text) for text in zawgyi_reviews]
    assert all(twin != raw for twin, raw in zip(twins, zawgyi_reviews))
    assert tokenizer(zawgyi_reviews)["input_ids"] == tokenizer(twins)["input_ids"]
    assert [tokenizer.tokenize(t) for t in zawgyi_reviews] == [tokenizer.tokenize(t) for t in twins]


@pytest.mark.parametrize("task", ["text-classification", "sentiment-analysis"])
def test_stock_pipelines_score_a_zawgyi_review_as_its_unicode_twin(task, trained_folder, zawgyi_reviews):
    from transformers import pipeline

    classifier = pipeline(task, model=str(trained_folder), top_k=None)
    raw = classifier(zawgyi_reviews)
    twin = classifier([preprocess(t) for t in zawgyi_reviews])
    assert [{d["label"]: d["score"] for d in r} for r in raw] == [{d["label"]: d["score"] for d in r} for r in twin]


BLOCKING_USER = r"""
import importlib.abc, json, sys

class Refuse(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "modeling_ctam" or name.startswith("modeling_ctam."):
            raise ImportError("modeling_ctam is not installed here")
        return None

sys.meta_path.insert(0, Refuse())
from transformers import AutoTokenizer, pipeline

folder, texts = sys.argv[1], json.loads(open(sys.argv[2], encoding="utf-8").read())
tokenizer = AutoTokenizer.from_pretrained(folder, trust_remote_code=True)
classifier = pipeline("text-classification", model=folder, trust_remote_code=True, top_k=None)
out = {"tokenizer": type(tokenizer).__name__, "ids": tokenizer(texts["raw"])["input_ids"],
       "twin_ids": tokenizer(texts["twin"])["input_ids"], "raw": classifier(texts["raw"]),
       "twin": classifier(texts["twin"])}
open(sys.argv[3], "w", encoding="utf-8").write(json.dumps(out))
"""


def test_remote_code_loading_without_the_package_preprocesses(trained_folder, zawgyi_reviews, tmp_path):
    (tmp_path / "user.py").write_text(BLOCKING_USER, encoding="utf-8")
    texts = {"raw": zawgyi_reviews[:5], "twin": [preprocess(t) for t in zawgyi_reviews[:5]]}
    (tmp_path / "texts.json").write_text(json.dumps(texts, ensure_ascii=False), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(HF_MODULES_CACHE=str(tmp_path / "modules"), HF_HUB_OFFLINE="1")
    result = subprocess.run(
        [
            sys.executable,
            str(tmp_path / "user.py"),
            str(trained_folder),
            str(tmp_path / "texts.json"),
            str(tmp_path / "out.json"),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))
    assert out["tokenizer"] == "CTAMTokenizer"
    assert out["ids"] == out["twin_ids"] and out["raw"] == out["twin"]


def test_tokenizer_preprocessing_can_be_switched_off(trained_folder):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(trained_folder, burmese_preprocess=False)
    assert tokenizer.burmese_preprocess is False
    assert tokenizer.tokenize("good ") == tokenizer.tokenize("good") + ["\u2581"]  # the raw reference pipeline
    on = AutoTokenizer.from_pretrained(trained_folder)
    assert on.tokenize("good ") == on.tokenize("good")  # preprocessing strips the ends
