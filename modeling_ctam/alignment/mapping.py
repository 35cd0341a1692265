# Copyright 2025 The CTAM authors.
# Licensed under the Apache License, Version 2.0.
"""The eq. 2 mapping on disk: ``mapping.safetensors`` as the alignment CLI writes it and the model reads it.

The file holds ``weight`` `(d, d)`, ``target_mean`` `(d,)` (Burmese) and ``source_mean`` `(d,)` (English), for the
model's ``h_vec = W (h_static - target_mean) + source_mean``, with metadata strings (``encoder``, ``layer``, ...).
Reading goes through the one loader, :func:`modeling_ctam.vxlm.load_mapping_file`, which also checks that the
mapping's layer is the model's ``static_layer``.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from ..vxlm import MAPPING_FILE, load_mapping_file

REPORT_FILE = "report.json"
MAPPING_FORMULA = "h_vec = W (h_static - target_mean) + source_mean"

__all__ = ["MAPPING_FILE", "REPORT_FILE", "MAPPING_FORMULA", "save_mapping", "load_mapping", "default_static_layer"]


def save_mapping(state: dict[str, torch.Tensor], path: str | os.PathLike, metadata: dict) -> None:
    """Write the mapping tensors (e.g. ``AlignmentResult.state_dict()``) with string metadata (safetensors only)."""
    from safetensors.torch import save_file

    meta = {k: str(v) for k, v in metadata.items()}
    meta.setdefault("formula", MAPPING_FORMULA)
    save_file(state, str(path), metadata=meta)


def load_mapping(
    path: str | os.PathLike, expected_layer: int | None = None
) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Read ``mapping.safetensors`` (or the folder holding it): :func:`modeling_ctam.vxlm.load_mapping_file`.

    Load into the model with ``CTAMModel.load_alignment(path)``, or
    ``VecMapMapping.load_alignment(t["weight"], t["target_mean"], t["source_mean"])``.

    Args:
        path (`str` or `os.PathLike`): an alignment folder or the file itself.
        expected_layer (`int`, *optional*): the model's ``static_layer``; a mapping of another layer raises.
    """
    return load_mapping_file(Path(path), expected_layer=expected_layer)


def default_static_layer(encoder_config) -> int:
    """The static layer a CTAM model on this encoder uses by default: :class:`CTAMConfig`'s own rule, applied to the
    encoder's config (so the alignment and the model cannot disagree on it)."""
    from ..configuration_ctam import CTAMConfig

    return int(CTAMConfig(encoder_config=encoder_config).static_layer)
