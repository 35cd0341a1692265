"""What the Space shows, without a browser (modeling_ctam.hub.demo): a tiny random CTAM (xlm-roberta encoder, hidden
32) saved with the real offline tokenizer, so the numbers are random but must agree between Unicode and Zawgyi, with
the model's own forward pass, and between one review and the CSV path. The browser test is tests/test_space.py."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import torch
from transformers import AutoTokenizer

from modeling_ctam import CTAMConfig, CTAMForSequenceClassification
from modeling_ctam.data import burmese
from modeling_ctam.hub.card import to_zawgyi
from modeling_ctam.hub.demo import DemoInputError, DemoModel, detection_html, gate_html, result_html

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
REVIEW = "သုံးရတာ အရမ်းအဆင်ပြေပါတယ် ပစ္စည်းကောင်းပါတယ်"  # a GKLMIP dev review
REAL_ZAWGYI = "ေပးရတဲ့ေစ်းနဲ႔တန္တဲ့ပစၥည္းေလးပါ။ သံုးရတာအဆင္ေျပပါတယ္ ။"  # stored in Zawgyi in GKLMIP itself


def _save_tiny(folder: Path, tokenizer, *, use_vxlm: bool = True, max_length: int = 16) -> Path:
    torch.manual_seed(0)
    config = CTAMConfig(
        encoder_config=dict(TINY_ENCODER),
        num_labels=2,
        id2label={0: "negative", 1: "positive"},
        label2id={"negative": 0, "positive": 1},
        encoder_name_or_path="ctam/e5-small-offline",
        initializer_range=0.2,
        use_vxlm=use_vxlm,
    )
    model = CTAMForSequenceClassification(config).eval()
    model.ctam.set_word_boundaries(tokenizer)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    (folder / "train_config.json").write_text(json.dumps({"config": {"max_length": max_length, "word_ids": False}}))
    return folder


@pytest.fixture(scope="module")
def tokenizer(offline_encoder_dir):
    return AutoTokenizer.from_pretrained(offline_encoder_dir)


@pytest.fixture(scope="module")
def demo(tmp_path_factory, tokenizer) -> DemoModel:
    return DemoModel(str(_save_tiny(tmp_path_factory.mktemp("demo") / "tiny", tokenizer)))


def test_settings_come_from_the_trained_folder(demo):
    assert demo.max_length == 16 and demo.word_ids is False
    assert demo.label_names == ["negative", "positive"] and demo.scheme == "binary"
    assert demo.gate_module is not None


def test_zawgyi_twin_gets_the_unicode_reviews_numbers_and_the_detection_says_so(demo):
    unicode, zawgyi = demo.analyse(REVIEW), demo.analyse(to_zawgyi(REVIEW))
    assert (unicode.encoding, unicode.converted) == ("Unicode", False)
    assert (zawgyi.encoding, zawgyi.converted) == ("Zawgyi", True) and zawgyi.zawgyi_probability >= 0.95
    assert zawgyi.text == unicode.text == burmese.preprocess(REVIEW)
    assert zawgyi.probabilities == unicode.probabilities and zawgyi.words == unicode.words
    assert "Zawgyi" in detection_html(zawgyi) and burmese.preprocess(REVIEW) in detection_html(zawgyi)
    assert result_html(zawgyi) == result_html(unicode)


def test_probabilities_and_gate_are_the_models_own(demo):
    analysis = demo.analyse(REAL_ZAWGYI)
    text = burmese.preprocess(REAL_ZAWGYI)
    encoded = demo.tokenizer(
        text,
        truncation=True,
        max_length=16,
        return_tensors="pt",
        return_token_type_ids=False,
        return_offsets_mapping=True,
    )
    offsets = encoded.pop("offset_mapping")[0].tolist()
    with torch.inference_mode():
        logits = demo.model(**encoded).logits[0]
        gate = demo.model.ctam(**encoded).gate[0]  # eq. 3 gate of the same input, (T, d)
    assert analysis.probabilities == pytest.approx(
        dict(zip(["negative", "positive"], torch.softmax(logits, -1).tolist())), abs=1e-6
    )
    assert abs(sum(analysis.probabilities.values()) - 1) < 1e-6
    words = burmese.segment_words(text)
    assert [w for w, _ in analysis.words] == words  # one entry per segmenter word
    assert analysis.truncated and analysis.words[-1][1] is None  # max_length 16 cuts the review: words left unread
    static = (1 - gate.mean(-1)).tolist()
    start, end = burmese.word_spans(text)[0]
    first = [static[t] for t, (a, b) in enumerate(offsets) if b > a and a < end and b > start]
    assert analysis.words[0][1] == pytest.approx(sum(first) / len(first), abs=1e-6)
    html = gate_html(analysis)
    assert html.count('class="ctam-word"') == sum(v is not None for _, v in analysis.words)
    assert html.count("ctam-unread") == sum(v is None for _, v in analysis.words)


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "The text box is empty"),
        ("   \n ", "The text box is empty"),
        (None, "The text box is empty"),
        ("Great phone, five stars", "No Burmese characters"),
        ("က" * 10_001, "The text is too long: 10,001 characters"),
    ],
)
def test_bad_input_is_refused_with_a_message(demo, text, message):
    with pytest.raises(DemoInputError, match=message):
        demo.analyse(text)


def test_csv_batch_matches_one_review_at_a_time_and_handles_bad_rows(demo, tmp_path):
    upload = tmp_path / "reviews.csv"
    with upload.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerows([["text", "label"], [REVIEW, "positive"], ["", "0"], [REAL_ZAWGYI, " Positive"], ["x", "7"]])
    out, summary = demo.predict_csv(upload, output_dir=tmp_path / "out")
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert [r["source_line"] for r in rows] == ["reviews.csv:2", "reviews.csv:4"]
    assert "Classified 2 rows" in summary and "Skipped 2 bad rows" in summary and "reviews.csv:3" in summary
    for row, review in zip(rows, (REVIEW, REAL_ZAWGYI)):
        single = demo.analyse(review)
        assert row["text"] == single.text and row["label"] == "positive" and row["prediction"] == single.label
        assert float(row["p_positive"]) == pytest.approx(single.probabilities["positive"], abs=1e-4)
    with pytest.raises(DemoInputError, match=r"reviews.csv:3.*Skip bad rows"):
        demo.predict_csv(upload, skip_bad_rows=False)
    unlabelled = tmp_path / "texts.csv"
    unlabelled.write_text(f"text\n{REVIEW}\n", encoding="utf-8")
    out, summary = demo.predict_csv(unlabelled, output_dir=tmp_path / "out")
    assert "No 'label' column" in summary and "label" not in next(csv.reader(out.open(encoding="utf-8")))
    with pytest.raises(DemoInputError, match="not a CSV"):
        demo.predict_csv(tmp_path / "notes.txt")
    with pytest.raises(DemoInputError, match="no column 'text'"):
        bad_header = tmp_path / "header.csv"
        bad_header.write_text("review,label\nx,1\n", encoding="utf-8")
        demo.predict_csv(bad_header)


def test_a_model_without_vxlm_says_it_has_no_gate(tmp_path, tokenizer):
    plain = DemoModel(str(_save_tiny(tmp_path / "plain", tokenizer, use_vxlm=False)))
    analysis = plain.analyse(REVIEW)
    assert plain.gate_module is None and not analysis.has_gate
    assert "no VXLM gate" in gate_html(analysis) and "ctam-word" not in gate_html(analysis)
