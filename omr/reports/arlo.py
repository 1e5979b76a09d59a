"""Files for a risk-limiting audit in VotingWorks Arlo: the ballot manifest and a Dominion-format CVR file.

Written to the column rules Arlo publishes for its CSV uploads (UTF-8, comma separated, every cell
filled, whole numbers, unique batches, no total row):

- ``manifest.csv`` (Container, Tabulator, Batch Name, Number of Ballots): one line per batch, the
  number of ballot **cards** (sheets; both sides of a ballot printed duplex are one) in it as
  :mod:`omr.reports.batches` counts them. It does not depend on review, so it is always importable;
  whether the count is final is said by the tally's exit status, ``results.json`` and ``cvr.json``.
  Arlo reads a last line equal to the sum of the others as a total row and refuses the file: such a
  line is moved to the top.
- ``manifest-hybrid.csv``: the same with the ``CVR`` column (Y: the batch has cast vote records)
  that hybrid audits require and the other audit types refuse.
- ``cvr-dominion.csv``: Dominion's CVR export as Arlo reads it for ballot comparison: four header rows
  (election; one "Contest (Vote For=N)" per choice column; the choice names; the record columns
  CvrNumber, TabulatorNum, BatchId, RecordId, ImprintedId, BallotType), then one line per ballot card (a
  duplex card's two sides on one line) whose TabulatorNum, BatchId and RecordId are the manifest's
  tabulator, batch and card number. A choice cell is ``1``/``0`` on a counted row, ``o`` in every cell
  of a row void for too many marks, ``u`` in every cell of a row void for another reason (no mark, a
  crossed-out name, a person's decision, a ballot rejected as a whole), empty when the contest is not on
  that card (the other page of a ballot, a sheet not issued, an unreadable page). The rows of a sheet
  still awaiting a person hold ``pending-review``, which Arlo refuses to read as a vote: a CVR file with
  undecided votes cannot be audited against by mistake.

Each person of a confidence vote is a contest of its own ("Name — position (Vote For=1)") whose
choices are the levels; a contest on several ballot designs shares its columns. A cross-out election is
one contest ("what is elected (Vote For=K)") whose choices are the candidates: 1 a name left on a valid
ballot, 0 a name struck, ``o`` on a ballot with more names left than K, ``u`` on a ballot invalid for another
reason; a list on two pages is on the ballot's first card.
"""

from __future__ import annotations

import csv
import io
import re

from omr.ballot.template import Contest, Template
from omr.count.election import is_vote
from omr.count.tally import NOT_ISSUED, PENDING, REJECTED_BY_REVIEWER, UNREADABLE, VALID, SheetOutcome, Tally
from omr.reports.batches import Batch, ballot_batches
from omr.reports.text import row_title

MANIFEST_COLUMNS = ("Container", "Tabulator", "Batch Name", "Number of Ballots")
HYBRID_COLUMNS = (*MANIFEST_COLUMNS, "CVR")
RECORD_COLUMNS = ("CvrNumber", "TabulatorNum", "BatchId", "RecordId", "ImprintedId", "BallotType")
PENDING_CELL = "pending-review"
TOTAL_WORD = re.compile(r"(^|[^a-zA-Z])(sub)?totals?($|[^a-zA-Z])", re.IGNORECASE)  # Arlo's "total row" test
OVERVOTE_CODES = ("overvote", "several-marks")
VOTE = "vote"  # the one cell of a candidate of a cross-out contest


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
            if c.kind == "crossout":  # one contest "vote for K", each candidate a choice
                header = f"{crossout_contest_name(t, c)} (Vote For={c.seats})"
                for label, row_id in zip(choice_names(c), c.row_ids):
                    index[(header, label)] = len(columns)
                    columns.append((header, label))
                    where[(t.id, c.id, row_id, VOTE)] = index[(header, label)]
                continue
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
        if contests[row.contest_id].kind == "crossout":
            continue
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
    for c in contests.values():
        if c.kind == "crossout":
            for (contest_id, row_id), value in _crossout_cells(sheet, c, tally).items():
                cells[where[(sheet.template_id, contest_id, row_id, VOTE)]] = value
    return cells


def _crossout_cells(sheet: SheetOutcome, c: Contest, tally: Tally) -> dict[tuple[str, str], str]:
    """A cross-out ballot's cells, all on its first card (Arlo reads a contest with an empty cell as not on
    the card, so a list printed on two pages is one contest on one card): 1 a name left on a valid ballot
    (a vote), 0 a name struck; ``o`` in every cell of a ballot with more names left than seats, ``u`` in
    every cell of a ballot invalid for another reason (all struck, no stamp, a person's decision)."""
    group = [s for s in tally.sheets if s.ballot and s.ballot == sheet.ballot] if sheet.ballot else [sheet]
    if sheet.ballot and sheet.ballot != f"{sheet.source}#{sheet.page}":
        return {}
    rows = [r for s in group for r in s.rows if r.contest_id == c.id]
    if not rows:
        return {}
    if any(s.outcome == REJECTED_BY_REVIEWER for s in group):
        value = "u"
    elif any(r.status == PENDING for r in rows) or any(s.awaiting_review for s in group):
        value = PENDING_CELL
    elif all(r.status == VALID for r in rows):
        return {(c.id, r.row_id): "1" if is_vote(c, r.choices) else "0" for r in rows}
    else:
        value = "o" if any(r.codes[:1] == ("too-many-left",) for r in rows) else "u"
    return {(c.id, r.row_id): value for r in rows}


def crossout_contest_name(t: Template, c: Contest) -> str:
    """A cross-out contest's name in the CVR file: its title, else what the ballot elects (the subtitle)."""
    return " ".join((c.title or t.header.subtitle or t.header.title or c.id).split())


def choice_names(c: Contest) -> list[str]:
    """The candidates as choices: their names, with the id added where two share a name."""
    names = [" ".join(p.name.split()) for p in c.candidates]
    return [f"{n} ({p.id})" if names.count(n) > 1 else n for n, p in zip(names, c.candidates)]


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
        for record, card in enumerate(b.cards, start=1):
            number += 1
            sides = [_cells(sheet, len(columns), where, tally) for sheet in card]  # a duplex card: both, one row
            rows.append([str(number), b.tabulator, b.name, str(record), imprinted_id(b, record),
                         card[0].template_id or ""] + [next((c for c in cells if c), "") for cells in zip(*sides)])
    return _csv(rows)


def imprinted_id(batch: Batch, record: int) -> str:
    """What Arlo shows the audit board to find a card: tabulator, batch and card number."""
    return f"{batch.tabulator}-{batch.name}-{record}"
