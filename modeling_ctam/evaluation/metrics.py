# Copyright 2025 The CTAM authors.
# Licensed under the Apache License, Version 2.0.
"""Evaluation metrics for CTAM (docs/method.md section 6), computed with the `evaluate` library, offline.

`evaluate.load("f1")` downloads its script from the Hugging Face Hub. CTAM ships its own `evaluate` metric module,
``modeling_ctam/evaluate_metrics/ctam_classification/ctam_classification.py``, and loads it by path
(:func:`load_metric`), so evaluation needs no network. It computes, with scikit-learn exactly as the Hub's
`f1` / `precision` / `recall` / `accuracy` / `confusion_matrix` modules do:

- accuracy, macro and support-weighted precision / recall / F1;
- precision, recall, F1 and support of every class;
- the confusion matrix (rows = true class, columns = predicted class).

:func:`compute_metrics` turns its flat output into the record that ``eval.py`` writes as ``metrics.json``
(per-class values keyed by label *name*, the confusion matrix with its label order). :func:`metrics_record` adds
the majority-class baseline (:func:`majority_baseline`, computed here and nowhere else) and the run information: it
is the ONE record that ``train.py`` (``dev_metrics.json``) and ``eval.py`` (``metrics.json``) write with
:func:`write_metrics`, and that the model card (:mod:`modeling_ctam.hub.card`) reads. Record layout
(:data:`METRICS_SCHEMA_VERSION` = 1)::

    {
      "schema_version": 1,
      "macro_f1": 0.81, "weighted_f1": 0.93, "accuracy": 0.93,
      "macro_precision": ..., "macro_recall": ..., "weighted_precision": ..., "weighted_recall": ...,
      "per_class": {"negative": {"precision": .., "recall": .., "f1": .., "support": 35}, "positive": {...}},
      "confusion_matrix": {"labels": ["negative", "positive"], "rows": "true", "columns": "predicted",
                           "matrix": [[30, 5], [6, 302]]},
      "label_names": ["negative", "positive"], "n_examples": 343,
      "prediction_counts": {"negative": 36, "positive": 307},
      "majority_baseline": {"class": "positive", "macro_f1": 0.47, "accuracy": 0.90},
      "model": "...", "data": "...", ...   # run information given to metrics_record
    }

Macro-F1 is the headline number: about 79% of GKLMIP reviews are five-star, so accuracy alone says little.
"""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path
from typing import Any, Mapping, Sequence

METRICS_SCHEMA_VERSION = 1
"""Version of the ``metrics.json`` layout (bumped when a key changes meaning)."""

METRIC_MODULE_DIR = Path(__file__).resolve().parent.parent / "evaluate_metrics" / "ctam_classification"
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
    "majority_baseline",
    "metrics_record",
    "validate_record",
    "read_metrics",
    "write_metrics",
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


def majority_baseline(references: Sequence[int], label_names: Sequence[str]) -> dict[str, Any]:
    """Scores of always answering the most frequent true class: the floor every model must beat.

    Returns:
        `dict`: ``class`` (its name), ``macro_f1`` and ``accuracy`` of that constant prediction, scored by
        :func:`compute_metrics` (ties go to the lower label id).
    """
    import numpy as np

    references = [int(r) for r in references]
    majority = int(np.bincount(references, minlength=len(label_names)).argmax())
    scores = compute_metrics([majority] * len(references), references, label_names)
    return {"class": str(label_names[majority]), "macro_f1": scores["macro_f1"], "accuracy": scores["accuracy"]}


def metrics_record(
    references: Sequence[int],
    predictions: Sequence[int],
    label_names: Sequence[str],
    **run_info: Any,
) -> dict[str, Any]:
    """The one metrics record: what ``train.py`` writes as ``dev_metrics.json`` and ``eval.py`` as ``metrics.json``.

    Args:
        references (`Sequence[int]`): true label ids (any array-like; flattened).
        predictions (`Sequence[int]`): predicted label ids, in the same order.
        label_names (`Sequence[str]`): class names, index = label id.
        run_info: run information stored beside the scores (e.g. ``model``, ``data``, ``split``, ``label_scheme``,
            ``method``, ``seed``); `None` values are kept, keys starting with ``_`` are not written.

    Returns:
        `dict`: :func:`compute_metrics`' scores, ``majority_baseline`` (:func:`majority_baseline`) and `run_info`.
        Write it with :func:`write_metrics`.
    """
    import numpy as np

    references = [int(v) for v in np.asarray(references).reshape(-1)]
    predictions = [int(v) for v in np.asarray(predictions).reshape(-1)]
    record = compute_metrics(predictions, references, label_names)
    record["majority_baseline"] = majority_baseline(references, label_names)
    clash = sorted(set(run_info) & set(record))
    if clash:
        raise ValueError(f"metrics_record: run information {clash} would overwrite computed metrics.")
    record.update(run_info)
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
