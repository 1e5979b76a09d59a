"""Files for a risk-limiting audit in VotingWorks Arlo: the ballot manifest and a Dominion-format CVR file.

Written to the column rules Arlo publishes for its CSV uploads (UTF-8, comma separated, every cell
filled, whole numbers, unique batches, no total row):

- ``manifest.csv`` (Container, Tabulator, Batch Name, Number of Ballots): one line per batch, the
  number of ballot **cards** (sheets) in it as :mod:`omr.reports.batches` counts them. It does not
  depend on review, so it is always importable; whether the count is final is said by the tally's
  exit status, ``results.json`` and ``cvr.json``. Arlo reads a last line equal to the sum of the
  others as a total row and refuses the file: such a line is moved to the top.
- ``manifest-hybrid.csv``: the same with the ``CVR`` column (Y: the batch has cast vote records)
  that hybrid audits require and the other audit types refuse.
- ``cvr-dominion.csv``: Dominion's CVR export as Arlo reads it for ballot comparison: four header
  rows (election; one "Contest (Vote For=N)" per choice column; the choice names; the record
  columns CvrNumber, TabulatorNum, BatchId, RecordId, ImprintedId, BallotType), then one line per
  ballot card whose TabulatorNum, BatchId and RecordId are the manifest's tabulator, batch and card
  number. A choice cell is ``1``/``0`` on a counted row, ``o`` in every cell of a row void for too
  many marks, ``u`` in every cell of a row void for another reason (no mark, a crossed-out name, a
  person's decision, a ballot rejected as a whole), empty when the contest is not on that card (the
  other page of a ballot, a sheet not issued, an unreadable page). The rows of a sheet still
  awaiting a person hold ``pending-review``, which Arlo refuses to read as a vote: a CVR file with
  undecided votes cannot be audited against by mistake.

Each person of a confidence vote is a contest of its own ("Name — position (Vote For=1)") whose
choices are the levels; a contest on several ballot designs shares its columns.
"""

from __future__ import annotations

import csv
import io
import re

from omr.ballot.template import Contest
from omr.count.tally import NOT_ISSUED, PENDING, REJECTED_BY_REVIEWER, UNREADABLE, VALID, SheetOutcome, Tally
from omr.reports.batches import Batch, ballot_batches
from omr.reports.text import row_title

MANIFEST_COLUMNS = ("Container", "Tabulator", "Batch Name", "Number of Ballots")
HYBRID_COLUMNS = (*MANIFEST_COLUMNS, "CVR")
RECORD_COLUMNS = ("CvrNumber", "TabulatorNum", "BatchId", "RecordId", "ImprintedId", "BallotType")
PENDING_CELL = "pending-review"
TOTAL_WORD = re.compile(r"(^|[^a-zA-Z])(sub)?totals?($|[^a-zA-Z])", re.IGNORECASE)  # Arlo's "total row" test
OVERVOTE_CODES = ("overvote", "several-marks")


def _csv(rows: list[list[str]] | list[tuple]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue()


def _no_total_row_last(rows: list[tuple]) -> list[tuple]:
    """Arlo refuses a file of more than two lines whose last count is the sum of the others."""
    counts = [r[3] for r in rows]
    if len(rows) > 2 and counts[-1] == sum(counts[:-1]):
        return [rows[-1], *rows[:-1]]
    return rows


def manifest_rows(tally: Tally) -> list[tuple[str, str, str, int]]:
    """(container, tabulator, batch name, ballot cards), in the manifest's order."""
    return _no_total_row_last([(b.container, b.tabulator, b.name, len(b.cards)) for b in ballot_batches(tally)])


def manifest_csv(tally: Tally, hybrid: bool = False) -> str:
    rows = manifest_rows(tally)
    if hybrid:
        return _csv([list(HYBRID_COLUMNS)] + [[*r, "Y"] for r in rows])
    return _csv([list(MANIFEST_COLUMNS)] + [list(r) for r in rows])


def manifest_problems(tally: Tally) -> list[str]:
    """What would make Arlo refuse the manifest although it is right: a folder or file named with the
    word "total", which Arlo takes for a total row (the names are the committee's: rename the file)."""
    return [f"batch {r[2]} (folder {r[0]}): Arlo refuses a manifest line with the word 'total' in it; rename the "
            "folder or file to audit it in Arlo" for r in manifest_rows(tally) if TOTAL_WORD.search(r[0] + " " + r[2])]


def votes_allowed(contest: Contest) -> int:
    return contest.max_marks if contest.kind == "choose" else 1


def _columns(tally: Tally) -> tuple[list[tuple[str, str]], dict[tuple[str, str, str, str], int]]:
    """The choice columns [(contest header, choice label)] and where each (template, contest, row,
    option) goes: a contest of the same name on several designs shares its columns."""
    columns: list[tuple[str, str]] = []
    index: dict[tuple[str, str], int] = {}
    where: dict[tuple[str, str, str, str], int] = {}
    for t in tally.templates:
        for c in t.contests:
            for row_id in c.row_ids:
                header = f"{' '.join(row_title(c, row_id).split())} (Vote For={votes_allowed(c)})"
                for o in c.options:
                    key = (header, o.label)
                    if key not in index:
                        index[key] = len(columns)
                        columns.append(key)
                    where[(t.id, c.id, row_id, o.id)] = index[key]
    return columns, where


def _cells(sheet: SheetOutcome, width: int, where: dict[tuple[str, str, str, str], int],
           tally: Tally) -> list[str]:
    cells = [""] * width
    if sheet.outcome in (NOT_ISSUED, UNREADABLE) or not sheet.template_id:
        return cells
    contests = {c.id: c for t in tally.templates if t.id == sheet.template_id for c in t.contests}
    for row in sheet.rows:
        options = [o.id for o in contests[row.contest_id].options]
        if sheet.outcome == REJECTED_BY_REVIEWER:
            values = ["u"] * len(options)
        elif row.status == PENDING or sheet.awaiting_review:
            values = [PENDING_CELL] * len(options)
        elif row.status == VALID:
            values = ["1" if o in row.choices else "0" for o in options]
        else:
            values = ["o" if row.codes and row.codes[0] in OVERVOTE_CODES else "u"] * len(options)
        for o, value in zip(options, values):
            cells[where[(sheet.template_id, row.contest_id, row.row_id, o)]] = value
    return cells


def _election_name(tally: Tally) -> str:
    names = dict.fromkeys(" — ".join(x for x in (t.header.title, t.header.subtitle) if x) for t in tally.templates)
    return " / ".join(n for n in names if n) or "Ballot OMR"


def dominion_cvr_csv(tally: Tally) -> str:
    columns, where = _columns(tally)
    fixed = len(RECORD_COLUMNS)
    blank = [""] * fixed
    rows: list[list[str]] = [
        [_election_name(tally), f"Ballot OMR {tally.tool_version}"] + [""] * (fixed - 2 + len(columns)),
        blank + [header for header, _ in columns],
        blank + [label for _, label in columns],
        list(RECORD_COLUMNS) + [""] * len(columns),
    ]
    number = 0
    for b in ballot_batches(tally):
        for record, sheet in enumerate(b.cards, start=1):
            number += 1
            rows.append([str(number), b.tabulator, b.name, str(record), imprinted_id(b, record),
                         sheet.template_id or ""] + _cells(sheet, len(columns), where, tally))
    return _csv(rows)


def imprinted_id(batch: Batch, record: int) -> str:
    """What Arlo shows the audit board to find a card: tabulator, batch and card number."""
    return f"{batch.tabulator}-{batch.name}-{record}"
