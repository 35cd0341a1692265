# Copyright 2025 The CTAM authors.
# Licensed under the Apache License, Version 2.0.
"""How a trained model predicts: the tokenisation settings of its training run, and its class names."""

from __future__ import annotations

import json
import os
from pathlib import Path

DEFAULT_MAX_LENGTH = 128  # the data pipeline's default when neither config.json nor train_config.json says


def inference_settings(model: str | os.PathLike, config) -> dict:
    """How a model must tokenise: ``max_length`` and ``word_ids`` of its training run.

    Read from ``config.ctam_inference`` (a Hub or ONNX folder), else from the ``train_config.json`` a train.py folder
    holds, else the defaults (128 tokens, the tokenizer's word boundaries).
    """
    from ..hub.record import inference_settings as from_training_record

    settings = dict(getattr(config, "ctam_inference", None) or {})
    if not settings:
        record = Path(model) / "train_config.json"
        try:
            train_config = json.loads(record.read_text(encoding="utf-8")) if record.is_file() else None
        except (OSError, ValueError):
            train_config = None
        settings = from_training_record(train_config if isinstance(train_config, dict) else None)
    return {
        "max_length": int(settings.get("max_length") or DEFAULT_MAX_LENGTH),
        "word_ids": bool(settings.get("word_ids", False)),
        "preprocess": bool(settings.get("preprocess", True)),
    }


def label_names(config) -> list[str]:
    """The model's class names in class-id order (``config.id2label``; ``LABEL_i`` where it has none)."""
    id2label = getattr(config, "id2label", None) or {}
    return [str(id2label.get(i, id2label.get(str(i), f"LABEL_{i}"))) for i in range(config.num_labels)]
