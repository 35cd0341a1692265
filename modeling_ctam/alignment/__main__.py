"""``python -m modeling_ctam.alignment``: the alignment command line (:mod:`modeling_ctam.alignment.cli`)."""

from .cli import main

if __name__ == "__main__":
    raise SystemExit(main())
