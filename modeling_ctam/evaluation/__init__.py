# Copyright 2025 The CTAM authors.
# Licensed under the Apache License, Version 2.0.
"""Evaluation: scores, the one metrics record, prediction, and the paper's figures and tables.

One concept per module:

- :mod:`.metrics`: scores (offline ``evaluate`` module), the majority baseline, the one metrics record
  (:func:`metrics_record`, :func:`write_metrics`, :func:`read_metrics`) that ``train.py`` and ``eval.py`` write;
- :mod:`.predict`: matching a model's classes with the data's label scheme, batched prediction;
- :mod:`.report`: the Markdown report of one evaluation;
- :mod:`.tables`: runs grouped by method, ablation tables over seeds (paper tables 1-2);
- :mod:`.figures`: confusion matrix and per-class F1 bars (paper figures 2-3);
- :mod:`.cosine`: cosine distances of translation pairs before and after the mapping (paper table 3).
"""

from .cosine import (
    DEFAULT_SENTIMENT_WORDS,
    cosine_distance_table,
    cosine_markdown,
    default_word_pairs,
    load_mapping,
    load_word_vectors,
    read_word_pairs,
)
from .figures import plot_confusion_matrix, plot_per_class_f1
from .metrics import (
    AVERAGED_METRICS,
    HEADLINE_METRICS,
    METRIC_MODULE_DIR,
    METRICS_SCHEMA_VERSION,
    PER_CLASS_METRICS,
    compute_metrics,
    load_metric,
    majority_baseline,
    metrics_record,
    read_metrics,
    validate_record,
    write_metrics,
)
from .predict import LabelSchemeMismatchError, is_generic_label_name, predict, resolve_label_names
from .report import render_report
from .tables import ABLATION_METRICS, ablation_markdown, ablation_table, check_comparable, group_metrics

__all__ = [
    "METRICS_SCHEMA_VERSION",
    "HEADLINE_METRICS",
    "AVERAGED_METRICS",
    "PER_CLASS_METRICS",
    "METRIC_MODULE_DIR",
    "ABLATION_METRICS",
    "DEFAULT_SENTIMENT_WORDS",
    "load_metric",
    "is_generic_label_name",
    "check_comparable",
    "load_mapping",
    "compute_metrics",
    "majority_baseline",
    "metrics_record",
    "read_metrics",
    "validate_record",
    "write_metrics",
    "LabelSchemeMismatchError",
    "predict",
    "resolve_label_names",
    "render_report",
    "group_metrics",
    "ablation_table",
    "ablation_markdown",
    "plot_confusion_matrix",
    "plot_per_class_f1",
    "cosine_distance_table",
    "cosine_markdown",
    "default_word_pairs",
    "load_word_vectors",
    "read_word_pairs",
]
