"""Publish a trained CTAM model on the Hugging Face Hub: ``python hub/push.py --model DIR --repo-id OWNER/NAME``.

A thin script over the installed package (``pip install -e .``): the code is :mod:`modeling_ctam.hub.push`, also run
as ``python -m modeling_ctam.hub.push``. See docs/hub.md.
"""

import sys

from modeling_ctam.hub.push import main

if __name__ == "__main__":
    sys.exit(main(prog="python hub/push.py"))
