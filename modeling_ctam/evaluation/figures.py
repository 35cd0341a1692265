# Copyright 2025 The CTAM authors.
# Licensed under the Apache License, Version 2.0.
"""Figures of the CTAM paper, drawn from ``metrics.json`` records.

- :func:`plot_confusion_matrix`: the confusion matrix of one evaluation (paper figure 2).
- :func:`plot_per_class_f1`: per-class F1 bars, one bar per method (paper figure 3); with several seeds per method the
  bar is the mean and the error bar the sample standard deviation.

Matplotlib runs with the non-interactive ``Agg`` backend, so no display is needed. ``eval.py`` exposes both on the
command line (see docs/evaluation.md).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from .tables import check_comparable

__all__ = ["plot_confusion_matrix", "plot_per_class_f1"]


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: str | os.PathLike, dpi: int) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi, bbox_inches="tight", format=path.suffix.lstrip(".").lower() or "png")
    _pyplot().close(fig)
    return path


# --------------------------------------------------------------------------------------------------------------------
# figure 2: confusion matrix
# --------------------------------------------------------------------------------------------------------------------


def plot_confusion_matrix(
    matrix: Sequence[Sequence[int]],
    label_names: Sequence[str],
    path: str | os.PathLike,
    title: str | None = None,
    dpi: int = 150,
) -> Path:
    """Draws a confusion matrix (paper figure 2) and saves it (PNG by default, from the suffix of ``path``).

    Cells show the count and the share of the true class (row-normalised); the colour is the row share, so a
    minority class's errors are as visible as the majority class's.

    Args:
        matrix (`Sequence[Sequence[int]]`): counts, rows = true class, columns = predicted class.
        label_names (`Sequence[str]`): class names in row / column order.
        path (`str` or `os.PathLike`): output file.
        title (`str`, *optional*): figure title.
        dpi (`int`, *optional*, defaults to 150): resolution.

    Returns:
        `Path`: the file written.
    """
    m = np.asarray(matrix, dtype=float)
    k = len(label_names)
    if m.shape != (k, k):
        raise ValueError(f"confusion matrix has shape {m.shape} but there are {k} label names {list(label_names)}.")
    row_sums = m.sum(axis=1, keepdims=True)
    share = np.divide(m, row_sums, out=np.zeros_like(m), where=row_sums > 0)
    plt = _pyplot()
    size = 1.2 + 1.1 * k
    fig, ax = plt.subplots(figsize=(size + 1.0, size))
    image = ax.imshow(share, cmap="Blues", vmin=0.0, vmax=1.0)
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="share of true class")
    ax.set_xticks(range(k), labels=list(label_names))
    ax.set_yticks(range(k), labels=list(label_names))
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for i in range(k):
        for j in range(k):
            ax.text(
                j,
                i,
                f"{int(m[i, j])}\n{share[i, j]:.0%}",
                ha="center",
                va="center",
                color="white" if share[i, j] > 0.5 else "black",
                fontsize=10,
            )
    ax.set_title(title or "Confusion matrix")
    return _save(fig, path, dpi)


# --------------------------------------------------------------------------------------------------------------------
# --------------------------------------------------------------------------------------------------------------------
# figure 3: per-class F1 bars
# --------------------------------------------------------------------------------------------------------------------


def plot_per_class_f1(
    groups: Mapping[str, Sequence[Mapping[str, Any]]],
    path: str | os.PathLike,
    title: str | None = None,
    include_macro: bool = True,
    dpi: int = 150,
) -> Path:
    """Per-class F1 bars across methods (paper figure 3).

    Args:
        groups (`Mapping[str, Sequence[Mapping]]`): method -> ``metrics.json`` records (one per seed); see
            :func:`group_metrics`. All records must score the same classes on the same data.
        path (`str` or `os.PathLike`): output file (PNG by default).
        title (`str`, *optional*): figure title.
        include_macro (`bool`, *optional*, defaults to `True`): add a "macro" group of bars.
        dpi (`int`, *optional*, defaults to 150): resolution.

    Returns:
        `Path`: the file written. Bars are means over a method's records; error bars (sample standard deviation)
        are drawn when a method has more than one record.
    """
    names = check_comparable(groups)
    categories = names + (["macro"] if include_macro else [])
    methods = list(groups)
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(max(5.0, 1.4 * len(categories) * max(1, len(methods)) * 0.5 + 2), 4.0))
    width = 0.8 / max(1, len(methods))
    x = np.arange(len(categories))
    for k, method in enumerate(methods):
        values = np.array(
            [
                [r["per_class"][n]["f1"] for n in names] + ([r["macro_f1"]] if include_macro else [])
                for r in groups[method]
            ]
        )  # (runs, categories)
        mean = values.mean(axis=0)
        err = None
        if values.shape[0] > 1:  # sample std, drawn inside the [0, 1] range F1 lives in
            std = values.std(axis=0, ddof=1)
            err = np.vstack([np.minimum(std, mean), np.minimum(std, 1.0 - mean)])
        label = f"{method} (n={values.shape[0]})" if values.shape[0] > 1 else method
        bars = ax.bar(x - 0.4 + width * (k + 0.5), mean, width, yerr=err, capsize=3, label=label)
        ax.bar_label(bars, fmt="%.2f", fontsize=7, padding=2)
    ax.set_xticks(x, labels=categories)
    ax.set_ylim(0.0, 1.1)
    ax.set_ylabel("F1")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=min(4, len(methods)), fontsize=8, frameon=False)
    ax.set_title(title or "F1 per class")
    ax.grid(axis="y", alpha=0.3)
    return _save(fig, path, dpi)
