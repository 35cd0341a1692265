# Copyright 2025 The CTAM authors.
# Licensed under the Apache License, Version 2.0.
"""Which checkpoint a run resumes from, and what a run may do with an output folder that already holds one.

- `--resume_from_checkpoint latest`: the newest *intact* `checkpoint-N` ([`checkpoint_problem`] says why a folder is
  not: missing trainer state, truncated or garbage safetensors weights, a truncated optimizer, scheduler or RNG
  state); broken ones are skipped with a warning that names the file and the reason.
- [`check_output_dir`]: a folder that holds a run (its model, its checkpoints) is never trained into afresh by
  accident: the run stops and names `--resume_from_checkpoint latest` and `--overwrite_output_dir true`.
- [`set_aside_previous_run`] / [`drop_previous_run`]: with `--overwrite_output_dir true`, the earlier run is moved
  into `<output_dir>/.replaced-run/` and deleted only once the new run has saved its model.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import struct
import zipfile
from pathlib import Path
from typing import Optional

logger = logging.getLogger(__name__)

REPLACED_RUN = ".replaced-run"
"""Where `--overwrite_output_dir true` keeps the earlier run until the new one has saved its model."""
# What marks a folder as holding a run: its final model, its dev record, its checkpoints, its stage folders.
_RUN_FILES = ("model.safetensors", "adapter_model.safetensors", "dev_metrics.json", "trainer_state.json")
_RUN_DIRS = re.compile(r"checkpoint-\d+|stage[12]|adapter")
# Torch-saved states in a checkpoint (zip archives; checked without unpickling them).
_TORCH_STATES = ("optimizer.pt", "scheduler.pt", "rng_state.pth", "scaler.pt")


def safetensors_problem(path: str | os.PathLike) -> Optional[str]:
    """Why `path` is not a complete safetensors file (missing, truncated, garbage), or None when it is.

    Reads the 8-byte header length and the JSON header only: the file must be exactly as long as the header says
    its tensors end. No tensor is loaded."""
    path = Path(path)
    if not path.is_file():
        return f"{path.name} is missing"
    size = path.stat().st_size
    try:
        with open(path, "rb") as handle:
            head = handle.read(8)
            if len(head) < 8:
                return f"{path.name} is truncated ({size} bytes, not even a header)"
            (length,) = struct.unpack("<Q", head)
            if length > size - 8:
                return f"{path.name} is not safetensors or is truncated (header of {length} bytes in {size})"
            header = json.loads(handle.read(length))
        end = max((int(v["data_offsets"][1]) for k, v in header.items() if k != "__metadata__"), default=0)
    except (ValueError, KeyError, TypeError, IndexError, UnicodeDecodeError) as err:
        return f"{path.name} is not a safetensors file ({type(err).__name__}: {err})"
    if size != 8 + length + end:
        return f"{path.name} is truncated ({size} bytes, its header says {8 + length + end})"
    return None


def checkpoint_problem(folder: str | os.PathLike) -> Optional[str]:
    """Why `folder` cannot be resumed from, or None when it is intact: trainer_state.json readable, every
    `*.safetensors` complete (at least one), and the optimizer, scheduler and RNG states (zip archives written by
    `torch.save`) whole, their checksums checked without unpickling."""
    folder = Path(folder)
    try:
        json.loads((folder / "trainer_state.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        return "no trainer_state.json (the run was stopped while writing it)"
    except (OSError, ValueError) as err:
        return f"trainer_state.json is unreadable ({err})"
    weights = sorted(folder.glob("*.safetensors"))
    if not weights:
        return "no *.safetensors weights"
    for path in weights:
        problem = safetensors_problem(path)
        if problem:
            return problem
    for name in _TORCH_STATES:
        path = folder / name
        if not path.exists():
            continue
        try:
            with zipfile.ZipFile(path) as archive:
                bad = archive.testzip()
        except (zipfile.BadZipFile, OSError, EOFError) as err:
            return f"{name} is truncated or damaged ({err})"
        if bad is not None:
            return f"{name} is damaged (checksum of {bad} does not match)"
    return None


def find_last_checkpoint(output_dir: str | os.PathLike) -> Optional[str]:
    """The newest *intact* `checkpoint-N` in `output_dir` (see [`checkpoint_problem`]), or None. A broken one (a run
    killed while writing it, a truncated copy) is skipped with a warning that says why."""
    folder = Path(output_dir)
    if not folder.is_dir():
        return None
    found = []
    for child in folder.iterdir():
        match = re.fullmatch(r"checkpoint-(\d+)", child.name)
        if match and child.is_dir():
            found.append((int(match.group(1)), child))
    for _, child in sorted(found, reverse=True):
        problem = checkpoint_problem(child)
        if problem is None:
            return str(child)
        logger.warning("skipping %s: %s; trying the next older checkpoint.", child, problem)
    return None


def resolve_resume(resume_from_checkpoint: Optional[str], output_dir: str | os.PathLike) -> Optional[str]:
    """The checkpoint folder to resume from: None, `latest` (the newest intact one in `output_dir`) or a given
    folder, which must be intact."""
    if resume_from_checkpoint is None:
        return None
    if resume_from_checkpoint == "latest":
        last = find_last_checkpoint(output_dir)
        if last is None:
            raise FileNotFoundError(
                f"--resume_from_checkpoint latest: no complete checkpoint-* folder (none intact) in {output_dir}. "
                f"Drop --resume_from_checkpoint to start afresh."
            )
        return last
    path = Path(resume_from_checkpoint)
    problem = checkpoint_problem(path)
    if problem:
        raise FileNotFoundError(
            f"--resume_from_checkpoint {str(path)!r} is not a complete checkpoint folder ({problem}); use 'latest' "
            "(the newest intact checkpoint) or another checkpoint-N folder of a previous run."
        )
    return str(path)


def previous_run(output_dir: str | os.PathLike) -> list[str]:
    """The names in `output_dir` that show it holds an earlier run (model, dev record, checkpoints), sorted."""
    folder = Path(output_dir)
    if not folder.is_dir():
        return []
    return sorted(
        child.name
        for child in folder.iterdir()
        if (child.is_file() and child.name in _RUN_FILES) or (child.is_dir() and _RUN_DIRS.fullmatch(child.name))
    )


def check_output_dir(output_dir: str | os.PathLike, resume: bool, overwrite: bool) -> None:
    """Refuse an `--output-dir` that is a file, or that holds an earlier run when the run neither resumes nor
    overwrites: training afresh there would replace its model and delete its checkpoints."""
    folder = Path(output_dir)
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"--output-dir {folder} is an existing file, not a folder; give a folder path.")
    found = previous_run(folder)
    if found and not resume and not overwrite:
        raise ValueError(
            f"--output-dir {folder} already holds a run ({', '.join(found[:4])}{' ...' if len(found) > 4 else ''}). "
            "Continue it with --resume_from_checkpoint latest, replace it with --overwrite_output_dir true (it is "
            "kept until the new run has saved its model), or give another --output-dir."
        )


def set_aside_previous_run(output_dir: str | os.PathLike) -> Optional[Path]:
    """Move everything in `output_dir` (but dot-files) into `<output_dir>/.replaced-run/`; None when it held no run.

    Nothing is deleted here: [`drop_previous_run`] deletes the folder once the new run has saved its model, and a
    run that fails leaves it in place (move its contents back to restore the earlier run)."""
    folder = Path(output_dir)
    if not previous_run(folder):
        return None
    aside = folder / REPLACED_RUN
    if aside.exists():  # left by an overwrite that failed: that earlier run is the one to keep
        logger.warning("%s exists (an earlier overwrite did not finish); keeping it as the replaced run.", aside)
    else:
        aside.mkdir()
        for child in folder.iterdir():
            if not child.name.startswith("."):
                child.rename(aside / child.name)
    logger.info("--overwrite_output_dir: the earlier run is in %s until this run has saved its model.", aside)
    return aside


def drop_previous_run(output_dir: str | os.PathLike) -> None:
    """Delete `<output_dir>/.replaced-run/` (call after the new run saved its model)."""
    aside = Path(output_dir) / REPLACED_RUN
    if aside.is_dir():
        shutil.rmtree(aside)
