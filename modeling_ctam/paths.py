"""Where CTAM looks for shared data and where it caches what it builds.

Both are overridable by environment variables so that nothing depends on one machine's layout:

- ``CTAM_DATA_DIR``: the folder holding the real datasets (``en/``, ``my/``, ``lexicon/``, ``parallel/``).
  Defaults to ``../shared/data`` next to the repository checkout.
- ``CTAM_CACHE_DIR``: where built artefacts (the offline encoder, alignment results) are cached.
  Defaults to ``$XDG_CACHE_HOME/ctam`` or ``~/.cache/ctam``.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def data_dir() -> Path:
    """The shared data folder (``CTAM_DATA_DIR`` or ``../shared/data`` beside the checkout)."""
    env = os.environ.get("CTAM_DATA_DIR")
    return Path(env).expanduser() if env else (REPO_ROOT.parent / "shared" / "data")


def data_path(*parts: str) -> Path:
    """A path inside :func:`data_dir`, with a clear error when the data folder is missing."""
    path = data_dir().joinpath(*parts)
    if not path.exists():
        raise FileNotFoundError(
            f"{path} does not exist. Point CTAM_DATA_DIR at the folder holding the shared datasets "
            "(it must contain en/, my/, lexicon/ and parallel/)."
        )
    return path


def cache_dir() -> Path:
    """The cache folder (``CTAM_CACHE_DIR``, else ``$XDG_CACHE_HOME/ctam``, else ``~/.cache/ctam``)."""
    env = os.environ.get("CTAM_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "ctam"
