# Copyright 2025 The CTAM authors.
# Licensed under the Apache License, Version 2.0.
"""Training CTAM: what `train.py` runs, importable by the bench scripts and the tests.

One concept per module:

- :mod:`.arguments`: the run's dataclasses ([`ModelArguments`], [`DataArguments`], [`RunArguments`], beside
  `transformers.TrainingArguments` with CTAM's [`TRAINING_DEFAULTS`]) and their checks;
- :mod:`.parsing`: config files and command lines into a [`TrainConfig`] through `HfArgumentParser`
  ([`load_config`], [`parse_args`]);
- :mod:`.presets`: ablation presets, freezing, LoRA;
- :mod:`.trainer`: [`CTAMTrainer`], the `transformers.Trainer` that optimises eq. 13 and logs each component;
- :mod:`.lora`: LoRA with PEFT on the encoder's attention, CTAM's own modules trained and saved whole;
- :mod:`.assembly`: the English source, the Burmese train/dev data, the paired training items;
- :mod:`.imbalance`: the Burmese labels' class imbalance (logit adjustment, class weights, a class-balanced sampler);
- :mod:`.prealign`: the in-process alignment before training (`run_alignment`);
- :mod:`.checkpoints`: the newest intact checkpoint for `--resume_from_checkpoint latest`;
- :mod:`.report`: the Trainer's metrics, the printout of the dev record (`modeling_ctam.evaluation`'s one
  metrics record), the Hub push;
- :mod:`.run`: [`train`]: model, `CTAMTrainer`, final evaluation, the output folder.

```python
from modeling_ctam.training import load_config, train

cfg = load_config("configs/zero-shot-ctam.yaml", ["--max_steps", "50"], output_dir="runs/try")
report = train(cfg)  # dev_metrics.json's content
```
"""

from .arguments import TRAINING_DEFAULTS, DataArguments, ModelArguments, RunArguments, TrainConfig
from .assembly import ConcatPairs, build_datasets, load_source, load_target, resolve_data
from .checkpoints import find_last_checkpoint, resolve_resume
from .imbalance import IMBALANCE_CHOICES, ClassBalancedSampler, ImbalanceArguments, plan_imbalance
from .parsing import DEPRECATED_KEYS, CTAMArgumentParser, load_config, parse_args
from .prealign import alignment_options, run_alignment
from .presets import PRESETS, freeze_parameters, model_config_kwargs
from .report import format_metrics, make_compute_metrics
from .run import build_config, build_model, setup_logging, train

__all__ = [
    "TRAINING_DEFAULTS",
    "DEPRECATED_KEYS",
    "PRESETS",
    "ModelArguments",
    "DataArguments",
    "RunArguments",
    "TrainConfig",
    "CTAMArgumentParser",
    "load_config",
    "parse_args",
    "build_datasets",
    "load_source",
    "load_target",
    "resolve_data",
    "ConcatPairs",
    "find_last_checkpoint",
    "resolve_resume",
    "IMBALANCE_CHOICES",
    "ImbalanceArguments",
    "ClassBalancedSampler",
    "plan_imbalance",
    "alignment_options",
    "run_alignment",
    "model_config_kwargs",
    "freeze_parameters",
    "build_config",
    "build_model",
    "make_compute_metrics",
    "format_metrics",
    "setup_logging",
    "train",
]
