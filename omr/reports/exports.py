"""results.csv, results.json and manifest.csv: the same numbers as the minutes, for machines.

- ``results.json``: :meth:`omr.count.tally.Tally.to_json` (the shape issue 4 fixed; others build on it).
- ``results.csv``: one line per row and option (a person's level, a choice, yes/no), the numbers of
  the row repeated on each of its lines; percentages with a decimal point (it is data), and a
  ``provisional`` column on every line.
- ``manifest.csv``: a ballot manifest for risk-limiting audits in Arlo's columns (Container,
  Tabulator, Batch Name, Number of Ballots): one line per batch (a scanned file), the container being
  the folder it was in. While the tally is provisional, the file's first line says so: on purpose,
  Arlo refuses such a file, so a provisional manifest cannot be audited against by mistake.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import PurePath

from omr.count.tally import Tally

TABULATOR = "ballot-omr"  # the CVR's reporting device: one scanning tool
MANIFEST_COLUMNS = ("Container", "Tabulator", "Batch Name", "Number of Ballots")
RESULTS_COLUMNS = ("provisional", "template", "contest", "kind", "row", "name", "position", "option",
                   "option_label", "count", "percent", "percent_base", "valid", "invalid", "pending", "band",
                   "band_settled", "overvotes", "undervotes")


def results_json(tally: Tally) -> str:
    return json.dumps(tally.to_json(), ensure_ascii=False, indent=1) + "\n"


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def results_csv(tally: Tally) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(RESULTS_COLUMNS)
    for c in tally.contests:
        labels = dict(c.options)
        for row in c.rows:
            for option_id, _ in c.options:
                writer.writerow([_cell(v) for v in (
                    tally.provisional, c.template_id, c.id, c.kind, row.row_id, row.name, row.position, option_id,
                    labels[option_id], row.counts[option_id], f"{row.percent[option_id]:.2f}", c.base, row.valid,
                    row.invalid, row.pending, row.band, row.band_settled, row.overvotes, row.undervotes)])
    return out.getvalue()


def manifest_rows(tally: Tally) -> list[tuple[str, str, str, int]]:
    """(container, tabulator, batch name, ballots) per scanned file holding ballots, sorted."""
    groups: dict[tuple[str, str], list] = {}
    for s in tally.sheets:
        path = PurePath(s.source.replace("\\", "/"))
        groups.setdefault((path.parent.name or "-", s.batch), []).append(s)
    names: dict[str, int] = {}
    for _, batch in groups:
        names[batch] = names.get(batch, 0) + 1
    rows = []
    for (container, batch), sheets in sorted(groups.items()):
        ballots = tally.ballots(sheets)
        if ballots:
            rows.append((container, TABULATOR, batch if names[batch] == 1 else f"{container}/{batch}", ballots))
    return rows


def manifest_csv(tally: Tally) -> str:
    out = io.StringIO()
    if tally.provisional:
        n = len(tally.pending_sheets)
        out.write(f"# PROVISIONAL: {n} sheet(s) await review; not a final ballot manifest (this line makes audit "
                  "tools refuse it on purpose)\n")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(MANIFEST_COLUMNS)
    for row in manifest_rows(tally):
        writer.writerow(row)
    return out.getvalue()
