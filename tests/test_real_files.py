"""Data files as users have them: labels written as class names, bad rows to skip and count, a JSON file holding
one object, a Latin-1 file, and messages that name the CLI flag to pass.

Texts are real (GKLMIP dev reviews, Pang & Lee movie reviews in Latin-1); eval.py runs on a tiny random CTAM with
the real offline tokenizer."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import torch

from modeling_ctam import CTAMConfig, CTAMForSequenceClassification, CTAMTokenizer
from modeling_ctam.data import DataFormatError, load_examples
from modeling_ctam.evaluation import cli as eval_cli
from modeling_ctam.utils.paths import data_dir

REPO = Path(__file__).resolve().parent.parent
GKLMIP_DEV = data_dir() / "my" / "gklmip" / "product_sentiment_dataset_dev.json"
MR_POS = data_dir() / "en" / "mr" / "rt-polarity.pos"
ENCODER = dict(
    model_type="xlm-roberta",
    hidden_size=16,
    num_hidden_layers=2,
    num_attention_heads=2,
    intermediate_size=20,
    vocab_size=250037,
    max_position_embeddings=130,
    pad_token_id=1,
    bos_token_id=0,
    eos_token_id=2,
)
STAR_NAMES = {"1": "negative", "2": " Negative", "3": "NEUTRAL", "4": "Positive ", "5": "positive"}


@pytest.fixture(scope="module")
def rows() -> list[dict]:
    if not GKLMIP_DEV.is_file():
        pytest.skip("shared data folder not found (set CTAM_DATA_DIR)")
    return json.loads(GKLMIP_DEV.read_text(encoding="utf-8"))[::6]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory, offline_encoder_dir) -> Path:
    folder = tmp_path_factory.mktemp("models") / "tiny"
    torch.manual_seed(1)
    config = CTAMConfig(
        encoder_config=dict(ENCODER),
        num_labels=2,
        id2label={0: "negative", 1: "positive"},
        label2id={"negative": 0, "positive": 1},
        initializer_range=0.2,
    )
    CTAMForSequenceClassification(config).save_pretrained(folder)
    CTAMTokenizer.from_pretrained(offline_encoder_dir).save_pretrained(folder)
    return folder


def _write_csv(path: Path, records: list[tuple[str, str]], encoding: str = "utf-8") -> Path:
    with open(path, "w", encoding=encoding, newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label"])
        writer.writerows(records)
    return path


def _evaluate(model: Path, data: Path, out: Path, *extra: str) -> dict:
    return eval_cli.main(
        [
            "--model",
            str(model),
            "--data",
            str(data),
            "--output-dir",
            str(out),
            "--no-figure",
            "--no-trust-remote-code",
            "--max-length",
            "32",
            *extra,
        ]
    )


# ------------------------------------------------------------------------------------------------ class names
def test_labels_written_as_class_names_score_like_the_numbers(model_dir, rows, tmp_path):
    numbers = _write_csv(tmp_path / "stars.csv", [(r["text"], r["label"]) for r in rows])
    names = _write_csv(tmp_path / "names.csv", [(r["text"], STAR_NAMES[r["label"]]) for r in rows])
    by_number = _evaluate(model_dir, numbers, tmp_path / "n", "--source-labels", "stars")
    by_name = _evaluate(model_dir, names, tmp_path / "c")
    assert by_name["per_class"] == by_number["per_class"] and by_name["n_examples"] == by_number["n_examples"]
    # neutral has no class in the binary scheme: dropped and counted, as the 3-star rows are
    three_stars = sum(r["label"] == "3" for r in rows)
    assert three_stars > 0
    assert by_name["data_stats"]["dropped"] == {"neutral_in_binary": three_stars}
    assert by_number["data_stats"]["dropped"] == {"3_star_in_binary": three_stars}


def test_class_names_in_the_three_class_scheme_and_a_name_the_scheme_lacks(rows, tmp_path):
    names = _write_csv(tmp_path / "names.csv", [(r["text"], STAR_NAMES[r["label"]]) for r in rows])
    data = load_examples(names, labels="three-class", source_labels="three-class", language="my")
    expected = [{"1": 0, "2": 0, "3": 1, "4": 2, "5": 2}[r["label"]] for r in rows]
    assert list(data["label"]) == expected
    bad = _write_csv(tmp_path / "bad.csv", [(rows[0]["text"], "positive"), (rows[1]["text"], "great")])
    with pytest.raises(
        DataFormatError,
        match=r"bad\.csv:3: unknown label 'great' \(expected one of 0, 1\) or a class "
        r"name \(negative, positive\)",
    ):
        load_examples(bad, language="my")


# ------------------------------------------------------------------------------------------------ bad rows
def test_skip_bad_rows_counts_them_in_the_report_and_goes_on(model_dir, rows, tmp_path):
    records = [(r["text"], r["label"]) for r in rows[:20]]
    records[3] = (records[3][0], "great")  # unknown label
    records[7] = ("   ", "5")  # empty text
    long_text = rows[30]["text"].strip() + " "
    records[11] = (long_text * (10_001 // len(long_text) + 1), "1")  # over 10,000 characters
    path = _write_csv(tmp_path / "dirty.csv", records)
    with pytest.raises(SystemExit, match=r"dirty\.csv:5: unknown label 'great'"):
        _evaluate(model_dir, path, tmp_path / "strict", "--source-labels", "stars")
    record = _evaluate(model_dir, path, tmp_path / "lenient", "--source-labels", "stars", "--skip-bad-rows")
    assert record["data_stats"]["skipped"] == {"unknown_label": 1, "empty_text": 1, "text_too_long": 1}
    kept = sum(1 for i, (_, label) in enumerate(records) if i not in (3, 7, 11) and label != "3")
    assert record["n_examples"] == kept
    report = (tmp_path / "lenient" / "report.md").read_text(encoding="utf-8")
    assert "empty_text: 1" in report and "text_too_long: 1" in report and "unknown_label: 1" in report


# ------------------------------------------------------------------------------------------------ file shapes
def test_a_json_object_is_refused_naming_the_key_that_holds_the_records(model_dir, rows, tmp_path):
    wrapped = tmp_path / "wrapped.json"
    wrapped.write_text(json.dumps({"version": 2, "data": rows[:5]}, ensure_ascii=False, indent=2), encoding="utf-8")
    with pytest.raises(DataFormatError, match=r"wrapped\.json:1: .*one JSON object.*key 'data' holds a list of 5"):
        load_examples(wrapped, "json", language="my")
    one = tmp_path / "one.json"
    one.write_text(json.dumps(rows[0], ensure_ascii=False), encoding="utf-8")  # one line, one object
    with pytest.raises(DataFormatError, match=r"one\.json:1: .*one JSON object.*--data-format jsonl"):
        load_examples(one, "json", language="my")
    with pytest.raises(SystemExit, match="one JSON object"):
        _evaluate(model_dir, wrapped, tmp_path / "out", "--data-format", "json", "--source-labels", "stars")
    # JSON Lines in a .json file (several objects, one a line) and one record read as jsonl still load
    lines = tmp_path / "lines.json"
    lines.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows[:4]), encoding="utf-8")
    assert len(load_examples(lines, "json", source_labels="stars", language="my", labels="three-class")) == 4
    assert len(load_examples(one, "jsonl", source_labels="stars", language="my", labels="three-class")) == 1


def test_a_latin1_file_names_the_encoding_flag_and_reads_with_it(model_dir, tmp_path):
    if not MR_POS.is_file():
        pytest.skip("shared data folder not found (set CTAM_DATA_DIR)")
    lines = MR_POS.read_bytes().decode("latin-1").splitlines()
    accented = [line for line in lines if any(ord(c) > 127 for c in line)][:5] + lines[:5]
    path = _write_csv(tmp_path / "reviews.csv", [(line, "positive") for line in accented], encoding="latin-1")
    with pytest.raises(SystemExit, match="pass --encoding latin-1"):
        _evaluate(model_dir, path, tmp_path / "out", "--language", "en")
    record = _evaluate(model_dir, path, tmp_path / "out", "--language", "en", "--encoding", "latin-1")
    assert record["n_examples"] == len(accented)


def test_a_missing_column_names_the_cli_flags(rows, tmp_path):
    path = tmp_path / "reviews.csv"
    with open(path, "w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([["review", "stars"]] + [[r["text"], r["label"]] for r in rows[:3]])
    with pytest.raises(DataFormatError, match="pass --text-column / --label-column"):
        load_examples(path, language="my")
