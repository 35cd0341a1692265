"""Shared by the test modules that drive the command-line scripts in process (pytest puts tests/ on sys.path)."""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


@functools.cache
def eval_cli():
    """The repository's eval.py as a module (loaded once), so that a test calls `main([...])` without a subprocess."""
    spec = importlib.util.spec_from_file_location("ctam_eval_cli", REPO / "eval.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
