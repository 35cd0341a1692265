"""``python -m modeling_ctam.align``: the alignment command line, kept under its documented name.

The code lives in :mod:`modeling_ctam.alignment.cli` (``main(argv)``, ``run_alignment(...)``); this module only runs
it, so that the command lines in the docs and configs keep working.
"""

from .alignment.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
