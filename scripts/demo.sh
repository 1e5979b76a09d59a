#!/usr/bin/env bash
# The committee's whole day on the bundled samples: print the ballots, read the scans, apply the
# demonstration's review decisions, tally, write the minutes and exports into omr-demo/ (or -o DIR).
# Creates or reuses the clone's .venv (see scripts/venv.sh); arguments go to `omr demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/venv.sh
ensure_venv ""
exec .venv/bin/omr demo "$@"
