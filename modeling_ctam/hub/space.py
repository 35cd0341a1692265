# Copyright 2025 The CTAM authors.
# Licensed under the Apache License, Version 2.0.
"""The folder of a Hugging Face Space that demonstrates a published CTAM model (``hub/push.py --space-dir``).

A model that needs custom code gets no live widget on the Hub; a Space is how people try it. The folder holds:

- ``app.py``: the Gradio app of the checkout (``hub/space/app.py``), as it is;
- ``requirements.txt``: ``hub/space/requirements.txt`` (Gradio and the package's own dependencies);
- ``README.md``: ``hub/space/README.md`` with the Space metadata filled in (``sdk: gradio``, ``app_file``,
  ``models: [the model's id]``, which links the Space from the model page);
- ``space_config.json``: the model id and the revision the app loads (the model commit after a real push);
- ``modeling_ctam/``: the package's source, so that the Space converts Zawgyi, tokenises and reads CSV files with
  the very code of training and eval.py (the package is not on PyPI; the app imports it from beside itself).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from .record import HubBuildError

SPACE_SOURCE = Path(__file__).resolve().parents[2] / "hub" / "space"  # in a checkout (pip install -e .)
SPACE_FILES = ("app.py", "requirements.txt", "README.md")
DEFAULT_GRADIO_VERSION = "6.31.0"


def default_space_id(repo_id: str) -> str:
    """`OWNER/NAME-demo` for the model `OWNER/NAME`."""
    return f"{repo_id}-demo"


def space_url(space_id: str) -> str:
    return f"https://huggingface.co/spaces/{space_id}"


def _gradio_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("gradio")
    except PackageNotFoundError:
        return DEFAULT_GRADIO_VERSION


def render_space_readme(template: str, *, repo_id: str, space_id: str, revision: str | None) -> str:
    values = {
        "model_id": repo_id,
        "space_id": space_id,
        "gradio_version": _gradio_version(),
        "revision": f"revision `{revision}`" if revision else "its default branch; no revision pinned in a dry run",
        "model_title": repo_id.split("/")[-1],
    }
    for key, value in values.items():
        template = template.replace("{{ " + key + " }}", value)
    return template


def write_space_folder(
    output_dir: str | os.PathLike,
    *,
    repo_id: str,
    revision: str | None = None,
    space_id: str | None = None,
    overwrite: bool = False,
    source: str | os.PathLike | None = None,
) -> Path:
    """Write the Space folder for the model `repo_id` (pinned to `revision`) into `output_dir`; returns it.

    Raises:
        HubBuildError: the checkout's ``hub/space/`` is missing, or `output_dir` is not empty (without
            `overwrite`).
    """
    from ..utils.paths import is_hub_id

    source = Path(source) if source else SPACE_SOURCE
    missing = [name for name in SPACE_FILES if not (source / name).is_file()]
    if missing:
        raise HubBuildError(f"{source} lacks {missing}: --space-dir needs a CTAM checkout (pip install -e .).")
    space_id = space_id or default_space_id(repo_id)
    if not is_hub_id(space_id):
        raise HubBuildError(f"--space-id {space_id!r} is not a Hub id OWNER/NAME.")
    out = Path(output_dir)
    if out.exists() and any(out.iterdir()):
        if not overwrite:
            raise HubBuildError(f"{out} is not empty; pass --overwrite to replace its contents.")
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    for name in ("app.py", "requirements.txt"):
        shutil.copyfile(source / name, out / name)
    readme = (source / "README.md").read_text(encoding="utf-8")
    (out / "README.md").write_text(
        render_space_readme(readme, repo_id=repo_id, space_id=space_id, revision=revision), encoding="utf-8"
    )
    (out / "space_config.json").write_text(
        json.dumps({"model": repo_id, "revision": revision}, indent=2) + "\n", encoding="utf-8"
    )
    package = Path(__file__).resolve().parents[1]
    shutil.copytree(package, out / "modeling_ctam", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return out


def upload_space(api, folder: str | os.PathLike, space_id: str, *, private: bool = False) -> str:
    """Create the Space (Gradio SDK) if needed and upload `folder` as its whole content; returns the commit id."""
    api.create_repo(space_id, repo_type="space", space_sdk="gradio", private=private, exist_ok=True)
    commit = api.upload_folder(
        repo_id=space_id, folder_path=str(folder), repo_type="space", commit_message="CTAM demo", delete_patterns=["*"]
    )
    return commit.oid
