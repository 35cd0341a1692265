"""Old import paths of the package, kept working until [`REMOVED_IN`]: one table, one import hook, no shim files.

`import modeling_ctam.trainer`, `from modeling_ctam.metrics import predict` and `python -m modeling_ctam.align` still
work, each with a `DeprecationWarning` that names the new place and the release that removes the old one. The package
installs [`MovedModuleFinder`] when it is imported (`modeling_ctam/__init__.py`); it answers only for the names in
[`MOVED_MODULES`].
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
import types
import warnings

REMOVED_IN = "0.3.0"
"""The release that removes the old import paths."""

MOVED_MODULES = {
    "modeling_ctam.align": "modeling_ctam.alignment.cli",
    "modeling_ctam.lexicon": "modeling_ctam.alignment.lexicon",
    "modeling_ctam.metrics": "modeling_ctam.evaluation",
    "modeling_ctam.figures": "modeling_ctam.evaluation",
    "modeling_ctam.trainer": "modeling_ctam.training.trainer",
    "modeling_ctam.peft_utils": "modeling_ctam.training.lora",
    "modeling_ctam.paths": "modeling_ctam.utils.paths",
}
"""Old module -> the module that holds its code now (its names are reached through the old one)."""

MOVED_COMMANDS = {
    "modeling_ctam.align": "modeling_ctam.alignment",
    "modeling_ctam.lexicon": "modeling_ctam.alignment.lexicon",
}
"""Old command (`python -m OLD`) -> the command that replaces it."""


def moved_message(old: str, new: str, command: bool = False) -> str:
    """The warning for an old import path (or, with `command`, for `python -m OLD`)."""
    if command:
        return f"python -m {old} is deprecated: use python -m {new} (the old name is removed in {REMOVED_IN})."
    return f"{old} moved to {new}; import it from there (the old path is removed in {REMOVED_IN})."


class _MovedModuleLoader(importlib.abc.InspectLoader):
    """Loads an old module name as a thin module whose attributes are those of the new module.

    Imported, the old module forwards every attribute to the new one (PEP 562 `__getattr__`), so that
    `from OLD import name` gives the same object as `from NEW import name`. Run with `python -m OLD`, runpy executes
    [`get_source`]'s stub, which warns and runs `python -m NEW` with the same arguments.
    """

    def __init__(self, old: str, new: str):
        self.old, self.new = old, new

    def create_module(self, spec):
        return None  # an ordinary empty module, filled by exec_module

    def exec_module(self, module: types.ModuleType) -> None:
        # stacklevel 2: the importing code (warnings skips importlib's own frames)
        warnings.warn(moved_message(self.old, self.new), DeprecationWarning, stacklevel=2)
        target = importlib.import_module(self.new)
        module.__doc__ = f"Deprecated: {moved_message(self.old, self.new)}"
        module.__getattr__ = lambda name: getattr(target, name)
        module.__dir__ = lambda: dir(target)

    def is_package(self, fullname: str) -> bool:
        return False

    def get_source(self, fullname: str) -> str:
        command = MOVED_COMMANDS.get(self.old, self.new)
        message = moved_message(self.old, command, command=True)
        return (
            "import runpy, warnings\n"
            f"warnings.warn({message!r}, DeprecationWarning)\n"
            f"runpy.run_module({command!r}, run_name='__main__', alter_sys=True)\n"
        )


class MovedModuleFinder(importlib.abc.MetaPathFinder):
    """Finds the old names of [`MOVED_MODULES`] (and nothing else)."""

    def find_spec(self, fullname, path=None, target=None):
        new = MOVED_MODULES.get(fullname)
        if new is None:
            return None
        return importlib.util.spec_from_loader(fullname, _MovedModuleLoader(fullname, new))


def install() -> None:
    """Put [`MovedModuleFinder`] first on `sys.meta_path` (once)."""
    if not any(isinstance(finder, MovedModuleFinder) for finder in sys.meta_path):
        sys.meta_path.insert(0, MovedModuleFinder())


__all__ = ["MOVED_MODULES", "MOVED_COMMANDS", "REMOVED_IN", "MovedModuleFinder", "install", "moved_message"]
