# Copyright 2025 The CTAM authors.
# Licensed under the Apache License, Version 2.0.
"""The Markdown report of one evaluation (``report.md``), written from a ``metrics.json`` record."""

from __future__ import annotations

import math
from typing import Any, Mapping

from .metrics import validate_record

__all__ = ["render_report"]


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
        info.append(
            ("Texts truncated to max_length", f"{record['num_truncated']} (max_length={record.get('max_length')})")
        )
    lines += ["| | |", "|---|---|"]
    lines += [f"| {k} | {_md_escape(v)} |" for k, v in info if v is not None]
    lines += [
        "",
        "## Headline",
        "",
        "| macro-F1 | weighted-F1 | accuracy | macro-precision | macro-recall |",
        "|---:|---:|---:|---:|---:|",
        "| "
        + " | ".join(
            _fmt(record.get(k)) for k in ("macro_f1", "weighted_f1", "accuracy", "macro_precision", "macro_recall")
        )
        + " |",
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
    baseline = record.get("majority_baseline")
    if isinstance(baseline, Mapping):
        lines += [
            "",
            f"Majority class: {_md_escape(baseline['class'])} ({baseline['accuracy']:.1%} of the examples; "
            f"always answering it scores macro-F1 {baseline['macro_f1']:.4f}).",
        ]
    if record.get("command"):
        lines += ["", "## Reproduce", "", "```bash", str(record["command"]), "```"]
    return "\n".join(lines) + "\n"
