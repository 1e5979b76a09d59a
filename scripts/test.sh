#!/usr/bin/env bash
# Install everything the test suite needs (Python packages; Debian packages where a test needs
# one), then lint and run the whole suite. The README's test command and CI's .ci/run call this.
set -euo pipefail
cd "$(dirname "$0")/.."
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore
python3 -m pip install -q -e '.[test]'
# Debian's Chromium for the review screen's browser tests (Playwright drives it; never `playwright install`).
if ! command -v chromium >/dev/null 2>&1; then
    log=$(mktemp)
    if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } >"$log" 2>&1; then
        cat "$log" >&2
        echo "scripts/test.sh: could not install chromium (needs root and Debian's apt)" >&2
        exit 1
    fi
    rm -f "$log"
fi
python3 -m ruff check .
python3 -m pytest -q "$@"
