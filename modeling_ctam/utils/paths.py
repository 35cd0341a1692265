"""Where CTAM looks for shared data, where it caches what it builds, and how it names files and Hub repositories.

Both are overridable by environment variables so that nothing depends on one machine's layout:

- ``CTAM_DATA_DIR``: the folder holding the real datasets (``en/``, ``my/``, ``lexicon/``, ``parallel/``).
  Defaults to ``../shared/data`` next to the repository checkout.
- ``CTAM_CACHE_DIR``: where built artefacts (the offline encoder, alignment results) are cached.
  Defaults to ``$XDG_CACHE_HOME/ctam`` or ``~/.cache/ctam``.

It also holds the one Hub-id pattern (:data:`HUB_ID`, :func:`is_hub_id`) and the one file checksum
(:func:`sha256_file`) that the data readers, the evaluation records, the offline encoder and the Hub tools share.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]  # the checkout (modeling_ctam/utils/paths.py is two folders down)


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


HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
"""A Hugging Face Hub repository id, ``owner/name`` (models and datasets alike)."""


def is_hub_id(text: str | os.PathLike | None) -> bool:
    """Whether `text` has the shape of a Hub repository id (``owner/name``); says nothing about local paths."""
    return isinstance(text, str) and HUB_ID.match(text) is not None


def sha256_file(path: str | os.PathLike) -> str | None:
    """The SHA-256 hex digest of a file (read in 4 MiB blocks), or `None` when `path` is not a file (a folder or a
    Hub id): provenance for metrics records and the offline encoder's build record."""
    path = Path(path)
    if not path.is_file():
        return None
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()
