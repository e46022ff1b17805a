#!/usr/bin/env bash
# Regenerate requirements.lock, the image's dependencies: pyproject.toml's runtime
# dependencies and theirs, each pinned to the version the test venv has (.venv, made
# by scripts/test.sh: what the suite ran against), with the hash of every file PyPI
# holds for that version. The Dockerfile installs exactly these with
# `pip install --require-hashes`; tests/test_packaging.py fails when the lock and
# pyproject.toml disagree.
#   bash scripts/test.sh && bash scripts/lock.sh
# uv resolves, from a throwaway venv: it is no dependency of the project.
set -euo pipefail
cd "$(dirname "$0")/.."
UV_VERSION=0.13.9
PYTHON="${PYTHON:-python3}"
[ -x .venv/bin/python ] \
    || { echo "lock: no .venv: run bash scripts/test.sh first (the lock pins what it tests)" >&2; exit 1; }
# For the image's interpreter (FROM python:3.11-slim-...) on Linux.
image_python="$(sed -n 's/^FROM python:\([0-9]*\.[0-9]*\).*/\1/p' Dockerfile | tail -1)"
[ -n "$image_python" ] || { echo "lock: no python:X.Y base image in the Dockerfile" >&2; exit 1; }

work="$(mktemp -d /tmp/newsdigest-lock.XXXXXX)"
trap 'rm -rf "$work"' EXIT
"$PYTHON" -m venv "$work/venv"
"$work/venv/bin/python" -m pip install --quiet --disable-pip-version-check "uv==$UV_VERSION"
.venv/bin/python -m pip freeze --exclude-editable | grep -v '^#' >"$work/tested.txt"
"$work/venv/bin/uv" pip compile pyproject.toml \
    --constraint "$work/tested.txt" \
    --python-version "$image_python" --python-platform linux \
    --generate-hashes --annotation-style line \
    --custom-compile-command "bash scripts/lock.sh" \
    --quiet --output-file "$work/requirements.lock"
# The constraint file is temporary: name it for what it is.
sed "s#-c $work/tested.txt#-c .venv (pip freeze)#" "$work/requirements.lock" >requirements.lock

# Every pin must be a version the tests ran against (one .venv lacks is not).
untested="$(grep -E '^[A-Za-z0-9]' requirements.lock | sed 's/ .*//' \
    | .venv/bin/python -c '
import sys
from packaging.utils import canonicalize_name as canon
tested = {}
for line in open(sys.argv[1], encoding="utf-8"):
    name, _, version = line.strip().partition("==")
    tested[canon(name)] = version
for pin in sys.stdin:
    name, _, version = pin.strip().partition("==")
    have = tested.get(canon(name), "none")
    if have != version:
        print("%s (.venv has %s)" % (pin.strip(), have))
' "$work/tested.txt")"
if [ -n "$untested" ]; then
    echo "lock: pinned but not what .venv tested:" >&2
    echo "$untested" >&2
    exit 1
fi
echo "lock: wrote requirements.lock ($(grep -cE '^[A-Za-z0-9]' requirements.lock) packages)" >&2
