"""results.json, results.csv, results-vi.csv and results.xlsx: the same numbers as the minutes, for
machines and for the committee's spreadsheets.

- ``results.json``: :meth:`omr.count.tally.Tally.to_json` (the shape issue 4 fixed; others build on it).
- ``results.csv``: one line per row and option (a person's level, a choice, yes/no) with the ids,
  the contest's title, the person's name and position and the option's label beside them; the
  numbers of the row repeated on each of its lines, ``total`` = valid + invalid + pending; a
  ``provisional`` column on every line. UTF-8 with a byte-order mark (Excel on Windows reads the
  file as UTF-8 only then), comma separated, decimal point.
- ``results-vi.csv``: the same lines as a spreadsheet in a Vietnamese locale expects them:
  ``;`` separated, decimal comma (57,14).
- ``results.xlsx``: the same lines as a workbook (numbers as numbers, percentages with two
  decimals), written so that the same tally gives the same bytes.
- ``election.csv`` / ``election-vi.csv`` (cross-out elections only): one line per candidate in the
  minutes' order, votes, percentage of the base, elected or not. In results.csv a cross-out contest is
  one line per candidate too (option ``vote``): its votes, not how often the name was struck.
"""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from datetime import datetime

from omr.count.tally import Tally

RESULTS_COLUMNS = ("provisional", "template", "contest", "contest_title", "kind", "row", "name", "position", "option",
                   "option_label", "count", "percent", "percent_base", "valid", "invalid", "pending", "total", "band",
                   "band_settled", "overvotes", "undervotes")
ELECTION_COLUMNS = ("provisional", "template", "contest", "regime", "seats", "place", "candidate", "honorific",
                    "name", "born", "votes", "percent", "percent_base", "over_half", "outcome", "note",
                    "valid_ballots", "invalid_ballots", "pending_ballots")
NO_TIME = datetime(2000, 1, 1)  # the workbook's time when the tally has none


def results_json(tally: Tally) -> str:
    return json.dumps(tally.to_json(), ensure_ascii=False, indent=1) + "\n"


def results_rows(tally: Tally) -> list[list[object]]:
    """The lines of results.csv as values (bool, int, Decimal, str or None), header excluded."""
    lines: list[list[object]] = []
    elections = {(e.template_id, e.contest_id): e for e in tally.elections}
    for c in tally.contests:
        if c.kind == "crossout":
            lines += _vote_lines(tally, c, elections[(c.template_id, c.id)])
            continue
        labels = dict(c.options)
        for row in c.rows:
            for option_id, _ in c.options:
                lines.append([tally.provisional, c.template_id, c.id, c.title, c.kind, row.row_id, row.name,
                              row.position, option_id, labels[option_id], row.counts[option_id],
                              row.percent[option_id], c.base, row.valid, row.invalid, row.pending,
                              row.valid + row.invalid + row.pending, row.band, row.band_settled, row.overvotes,
                              row.undervotes])
    return lines


VOTE_OPTION = "vote"
VOTE_LABEL = {"vi": "Số phiếu bầu", "en": "Votes"}


def _vote_lines(tally: Tally, c, e) -> list[list[object]]:
    """A cross-out contest in results.csv: one line per candidate, in the list's order, whose count is its
    votes (valid ballots on which the name is left) and whose percentage is of the election's base (valid
    ballots, or the base the committee gave; none given: no percentage); valid, invalid and pending count
    ballots, as in election.csv."""
    votes = {x.row_id: x for x in e.candidates}
    return [[tally.provisional, c.template_id, c.id, c.title, c.kind, row.row_id, row.name, row.position,
             VOTE_OPTION, VOTE_LABEL[tally.language], votes[row.row_id].votes,
             votes[row.row_id].percent if e.base is not None else None, e.base, e.valid, e.invalid, e.pending,
             e.valid + e.invalid + e.pending, None, None, None, None] for row in c.rows]


def _cell(value: object, decimal_comma: bool) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if not isinstance(value, (int, str)):  # a percentage (Decimal)
        text = f"{value:.2f}"
        return text.replace(".", ",") if decimal_comma else text
    return str(value)


def results_csv(tally: Tally, vietnamese: bool = False) -> str:
    """results.csv (``vietnamese``: results-vi.csv); written with a byte-order mark (utf-8-sig)."""
    return _csv(RESULTS_COLUMNS, results_rows(tally), vietnamese)


def election_rows(tally: Tally) -> list[list[object]]:
    """The lines of election.csv: a cross-out election's candidates in the minutes' order (most votes
    first), each with its votes, percentage of the base and outcome (elected, not elected, tie)."""
    lines: list[list[object]] = []
    for e in tally.elections:
        for place, c in enumerate(e.candidates, start=1):
            lines.append([tally.provisional, e.template_id, e.contest_id, e.regime, e.seats, place, c.row_id,
                          c.honorific, c.name, c.born, c.votes, c.percent, e.base, c.over_half, c.outcome, c.note,
                          e.valid, e.invalid, e.pending])
    return lines


def election_csv(tally: Tally, vietnamese: bool = False) -> str:
    """election.csv (``vietnamese``: election-vi.csv): votes per candidate of cross-out elections in the
    minutes' order, and who is elected."""
    return _csv(ELECTION_COLUMNS, election_rows(tally), vietnamese)


def _csv(columns: tuple[str, ...], rows: list[list[object]], vietnamese: bool) -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";" if vietnamese else ",", lineterminator="\r\n")
    writer.writerow(columns)
    for line in rows:
        writer.writerow([_cell(v, vietnamese) for v in line])
    return out.getvalue()


def results_xlsx(tally: Tally) -> bytes:
    from openpyxl import Workbook
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    ws = wb.active
    ws.title = "results"
    ws.append(list(RESULTS_COLUMNS))
    percent_column = RESULTS_COLUMNS.index("percent") + 1
    widths = [len(name) for name in RESULTS_COLUMNS]
    for line in results_rows(tally):
        # numbers stay numbers; yes/no as the CSV writes them (a spreadsheet may show a boolean as 1)
        values = [_cell(v, False) if isinstance(v, bool) else float(v) if i == percent_column - 1 and v is not None
                  else v for i, v in enumerate(line)]
        ws.append(values)
        ws.cell(row=ws.max_row, column=percent_column).number_format = "0.00"
        widths = [max(w, len(str(v)) if v is not None else 0) for w, v in zip(widths, values)]
    for i, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(i)].width = min(max(width + 2, 8), 45)
    ws.freeze_panes = "A2"
    when = datetime.strptime(tally.as_of[:19], "%Y-%m-%dT%H:%M:%S") if tally.as_of else NO_TIME
    wb.properties.creator = "Ballot OMR"
    wb.properties.created = when
    raw = io.BytesIO()
    wb.save(raw)
    return _dated(raw.getvalue(), when)


def _dated(data: bytes, when: datetime) -> bytes:
    """The same workbook with every date in it `when` (the time of the tally's data): openpyxl stamps
    the archive's members and the "modified" property with the clock, which would make two runs on
    the same data differ."""
    stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            content = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                content = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)", rb"\g<1>" + stamp + rb"\g<2>",
                                 content)
            member = zipfile.ZipInfo(info.filename, date_time=when.timetuple()[:6])
            member.compress_type = zipfile.ZIP_DEFLATED
            member.external_attr = info.external_attr
            dst.writestr(member, content)
    return out.getvalue()
