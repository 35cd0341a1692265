#!/usr/bin/env python
# Copyright 2025 The CTAM authors.
# Licensed under the Apache License, Version 2.0.
"""Train CTAM (English -> Burmese cross-lingual sentiment) with `CTAMTrainer` and `TrainingArguments`.

Usage::

    python train.py --config configs/zero-shot-ctam.yaml --output-dir runs/zero-shot
    python train.py --config configs/zero-shot-ctam.yaml --output-dir runs/zs --learning_rate 3e-5 \
        --ctam.lambda_domain 0.05
    accelerate launch --config_file configs/accelerate/cpu_2proc.yaml train.py --config configs/zero-shot-ctam.yaml \
        --output-dir runs/ddp --use_cpu true
    accelerate launch --config_file configs/accelerate/multi_gpu.yaml train.py --config configs/paper-ctam.yaml \
        --output-dir runs/paper
    python train.py --config configs/zero-shot-ctam.yaml --output-dir runs/zero-shot --resume_from_checkpoint latest

The configuration is `transformers.HfArgumentParser` over `modeling_ctam.training`'s `ModelArguments`, `DataArguments`,
`RunArguments` and `transformers.TrainingArguments` (CTAM's defaults set on it). A config file (YAML or JSON: flat
keys, or keys grouped under ``model:``, ``data:``, ``training:``, ``hub:``) comes first; command-line keys
(``--key value``, ``--key=value``, ``--group.key value``, ``--ctam.<CTAMConfig field> value``,
``--training_args.<TrainingArguments field> value``, dashes or underscores) win. The run writes into ``--output-dir``:

- ``config.json``, ``model.safetensors``, the flat modeling files (``auto_map`` for ``trust_remote_code`` loading)
  and the tokenizer: the final model (the best checkpoint by Burmese dev macro-F1 when evaluation is on);
- ``dev_metrics.json``: macro-F1, accuracy, per-class precision/recall/F1/support and the confusion matrix on the
  Burmese dev set, beside the majority-class baseline (eval.py's metrics.json schema);
- ``train_config.json``: the resolved configuration and what the data loaders kept;
- ``trainer_state.json`` (loss and every CTAM loss component per logging step), ``train_results.json``,
  ``checkpoint-*`` folders (safetensors weights + optimizer state) for ``--resume_from_checkpoint``.

``python train.py --help`` lists every key with its default and help text. See ``docs/training.md``.
"""

from __future__ import annotations

import json
import os
import sys


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from modeling_ctam.training import parse_args, setup_logging, train

    cfg, print_only = parse_args(argv)
    if print_only:
        print(json.dumps(cfg.to_dict(), indent=2, default=str))
        return 0
    setup_logging(cfg.training.process_index)
    try:
        train(cfg)
    except (FileNotFoundError, ValueError) as err:
        # data, output-folder and checkpoint problems: the message names the flag or file to fix; no traceback
        # unless CTAM_TRACEBACK=1
        if os.environ.get("CTAM_TRACEBACK") == "1":
            raise
        print(f"train.py: error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
