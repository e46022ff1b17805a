#!/usr/bin/env bash
# Install newsdigest with its test tools into .venv and run the whole suite (lint included).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
if [ "${TEST_SKIP_SETUP:-}" != 1 ]; then  # CI sets it for its two runs at once, after one setup
    # The runtime dependencies at the versions the container image installs
    # (requirements.lock, without its hashes: pip takes no hashes in constraints).
    constraints="$(mktemp /tmp/newsdigest-constraints.XXXXXX)"
    sed -e '/^ *--hash/d' -e 's/ \\$//' requirements.lock >"$constraints"
    .venv/bin/python -m pip install --quiet --disable-pip-version-check \
        -c "$constraints" -e '.[test]'
    rm -f "$constraints"
    .venv/bin/ruff check .
    .venv/bin/ruff format --check .
    .venv/bin/mypy digests bot
    .venv/bin/lint-imports --no-cache  # the architecture contracts in pyproject.toml
fi
.venv/bin/python -m pytest "$@"
