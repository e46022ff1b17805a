#!/usr/bin/env bash
# Install newsdigest into .venv and run the offline demo (no token, no network).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e .
.venv/bin/newsdigest demo "$@"
