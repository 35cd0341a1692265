"""Shared pytest fixtures."""

from __future__ import annotations

import pytest


# --- offline encoder (modeling_ctam.offline_encoder) ----------------------------------------------
@pytest.fixture(scope="session")
def offline_encoder_dir() -> str:
    """The offline multilingual-e5-small folder in the default cache (``CTAM_CACHE_DIR`` or ``~/.cache/ctam``).

    Built once on the first run (a few seconds) and reused by every later test and run.
    """
    from modeling_ctam.offline_encoder import offline_encoder_path

    return offline_encoder_path()
