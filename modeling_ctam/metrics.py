"""Deprecated import path: use :mod:`modeling_ctam.evaluation` (``metrics``, ``predict``, ``report``).

Kept for compatibility only (``from modeling_ctam.metrics import compute_metrics, predict, ...`` still works, with
a deprecation warning naming the new place).
"""

import warnings

from .evaluation.metrics import *  # noqa: F401,F403
from .evaluation.metrics import compute_metrics, majority_baseline, metrics_record, read_metrics, write_metrics  # noqa: F401
from .evaluation.predict import LabelSchemeMismatchError, is_generic_label_name, predict, resolve_label_names  # noqa: F401
from .evaluation.report import render_report  # noqa: F401

warnings.warn(
    "modeling_ctam.metrics moved to modeling_ctam.evaluation (metrics, predict, report); the old name will "
    "be removed.",
    DeprecationWarning,
    stacklevel=2,
)
