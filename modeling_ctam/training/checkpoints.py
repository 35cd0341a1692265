# Copyright 2025 The CTAM authors.
# Licensed under the Apache License, Version 2.0.
"""Which checkpoint a run resumes from: `--resume_from_checkpoint latest` (the newest intact `checkpoint-N`) or a
given folder."""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import Optional

logger = logging.getLogger("ctam.train")


def find_last_checkpoint(output_dir: str | os.PathLike) -> Optional[str]:
    """The newest *complete* `checkpoint-N` in `output_dir` (it holds trainer_state.json, written last, and
    weights), or None. A run killed while writing a checkpoint leaves an incomplete folder; it is skipped with a
    warning."""
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


def resolve_resume(resume_from_checkpoint: Optional[str], output_dir: str | os.PathLike) -> Optional[str]:
    """The checkpoint folder to resume from: None, `latest` (the newest complete one in `output_dir`) or a folder
    that must hold trainer_state.json."""
    if resume_from_checkpoint is None:
        return None
    if resume_from_checkpoint == "latest":
        last = find_last_checkpoint(output_dir)
        if last is None:
            raise FileNotFoundError(
                f"resume_from_checkpoint=latest: no complete checkpoint-* folder in {output_dir}. Drop "
                "--resume_from_checkpoint to start afresh.")
        return last
    path = Path(resume_from_checkpoint)
    if not (path / "trainer_state.json").is_file():
        raise FileNotFoundError(
            f"resume_from_checkpoint={str(path)!r} is not a complete checkpoint folder (no trainer_state.json); "
            "use 'latest' or a checkpoint-N folder of a previous run.")
    return str(path)
