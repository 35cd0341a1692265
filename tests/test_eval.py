"""Tests of evaluation: the offline `evaluate` metric against scikit-learn, metrics.json / report.md, the figures, the
ablation and cosine-distance tables, and `eval.py` end to end on a tiny CTAM model with the real offline tokenizer
and the real GKLMIP dev file."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support

from modeling_ctam import evaluation as figures  # figures, tables and the cosine table, re-exported
from modeling_ctam.evaluation import cli as eval_cli
from modeling_ctam.evaluation.cosine import DEFAULT_SENTIMENT_WORDS, load_mapping
from modeling_ctam.evaluation.metrics import (
    METRIC_MODULE_DIR,
    compute_metrics,
    load_metric,
    read_metrics,
    validate_record,
    write_metrics,
)
from modeling_ctam.evaluation.predict import LabelSchemeMismatchError, resolve_label_names
from modeling_ctam.evaluation.report import render_report
from modeling_ctam.evaluation.tables import view_records
from modeling_ctam.utils.paths import data_dir

REPO = Path(__file__).resolve().parent.parent
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
GKLMIP_DEV = data_dir() / "my" / "gklmip" / "product_sentiment_dataset_dev.json"
needs_gklmip = pytest.mark.skipif(not GKLMIP_DEV.is_file(), reason="shared GKLMIP data not found (set CTAM_DATA_DIR)")


def _from_confusion(matrix):
    """References and predictions that realise a confusion matrix (rows true, columns predicted)."""
    refs, preds = [], []
    for t, row in enumerate(matrix):
        for p, n in enumerate(row):
            refs += [t] * n
            preds += [p] * n
    rng = np.random.default_rng(0)  # order must not matter
    order = rng.permutation(len(refs))
    return [preds[i] for i in order], [refs[i] for i in order]


KNOWN = [[5, 2, 1], [1, 6, 3], [0, 2, 10]]  # 30 examples, 3 classes
NAMES3 = ["negative", "neutral", "positive"]


# ------------------------------------------------------------------------------------------------ metric module
def test_metric_module_is_a_local_evaluate_module():
    import evaluate

    assert (METRIC_MODULE_DIR / "ctam_classification.py").is_file()
    module = load_metric()
    assert isinstance(module, evaluate.EvaluationModule)
    assert module.name == "ctam_classification"
    assert load_metric() is module  # loaded once per process


def test_metrics_equal_sklearn_and_hand_computed_values_on_a_known_confusion():
    preds, refs = _from_confusion(KNOWN)
    record = compute_metrics(preds, refs, NAMES3)
    # by hand: class 0 precision 5/6, recall 5/8; class 1 precision 6/10, recall 6/10; class 2 10/14, 10/12
    hand_p = [5 / 6, 6 / 10, 10 / 14]
    hand_r = [5 / 8, 6 / 10, 10 / 12]
    hand_f = [2 * p * r / (p + r) for p, r in zip(hand_p, hand_r)]
    for i, name in enumerate(NAMES3):
        assert record["per_class"][name]["precision"] == pytest.approx(hand_p[i], abs=1e-12)
        assert record["per_class"][name]["recall"] == pytest.approx(hand_r[i], abs=1e-12)
        assert record["per_class"][name]["f1"] == pytest.approx(hand_f[i], abs=1e-12)
    assert [record["per_class"][n]["support"] for n in NAMES3] == [8, 10, 12]
    assert record["macro_f1"] == pytest.approx(sum(hand_f) / 3, abs=1e-12)
    assert record["accuracy"] == pytest.approx(21 / 30, abs=1e-12)
    # identical (not just close) to scikit-learn
    assert record["macro_f1"] == f1_score(refs, preds, average="macro")
    assert record["weighted_f1"] == f1_score(refs, preds, average="weighted")
    assert record["accuracy"] == accuracy_score(refs, preds)
    p, r, f, s = precision_recall_fscore_support(refs, preds, labels=[0, 1, 2])
    assert [record["per_class"][n]["f1"] for n in NAMES3] == list(map(float, f))
    assert record["confusion_matrix"] == {"labels": NAMES3, "rows": "true", "columns": "predicted", "matrix": KNOWN}
    assert confusion_matrix(refs, preds).tolist() == KNOWN
    assert record["n_examples"] == 30
    assert record["prediction_counts"] == {"negative": 6, "neutral": 10, "positive": 14}


def test_a_class_never_predicted_still_counts_in_the_macro_average():
    refs = [0, 0, 1, 1, 1, 1]
    preds = [1, 1, 1, 1, 1, 1]  # the model always says positive
    record = compute_metrics(preds, refs, ["negative", "positive"])
    assert record["per_class"]["negative"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 2}
    assert record["macro_f1"] == pytest.approx(0.5 * (2 * (4 / 6) / (1 + 4 / 6)))
    assert record["macro_f1"] == f1_score(refs, preds, average="macro", zero_division=0)
    # a class absent from both references and predictions is still a row of the confusion matrix
    record = compute_metrics([0, 2], [0, 2], NAMES3)
    assert record["confusion_matrix"]["matrix"] == [[1, 0, 0], [0, 0, 0], [0, 0, 1]]


def test_compute_metrics_rejects_bad_input():
    with pytest.raises(ValueError, match="outside 0..1"):
        compute_metrics([0, 2], [0, 1], ["negative", "positive"])
    with pytest.raises(ValueError, match="pair up"):
        compute_metrics([0], [0, 1], ["negative", "positive"])
    with pytest.raises(ValueError, match="empty"):
        compute_metrics([], [], ["negative", "positive"])


# ----------------------------------------------------------------------------------------------- metrics.json / report
def test_metrics_json_structure_and_round_trip(tmp_path):
    preds, refs = _from_confusion(KNOWN)
    record = compute_metrics(preds, refs, NAMES3)
    record.update(model="m", data="d.json", method="ctam")
    path = write_metrics(record, tmp_path / "run" / "metrics.json")
    raw = json.loads(path.read_text(encoding="utf-8"))
    for key in (
        "macro_f1",
        "weighted_f1",
        "accuracy",
        "per_class",
        "confusion_matrix",
        "label_names",
        "n_examples",
        "model",
        "data",
        "schema_version",
    ):
        assert key in raw, key
    assert list(raw["per_class"]) == NAMES3
    assert set(raw["per_class"]["neutral"]) == {"precision", "recall", "f1", "support"}
    back = read_metrics(tmp_path / "run")  # a folder works too
    assert back["_path"] == str(path) and back["macro_f1"] == record["macro_f1"]
    broken = dict(raw)
    broken["confusion_matrix"] = {**raw["confusion_matrix"], "matrix": [[1, 0, 0], [0, 1, 0], [0, 0, 1]]}
    with pytest.raises(ValueError, match="sums to 3"):
        validate_record(broken)
    with pytest.raises(ValueError, match="missing"):
        validate_record({"macro_f1": 1.0})


def test_report_md_content():
    preds, refs = _from_confusion(KNOWN)
    record = compute_metrics(preds, refs, NAMES3)
    record.update(
        model="models/ctam",
        data="dev.json",
        method="ctam",
        label_scheme="three-class",
        data_stats={"dropped": {"3_star_in_binary": 15}},
        command="python eval.py --model x",
    )
    text = render_report(record, "confusion_matrix.png")
    assert text.startswith("# Evaluation: ctam")
    assert f"| {record['macro_f1']:.4f} | {record['weighted_f1']:.4f} | {record['accuracy']:.4f} |" in text
    assert "| neutral | 0.6000 | 0.6000 | 0.6000 | 10 | 10 |" in text
    assert "| negative | 5 | 2 | 1 |" in text and "| positive | 0 | 2 | 10 |" in text
    assert "![Confusion matrix](confusion_matrix.png)" in text
    assert "3_star_in_binary: 15" in text
    assert "python eval.py --model x" in text


# ------------------------------------------------------------------------------------------------ label schemes
def test_resolve_label_names():
    names = ["negative", "positive"]
    assert resolve_label_names({0: "negative", 1: "positive"}, 2, names) == (names, None)
    assert resolve_label_names({"0": "NEGATIVE", "1": "Positive"}, 2, names) == (names, None)
    assert resolve_label_names({0: "LABEL_0", 1: "LABEL_1"}, 2, names) == (names, None)  # placeholders: data names
    assert resolve_label_names({0: "positive", 1: "negative"}, 2, names) == (names, [1, 0])  # reordered classes
    with pytest.raises(LabelSchemeMismatchError, match="--labels three-class"):
        resolve_label_names({0: "negative", 1: "neutral", 2: "positive"}, 3, names, "binary")
    with pytest.raises(LabelSchemeMismatchError, match="are not the classes"):
        resolve_label_names({0: "sad", 1: "happy"}, 2, names, "binary")


# ------------------------------------------------------------------------------------------------ figures
def _assert_png(path):
    data = Path(path).read_bytes()
    assert len(data) > 1000 and data[:8] == PNG_MAGIC


def test_confusion_matrix_png(tmp_path):
    path = figures.plot_confusion_matrix(KNOWN, NAMES3, tmp_path / "cm.png", title="t")
    _assert_png(path)
    with pytest.raises(ValueError, match="shape"):
        figures.plot_confusion_matrix(KNOWN, ["a", "b"], tmp_path / "bad.png")


def _record(macro, f1s, method, seed, data="dev.json", n=30):
    names = ["negative", "positive"]
    return {
        "macro_f1": macro,
        "weighted_f1": macro + 0.1,
        "accuracy": macro + 0.2,
        "macro_precision": macro,
        "macro_recall": macro,
        "per_class": {n_: {"precision": 0.5, "recall": 0.5, "f1": f, "support": 15} for n_, f in zip(names, f1s)},
        "confusion_matrix": {"labels": names, "matrix": [[10, 5], [5, 10]]},
        "label_names": names,
        "n_examples": n,
        "method": method,
        "seed": seed,
        "data": data,
        "label_scheme": "binary",
    }


def _ablation_records():
    return [
        _record(0.50, [0.3, 0.7], "xlmr-base", 1),
        _record(0.60, [0.4, 0.8], "xlmr-base", 2),
        _record(0.70, [0.5, 0.9], "xlmr-base", 3),
        _record(0.80, [0.7, 0.9], "ctam", 1),
        _record(0.82, [0.72, 0.92], "ctam", 2),
        _record(0.84, [0.74, 0.94], "ctam", 3),
    ]


def test_per_class_f1_png(tmp_path):
    groups = figures.group_metrics(_ablation_records())
    assert list(groups) == ["xlmr-base", "ctam"]
    _assert_png(figures.plot_per_class_f1(groups, tmp_path / "f1.png"))


def test_ablation_table_mean_and_spread():
    groups = figures.group_metrics(_ablation_records(), method_order=["ctam", "xlmr-base"])
    assert list(groups) == ["ctam", "xlmr-base"]
    table = figures.ablation_table(groups, baseline="xlmr-base")
    base = table["methods"]["xlmr-base"]
    assert base["n_runs"] == 3 and base["seeds"] == [1, 2, 3]
    assert base["macro_f1"]["mean"] == pytest.approx(0.6)
    assert base["macro_f1"]["std"] == pytest.approx(0.1)  # sample std (ddof=1) of 0.5, 0.6, 0.7
    assert (base["macro_f1"]["min"], base["macro_f1"]["max"]) == (0.5, 0.7)
    assert base["f1_negative"]["mean"] == pytest.approx(0.4)
    ctam = table["methods"]["ctam"]
    assert ctam["macro_f1"]["std"] == pytest.approx(0.02)
    assert ctam["delta_macro_f1"] == pytest.approx(0.22)
    assert ctam["beats_baseline_by_more_than_spread"] is True
    text = figures.ablation_markdown(table, title="Zero-shot")
    assert "| xlmr-base | 3 | 0.6000 ± 0.1000 |" in text
    assert "| ctam | 3 | 0.8200 ± 0.0200 |" in text and "+0.2200 | yes |" in text
    # a gain inside the seed spread is not a win
    close = [_record(0.65, [0.5, 0.8], "ctam", s) for s in (1, 2, 3)]
    table = figures.ablation_table(figures.group_metrics(_ablation_records()[:3] + close), baseline="xlmr-base")
    assert table["methods"]["ctam"]["beats_baseline_by_more_than_spread"] is False
    one = figures.ablation_table(figures.group_metrics([_record(0.5, [0.3, 0.7], "solo", 1)]))
    assert one["methods"]["solo"]["macro_f1"]["std"] is None


def test_view_records_give_each_view_its_own_row():
    ensemble = _record(0.72, [0.53, 0.91], "ctam", 1)
    scores = lambda macro, f1s: {  # noqa: E731  a view's scores: a metrics record without the run's fields
        k: v for k, v in _record(macro, f1s, "-", 0).items() if k not in ("method", "seed", "data")
    }
    ensemble["views"] = {"student": scores(0.70, [0.49, 0.91]), "ngram": scores(0.66, [0.45, 0.87])}
    plain = _record(0.65, [0.44, 0.86], "plain", 1)  # no n-gram view: no extra row
    rows = {r["method"]: r for r in view_records([ensemble, plain])}
    assert set(rows) == {"ctam [student alone]", "ctam [n-gram view alone]"}
    student = rows["ctam [student alone]"]
    assert student["macro_f1"] == 0.70 and student["per_class"]["negative"]["f1"] == 0.49
    assert student["seed"] == 1 and "views" not in student  # the run's own fields, the view's scores
    groups = figures.group_metrics([ensemble, *view_records([ensemble])])
    assert list(groups) == ["ctam", "ctam [student alone]", "ctam [n-gram view alone]"]


def test_ablation_refuses_runs_on_different_data():
    records = _ablation_records()
    records[-1] = _record(0.84, [0.74, 0.94], "ctam", 3, data="train.json", n=300)
    with pytest.raises(ValueError, match="different evaluation data"):
        figures.ablation_table(figures.group_metrics(records))
    with pytest.raises(ValueError, match="method_order names"):
        figures.group_metrics(_ablation_records(), method_order=["vxlm"])


# ------------------------------------------------------------------------------------------------ cosine distances
def _rotation(d=4, seed=0):
    q, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(d, d)))
    return q


def test_cosine_distance_table_with_an_orthogonal_map():
    R = _rotation()
    mu_t, mu_s = np.array([1.0, 0, 0, 0]), np.array([0, 0, 2.0, 0])
    en = {"good": np.array([1.0, 0, 0, 0]), "bad": np.array([0, 1.0, 0, 0]), "fine": np.array([1.0, 1.0, 0, 0])}
    # Burmese vectors built so that W (x - mu_t) + mu_s = y exactly: x = W^T (y - mu_s) + mu_t
    my = {"ကောင်း": R.T @ (en["good"] - mu_s) + mu_t, "ဆိုး": R.T @ (en["bad"] - mu_s) + mu_t}
    my["ရ"] = -my["ကောင်း"]  # an unrelated vector for the third pair
    pairs = [("good", "ကောင်း"), ("bad", "ဆိုး"), ("fine", "ရ"), ("absent", "ကောင်း")]
    table = figures.cosine_distance_table(pairs, en, my, {"weight": R, "target_mean": mu_t, "source_mean": mu_s})
    rows = table["rows"]
    for row, (e, b) in zip(rows[:2], pairs[:2]):
        x, y = my[b], en[e]
        assert row["before"] == pytest.approx(1 - x @ y / (np.linalg.norm(x) * np.linalg.norm(y)))
        assert row["after"] == pytest.approx(0.0, abs=1e-12)
    mapped = R @ (my["ရ"] - mu_t) + mu_s
    assert rows[2]["after"] == pytest.approx(1 - mapped @ en["fine"] / (np.linalg.norm(mapped) * math.sqrt(2)))
    assert rows[3]["found"] is False and table["n_found"] == 3 and table["n_pairs"] == 4
    assert table["missing"][0]["absent"] == ["english"]
    assert table["mean_after"] == pytest.approx(rows[2]["after"] / 3)
    # identity map, no means: after == before
    same = figures.cosine_distance_table(pairs[:2], en, my, {"weight": np.eye(4)})
    assert [r["after"] for r in same["rows"]] == pytest.approx([r["before"] for r in same["rows"]])
    text = figures.cosine_markdown(table)
    assert "| good | ကောင်း |" in text and "| absent | ကောင်း | missing | missing |" in text


def test_mapping_and_vector_loaders(tmp_path):
    from safetensors.torch import save_file

    R = _rotation(seed=1)
    save_file(
        {"weight": torch.tensor(R, dtype=torch.float32), "target_mean": torch.ones(4), "source_mean": torch.zeros(4)},
        str(tmp_path / "mapping.safetensors"),
    )
    mapping = load_mapping(tmp_path)  # an alignment folder
    assert np.allclose(mapping["weight"], R, atol=1e-6) and np.allclose(mapping["target_mean"], 1.0)
    vec = tmp_path / "my.vec"
    vec.write_text("3 4\nကောင်း 1 0 0 0\nဆိုး 0 1 0 0\nမ_ကောင်း 0 0 1 0\n", encoding="utf-8")
    vectors = figures.load_word_vectors(vec, ["ကောင်း", "မ ကောင်း"])
    assert set(vectors) >= {"ကောင်း", "မ ကောင်း"} and "ဆိုး" not in vectors
    assert vectors["မ ကောင်း"].tolist() == [0, 0, 1, 0]
    bad = tmp_path / "bad.vec"
    bad.write_text("2 4\na 1 0 0 0\nb 1 0\n", encoding="utf-8")
    with pytest.raises(ValueError, match="bad.vec:3"):
        figures.load_word_vectors(bad)
    with pytest.raises(FileNotFoundError):
        load_mapping(tmp_path / "nowhere")
    pairs_file = tmp_path / "pairs.txt"
    pairs_file.write_text("good | ကောင်း\n\n# comment\nbad | ဆိုး\n", encoding="utf-8")
    assert figures.read_word_pairs(pairs_file) == [("good", "ကောင်း"), ("bad", "ဆိုး")]


@pytest.mark.skipif(not (data_dir() / "lexicon").is_dir(), reason="shared lexicon not found (set CTAM_DATA_DIR)")
def test_default_word_pairs_come_from_mypar():
    pairs = figures.default_word_pairs(limit=None)
    assert len(pairs) >= 5
    english = [e for e, _ in pairs]
    assert english == [w for w in DEFAULT_SENTIMENT_WORDS if w in english]  # in the list's order
    assert all(any("\u1000" <= ch <= "\u109f" for ch in b) for _, b in pairs)  # Burmese script


# ------------------------------------------------------------------------------------------------ eval.py end to end


TINY_ENCODER = dict(
    model_type="xlm-roberta",
    hidden_size=32,
    num_hidden_layers=2,
    num_attention_heads=2,
    intermediate_size=37,
    vocab_size=250037,
    max_position_embeddings=68,
    pad_token_id=1,
    bos_token_id=0,
    eos_token_id=2,
)


def _tiny_model(folder, tokenizer, id2label, seed=0):
    from modeling_ctam import CTAMConfig, CTAMForSequenceClassification

    torch.manual_seed(seed)
    config = CTAMConfig(
        encoder_config=dict(TINY_ENCODER),
        num_labels=len(id2label),
        id2label=id2label,
        label2id={v: k for k, v in id2label.items()},
    )
    model = CTAMForSequenceClassification(config).eval()
    model.ctam.set_word_boundaries(tokenizer)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return str(folder)


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory, offline_encoder_dir):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(offline_encoder_dir)
    assert 250000 < len(tokenizer) <= TINY_ENCODER["vocab_size"]  # the real XLM-R vocabulary
    root = tmp_path_factory.mktemp("tiny-ctam")
    return {
        "binary": _tiny_model(root / "binary", tokenizer, {0: "negative", 1: "positive"}),
        "generic": _tiny_model(root / "generic", tokenizer, {0: "LABEL_0", 1: "LABEL_1"}, seed=1),
    }


@needs_gklmip
def test_eval_py_end_to_end_on_gklmip_dev(tiny_models, tmp_path):
    cli = eval_cli
    out = tmp_path / "eval"
    argv = [
        "--model",
        tiny_models["binary"],
        "--data",
        str(GKLMIP_DEV),
        "--data-format",
        "gklmip-json",
        "--labels",
        "binary",
        "--output-dir",
        str(out),
        "--batch-size",
        "64",
        "--max-length",
        "64",
        "--method-name",
        "tiny-ctam",
        "--seed",
        "7",
    ]
    record = cli.main(argv)
    saved = read_metrics(out / "metrics.json")
    assert saved["macro_f1"] == record["macro_f1"]
    assert saved["n_examples"] == 343  # 358 rows, the 15 three-star rows dropped
    assert saved["data_stats"]["rows_read"] == 358 and saved["data_stats"]["dropped"] == {"3_star_in_binary": 15}
    assert saved["label_names"] == ["negative", "positive"]
    assert {saved["per_class"][n]["support"] for n in ("negative", "positive")} == {35, 308}
    assert sum(map(sum, saved["confusion_matrix"]["matrix"])) == 343
    assert [sum(row) for row in saved["confusion_matrix"]["matrix"]] == [35, 308]
    assert saved["method"] == "tiny-ctam" and saved["seed"] == 7 and saved["model"] == tiny_models["binary"]
    assert saved["data_name"] == GKLMIP_DEV.name and len(saved["data_sha256"]) == 64
    assert saved["macro_f1"] == pytest.approx(np.mean([saved["per_class"][n]["f1"] for n in ("negative", "positive")]))
    _assert_png(out / "confusion_matrix.png")
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "| Examples scored | 343 |" in report and "LABEL_" not in report
    predictions = [json.loads(line) for line in (out / "predictions.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(predictions) == 343 and {p["label"] for p in predictions} == {"negative", "positive"}
    # the predictions file agrees with the confusion matrix
    matrix = saved["confusion_matrix"]["matrix"]
    assert sum(p["label"] == p["prediction"] == "negative" for p in predictions) == matrix[0][0]
    # batching and sorting by length do not change the predictions
    again = cli.main(
        argv[:-4]
        + ["--batch-size", "7", "--output-dir", str(tmp_path / "again"), "--no-figure", "--max-examples", "40"]
    )
    first40 = [p["prediction"] for p in predictions[:40]]
    again_predictions = [
        json.loads(line)["prediction"]
        for line in (tmp_path / "again" / "predictions.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    assert again["n_examples"] == 40 and again_predictions == first40


@needs_gklmip
def test_eval_py_placeholder_label_names_become_the_scheme_names(tiny_models, tmp_path):
    record = eval_cli.main(
        [
            "--model",
            tiny_models["generic"],
            "--data",
            str(GKLMIP_DEV),
            "--labels",
            "binary",
            "--output-dir",
            str(tmp_path),
            "--max-examples",
            "20",
            "--no-figure",
        ]
    )
    assert record["label_names"] == ["negative", "positive"]
    assert list(record["per_class"]) == ["negative", "positive"]
    assert record["model_id2label"] == {"0": "LABEL_0", "1": "LABEL_1"}
    assert record["max_length"] == 66  # default 128 clamped to the tiny XLM-R's 68 positions minus the pad offset


@needs_gklmip
def test_eval_py_remaps_a_model_whose_classes_are_in_another_order(tiny_models, tmp_path):
    import shutil

    swapped = tmp_path / "swapped"
    shutil.copytree(tiny_models["binary"], swapped)
    config = json.loads((swapped / "config.json").read_text(encoding="utf-8"))
    config["id2label"] = {"0": "positive", "1": "negative"}  # same weights, output 0 now means positive
    config["label2id"] = {"positive": 0, "negative": 1}
    (swapped / "config.json").write_text(json.dumps(config), encoding="utf-8")
    cli = eval_cli
    common = ["--data", str(GKLMIP_DEV), "--labels", "binary", "--max-examples", "30", "--no-figure"]
    original = cli.main(["--model", tiny_models["binary"], "--output-dir", str(tmp_path / "a"), *common])
    remapped = cli.main(["--model", str(swapped), "--output-dir", str(tmp_path / "b"), *common])
    # the predicted class names swap, so the confusion matrix's columns swap
    assert remapped["confusion_matrix"]["matrix"] == [row[::-1] for row in original["confusion_matrix"]["matrix"]]
    assert remapped["label_names"] == ["negative", "positive"]


@needs_gklmip
def test_eval_py_label_scheme_mismatch_is_a_clear_error(tiny_models, tmp_path):
    with pytest.raises(SystemExit) as info:
        eval_cli.main(
            [
                "--model",
                tiny_models["binary"],
                "--data",
                str(GKLMIP_DEV),
                "--labels",
                "three-class",
                "--output-dir",
                str(tmp_path / "x"),
            ]
        )
    message = str(info.value)
    assert "2 classes" in message and "3 classes" in message and "--labels binary" in message
    assert not (tmp_path / "x" / "metrics.json").exists()


def test_eval_py_table_commands(tmp_path):
    cli = eval_cli
    paths = []
    for i, record in enumerate(_ablation_records()):
        paths.append(str(write_metrics(record, tmp_path / "runs" / f"{record['method']}-{i}" / "metrics.json")))
    table = cli.main(
        [
            "ablation-table",
            *paths,
            "--output-dir",
            str(tmp_path / "t"),
            "--baseline",
            "xlmr-base",
            "--method-order",
            "xlmr-base",
            "ctam",
            "--name",
            "zero-shot",
        ]
    )
    assert table["methods"]["xlmr-base"]["macro_f1"]["mean"] == pytest.approx(0.6)
    assert json.loads((tmp_path / "t" / "zero-shot.json").read_text())["baseline"] == "xlmr-base"
    assert "0.8200 ± 0.0200" in (tmp_path / "t" / "zero-shot.md").read_text(encoding="utf-8")
    cli.main(["f1-bars", *paths, "--output", str(tmp_path / "f1.png")])
    _assert_png(tmp_path / "f1.png")
    # cosine table from files
    from safetensors.torch import save_file

    save_file(
        {"weight": torch.eye(2), "target_mean": torch.zeros(2), "source_mean": torch.zeros(2)},
        str(tmp_path / "mapping.safetensors"),
    )
    (tmp_path / "en.vec").write_text("2 2\ngood 1 0\nbad 0 1\n", encoding="utf-8")
    (tmp_path / "my.vec").write_text("2 2\nကောင်း 1 1\nဆိုး 0 1\n", encoding="utf-8")
    (tmp_path / "pairs.tsv").write_text("english\tburmese\ngood\tကောင်း\nbad\tဆိုး\n", encoding="utf-8")
    table = cli.main(
        [
            "cosine-table",
            "--mapping",
            str(tmp_path),
            "--source-vectors",
            str(tmp_path / "en.vec"),
            "--target-vectors",
            str(tmp_path / "my.vec"),
            "--pairs",
            str(tmp_path / "pairs.tsv"),
            "--output-dir",
            str(tmp_path / "c"),
        ]
    )
    assert [r["before"] for r in table["rows"]] == pytest.approx([1 - 1 / math.sqrt(2), 0.0])
    assert (tmp_path / "c" / "cosine_distance.md").is_file()
    with pytest.raises(SystemExit, match="error: .*not a CTAM metrics.json"):
        bad = tmp_path / "bad.json"
        bad.write_text("{}", encoding="utf-8")
        cli.main(["ablation-table", str(bad), "--output-dir", str(tmp_path / "t2")])


@needs_gklmip
def test_eval_py_truncates_like_the_training_run_by_default(tiny_models, tmp_path):
    import shutil

    model = tmp_path / "trained"
    shutil.copytree(tiny_models["binary"], model)
    (model / "train_config.json").write_text(json.dumps({"config": {"max_length": 24}}), encoding="utf-8")
    cli = eval_cli
    argv = [
        "--model",
        str(model),
        "--data",
        str(GKLMIP_DEV),
        "--data-format",
        "gklmip-json",
        "--labels",
        "binary",
        "--no-figure",
        "--max-examples",
        "8",
    ]
    assert cli.main(argv + ["--output-dir", str(tmp_path / "a")])["max_length"] == 24
    assert cli.main(argv + ["--output-dir", str(tmp_path / "b"), "--max-length", "40"])["max_length"] == 40
    # no training record: 128, capped at what the tiny encoder's 68 positions allow (68 - padding index 1 - 1)
    assert (
        cli.main(["--model", tiny_models["binary"]] + argv[2:] + ["--output-dir", str(tmp_path / "c")])["max_length"]
        == 66
    )


def test_eval_py_is_the_package_command_line_and_a_command_is_one_table_entry(monkeypatch):
    import subprocess
    import sys

    monkeypatch.setenv("COLUMNS", "120")
    proc = subprocess.run(
        [sys.executable, "eval.py", "--help"], cwd=REPO, capture_output=True, text=True, env={**os.environ}
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout == eval_cli.build_parser().format_help()
    assert list(eval_cli.COMMANDS) == [
        "evaluate",
        "f1-bars",
        "ablation-table",
        "cosine-table",
        "predict",
        "export-onnx",
    ]
    # a new command (e.g. predict) is one entry: its help, its arguments, its run
    echo = eval_cli.Command("Echo a word.", lambda p: p.add_argument("--word"), lambda args, argv: (args.word, argv))
    monkeypatch.setitem(eval_cli.COMMANDS, "echo", echo)
    assert eval_cli.main(["echo", "--word", "hi"]) == ("hi", ["--word", "hi"])
    assert "echo" in eval_cli.build_parser().format_help()
