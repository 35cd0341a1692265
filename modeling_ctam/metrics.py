# Copyright 2025 The CTAM authors.
# Licensed under the Apache License, Version 2.0.
"""Evaluation metrics for CTAM (method.md section 6), computed with the `evaluate` library, offline.

`evaluate.load("f1")` downloads its script from the Hugging Face Hub. CTAM ships its own `evaluate` metric module,
``modeling_ctam/evaluate_metrics/ctam_classification/ctam_classification.py``, and loads it by path
(:func:`load_metric`), so evaluation needs no network. It computes, with scikit-learn exactly as the Hub's
`f1` / `precision` / `recall` / `accuracy` / `confusion_matrix` modules do:

- accuracy, macro and support-weighted precision / recall / F1;
- precision, recall, F1 and support of every class;
- the confusion matrix (rows = true class, columns = predicted class).

:func:`compute_metrics` turns its flat output into the record that ``eval.py`` writes as ``metrics.json``
(per-class values keyed by label *name*, the confusion matrix with its label order), and :func:`render_report`
writes the Markdown report. Record layout (:data:`METRICS_SCHEMA_VERSION` = 1)::

    {
      "schema_version": 1,
      "macro_f1": 0.81, "weighted_f1": 0.93, "accuracy": 0.93,
      "macro_precision": ..., "macro_recall": ..., "weighted_precision": ..., "weighted_recall": ...,
      "per_class": {"negative": {"precision": .., "recall": .., "f1": .., "support": 35}, "positive": {...}},
      "confusion_matrix": {"labels": ["negative", "positive"], "rows": "true", "columns": "predicted",
                           "matrix": [[30, 5], [6, 302]]},
      "label_names": ["negative", "positive"], "n_examples": 343,
      "model": "...", "data": "...", ...   # run information added by eval.py
    }

Macro-F1 is the headline number: about 79% of GKLMIP reviews are five-star, so accuracy alone says little.
"""

from __future__ import annotations

import functools
import json
import math
import os
from pathlib import Path
from typing import Any, Mapping, Sequence

METRICS_SCHEMA_VERSION = 1
"""Version of the ``metrics.json`` layout (bumped when a key changes meaning)."""

METRIC_MODULE_DIR = Path(__file__).resolve().parent / "evaluate_metrics" / "ctam_classification"
"""Folder of the local `evaluate` metric module (``evaluate.load(str(METRIC_MODULE_DIR))``)."""

HEADLINE_METRICS = ("macro_f1", "weighted_f1", "accuracy")
AVERAGED_METRICS = (
    "macro_f1",
    "weighted_f1",
    "accuracy",
    "macro_precision",
    "macro_recall",
    "weighted_precision",
    "weighted_recall",
)
PER_CLASS_METRICS = ("precision", "recall", "f1", "support")

__all__ = [
    "METRICS_SCHEMA_VERSION",
    "METRIC_MODULE_DIR",
    "HEADLINE_METRICS",
    "AVERAGED_METRICS",
    "PER_CLASS_METRICS",
    "load_metric",
    "compute_metrics",
    "validate_record",
    "read_metrics",
    "write_metrics",
    "render_report",
    "is_generic_label_name",
    "LabelSchemeMismatchError",
    "resolve_label_names",
    "predict",
]


@functools.lru_cache(maxsize=1)
def load_metric():
    """The local `evaluate` metric module ``ctam_classification`` (loaded once per process, no network).

    Returns:
        `evaluate.EvaluationModule`: call ``.compute(predictions=..., references=..., labels=[0, 1, ...])``.

    Raises:
        FileNotFoundError: the module folder is missing (a broken installation).
    """
    import evaluate

    script = METRIC_MODULE_DIR / "ctam_classification.py"
    if not script.is_file():
        raise FileNotFoundError(
            f"The offline metric module {script} is missing; reinstall CTAM (pip install -e .) so that "
            "modeling_ctam/evaluate_metrics/ is present."
        )
    return evaluate.load(str(METRIC_MODULE_DIR))


def compute_metrics(
    predictions: Sequence[int],
    references: Sequence[int],
    label_names: Sequence[str],
    zero_division: float = 0.0,
) -> dict[str, Any]:
    """Scores predictions against references with the offline `evaluate` module.

    Args:
        predictions (`Sequence[int]`): predicted label ids.
        references (`Sequence[int]`): true label ids.
        label_names (`Sequence[str]`): class names; the list index is the label id (e.g. ``["negative",
            "positive"]``). Every class is scored, also one that never occurs.
        zero_division (`float`, *optional*, defaults to 0.0): precision (recall) of a class with no predicted (true)
            example.

    Returns:
        `dict`: the metrics part of a ``metrics.json`` record (see the module docstring): averaged metrics,
        ``per_class`` keyed by label name, ``confusion_matrix`` with its ``labels`` order, ``label_names`` and
        ``n_examples``.

    Raises:
        ValueError: empty input, lengths that differ, or an id outside ``0..len(label_names) - 1``.
    """
    predictions = [int(p) for p in predictions]
    references = [int(r) for r in references]
    label_names = [str(n) for n in label_names]
    if len(predictions) != len(references):
        raise ValueError(f"{len(predictions)} predictions but {len(references)} references; they must pair up.")
    if not references:
        raise ValueError("No examples to score: the evaluation data is empty.")
    if len(set(label_names)) != len(label_names) or len(label_names) < 2:
        raise ValueError(f"label_names={label_names} must name at least two distinct classes.")
    ids = list(range(len(label_names)))
    for what, values in (("references", references), ("predictions", predictions)):
        bad = sorted({v for v in values if not 0 <= v < len(label_names)})
        if bad:
            raise ValueError(
                f"{what} contain label ids {bad} outside 0..{len(label_names) - 1} ({', '.join(label_names)}); "
                "the data's label scheme and the model's classes disagree."
            )
    raw = load_metric().compute(
        predictions=predictions, references=references, labels=ids, zero_division=zero_division
    )
    record: dict[str, Any] = {"schema_version": METRICS_SCHEMA_VERSION}
    for key in AVERAGED_METRICS:
        record[key] = float(raw[key])
    record["per_class"] = {
        name: {
            "precision": float(raw["precision"][i]),
            "recall": float(raw["recall"][i]),
            "f1": float(raw["f1"][i]),
            "support": int(raw["support"][i]),
        }
        for i, name in enumerate(label_names)
    }
    record["confusion_matrix"] = {
        "labels": list(label_names),
        "rows": "true",
        "columns": "predicted",
        "matrix": [[int(v) for v in row] for row in raw["confusion_matrix"]],
    }
    record["label_names"] = list(label_names)
    record["n_examples"] = len(references)
    record["prediction_counts"] = {name: predictions.count(i) for i, name in enumerate(label_names)}
    return record


_REQUIRED_KEYS = ("macro_f1", "weighted_f1", "accuracy", "per_class", "confusion_matrix", "label_names", "n_examples")


def validate_record(record: Mapping[str, Any], where: str = "metrics record") -> None:
    """Checks that ``record`` has the ``metrics.json`` layout; raises a `ValueError` naming what is missing."""
    missing = [k for k in _REQUIRED_KEYS if k not in record]
    if missing:
        raise ValueError(
            f"{where} is not a CTAM metrics.json (missing {missing}); produce it with `python eval.py --model ... "
            "--data ... --output-dir DIR`."
        )
    names = list(record["label_names"])
    if list(record["per_class"]) != names or list(record["confusion_matrix"].get("labels", [])) != names:
        raise ValueError(f"{where}: per_class / confusion_matrix labels do not match label_names={names}.")
    matrix = record["confusion_matrix"].get("matrix", [])
    if sum(sum(row) for row in matrix) != record["n_examples"]:
        raise ValueError(f"{where}: the confusion matrix sums to {sum(map(sum, matrix))}, not n_examples.")


def read_metrics(path: str | os.PathLike) -> dict[str, Any]:
    """Reads a ``metrics.json`` (or the folder holding one), checks its layout and records where it came from.

    Returns:
        `dict`: the record, with ``"_path"`` set to the file that was read.
    """
    path = Path(path)
    if path.is_dir():
        path = path / "metrics.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist; give a metrics.json file or a folder holding one.")
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ValueError(f"{path} is not valid JSON: {err}") from err
    validate_record(record, str(path))
    record["_path"] = str(path)
    return record


def write_metrics(record: Mapping[str, Any], path: str | os.PathLike) -> Path:
    """Writes ``record`` as indented UTF-8 JSON (Burmese-safe), atomically; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    clean = {k: v for k, v in record.items() if not k.startswith("_")}
    tmp.write_text(json.dumps(clean, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path


def is_generic_label_name(name: str) -> bool:
    """``True`` for transformers' placeholder names (``LABEL_0``, ``LABEL_1``, ...)."""
    return str(name).upper().startswith("LABEL_") and str(name)[6:].isdigit()


def _fmt(value: Any, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _md_escape(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def render_report(record: Mapping[str, Any], confusion_png: str | None = None) -> str:
    """The Markdown report of one evaluation (``report.md``).

    Args:
        record (`Mapping`): a ``metrics.json`` record (see :func:`compute_metrics`), with the run information that
            ``eval.py`` adds (``model``, ``data``, ...; missing fields are left out).
        confusion_png (`str`, *optional*): file name of the confusion-matrix figure, linked relative to the report.

    Returns:
        `str`: Markdown text.
    """
    validate_record(record)
    names = list(record["label_names"])
    lines = [f"# Evaluation: {_md_escape(record.get('method') or record.get('model', 'model'))}", ""]
    info = [
        ("Model", record.get("model")),
        ("Method", record.get("method")),
        ("Data", record.get("data")),
        ("Data format", record.get("data_format")),
        ("Split", record.get("split")),
        ("Label scheme", record.get("label_scheme")),
        ("Examples scored", record.get("n_examples")),
    ]
    stats = record.get("data_stats") or {}
    if stats.get("dropped"):
        info.append(("Rows left out by the label scheme", ", ".join(f"{k}: {v}" for k, v in stats["dropped"].items())))
    if stats.get("skipped"):
        info.append(("Malformed rows skipped", ", ".join(f"{k}: {v}" for k, v in stats["skipped"].items())))
    if record.get("num_truncated"):
        info.append(("Texts truncated to max_length", f"{record['num_truncated']} (max_length={record.get('max_length')})"))
    lines += ["| | |", "|---|---|"]
    lines += [f"| {k} | {_md_escape(v)} |" for k, v in info if v is not None]
    lines += [
        "",
        "## Headline",
        "",
        "| macro-F1 | weighted-F1 | accuracy | macro-precision | macro-recall |",
        "|---:|---:|---:|---:|---:|",
        "| " + " | ".join(_fmt(record.get(k)) for k in ("macro_f1", "weighted_f1", "accuracy", "macro_precision",
                                                        "macro_recall")) + " |",
        "",
        "Macro-F1 (the unweighted mean of the per-class F1) is the number to compare: when the classes are "
        "imbalanced (see the support column), a model that always answers the majority class gets a high accuracy "
        "and a low macro-F1.",
        "",
        "## Per class",
        "",
        "| class | precision | recall | F1 | support | predicted |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    predicted = record.get("prediction_counts", {})
    for name in names:
        row = record["per_class"][name]
        lines.append(
            f"| {_md_escape(name)} | {_fmt(row['precision'])} | {_fmt(row['recall'])} | {_fmt(row['f1'])} | "
            f"{row['support']} | {predicted.get(name, '')} |"
        )
    matrix = record["confusion_matrix"]["matrix"]
    lines += [
        "",
        "## Confusion matrix",
        "",
        "Rows are the true class, columns the predicted class.",
        "",
        "| true \\ predicted | " + " | ".join(_md_escape(n) for n in names) + " |",
        "|---|" + "---:|" * len(names),
    ]
    for name, row in zip(names, matrix):
        lines.append(f"| {_md_escape(name)} | " + " | ".join(str(v) for v in row) + " |")
    if confusion_png:
        lines += ["", f"![Confusion matrix]({confusion_png})"]
    majority = max(names, key=lambda n: record["per_class"][n]["support"])
    share = record["per_class"][majority]["support"] / max(1, record["n_examples"])
    lines += ["", f"Majority class: {_md_escape(majority)} ({share:.1%} of the examples)."]
    if record.get("command"):
        lines += ["", "## Reproduce", "", "```bash", str(record["command"]), "```"]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------------------------------------
# model side: label names and batched prediction
# --------------------------------------------------------------------------------------------------------------------


class LabelSchemeMismatchError(ValueError):
    """The evaluation data's label scheme does not fit the model's classes (the message says what to do)."""


def resolve_label_names(id2label: Mapping[Any, str] | None, num_labels: int, scheme_names: Sequence[str],
                        scheme: str = "") -> tuple[list[str], list[int] | None]:
    """Matches a model's classes with the data's label scheme.

    Args:
        id2label (`Mapping`, *optional*): the model's ``config.id2label`` (keys may be strings after JSON).
        num_labels (`int`): the model's ``config.num_labels``.
        scheme_names (`Sequence[str]`): the data's class names, index = label id (e.g. ``["negative", "positive"]``).
        scheme (`str`, *optional*): the scheme's name, for messages (``"binary"`` / ``"three-class"``).

    Returns:
        `tuple`: ``(label_names, remap)``. ``label_names`` are the data's class names. ``remap`` is `None` when the
        model's class ``i`` is the data's class ``i``; otherwise ``remap[model_id] = data_id`` (the model names the
        same classes in another order). Placeholder names (``LABEL_0`` ...) are taken to follow the data's order,
        with a warning.

    Raises:
        LabelSchemeMismatchError: a different number of classes, or class names that are not the scheme's.
    """
    import logging

    from .data import LABEL_SCHEMES

    names = [str(n) for n in scheme_names]
    if num_labels != len(names):
        fitting = [s for s, n in LABEL_SCHEMES.items() if len(n) == num_labels]
        hint = (f"Evaluate it with --labels {fitting[0]} (classes {LABEL_SCHEMES[fitting[0]]})"
                if fitting else "No CTAM label scheme has that many classes")
        model_names = [str(id2label[k]) for k in sorted(id2label, key=int)] if id2label else []
        raise LabelSchemeMismatchError(
            f"The model has {num_labels} classes {model_names} but --labels {scheme or names} gives the data "
            f"{len(names)} classes {names}. {hint}, or evaluate a model trained on the {scheme or 'same'} scheme "
            "(train.py --labels must match eval.py --labels)."
        )
    if not id2label:
        return names, None
    model_names = [str(id2label.get(i, id2label.get(str(i), f"LABEL_{i}"))) for i in range(num_labels)]
    if all(is_generic_label_name(n) for n in model_names):
        logging.getLogger(__name__).warning(
            "The model's config has placeholder class names %s; assuming they follow the data's order %s. Set "
            "id2label/label2id in the model config so that its outputs are named.", model_names, names)
        return names, None
    lowered = [n.lower() for n in model_names]
    wanted = [n.lower() for n in names]
    if lowered == wanted:
        return names, None
    if sorted(lowered) == sorted(wanted):
        return names, [wanted.index(n) for n in lowered]
    raise LabelSchemeMismatchError(
        f"The model's classes {model_names} are not the classes {names} of --labels {scheme or names}. Evaluate "
        "with the label scheme the model was trained on, or fix id2label in its config.json."
    )


def predict(
    model,
    tokenizer,
    texts: Sequence[str],
    *,
    language: str = "my",
    batch_size: int = 32,
    max_length: int = 128,
    word_ids: bool = False,
    preprocess: bool = False,
    device: Any = None,
) -> tuple[list[int], dict[str, Any]]:
    """Predicted class ids of a sequence-classification model for ``texts``, batched.

    Texts are tokenised with :func:`modeling_ctam.data.tokenize_for_eval` (the same tokenisation as training);
    batches are formed in order of length (less padding) and the predictions returned in the input order. Inference
    is ``model(input_ids=..., attention_mask=...).logits.argmax(-1)`` under ``torch.inference_mode``.

    Args:
        model: a Hugging Face sequence-classification model (CTAM or any other).
        tokenizer: its tokenizer.
        texts (`Sequence[str]`): the inputs.
        language (`str`, *optional*, defaults to `"my"`): language of the texts.
        batch_size (`int`, *optional*, defaults to 32): texts per forward pass.
        max_length (`int`, *optional*, defaults to 128): truncation length in tokens.
        word_ids (`bool`, *optional*, defaults to `False`): also pass Burmese word-segmenter ``word_ids`` (CTAM's
            eq. 1 word boundaries); otherwise the model uses its tokenizer's boundaries.
        preprocess (`bool`, *optional*, defaults to `False`): run Burmese preprocessing (leave `False` for texts
            from :func:`modeling_ctam.data.load_examples`, which already did it).
        device (*optional*): where to run; defaults to the model's device.

    Returns:
        `tuple`: ``(predictions, info)`` with ``info`` = ``{"num_truncated": int, "seconds": float}``.
    """
    import time

    import torch

    from .data import tokenize_for_eval

    if batch_size < 1:
        raise ValueError(f"batch_size={batch_size} must be >= 1.")
    device = torch.device(device) if device is not None else next(model.parameters()).device
    model.eval()
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    predictions = [0] * len(texts)
    num_truncated = 0
    start = time.perf_counter()
    with torch.inference_mode():
        for begin in range(0, len(order), batch_size):
            index = order[begin : begin + batch_size]
            batch_texts = [texts[i] for i in index]
            encoded = tokenize_for_eval(tokenizer, batch_texts, language, max_length=max_length, word_ids=word_ids,
                                        preprocess=preprocess)
            lengths = [len(ids) for ids in tokenizer(batch_texts, truncation=False, verbose=False)["input_ids"]]
            num_truncated += sum(1 for n in lengths if n > max_length)
            inputs = {k: v.to(device) for k, v in encoded.items()}
            logits = model(**inputs).logits
            for i, p in zip(index, logits.argmax(-1).tolist()):
                predictions[i] = int(p)
    return predictions, {"num_truncated": num_truncated, "seconds": time.perf_counter() - start}
