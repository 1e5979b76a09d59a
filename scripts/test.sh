#!/usr/bin/env bash
# Install everything the test suite needs (Python packages; Debian packages where a test needs
# one), then lint and run the whole suite. The README's test command and CI's .ci/run call this.
set -euo pipefail
cd "$(dirname "$0")/.."
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore
python3 -m pip install -q -e '.[test]'
python3 -m ruff check .
python3 -m pytest -q "$@"
