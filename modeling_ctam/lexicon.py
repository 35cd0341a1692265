"""``python -m modeling_ctam.lexicon``: deprecated name of ``python -m modeling_ctam.alignment.lexicon``.

Kept for compatibility only: the command line and ``from modeling_ctam.lexicon import ...`` still work, with a
deprecation warning naming the new place, :mod:`modeling_ctam.alignment.lexicon`.
"""

import warnings

from .alignment.lexicon import *  # noqa: F401,F403
from .alignment.lexicon import main, write_default_split  # noqa: F401

warnings.warn(
    "modeling_ctam.lexicon moved to modeling_ctam.alignment.lexicon (python -m "
    "modeling_ctam.alignment.lexicon); the old name will be removed.",
    DeprecationWarning,
    stacklevel=2,
)

if __name__ == "__main__":
    import sys

    print(
        "python -m modeling_ctam.lexicon is deprecated: use python -m modeling_ctam.alignment.lexicon.",
        file=sys.stderr,
    )
    raise SystemExit(main())
