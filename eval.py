#!/usr/bin/env python
# Copyright 2025 The CTAM authors.
# Licensed under the Apache License, Version 2.0.
"""Evaluate a CTAM (or any sequence-classification) model, and build the paper's figures and tables.

Usage::

    python eval.py --model runs/zero-shot-ctam --data ../shared/data/my/gklmip/product_sentiment_dataset_dev.json \\
        --labels binary --output-dir runs/zero-shot-ctam/eval-dev
    python eval.py ablation-table runs/*/eval-dev --output-dir tables --baseline xlmr-base
    python eval.py --help

The commands (`evaluate`, the default; `f1-bars`, `ablation-table`, `cosine-table`) are
`modeling_ctam.evaluation.cli`'s; this file only runs them. See docs/evaluation.md.
"""

from __future__ import annotations

import logging
import os


def main(argv: list[str] | None = None):
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    from modeling_ctam.evaluation.cli import main as run

    return run(argv)


if __name__ == "__main__":
    main()
