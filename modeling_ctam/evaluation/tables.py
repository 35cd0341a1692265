# Copyright 2025 The CTAM authors.
# Licensed under the Apache License, Version 2.0.
"""Tables of the CTAM paper from ``metrics.json`` records: runs grouped by method, and ablations over seeds.

- :func:`group_metrics`: records (or files) grouped by their ``method``;
- :func:`ablation_table` / :func:`ablation_markdown`: macro-F1 (and the other metrics) per method over seeds, mean
  and spread (paper tables 1-2).
"""

from __future__ import annotations

import os
from collections import OrderedDict
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from .metrics import read_metrics

__all__ = [
    "ABLATION_METRICS",
    "VIEW_SUFFIXES",
    "group_metrics",
    "check_comparable",
    "ablation_table",
    "ablation_markdown",
    "view_records",
]

ABLATION_METRICS = ("macro_f1", "weighted_f1", "accuracy", "macro_precision", "macro_recall")
"""Averaged metrics summarised by :func:`ablation_table` (per-class F1 is added for every class)."""

VIEW_SUFFIXES = {"student": "[student alone]", "ngram": "[n-gram view alone]"}
"""Row-name suffixes of :func:`view_records`: `<row> [student alone]` is the row with the n-gram view removed."""


def view_records(records: Iterable[Mapping[str, Any]]) -> list[dict]:
    """For runs of a model with the n-gram view: each view's own score as a record of its own, named `<method>
    [student alone]` and `<method> [n-gram view alone]`, from the same models (the `views` of train.py's dev report).
    Records without `views` add nothing."""
    out = []
    for record in records:
        for view, scores in (record.get("views") or {}).items():
            extra = {k: v for k, v in record.items() if k not in scores and k not in ("views", "macro_f1")}
            out.append({**extra, **scores, "method": f"{record['method']} {VIEW_SUFFIXES[view]}"})
    return out


# --------------------------------------------------------------------------------------------------------------------
# grouping metrics.json files by method
# --------------------------------------------------------------------------------------------------------------------


def _method_of(record: Mapping[str, Any]) -> str:
    method = record.get("method")
    if method:
        return str(method)
    path = record.get("_path")
    if path:  # runs/<method>/seed-1/metrics.json -> the folder above the seed folder, else the folder
        parent = Path(path).parent
        return parent.parent.name if parent.name.lower().startswith("seed") else parent.name
    return str(record.get("model", "model"))


def group_metrics(
    records_or_paths: Iterable[Mapping[str, Any] | str | os.PathLike],
    method_order: Sequence[str] | None = None,
) -> "OrderedDict[str, list[dict]]":
    """Groups ``metrics.json`` records by method.

    The method of a record is its ``method`` field (``eval.py --method-name``); without one, the name of its folder
    (or of the folder above a ``seed*`` folder).

    Args:
        records_or_paths: records (dicts) or paths of ``metrics.json`` files / folders holding one. A string
            ``"NAME=PATH"`` forces the method name of that file.
        method_order (`Sequence[str]`, *optional*): methods in this order first, the others after in order of
            appearance. A name in ``method_order`` that no record has raises a `ValueError`.

    Returns:
        `OrderedDict[str, list[dict]]`: method -> its records.
    """
    groups: "OrderedDict[str, list[dict]]" = OrderedDict()
    for item in records_or_paths:
        forced = None
        if isinstance(item, (str, os.PathLike)):
            text = os.fspath(item)
            if "=" in text and not Path(text).exists():
                forced, text = text.split("=", 1)
            record = read_metrics(text)
        else:
            record = dict(item)
        method = forced or _method_of(record)
        groups.setdefault(method, []).append(record)
    if method_order:
        unknown = [m for m in method_order if m not in groups]
        if unknown:
            raise ValueError(f"method_order names {unknown}, but the metrics files hold only {list(groups)}.")
        ordered = OrderedDict((m, groups[m]) for m in method_order)
        ordered.update((m, r) for m, r in groups.items() if m not in ordered)
        groups = ordered
    return groups


def check_comparable(groups: Mapping[str, Sequence[Mapping[str, Any]]]) -> list[str]:
    """All records must score the same classes on the same data; returns the label names."""
    names = None
    seen_data: dict[tuple, str] = {}
    for method, records in groups.items():
        if not records:
            raise ValueError(f"method {method!r} has no metrics records.")
        for record in records:
            where = record.get("_path", method)
            if names is None:
                names = list(record["label_names"])
            elif list(record["label_names"]) != names:
                raise ValueError(
                    f"{where}: classes {record['label_names']} differ from {names}; put binary and three-class runs "
                    "in separate tables."
                )
            data = record.get("data_sha256") or record.get("data_name") or Path(str(record.get("data"))).name
            key = (data, record.get("split"), record.get("label_scheme"), record.get("n_examples"))
            seen_data.setdefault(key, str(where))
    if len(seen_data) > 1:
        listing = "; ".join(
            f"data={k[0]!r} split={k[1]!r} labels={k[2]!r} n={k[3]} (e.g. {v})" for k, v in seen_data.items()
        )
        raise ValueError(
            "The metrics files were computed on different evaluation data, so their numbers are not comparable: "
            f"{listing}. Evaluate every run on the same file."
        )
    return names or []


# --------------------------------------------------------------------------------------------------------------------
# tables 1-2: ablations over seeds
# --------------------------------------------------------------------------------------------------------------------


def _summary(values: Sequence[float]) -> dict[str, Any]:
    v = np.asarray(values, dtype=float)
    return {
        "mean": float(v.mean()),
        "std": float(v.std(ddof=1)) if v.size > 1 else None,
        "min": float(v.min()),
        "max": float(v.max()),
        "values": [float(x) for x in v],
    }


def ablation_table(
    groups: Mapping[str, Sequence[Mapping[str, Any]]],
    metrics: Sequence[str] = ABLATION_METRICS,
    baseline: str | None = None,
) -> dict[str, Any]:
    """Mean and spread of each metric per method, over its runs (seeds): paper tables 1-2.

    Args:
        groups (`Mapping[str, Sequence[Mapping]]`): method -> ``metrics.json`` records (see :func:`group_metrics`).
            All records must score the same classes on the same data.
        metrics (`Sequence[str]`, *optional*): averaged metrics to summarise; per-class F1 (``f1_<class>``) is added
            for every class.
        baseline (`str`, *optional*): a method name; each other method gets ``delta_macro_f1`` (difference of mean
            macro-F1) and ``beats_baseline_by_more_than_spread`` (the difference exceeds the larger of the two
            methods' standard deviations, and the two min-max ranges do not overlap).

    Returns:
        `dict`: ``{"label_names", "data", "split", "n_examples", "metrics", "methods": {method: {"n_runs", "seeds",
        "runs", <metric>: {"mean", "std", "min", "max", "values"}, ...}}, "baseline"}``. ``std`` is the sample standard
        deviation (``ddof=1``), `None` with a single run.
    """
    names = check_comparable(groups)
    first = next(iter(groups.values()))[0]
    columns = list(metrics) + [f"f1_{n}" for n in names]
    table: dict[str, Any] = {
        "label_names": names,
        "data": first.get("data"),
        "split": first.get("split"),
        "n_examples": first.get("n_examples"),
        "metrics": columns,
        "methods": {},
        "baseline": baseline,
    }
    for method, records in groups.items():
        row: dict[str, Any] = {
            "n_runs": len(records),
            "seeds": [r.get("seed") for r in records],
            "runs": [r.get("model") or r.get("_path") for r in records],
        }
        for column in columns:
            if column.startswith("f1_") and column[3:] in names:
                values = [r["per_class"][column[3:]]["f1"] for r in records]
            else:
                missing = [r.get("_path", method) for r in records if column not in r]
                if missing:
                    raise ValueError(f"metric {column!r} is missing from {missing}.")
                values = [r[column] for r in records]
            row[column] = _summary(values)
        table["methods"][method] = row
    if baseline is not None:
        if baseline not in table["methods"]:
            raise ValueError(f"baseline {baseline!r} is not among the methods {list(table['methods'])}.")
        base = table["methods"][baseline]["macro_f1"]
        for method, row in table["methods"].items():
            if method == baseline:
                continue
            mine = row["macro_f1"]
            delta = mine["mean"] - base["mean"]
            spread = max(s for s in (mine["std"], base["std"], 0.0) if s is not None)
            row["delta_macro_f1"] = delta
            row["beats_baseline_by_more_than_spread"] = bool(delta > spread and mine["min"] > base["max"])
    return table


def _pm(summary: Mapping[str, Any]) -> str:
    if summary["std"] is None:
        return f"{summary['mean']:.4f}"
    return f"{summary['mean']:.4f} ± {summary['std']:.4f}"


def ablation_markdown(table: Mapping[str, Any], title: str | None = None) -> str:
    """Renders :func:`ablation_table` as Markdown: one row per method, ``mean ± std`` per metric, the seeds' range."""
    columns = list(table["metrics"])
    header = ["method", "runs"] + columns + ["macro_f1 min-max"]
    has_delta = table.get("baseline") is not None
    if has_delta:
        header += [f"Δ macro_f1 vs {table['baseline']}", "beats by > spread"]
    lines = []
    if title:
        lines += [f"## {title}", ""]
    lines += [
        f"Evaluation data: {table.get('data')}"
        + (f" (split {table['split']})" if table.get("split") else "")
        + f", n = {table.get('n_examples')}; cells are mean ± sample standard deviation over runs (seeds).",
        "",
        "| " + " | ".join(header) + " |",
        "|---|---:|" + "---:|" * (len(header) - 2),
    ]
    for method, row in table["methods"].items():
        cells = [method, str(row["n_runs"])] + [_pm(row[c]) for c in columns]
        cells.append(f"{row['macro_f1']['min']:.4f}-{row['macro_f1']['max']:.4f}")
        if has_delta:
            if method == table["baseline"]:
                cells += ["-", "-"]
            else:
                cells += [
                    f"{row['delta_macro_f1']:+.4f}",
                    "yes" if row["beats_baseline_by_more_than_spread"] else "no",
                ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
