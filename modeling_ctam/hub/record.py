# Copyright 2025 The CTAM authors.
# Licensed under the Apache License, Version 2.0.
"""What a trained model folder says about its training: ``train_config.json`` and the metrics record.

The metrics record is the one schema of :func:`modeling_ctam.evaluation.metrics.metrics_record`, whether eval.py
wrote it (``metrics.json``) or train.py (``dev_metrics.json``). Also the errors of the Hub tools
(:class:`HubBuildError`) and the Hub ids of the corpora the project trains on (:data:`DATASET_HUB_IDS`).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["DATASET_HUB_IDS", "HubBuildError", "TrainingRecord", "read_json", "read_training_record", "find_key"]

# Hub ids of the corpora the project can train on, by the names its configs use.
DATASET_HUB_IDS = {
    "gklmip": "SEACrowd/gklmip_sentiment",
    "product_sentiment_dataset": "SEACrowd/gklmip_sentiment",  # GKLMIP's own file names
    "seacrowd/gklmip_sentiment": "SEACrowd/gklmip_sentiment",
    "sst2": "stanfordnlp/sst2",
    "sst-2": "stanfordnlp/sst2",
    "mr": "cornell-movie-review-data/rotten_tomatoes",
    "rt-polarity": "cornell-movie-review-data/rotten_tomatoes",
    "yelp_polarity": "fancyzhx/yelp_polarity",
    "fancyzhx/yelp_polarity": "fancyzhx/yelp_polarity",
    "yelp_review_full": "Yelp/yelp_review_full",
    "yelp/yelp_review_full": "Yelp/yelp_review_full",
}


class HubBuildError(ValueError):
    """The model folder cannot become a Hub repository, or the built folder failed a check."""


@dataclass
class TrainingRecord:
    """The JSON files ``train.py`` / ``eval.py`` leave next to a model (each `None` when absent)."""

    train_config: dict | None = None
    metrics: dict | None = None
    metrics_source: str | None = None  # file name the metrics came from


def read_json(path: Path) -> Any:
    """A JSON file, or a :class:`HubBuildError` naming it when it does not parse."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise HubBuildError(f"{path.name} is not valid JSON: {err}") from err


def read_training_record(
    model_dir: str | os.PathLike, metrics_file: str | os.PathLike | None = None
) -> TrainingRecord:
    """Read ``train_config.json`` and the evaluation metrics of a trained model folder.

    Metrics: `metrics_file` when given; else eval.py's ``metrics.json`` in the folder, or in exactly one of its
    subfolders (``python eval.py --output-dir MODEL/eval-dev`` as in docs/evaluation.md); else train.py's
    ``dev_metrics.json``. Several eval.py outputs and no `metrics_file` is an error: say which one to report.
    """
    model_dir = Path(model_dir)
    record = TrainingRecord()
    if (model_dir / "train_config.json").is_file():
        record.train_config = read_json(model_dir / "train_config.json")
    if metrics_file:
        path = Path(metrics_file)
        if not path.is_file():
            raise HubBuildError(f"metrics file {metrics_file} does not exist")
    elif (model_dir / "metrics.json").is_file():
        path = model_dir / "metrics.json"
    else:
        nested = sorted(model_dir.glob("*/metrics.json"))
        if len(nested) > 1:
            raise HubBuildError(
                f"{model_dir} holds several eval.py results "
                f"({', '.join(str(p.relative_to(model_dir)) for p in nested)}); pass --metrics with the one to report"
            )
        path = nested[0] if nested else model_dir / "dev_metrics.json"
    if path.is_file():
        record.metrics = read_json(path)
        record.metrics_source = path.name
    return record


# Data-pipeline defaults at training time (modeling_ctam.data: max_length=128, word_ids=False, preprocess=True).
DEFAULT_INFERENCE = {"max_length": 128, "word_ids": False, "preprocess": True}


def inference_settings(train_config: dict | None) -> dict:
    """How the pipeline must tokenise: the training run's ``max_length`` and ``word_ids`` (defaults otherwise)."""
    settings = dict(DEFAULT_INFERENCE)
    if train_config:
        max_length = find_key(train_config, "max_length", "max_seq_length")
        if max_length is not None:
            settings["max_length"] = int(max_length)
        word_ids = find_key(train_config, "word_ids", "use_word_ids")
        if word_ids is not None:
            settings["word_ids"] = bool(word_ids)
    return settings


def find_key(data: Any, *names: str) -> Any:
    """The value of the first of `names` found in `data` (a dict searched breadth-first through nested dicts)."""
    queue = [data]
    while queue:
        node = queue.pop(0)
        if not isinstance(node, dict):
            continue
        for name in names:
            if name in node and node[name] is not None:
                return node[name]
        queue.extend(v for v in node.values() if isinstance(v, dict))
    return None
