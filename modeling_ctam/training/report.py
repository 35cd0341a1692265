# Copyright 2025 The CTAM authors.
# Licensed under the Apache License, Version 2.0.
"""What a run reports: the Trainer's `compute_metrics`, the console printout of the dev record, and the Hub push.

The dev record itself is `modeling_ctam.evaluation.metrics_record` (the one schema eval.py's metrics.json shares,
majority baseline included), written with `modeling_ctam.evaluation.write_metrics`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional

import numpy as np

from modeling_ctam.evaluation import compute_metrics


def predicted_ids(predictions) -> np.ndarray:
    """Class ids from the Trainer's predictions (logits, or a tuple whose first item is the logits)."""
    logits = predictions[0] if isinstance(predictions, tuple) else predictions
    return np.argmax(logits, axis=-1)


def make_compute_metrics(names: list[str]):
    """`compute_metrics` for the Trainer: macro_f1, accuracy, macro precision/recall and f1_<class>."""

    def trainer_metrics(eval_pred) -> dict[str, float]:
        report = compute_metrics(predicted_ids(eval_pred.predictions), eval_pred.label_ids, names)
        out = {k: report[k] for k in ("macro_f1", "accuracy", "macro_precision", "macro_recall")}
        out.update({f"f1_{name}": v["f1"] for name, v in report["per_class"].items()})
        return out

    return trainer_metrics


def format_metrics(report: dict[str, Any]) -> str:
    """The dev record as train.py prints it: headline, per-class table, confusion matrix."""
    lines = [
        f"dev macro-F1 {report['macro_f1']:.4f}  accuracy {report['accuracy']:.4f}  "
        f"({report['n_examples']} examples; majority-class baseline macro-F1 "
        f"{report['majority_baseline']['macro_f1']:.4f})",
        f"  {'class':<10} {'precision':>9} {'recall':>7} {'f1':>7} {'support':>8}",
    ]
    for name, row in report["per_class"].items():
        lines.append(
            f"  {name:<10} {row['precision']:>9.4f} {row['recall']:>7.4f} {row['f1']:>7.4f} {row['support']:>8d}"
        )
    matrix = report["confusion_matrix"]
    lines.append(f"  confusion matrix (rows true, columns predicted, {matrix['labels']}): {matrix['matrix']}")
    return "\n".join(lines)


def write_json(path: Path, payload: Any) -> None:
    path.write_text(json.dumps(payload, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8")


def check_hub_access() -> None:
    """Fail before training when the Hub cannot be reached as a logged-in user."""
    from huggingface_hub import HfApi

    try:
        HfApi().whoami()
    except Exception as err:  # no token, no network
        raise RuntimeError(
            f"push_to_hub: cannot reach the Hub as a logged-in user ({err}). Run `hf auth login` (or set HF_TOKEN), "
            "or drop push_to_hub; checked before training so that no run is lost."
        ) from err


def push_output(output_dir: Path, repo_id: str, private: Optional[bool]) -> None:
    """Publish the trained model through `modeling_ctam.hub.push` (builds and checks the Hub folder: model card,
    pipeline, remote-code files), in this process."""
    from modeling_ctam.hub.push import main as push

    argv = ["--model", str(output_dir), "--repo-id", repo_id] + (["--private"] if private else [])
    if push(argv) != 0:
        raise RuntimeError(
            f"push_to_hub failed (see above); the trained model is in {output_dir}: push it again with "
            f"`python -m modeling_ctam.hub.push {' '.join(argv)}`."
        )
