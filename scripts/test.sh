#!/usr/bin/env bash
# Install everything the test suite needs (the clone's .venv with the test tools; Debian packages
# where a test needs one), then lint and run the whole suite, where a skipped test is a failure.
# The README's test command and CI's .ci/run call this; arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/venv.sh
ensure_venv test
# Debian's Chromium for the review screen's browser tests (Playwright drives it; never `playwright
# install`), poppler's pdftoppm for the pdf2image path, LibreOffice Calc for the CSV exports.
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v pdftoppm >/dev/null 2>&1 || missing+=(poppler-utils)
command -v soffice >/dev/null 2>&1 || missing+=(libreoffice-calc-nogui)  # results CSVs opened as a spreadsheet
if [ ${#missing[@]} -gt 0 ]; then
    apt_install "${missing[@]}"
fi
.venv/bin/python -m ruff check .
export OMR_TESTS_NO_SKIP=1  # tests/conftest.py: any skipped test fails the run
exec .venv/bin/python -m pytest -q "$@"
