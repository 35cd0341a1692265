# Copyright 2025 The CTAM authors.
# Licensed under the Apache License, Version 2.0.
"""`run_alignment`: the VecMap alignment before training, run in this process into OUTPUT_DIR/alignment."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from .arguments import DataArguments, ModelArguments
from .assembly import resolve_data

logger = logging.getLogger(__name__)

ALIGNMENT_DEFAULTS: dict[str, Any] = {"identical": True, "numerals": True, "max_sentences": 20000, "cache": True}
"""Alignment options that run_alignment adds unless `alignment_args` sets them."""


def alignment_options(
    model_args: ModelArguments, data_args: DataArguments, folder: Path, static_layer: int
) -> dict[str, Any]:
    """Keyword arguments of `modeling_ctam.alignment.cli.run_alignment` for this run.

    Defaults: this run's English source data and Burmese train texts as the corpora, the seed part of the shared
    lexicon split (written into OUTPUT_DIR/alignment/lexicon) as seed dictionary with identical strings and
    numerals, its dev part as the BLI dictionary, the model's static layer (`CTAMConfig.static_layer`), at most
    20,000 sentences per language, cached static vectors. `alignment_args` adds or replaces options (dashes or
    underscores; null keeps the alignment's own default).
    """
    from modeling_ctam.alignment.lexicon import write_default_split

    options: dict[str, Any] = {
        "encoder": model_args.encoder,
        "output_dir": str(folder),
        "source_corpus": [resolve_data(s, "source_data", data_args.data_dir) for s in data_args.source_data],
        "target_corpus": [resolve_data(data_args.target_train, "target_train", data_args.data_dir)],
        "layer": static_layer,
        **ALIGNMENT_DEFAULTS,
    }
    user = {str(k).replace("-", "_"): v for k, v in model_args.alignment_args.items()}
    if "seed_dict" not in user:
        split = write_default_split(folder / "lexicon", data_dir=data_args.data_dir)
        options["seed_dict"] = [str(split["seed"])]
        options.setdefault("eval_dict", str(split["dev"]))
    options.update(user)
    return {key: value for key, value in options.items() if value is not None}


def run_alignment(
    model_args: ModelArguments, data_args: DataArguments, output_dir: str | Path, static_layer: int
) -> str:
    """Run the alignment in process into OUTPUT_DIR/alignment (reused when its mapping exists); returns the folder."""
    from modeling_ctam.alignment.cli import run_alignment as align

    folder = Path(output_dir) / "alignment"
    if (folder / "mapping.safetensors").is_file():
        logger.info("run_alignment: reusing %s", folder / "mapping.safetensors")
        return str(folder)
    folder.mkdir(parents=True, exist_ok=True)
    options = alignment_options(model_args, data_args, folder, static_layer)
    logger.info("run_alignment: %s", options)
    start = time.perf_counter()
    try:
        align(**options)
    except (SystemExit, TypeError, ValueError, FileNotFoundError) as err:
        raise RuntimeError(
            f"run_alignment failed ({err!r}; its output is above). Fix alignment_args, or run "
            "`python -m modeling_ctam.alignment` yourself and pass --alignment DIR."
        ) from err
    if not (folder / "mapping.safetensors").is_file():
        raise RuntimeError(f"run_alignment: the alignment wrote no {folder / 'mapping.safetensors'}.")
    logger.info("run_alignment: done in %.0f s", time.perf_counter() - start)
    return str(folder)
