"""Deprecated import path: use :mod:`modeling_ctam.evaluation` (``figures``, ``tables``, ``cosine``).

Kept for compatibility only (``from modeling_ctam.figures import ablation_table, ...`` still works, with a
deprecation warning naming the new place).
"""

import warnings

from .evaluation.cosine import *  # noqa: F401,F403
from .evaluation.figures import *  # noqa: F401,F403
from .evaluation.tables import *  # noqa: F401,F403

warnings.warn(
    "modeling_ctam.figures moved to modeling_ctam.evaluation (figures, tables, cosine); the old name will be removed.",
    DeprecationWarning,
    stacklevel=2,
)
