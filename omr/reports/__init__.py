"""The reports of a tally: the minutes the committee signs and the exports for machines.

``write_reports(tally, outdir)`` writes, in OUTDIR (Vietnamese for ``language: vi`` templates,
English otherwise):

- ``bien-ban-kiem-phieu.pdf``: the minutes (:mod:`omr.reports.minutes`);
- ``results.json``, ``results.csv``, ``results-vi.csv`` (``;`` and decimal commas) and
  ``results.xlsx``: the same numbers (:mod:`omr.reports.exports`);
- ``election.csv``, ``election-vi.csv`` (cross-out elections only): votes per candidate, percentage,
  elected or not, in the minutes' order;
- ``cvr.json``: NIST SP 1500-103 cast vote records (:mod:`omr.reports.cvr`);
- ``manifest.csv``, ``manifest-hybrid.csv`` and ``cvr-dominion.csv``: a ballot manifest and cast
  vote records for a risk-limiting audit in Arlo (:mod:`omr.reports.arlo`).

The CSV files are UTF-8 with a byte-order mark (what Excel needs to read UTF-8, and what makes
Arlo's encoding detection sure).

Each file is written whole or not at all (a temporary file renamed into place), and the same tally
gives the same bytes: an auditor re-running the tally can compare files by hash.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from omr.count.tally import Tally

if TYPE_CHECKING:
    from omr.reports.minutes import Committee

MINUTES = "bien-ban-kiem-phieu.pdf"
RESULTS_JSON = "results.json"
RESULTS_CSV = "results.csv"
RESULTS_VI_CSV = "results-vi.csv"
RESULTS_XLSX = "results.xlsx"
CVR_JSON = "cvr.json"
MANIFEST_CSV = "manifest.csv"
MANIFEST_HYBRID_CSV = "manifest-hybrid.csv"
DOMINION_CVR_CSV = "cvr-dominion.csv"
ELECTION_CSV = "election.csv"  # cross-out elections only: votes per candidate and who is elected
ELECTION_VI_CSV = "election-vi.csv"
REPORT_FILES = (MINUTES, RESULTS_JSON, RESULTS_CSV, RESULTS_VI_CSV, RESULTS_XLSX, CVR_JSON, MANIFEST_CSV,
                MANIFEST_HYBRID_CSV, DOMINION_CVR_CSV)


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
    """Every report's bytes, by file name; `committee`: who counted, where, when (the minutes).
    Minutes are signed per ballot: a tally of several ballots (made by a program; `omr tally`
    refuses to mix them) gets the exports, which may hold several ballot designs, and no minutes."""
    from omr.reports.arlo import dominion_cvr_csv, manifest_csv
    from omr.reports.cvr import cvr_json
    from omr.reports.exports import election_csv, results_csv, results_json, results_xlsx
    from omr.reports.minutes import minutes_pdf

    reports = {} if len({t.id for t in tally.templates}) > 1 else {MINUTES: minutes_pdf(tally, committee)}
    if tally.elections:
        reports |= {ELECTION_CSV: election_csv(tally).encode("utf-8-sig"),
                    ELECTION_VI_CSV: election_csv(tally, vietnamese=True).encode("utf-8-sig")}
    return reports | {
        RESULTS_JSON: results_json(tally).encode("utf-8"),
        RESULTS_CSV: results_csv(tally).encode("utf-8-sig"),
        RESULTS_VI_CSV: results_csv(tally, vietnamese=True).encode("utf-8-sig"),
        RESULTS_XLSX: results_xlsx(tally),
        CVR_JSON: cvr_json(tally).encode("utf-8"),
        MANIFEST_CSV: manifest_csv(tally).encode("utf-8-sig"),
        MANIFEST_HYBRID_CSV: manifest_csv(tally, hybrid=True).encode("utf-8-sig"),
        DOMINION_CVR_CSV: dominion_cvr_csv(tally).encode("utf-8-sig"),
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
