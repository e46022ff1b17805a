#!/usr/bin/env bash
# Headless Chromium and its WebDriver for the browser test (tests/test_browser.py).
#   bash scripts/chromium.sh            # prints CHROMIUM=... and CHROMEDRIVER=... lines
#   eval "$(bash scripts/chromium.sh)" && export CHROMIUM CHROMEDRIVER
# Installs Debian's chromium and chromium-driver packages (apt, as root) when either
# program is missing, and a small Chinese font (fonts-wqy-microhei) when there is
# none, so the pages' screenshots show characters, not boxes. Fast and quiet when
# everything is there. TEST_CHROMIUM_LOG moves the apt log. The test finds the
# programs on PATH itself; the lines are for other uses.
set -euo pipefail
LOG="${TEST_CHROMIUM_LOG:-/tmp/newsdigest-test-chromium.apt.log}"

# A program's path, or nothing (never a failure: set -e).
find_program() { command -v "$1" 2>/dev/null || true; }
has_chinese_font() { [ -n "$(fc-list :lang=zh family 2>/dev/null | head -1 || true)" ]; }

missing=()
[ -n "$(find_program chromium)" ] || missing+=(chromium)
[ -n "$(find_program chromedriver)" ] || missing+=(chromium-driver)
has_chinese_font || missing+=(fonts-wqy-microhei)
if [ "${#missing[@]}" -gt 0 ]; then
    [ "$(id -u)" = 0 ] || { echo "missing for the browser test: install Debian's ${missing[*]} (as root)" >&2; exit 1; }
    export DEBIAN_FRONTEND=noninteractive
    # The package lists may be missing or stale on a new machine: update first.
    apt-get update -q >"$LOG" 2>&1 \
        && apt-get install -y -q --no-install-recommends "${missing[@]}" >>"$LOG" 2>&1 \
        || { tail -5 "$LOG" >&2; echo "cannot install ${missing[*]} with apt (log: $LOG)" >&2; exit 1; }
fi
CHROMIUM="$(find_program chromium)"
CHROMEDRIVER="$(find_program chromedriver)"
[ -n "$CHROMIUM" ] && [ -n "$CHROMEDRIVER" ] \
    || { echo "chromium or chromedriver is still not on PATH after installing" >&2; exit 1; }
echo "CHROMIUM=$CHROMIUM"
echo "CHROMEDRIVER=$CHROMEDRIVER"
