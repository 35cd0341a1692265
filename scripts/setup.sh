#!/usr/bin/env bash
# Set up CTAM for CPU work: the CPU build of torch first (an unpinned torch would pull a multi-GB CUDA build),
# then the package with its test extras. Safe to run again: pip skips what is already installed.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
"$PYTHON" -m pip install --quiet --disable-pip-version-check "torch==2.13.0"
"$PYTHON" -m pip install --quiet --disable-pip-version-check -e ".[dev]"
