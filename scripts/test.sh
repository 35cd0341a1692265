#!/usr/bin/env bash
# The test suite exactly as CI runs it (.ci/run calls this script): set up, lint, test.
#
# 1. scripts/setup.sh: the CPU build of torch first, then the package with its dev extra (pytest, selenium, ruff);
# 2. the demo extra (Gradio), which the Space's browser test (tests/test_space.py) needs;
# 3. as root on Debian or Ubuntu, the system packages that test drives, when they are missing: Chromium, its driver
#    and a Burmese font (for the screenshot). Elsewhere install them yourself, or the browser test is skipped;
# 4. ruff check and ruff format --check (the settings are in pyproject.toml), then pytest. Arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
bash scripts/setup.sh
"$PYTHON" -m pip install --quiet --disable-pip-version-check -e ".[dev,demo,onnx]"
SYSTEM_PACKAGES=(chromium chromium-driver fonts-myanmar)
missing=()
for package in "${SYSTEM_PACKAGES[@]}"; do
  dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    apt-get install -y -q "${missing[@]}" >/dev/null 2>&1 \
      || { apt-get update -q >/dev/null && apt-get install -y -q "${missing[@]}" >/dev/null; }
  else
    echo "scripts/test.sh: ${missing[*]} not installed (needs root and apt-get): the browser test will be skipped" >&2
  fi
fi
"$PYTHON" -m ruff check .
"$PYTHON" -m ruff format --check .
"$PYTHON" -m pytest -q -p no:cacheprovider "$@"
