"""The reports of a tally: the minutes the committee signs and the exports for machines.

``write_reports(tally, outdir)`` writes, in OUTDIR (Vietnamese for ``language: vi`` templates,
English otherwise):

- ``bien-ban-kiem-phieu.pdf``: the minutes (:mod:`omr.reports.minutes`);
- ``results.json`` and ``results.csv``: the same numbers (:mod:`omr.reports.exports`);
- ``cvr.json``: NIST SP 1500-103 cast vote records (:mod:`omr.reports.cvr`);
- ``manifest.csv``: a ballot manifest in Arlo's columns (:mod:`omr.reports.exports`).

Each file is written whole or not at all (a temporary file renamed into place), and the same tally
gives the same bytes: an auditor re-running the tally can compare files by hash.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from omr.tally import Tally

if TYPE_CHECKING:
    from omr.reports.minutes import Committee

MINUTES = "bien-ban-kiem-phieu.pdf"
RESULTS_JSON = "results.json"
RESULTS_CSV = "results.csv"
CVR_JSON = "cvr.json"
MANIFEST_CSV = "manifest.csv"
REPORT_FILES = (MINUTES, RESULTS_JSON, RESULTS_CSV, CVR_JSON, MANIFEST_CSV)


def _write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=str(path.parent))
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def render_reports(tally: Tally, committee: Committee | None = None) -> dict[str, bytes]:
    """Every report's bytes, by file name; `committee`: who counted, where, when (the minutes)."""
    from omr.reports.cvr import cvr_json
    from omr.reports.exports import manifest_csv, results_csv, results_json
    from omr.reports.minutes import minutes_pdf

    return {
        MINUTES: minutes_pdf(tally, committee),
        RESULTS_JSON: results_json(tally).encode("utf-8"),
        RESULTS_CSV: results_csv(tally).encode("utf-8"),
        CVR_JSON: cvr_json(tally).encode("utf-8"),
        MANIFEST_CSV: manifest_csv(tally).encode("utf-8"),
    }


def write_reports(tally: Tally, outdir: str | Path, committee: Committee | None = None) -> dict[str, Path]:
    """Write every report into `outdir` (created if missing); returns the paths by file name."""
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    for name, data in render_reports(tally, committee).items():
        _write(out / name, data)
        written[name] = out / name
    return written
