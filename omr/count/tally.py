"""Reconciliation and results: machine reads + human decisions -> the count a committee signs.

The core, :func:`tally_reads`, is a pure function: reads, decisions and templates in, a frozen
:class:`Tally` out; no file, database or clock. :mod:`omr.count.stored` is the thin shell that takes
them from a results database (and finds the templates the scan runs recorded).

What counts (Quy định 96-QĐ/TW and DESIGN.md):

- Every sheet gets one outcome: ``counted``; ``duplicate`` (the same physical sheet scanned again:
  the later copy is left out; when the machine only suspects it from the ink and paper, it stays
  pending, the tally provisional, until a person confirms it: sheet ``reject-sheet`` = "the same
  sheet", counted once; sheet ``accept`` = "two different ballots", both counted; an identical image
  needs no person); ``test`` (a test-deck sheet: never counted); ``not-issued`` (a
  sheet the committee did not issue: an invalid ballot); ``rejected-by-reviewer`` (a person
  declared the ballot invalid as a whole); ``unreadable`` (the machine could not register or
  identify the page: must be rescanned or set aside); ``set-aside`` (an unreadable page a person
  declared not to be a ballot, e.g. the blank back of a duplex scan).
- Human decisions (latest per sheet and row, ``Store.latest_decisions``) override the machine read
  without erasing it: row ``accept`` applies the contest rules to the machine's choices (a crossed-out
  name stays void), row ``set`` applies them to the choices the person gives, row ``invalid`` voids
  the row; sheet ``reject-sheet`` makes the ballot invalid as a whole (or sets an unreadable page
  aside, or confirms a duplicate; with the reason ``duplicate`` or ``test-sheet`` on any sheet, it
  makes it a copy or a test sheet, which is no ballot and counts nowhere), sheet ``accept`` clears
  the sheet-level flags (a sheet flagged duplicate that a person accepts is counted: they say it is
  another ballot).
- A counted sheet the machine sent to review still awaits a person while (a) it has a sheet-level
  flag and no sheet decision, or (b) a row the machine could not decide (marginal mark) has no row
  decision, or (c) a row it flagged as invalid (no mark, several marks, crossed-out name) has
  neither a row decision nor a sheet ``accept``. Any such sheet makes the tally PROVISIONAL. Its
  rows are counted as the machine read them where the machine decided (valid or invalid), and an
  undecided row is ``pending``: in neither valid nor invalid, shown on its own. Each confidence
  row says whether its band can still change (``band_settled``) whatever the pending sheets become.
- Percentages are of the ballots collected (the committee's hand count), two decimals rounded half
  up; the bands on "tín nhiệm thấp" compare integers exactly: ``low * 2 > collected`` (over half),
  ``low * 3 >= 2 * collected`` (two thirds or more). A rounded percentage never decides a band.
- Ballots are reconciled per template page: the sheets of each page (counted + rejected by a
  reviewer) plus the sheets not issued by the committee must add up to the ballots collected; every
  difference is a :class:`Discrepancy` naming the files and pages concerned.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import PurePath
from typing import TYPE_CHECKING, Any

from omr import __version__
from omr.ballot.layout import fingerprint, layout
from omr.ballot.template import Contest, Template
from omr.codes import (
    COUNTED,
    DUPLICATE,
    ERROR,
    INVALID,
    NOT_ISSUED,
    PENDING,
    PERSON_REJECTION_OUTCOME,
    REJECTED_BY_REVIEWER,
    REJECTION_OUTCOME,
    REVIEW,
    ROW_INVALID_CODES,
    SET_ASIDE,
    SHEET_OK,
    SHEET_REJECTED,
    TEST,
    UNREADABLE,
    VALID,
    WARNING,
)
from omr.count.election import ElectionResult, election_result
from omr.read.duplicates import most_alike
from omr.read.interpret import (
    STAMP_ABSENT,
    STAMP_PRESENT,
    STAMP_UNCLEAR,
    STRUCK_OUT,
    crossout_verdict,
    name_from_choices,
    name_reading,
    row_needs_person,
    sheet_review_codes,
)
from omr.read.results import MarkRead, Reason, SheetRead

if TYPE_CHECKING:  # decisions come from the store; the tally itself never touches it
    from omr.store.records import Decision, LogHead, PageFailure

RESULTS_FORMAT = "ballot-omr-results"
RESULTS_VERSION = 1

# bands on "tín nhiệm thấp"
BAND_NONE, BAND_OVER_HALF, BAND_TWO_THIRDS = "none", "over_half", "two_thirds"
LOW_OPTION = "thap"  # the "Tín nhiệm thấp" level; a template with custom levels: its last level


class TallyError(ValueError):
    """The tally cannot be made as asked (a template is missing, a number is impossible)."""


class TemplateMissing(TallyError):
    """Sheets were read against a template the tally was not given."""


# --------------------------------------------------------------------------------------------------
# Numbers


def band(low: int, collected: int) -> str:
    """The consequence band of a person's "tín nhiệm thấp" count, by exact integer comparison:
    ``two_thirds`` when low >= 2/3 of collected, ``over_half`` when low > 1/2 (and < 2/3), else
    ``none``. Exactly one half is not over half; exactly two thirds is two thirds."""
    if collected <= 0:
        return BAND_NONE
    if low * 3 >= 2 * collected:
        return BAND_TWO_THIRDS
    if low * 2 > collected:
        return BAND_OVER_HALF
    return BAND_NONE


def percent(count: int, base: int | None) -> Decimal:
    """count / base as a percentage with two decimals, rounded half up from the exact fraction
    (integers only: no binary float, no double rounding)."""
    if not base:
        return Decimal("0.00")
    hundredths = (2 * count * 10000 + base) // (2 * base)
    return Decimal(hundredths).scaleb(-2)


def low_option(contest: Contest) -> str:
    ids = [o.id for o in contest.options]
    return LOW_OPTION if LOW_OPTION in ids else ids[-1]


def judge(contest: Contest, choices: Sequence[str]) -> tuple[str, str | None]:
    """The contest rules on a list of chosen options: (valid | invalid, reason code or None)."""
    n = len(choices)
    if contest.kind in ("confidence", "yesno"):
        if n == 1:
            return VALID, None
        return INVALID, "no-mark" if n == 0 else "several-marks"
    if n > contest.max_marks:
        return INVALID, "overvote"
    if n < contest.min_marks:
        return INVALID, "undervote"
    return VALID, None


# --------------------------------------------------------------------------------------------------
# The result


@dataclass(frozen=True)
class RowOutcome:
    """One row (a person, or a choose/yes-no contest) of one sheet, as it counts."""

    contest_id: str
    row_id: str
    status: str  # valid | invalid | pending
    choices: tuple[str, ...]  # what counts (valid rows)
    codes: tuple[str, ...]  # why invalid or pending
    machine_status: str
    machine_choices: tuple[str, ...]
    marks: tuple[MarkRead, ...]
    decision: Decision | None = None
    machine_codes: tuple[str, ...] = ()  # the reason codes of the machine read


@dataclass(frozen=True)
class SheetOutcome:
    """What became of one sheet read."""

    sheet_id: int | None
    source: str
    page: int
    outcome: str  # one of OUTCOMES
    machine_status: str
    reasons: tuple[Reason, ...]
    image_sha256: str
    template_id: str | None
    fingerprint: str | None
    template_page: int | None
    test: bool
    batch: str
    pending: tuple[str, ...] = ()  # what still awaits a person (codes); empty: nothing
    rows: tuple[RowOutcome, ...] = ()
    decision: Decision | None = None  # the sheet-level decision in force
    note: str = ""  # e.g. which sheet this one duplicates
    source_sha256: str = ""  # SHA-256 of the scanned file's bytes ("" when not known): finds the file in an archive
    serial: int | None = None  # the ballot's printed serial number, when the template prints one
    ballot: str = ""  # a cross-out ballot of several pages: "file#page" of its first sheet, the same on each

    @property
    def awaiting_review(self) -> bool:
        return bool(self.pending)

    @property
    def decisions(self) -> tuple[Decision, ...]:
        found = [self.decision] if self.decision else []
        return tuple(found + [r.decision for r in self.rows if r.decision is not None])

    @property
    def listed(self) -> bool:
        """Belongs on the list of invalid and reviewed sheets."""
        return (self.outcome != COUNTED or self.machine_status != SHEET_OK or bool(self.decisions)
                or any(r.status != VALID for r in self.rows))


@dataclass(frozen=True)
class RowResult:
    contest_id: str
    row_id: str
    name: str
    position: str
    valid: int
    invalid: int
    pending: int
    counts: dict[str, int]
    percent: dict[str, Decimal]
    band: str | None  # confidence rows only
    band_settled: bool | None
    invalid_detail: dict[str, int]
    overvotes: int | None = None  # choose contests: ballots with more marks than allowed
    undervotes: int | None = None  # choose contests: ballots with fewer marks than allowed (blank included)


@dataclass(frozen=True)
class ContestResult:
    template_id: str
    fingerprint: str
    id: str
    kind: str
    title: str
    options: tuple[tuple[str, str], ...]  # (id, label)
    base: int  # the denominator of every percentage: ballots collected
    base_is_collected: bool
    pages: tuple[int, ...]
    rows: tuple[RowResult, ...]
    low_option: str | None = None


@dataclass(frozen=True)
class Discrepancy:
    code: str
    severity: str  # error: the numbers do not add up or a page is unresolved; warning: handled, but say it
    message: str  # English, for the terminal and JSON; the minutes word it from code and params
    count: int = 0
    sheets: tuple[tuple[str, int | None], ...] = ()  # (file, page): never a voter
    params: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"code": self.code, "severity": self.severity, "message": self.message, "count": self.count,
                "sheets": [{"source": s, "page": p} for s, p in self.sheets], **self.params}


@dataclass(frozen=True)
class BatchCount:
    name: str
    hand_count: int | None  # None: no hand count given for this batch
    ballots: int  # ballots the scans account for in it (counted + invalid ballots)
    sheets: int  # every sheet read from it

    @property
    def difference(self) -> int | None:
        return None if self.hand_count is None else self.ballots - self.hand_count


@dataclass(frozen=True)
class Quorum:
    convened: int
    present: int

    @property
    def met(self) -> bool:
        return self.present * 3 >= self.convened * 2

    @property
    def required(self) -> int:
        return -(-2 * self.convened // 3)


@dataclass(frozen=True)
class PageCount:
    template_id: str
    fingerprint: str
    page: int
    pages: int
    counted: int
    rejected: int  # rejected by a reviewer: invalid ballots of this page


@dataclass(frozen=True)
class Reconciliation:
    issued: int | None
    collected: int | None
    sheets_read: int
    valid_sheets: int  # sheets in the count
    ballots_counted: int
    invalid_ballots: int  # not issued + rejected by a reviewer
    accounted: int  # ballots counted + invalid ballots: what must equal ballots collected
    not_issued: int
    unreadable: int
    rejected_by_reviewer: int
    set_aside: int
    duplicates: int
    test_sheets: int
    page_failures: int
    pending_review: int
    missing: int
    extra: int
    pages: tuple[PageCount, ...]
    batches: tuple[BatchCount, ...]
    quorum: Quorum | None
    discrepancies: tuple[Discrepancy, ...]

    @property
    def rejected(self) -> int:
        return self.not_issued + self.unreadable + self.rejected_by_reviewer + self.set_aside

    @property
    def reconciled(self) -> bool:
        return not any(d.severity == ERROR for d in self.discrepancies)


@dataclass(frozen=True)
class Tally:
    """Everything the minutes and the exports say; built only by :func:`tally_reads`."""

    provisional: bool
    reconciliation: Reconciliation
    contests: tuple[ContestResult, ...]
    sheets: tuple[SheetOutcome, ...]  # every sheet read, in (file, page) order
    templates: tuple[Template, ...]  # the ballots in the tally, in order
    language: str  # vi | en: of the reports
    as_of: str | None = None  # time of the latest data (run end or decision): not the time of printing
    log_head: LogHead | None = None  # the store's log head: anchors the minutes to the data
    pages_per_ballot: int = 1  # pages of the one ballot design in the count (1 with several designs)
    tool_version: str = __version__
    elections: tuple[ElectionResult, ...] = ()  # cross-out contests: votes, elected, piles (omr.count.election)

    def ballots(self, sheets: Iterable[SheetOutcome]) -> int:
        """Ballots some sheets account for (counted and invalid): what a batch holds."""
        return _ballots(sheets, self.pages_per_ballot)[2]

    @property
    def pending_sheets(self) -> tuple[SheetOutcome, ...]:
        return tuple(s for s in self.sheets if s.awaiting_review)

    @property
    def listed_sheets(self) -> tuple[SheetOutcome, ...]:
        return tuple(s for s in self.sheets if s.listed)

    @property
    def quorum_met(self) -> bool | None:
        q = self.reconciliation.quorum
        return None if q is None else q.met

    def to_json(self) -> dict:
        """The results.json shape of issue 4 (keep these names: others build on them)."""
        r = self.reconciliation
        return {
            "format": RESULTS_FORMAT,
            "version": RESULTS_VERSION,
            "provisional": self.provisional,
            "reconciled": r.reconciled,
            "language": self.language,
            "as_of": self.as_of,
            "log_head": None if self.log_head is None else {"id": self.log_head.id, "hash": self.log_head.hash},
            "tool_version": self.tool_version,
            "templates": [{"id": t.id, "fingerprint": fingerprint(t), "title": t.header.title,
                           "subtitle": t.header.subtitle, "language": t.language} for t in self.templates],
            "reconciliation": {
                "issued": r.issued,
                "collected": r.collected,
                "sheets_read": r.sheets_read,
                "valid_sheets": r.valid_sheets,
                "ballots_counted": r.ballots_counted,
                "invalid_ballots": r.invalid_ballots,
                "accounted": r.accounted,
                "rejected": r.rejected,
                "rejected_detail": {"not_issued": r.not_issued, "unreadable": r.unreadable,
                                    "rejected_by_reviewer": r.rejected_by_reviewer, "set_aside": r.set_aside},
                "duplicates": r.duplicates,
                "test_sheets": r.test_sheets,
                "page_failures": r.page_failures,
                "pending_review": r.pending_review,
                "missing": r.missing,
                "extra": r.extra,
                "reconciled": r.reconciled,
                "pages": [{"template": p.template_id, "page": p.page, "of": p.pages, "counted": p.counted,
                           "rejected": p.rejected} for p in r.pages],
                "batches": [{"name": b.name, "hand_count": b.hand_count, "ballots": b.ballots, "sheets": b.sheets,
                             "difference": b.difference} for b in r.batches],
                "quorum": None if r.quorum is None else {"convened": r.quorum.convened, "present": r.quorum.present,
                                                         "required": r.quorum.required, "met": r.quorum.met},
                "discrepancies": [d.to_json() for d in r.discrepancies],
            },
            "contests": [{
                "id": c.id,
                "template": c.template_id,
                "kind": c.kind,
                "title": c.title,
                "options": [{"id": o, "label": label} for o, label in c.options],
                "percent_base": c.base,
                "percent_base_is_collected": c.base_is_collected,
                "rows": [_row_json(c, row) for row in c.rows],
            } for c in self.contests],
            "sheets": [_sheet_json(s) for s in self.listed_sheets],
            **({"elections": [_election_json(e) for e in self.elections]} if self.elections else {}),
        }


def _row_json(contest: ContestResult, row: RowResult) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": row.row_id, "name": row.name, "valid": row.valid, "invalid": row.invalid, "pending": row.pending,
        "counts": dict(row.counts), "percent": {k: float(v) for k, v in row.percent.items()},
        "band": row.band,
    }
    if contest.kind == "confidence":
        out["position"] = row.position
        out["band_settled"] = row.band_settled
    if contest.kind == "choose":
        out["overvotes"] = row.overvotes
        out["undervotes"] = row.undervotes
    out["invalid_detail"] = dict(row.invalid_detail)
    return out


def _election_json(e: ElectionResult) -> dict[str, Any]:
    return {"contest": e.contest_id, "template": e.template_id, "regime": e.regime, "seats": e.seats,
            "ballots": e.ballots, "valid": e.valid, "invalid": e.invalid, "pending": e.pending,
            "invalid_by_reason": dict(e.invalid_by_reason), "base": e.base, "voters": e.voters, "voted": e.voted,
            "turnout_over_half": e.turnout_over_half, "piles": {str(k): v for k, v in e.piles.items()},
            "candidates": [{"id": c.row_id, "name": c.name, "born": c.born, "votes": c.votes,
                            "percent": float(c.percent), "over_half": c.over_half, "outcome": c.outcome,
                            "note": c.note} for c in e.candidates]}


def decision_json(d: Decision) -> dict[str, Any]:
    return {"id": d.id, "scope": d.scope, "contest": d.contest_id, "row": d.row_id, "action": d.action,
            "choices": list(d.choices), "reason": d.reason, "reviewer": d.reviewer, "at": d.created_at}


def _sheet_json(s: SheetOutcome) -> dict[str, Any]:
    return {
        "source": s.source, "page": s.page, "outcome": s.outcome, "machine_status": s.machine_status,
        "template": s.template_id, "template_page": s.template_page, "batch": s.batch,
        "awaiting_review": list(s.pending), "note": s.note,
        "reasons": [str(r) for r in s.reasons],
        "rows": [{"contest": r.contest_id, "row": r.row_id, "status": r.status, "codes": list(r.codes),
                  "choices": list(r.choices), "machine_status": r.machine_status,
                  "machine_choices": list(r.machine_choices), "machine_codes": list(r.machine_codes)}
                 for r in s.rows if r.status != VALID or r.decision is not None or r.machine_status != VALID],
        "decisions": [decision_json(d) for d in s.decisions],
    }


# --------------------------------------------------------------------------------------------------
# The core


def batch_name(source: str) -> str:
    """The batch a sheet was scanned in: its file's name without the extension."""
    return PurePath(source.replace("\\", "/")).stem


def _match_batch(source: str, names: Iterable[str]) -> str | None:
    p = PurePath(source.replace("\\", "/"))
    for name in names:
        if name in (p.stem, p.name, source) or name in p.parent.parts:
            return name
    return None


def _row_outcome(contest: Contest, row, decision: Decision | None) -> RowOutcome:
    machine_codes = tuple(r.code for r in row.reasons)
    base = dict(contest_id=row.contest_id, row_id=row.row_id, machine_status=row.status,
                machine_choices=tuple(row.choices), marks=tuple(row.marks), decision=decision,
                machine_codes=machine_codes)
    if decision is not None:
        if decision.action == "invalid":  # the reviewer's reason, when it is a rule's code, counts as that code
            code = decision.reason if decision.reason in ROW_INVALID_CODES else "decided-invalid"
            return RowOutcome(status=INVALID, choices=(), codes=(code,), **base)
        if decision.action == "accept" and "crossed-out-name" in machine_codes:
            return RowOutcome(status=INVALID, choices=(), codes=("crossed-out-name",), **base)
        choices = tuple(row.choices) if decision.action == "accept" else tuple(decision.choices)
        status, code = judge(contest, choices)
        if status == VALID:
            return RowOutcome(status=VALID, choices=choices, codes=(), **base)
        return RowOutcome(status=INVALID, choices=choices if code in ("overvote", "undervote") else (),
                          codes=(code,), **base)
    if row.status == VALID:
        return RowOutcome(status=VALID, choices=tuple(row.choices), codes=(), **base)
    if row.status == INVALID:
        codes = tuple(c for c in machine_codes if c in ROW_INVALID_CODES)
        if not codes:
            codes = (judge(contest, row.choices)[1] or "invalid",)
        return RowOutcome(status=INVALID, choices=tuple(row.choices), codes=codes, **base)
    return RowOutcome(status=PENDING, choices=(), codes=machine_codes or ("review",), **base)


def _crossout_outcomes(c: Contest, group: Sequence[SheetOutcome], pages: int) -> list[SheetOutcome]:
    """The ballot's rules applied again, on every page of one ballot at once, with what people decided: a
    name they set (struck / not struck), a first page they accepted (the stamp is there), a page accepted
    (its writing is harmless). A row a person declared invalid, or a page they rejected, voids the ballot.
    A ballot with a page missing cannot be judged: its rows wait (the pages found go to a person)."""
    mine = [r for s in group for r in s.rows if r.contest_id == c.id]
    if not mine:
        return list(group)
    ballot = f"{group[0].source}#{group[0].page}" if pages > 1 else ""
    found = sorted({s.template_page for s in group if s.template_page is not None})
    rejected = any(s.outcome == REJECTED_BY_REVIEWER for s in group)
    if found != list(range(1, pages + 1)) and not rejected:
        lacking = ", ".join(str(p) for p in range(1, pages + 1) if p not in found)
        return [replace(s, ballot=ballot, rows=tuple(
            replace(r, status=PENDING, choices=(), codes=("ballot-page-missing",)) if r.contest_id == c.id else r
            for r in s.rows), pending=s.pending + ("ballot-page-missing",) if s.outcome == COUNTED
            else s.pending, note=s.note or f"page {lacking} of {pages} of this ballot not found") for s in group]
    names = {r.row_id: _decided_name(c, r) for r in mine}
    first = next((s for s in group if s.template_page == 1), group[0])
    codes = {x.code for x in first.reasons}
    accepted = first.decision is not None and first.decision.action == "accept"
    stamp = STAMP_PRESENT if accepted else STAMP_ABSENT if "stamp-absent" in codes else \
        STAMP_UNCLEAR if "stamp-unclear" in codes else STAMP_PRESENT
    writing = any("extra-writing" in {x.code for x in s.reasons} and s.decision is None for s in group)
    verdict = crossout_verdict(c, names, stamp, writing, accepted=accepted)
    voided = rejected or any(r.decision is not None and r.decision.action == "invalid" for r in mine)
    machine = _machine_verdict(c, mine, codes, writing=any("extra-writing" in {x.code for x in s.reasons}
                                                           for s in group))

    def judged(r: RowOutcome) -> RowOutcome:
        if r.contest_id != c.id:
            return r
        r = replace(r, **machine)
        if voided:
            return replace(r, status=INVALID, choices=(), codes=("decided-invalid",))
        if verdict.status == VALID:
            chosen = (r.decision.choices if r.decision is not None and r.decision.action == "set"
                      else r.machine_choices) if c.style == "agree" else \
                (("struck",) if names[r.row_id] == STRUCK_OUT else ())
            return replace(r, status=VALID, choices=tuple(chosen), codes=())
        if verdict.status == INVALID:
            return replace(r, status=INVALID, choices=(), codes=(verdict.code or "ballot-invalid",))
        return replace(r, status=PENDING, choices=(), codes=(verdict.code or "review",))

    return [replace(s, ballot=ballot, rows=tuple(judged(r) for r in s.rows)) for s in group]


def _decided_name(c: Contest, r: RowOutcome) -> str:
    """A name as struck / left / unclear: as a person set it, as the machine chose when a person kept its
    read ("accept": an unclear stroke the machine did not call a strike is then not struck, as a marginal
    box kept is not marked), else as read."""
    if r.decision is not None and r.decision.action == "set":
        return name_from_choices(c, r.decision.choices)
    if r.decision is not None and r.decision.action == "accept":
        return name_from_choices(c, r.machine_choices)
    return name_reading(c, list(r.marks))


def _machine_verdict(c: Contest, rows: Sequence[RowOutcome], first_codes: set[str], writing: bool) -> dict[str, Any]:
    """The machine's own verdict on a ballot, no person's decision applied (a page of a longer list was read
    only as far as it could tell; a sheet's stamp or writing leaves its rows valid on their own): what its
    rows' machine status says, so that the CVR's interpreted snapshot is the tally's count before review."""
    names = {r.row_id: name_reading(c, list(r.marks)) for r in rows}
    stamp = STAMP_ABSENT if "stamp-absent" in first_codes else STAMP_UNCLEAR if "stamp-unclear" in first_codes \
        else STAMP_PRESENT
    verdict = crossout_verdict(c, names, stamp, writing)
    return {"machine_status": verdict.status, "machine_codes": (verdict.code,) if verdict.code else ()}


def ballot_groups(sheets: Sequence[tuple[str, int, int | None]], pages: int, duplex: bool = False) -> list[list[int]]:
    """The sheets of each ballot of a template of `pages` pages, as indexes into `sheets` ((file, page in
    the file, template page), in file and page order): a ballot's pages are scanned one after the other in
    one file, in the ballot's page order; nothing else ties them (no number on the paper links a ballot to
    anyone). Printed on both sides (`duplex`), a card fed turned over gives its back first: its two sides
    make one card in either order. Any other page out of order starts a ballot of its own (a page fed
    twice, or a ballot fed back to front, goes to a person as a ballot lacking a page), never the next
    voter's ballot's pages joined to it. The tally and the review screen group by this."""
    groups: list[list[int]] = []
    for i, (source, page, template_page) in enumerate(sheets):
        group = groups[-1] if groups else []
        last_source, last_page, last_template_page = sheets[group[-1]] if group else ("", 0, None)
        have = {sheets[j][2] for j in group}
        joins = (bool(group) and (last_source, last_page + 1) == (source, page) and len(group) < pages
                 and template_page is not None and last_template_page is not None and None not in have
                 and template_page not in have)
        if joins:
            card = sorted((template_page, last_template_page))  # a duplex card's two sides: pages 2k-1 and 2k
            other_side = (duplex and card[0] % 2 == 1 and card[1] == card[0] + 1
                          and all(p < card[0] for p in have - {last_template_page}))
            joins = all(p < template_page for p in have) or other_side
        if joins:
            group.append(i)
        else:
            groups.append([i])
    return groups


def incomplete_ballots(reads: Sequence[tuple[int, SheetRead]], decisions: Mapping,
                       templates: Sequence[Template]) -> dict[int, tuple[int, tuple[int, ...]]]:
    """Sheet id -> (the ballot's pages, the pages its ballot lacks), for the pages of multi-page cross-out
    ballots (`templates`) that the tally finds without their other pages: grouped as the tally groups them,
    under the decisions in force (`decisions`, as ``Store.latest_decisions()`` gives them: a suspected copy
    is out of its ballot until a person says it is another ballot; a page a person rejected is in it). The
    review screen asks a person about exactly these."""
    known = {fingerprint(t): t for t in templates if len(_pages_of(t)) > 1
             and any(c.kind == "crossout" for c in t.contests)}
    items = [(sid, sid, read) for sid, read in reads if read.fingerprint in known]
    outcomes = _sheet_outcomes(items, known, *_split_decisions(decisions), None)
    out: dict[int, tuple[int, tuple[int, ...]]] = {}
    for fp, t in known.items():
        pages = len(_pages_of(t))
        for group in _ballot_groups(outcomes, fp, pages, t.duplex):
            found = {outcomes[i].template_page for i in group}
            lacking = tuple(p for p in range(1, pages + 1) if p not in found)
            if lacking:
                out.update({outcomes[i].sheet_id: (pages, lacking) for i in group})
    return out


def _split_decisions(decisions: Mapping) -> tuple[dict[int, Decision], dict[tuple[int, str, str], Decision]]:
    """The decisions in force (keyed as ``Store.latest_decisions()`` keys them) on whole sheets, by sheet
    id, and on rows, by (sheet id, contest, row)."""
    sheet_decisions: dict[int, Decision] = {}
    row_decisions: dict[tuple[int, str, str], Decision] = {}
    for d in decisions.values():
        if d.scope == "sheet":
            sheet_decisions[d.sheet_id] = d
        else:
            row_decisions[(d.sheet_id, d.contest_id, d.row_id)] = d
    return sheet_decisions, row_decisions


def _ballot_groups(outcomes: Sequence[SheetOutcome], fp: str, pages: int, duplex: bool) -> list[list[int]]:
    """The sheets of each ballot of a template among the sheets counted or rejected by a person."""
    mine = [i for i, s in enumerate(outcomes) if s.fingerprint == fp and s.outcome in (COUNTED, REJECTED_BY_REVIEWER)]
    keys = [(outcomes[i].source, outcomes[i].page, outcomes[i].template_page) for i in mine]
    return [[mine[j] for j in group] for group in ballot_groups(keys, pages, duplex)]


def _judge_crossout_ballots(outcomes: list[SheetOutcome], known: Mapping[str, Template]) -> list[SheetOutcome]:
    """Every cross-out ballot judged whole, its pages together (omr.read judges a page of a longer list
    only as far as that page can tell)."""
    out = list(outcomes)
    for fp, t in known.items():
        for c in t.contests:
            if c.kind != "crossout":
                continue
            pages = len(_pages_of(t))
            for group in _ballot_groups(out, fp, pages, t.duplex):
                for i, s in zip(group, _crossout_outcomes(c, [out[i] for i in group], pages)):
                    out[i] = s
    return out


def _pending(read: SheetRead, rows: Sequence[RowOutcome], sheet_decision: Decision | None) -> tuple[str, ...]:
    """What on a counted sheet still awaits a person (see the module docstring)."""
    needs: list[str] = []
    if sheet_decision is None:
        needs += [code for code in sheet_review_codes(read) if code != "duplicate"]
    for row, machine in zip(rows, read.rows):
        # a sheet-level "accept" settles the rows the machine read; a row it could not read stays open
        if row.decision is None and row_needs_person(read, machine) and (
                machine.status == REVIEW or sheet_decision is None):
            needs.append(f"{row.contest_id}/{row.row_id}")
    return tuple(dict.fromkeys(needs))


def _ballots(outcomes: Iterable[SheetOutcome], pages_per_foreign: int) -> tuple[int, int, int]:
    """(ballots counted, invalid ballots, accounted) among some sheets: per template, the page with
    most sheets; sheets not issued by the committee as whole ballots of `pages_per_foreign` pages."""
    per_page: dict[str, Counter] = {}
    rejected_pages: dict[str, Counter] = {}
    not_issued = 0
    for s in outcomes:
        if s.outcome == COUNTED:
            per_page.setdefault(s.fingerprint, Counter())[s.template_page] += 1
        elif s.outcome == REJECTED_BY_REVIEWER:
            rejected_pages.setdefault(s.fingerprint, Counter())[s.template_page] += 1
        elif s.outcome == NOT_ISSUED:
            not_issued += 1
    counted = invalid = 0
    for fp in set(per_page) | set(rejected_pages):
        pages = set(per_page.get(fp, {})) | set(rejected_pages.get(fp, {}))
        both = max(per_page.get(fp, Counter())[p] + rejected_pages.get(fp, Counter())[p] for p in pages)
        rej = max((rejected_pages.get(fp, Counter())[p] for p in pages), default=0)
        counted += both - rej
        invalid += rej
    invalid += math.ceil(not_issued / max(1, pages_per_foreign))
    return counted, invalid, counted + invalid


def _check_count(name: str, value: int | None) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise TallyError(f"{name} must be a whole number of 0 or more, got {value!r}")
    return value


def _sheet_outcomes(items: Sequence[tuple[int, int | None, SheetRead]], known: Mapping[str, Template],
                    sheet_decisions: Mapping[int, Decision], row_decisions: Mapping[tuple[int, str, str], Decision],
                    source_sha256: Mapping[int, str] | None) -> list[SheetOutcome]:
    """Every sheet's outcome (counted, a copy, a test sheet, not issued, unreadable, rejected by a
    person), in file and page order; a later copy of a counted image is the duplicate."""
    contests_of = {fp: {c.id: c for c in t.contests} for fp, t in known.items()}
    ranked: list[tuple[int, SheetOutcome]] = []
    seen_images: dict[str, SheetRead] = {}
    for rank, sid, read in sorted(items, key=lambda x: x[0]):
        sdec = sheet_decisions.get(sid) if sid is not None else None
        common = dict(sheet_id=sid, source=read.source, page=read.page, machine_status=read.status,
                      reasons=tuple(read.reasons), image_sha256=read.image_sha256, template_id=read.template_id,
                      fingerprint=read.fingerprint, template_page=read.template_page, test=bool(read.test),
                      batch=batch_name(read.source), decision=sdec, serial=read.serial,
                      source_sha256=(source_sha256 or {}).get(sid, "") if sid is not None else "")
        duplicate = next((r for r in read.reasons if r.code == "duplicate"), None)
        earlier = seen_images.get(read.image_sha256)
        if read.test:
            outcome = SheetOutcome(outcome=TEST, **common)
        elif read.status == SHEET_REJECTED:
            kind = REJECTION_OUTCOME[read.rejection]
            if kind == UNREADABLE and sdec is not None and sdec.action == "reject-sheet":
                kind = SET_ASIDE
            outcome = SheetOutcome(outcome=kind, **common)
        elif duplicate is not None and not (sdec is not None and sdec.action == "accept"):
            # a suspected copy waits for a person; left out for good only once they confirm "same sheet"
            confirmed = sdec is not None and sdec.action == "reject-sheet"
            outcome = SheetOutcome(outcome=DUPLICATE, note=duplicate.detail,
                                   pending=() if confirmed else ("duplicate",), **common)
        elif earlier is not None:
            outcome = SheetOutcome(outcome=DUPLICATE, note=f"the same image as {earlier.source} page {earlier.page}: "
                                   "scanned twice, counts once", **common)
        else:
            contests = contests_of[read.fingerprint]
            rows = tuple(_row_outcome(contests[row.contest_id], row, row_decisions.get((sid, row.contest_id,
                                                                                         row.row_id)))
                         for row in read.rows)
            if sdec is not None and sdec.action == "reject-sheet" and sdec.reason in PERSON_REJECTION_OUTCOME:
                # a person found a copy the machine could not prove, or a test sheet: not a ballot at all
                outcome = SheetOutcome(outcome=PERSON_REJECTION_OUTCOME[sdec.reason], rows=rows,
                                       note=f"a person: {sdec.reason}", **common)
            elif sdec is not None and sdec.action == "reject-sheet":  # rows kept to show what was read
                outcome = SheetOutcome(outcome=REJECTED_BY_REVIEWER, rows=rows, **common)
            else:
                outcome = SheetOutcome(outcome=COUNTED, rows=rows, pending=_pending(read, rows, sdec), **common)
        if outcome.outcome in (COUNTED, REJECTED_BY_REVIEWER):
            seen_images.setdefault(read.image_sha256, read)
        ranked.append((rank, outcome))
    return _judge_crossout_ballots([o for _, o in sorted(ranked, key=lambda x: (x[1].source, x[1].page, x[0]))],
                                   known)



def _discrepancies(outcomes: Sequence[SheetOutcome], known: Mapping[str, Template], in_tally: Sequence[str],
                   accounted: int, not_issued_ballots: int, *, issued: int | None, collected: int | None,
                   present: int | None, failures: Sequence[PageFailure], scans_running: int,
                   ) -> tuple[list[Discrepancy], list[PageCount], int, int]:
    """What does not add up: pages of a ballot missing, ballots missing or extra against the hand
    count, impossible numbers, copies, test sheets, sheets not issued, unreadable pages, failures."""
    by = Counter(s.outcome for s in outcomes)
    discrepancies: list[Discrepancy] = []

    def listed(outcome: str) -> tuple[tuple[str, int | None], ...]:
        return tuple((s.source, s.page) for s in outcomes if s.outcome == outcome)

    # per template page
    page_counts: list[PageCount] = []
    for fp in in_tally:
        t = known[fp]
        n_pages = len(_pages_of(t))
        counts = [(p, sum(1 for s in outcomes if s.fingerprint == fp and s.template_page == p and s.outcome == COUNTED),
                   sum(1 for s in outcomes if s.fingerprint == fp and s.template_page == p
                       and s.outcome == REJECTED_BY_REVIEWER)) for p in range(1, n_pages + 1)]
        page_counts += [PageCount(t.id, fp, p, n_pages, c, rej) for p, c, rej in counts]
        most = max(c + rej for _, c, rej in counts)
        for p, c, rej in counts:
            if c + rej < most:
                discrepancies.append(Discrepancy(
                    "incomplete-ballot", ERROR, f"{t.id}: {c + rej} sheet(s) of page {p} of {n_pages} but {most} of "
                    f"another page: {most - c - rej} sheet(s) of page {p} missing", most - c - rej,
                    params={"template": t.id, "page": p, "pages": n_pages, "found": c + rej, "expected": most}))

    discrepancies += _ballots_lacking_pages(outcomes, known)
    missing = extra = 0
    if collected is not None:
        if accounted < collected:
            missing = collected - accounted
            note = f"; {by[UNREADABLE]} unreadable page(s) may be among them" if by[UNREADABLE] else ""
            discrepancies.append(Discrepancy(
                "missing", ERROR, f"{collected} ballot(s) collected, the scans account for {accounted}: {missing} "
                f"missing{note}", missing, params={"collected": collected, "accounted": accounted}))
        elif accounted > collected:
            extra = accounted - collected
            discrepancies.append(Discrepancy(
                "extra", ERROR, f"{collected} ballot(s) collected, the scans account for {accounted}: {extra} more "
                "than collected", extra, params={"collected": collected, "accounted": accounted}))
    else:
        discrepancies.append(Discrepancy("collected-unknown", WARNING, "the number of ballots collected was not "
                                         f"given: percentages are of the {accounted} ballot(s) the scans account for",
                                         params={"accounted": accounted}))
    if issued is not None and collected is not None and collected > issued:
        discrepancies.append(Discrepancy("collected-over-issued", ERROR, f"{collected} ballot(s) collected but "
                                         f"only {issued} issued", collected - issued,
                                         params={"issued": issued, "collected": collected}))
    if present is not None and collected is not None and collected > present:
        discrepancies.append(Discrepancy("collected-over-present", ERROR, f"{collected} ballot(s) collected but "
                                         f"only {present} people present", collected - present,
                                         params={"present": present, "collected": collected}))
    if present is not None and issued is not None and issued > present:
        discrepancies.append(Discrepancy("issued-over-present", WARNING, f"{issued} ballot(s) issued to "
                                         f"{present} people present", issued - present,
                                         params={"present": present, "issued": issued}))
    if by[DUPLICATE]:
        discrepancies.append(Discrepancy(
            "duplicate", WARNING, f"{by[DUPLICATE]} sheet(s) scanned again: each sheet counted once, the later copy "
            "left out (a suspected copy only once a person confirms it)", by[DUPLICATE], listed(DUPLICATE),
            params={"copies": [{"source": s.source, "page": s.page, "note": s.note}
                               for s in outcomes if s.outcome == DUPLICATE]}))
    if by[TEST]:
        discrepancies.append(Discrepancy("test-deck", WARNING, f"{by[TEST]} test-deck sheet(s) found among the "
                                         "scans: never counted; take them out of the ballots", by[TEST], listed(TEST)))
    if by[NOT_ISSUED]:
        discrepancies.append(Discrepancy("not-issued", WARNING, f"{by[NOT_ISSUED]} sheet(s) not issued by the "
                                         f"counting committee: {not_issued_ballots} invalid ballot(s)",
                                         by[NOT_ISSUED], listed(NOT_ISSUED), params={"ballots": not_issued_ballots}))
    if by[UNREADABLE]:
        discrepancies.append(Discrepancy("unreadable", ERROR, f"{by[UNREADABLE]} page(s) could not be read as a "
                                         "ballot: rescan them, or a person sets each aside (reject-sheet)",
                                         by[UNREADABLE], listed(UNREADABLE)))
    if failures:
        discrepancies.append(Discrepancy("page-failure", ERROR, f"{len(failures)} file(s) or page(s) could not be "
                                         "opened or decoded: rescan them", len(failures),
                                         tuple((f.path, f.page) for f in failures),
                                         params={"failures": [{"source": f.path, "page": f.page, "message": f.message}
                                                              for f in failures]}))
    if scans_running:
        discrepancies.append(Discrepancy("scan-running", WARNING, f"{scans_running} scan run(s) have not finished "
                                         "(still running, or stopped without closing)", scans_running))

    return discrepancies, page_counts, missing, extra


def _ballots_lacking_pages(outcomes: Sequence[SheetOutcome], known: Mapping[str, Template]) -> list[Discrepancy]:
    """Cross-out ballots of several pages scanned without one of them: they cannot be judged (the rules
    count the names left on every page), so each is named with the pages found and the page missing."""
    found: dict[str, list[SheetOutcome]] = {}
    for s in outcomes:
        if s.ballot and any(r.codes == ("ballot-page-missing",) for r in s.rows):
            found.setdefault(s.ballot, []).append(s)
    out = []
    for group in found.values():
        t = known[group[0].fingerprint]
        pages = len(_pages_of(t))
        have = sorted(s.template_page for s in group)
        lacking = [p for p in range(1, pages + 1) if p not in have]
        where = ", ".join(f"{s.source} page {s.page}" for s in group)
        out.append(Discrepancy(
            "ballot-page-missing", ERROR, f"{t.id}: a ballot of {pages} pages scanned without page "
            f"{', '.join(map(str, lacking))} (found: page {', '.join(map(str, have))} at {where}): it cannot be "
            "decided; rescan the whole ballot, or a person rejects it", len(lacking),
            tuple((s.source, s.page) for s in group),
            params={"template": t.id, "pages": pages, "lacking": ", ".join(map(str, lacking)),
                    "found": ", ".join(map(str, have))}))
    return out


def _look_first(extra: Discrepancy, items: Sequence[tuple[int, int | None, SheetRead]],
                outcomes: Sequence[SheetOutcome], count: int) -> Discrepancy:
    """More ballots than collected: name the counted sheets whose ink is most alike (a re-scan the
    duplicate check could not prove, e.g. on 1-bit scans, is among them), so people look there first."""
    counted = {(s.source, s.page, s.image_sha256) for s in outcomes if s.outcome == COUNTED}
    sheets = [((read.source, read.page), (read.fingerprint, read.template_page), read.signature)
              for _, _, read in sorted(items, key=lambda x: x[0])
              if (read.source, read.page, read.image_sha256) in counted and read.signature]
    pairs = [(a, b, ink) for a, b, ink in most_alike(sheets, count + 2) if ink > 0]
    if not pairs:
        return extra
    listed = "; ".join(f"{a[0]} page {a[1]} and {b[0]} page {b[1]} (ink alike {ink:.2f})" for a, b, ink in pairs)
    return replace(extra, message=f"{extra.message}; the sheets most alike, to look at first: {listed}",
                   sheets=tuple(dict.fromkeys(x for a, b, _ in pairs for x in (a, b))),
                   params={**extra.params, "alike": [{"first": {"source": a[0], "page": a[1]},
                                                       "second": {"source": b[0], "page": b[1]},
                                                       "ink": round(ink, 3)} for a, b, ink in pairs]})


def _batch_counts(outcomes: Sequence[SheetOutcome], batches: Mapping[str, int], pages_per_ballot: int,
                  ) -> tuple[list[BatchCount], list[Discrepancy]]:
    """Each batch's ballots against its hand count (a batch: the file a pile was scanned into)."""
    batch_counts: list[BatchCount] = []
    discrepancies: list[Discrepancy] = []
    if batches:
        for name, hand in batches.items():
            group = [s for s in outcomes if _match_batch(s.source, [name])]
            found = _ballots(group, pages_per_ballot)[2]
            batch_counts.append(BatchCount(name, hand, found, len(group)))
            if found != hand:
                discrepancies.append(Discrepancy(
                    "batch-mismatch", ERROR, f"batch {name}: {hand} ballot(s) counted by hand, the scans account for "
                    f"{found}", abs(found - hand), tuple((s.source, s.page) for s in group if s.outcome != COUNTED),
                    params={"batch": name, "hand_count": hand, "ballots": found}))
        unlisted: dict[str, list[SheetOutcome]] = {}
        for s in outcomes:
            if _match_batch(s.source, batches) is None:
                unlisted.setdefault(s.batch, []).append(s)
        for name, group in sorted(unlisted.items()):
            found = _ballots(group, pages_per_ballot)[2]
            batch_counts.append(BatchCount(name, None, found, len(group)))
            discrepancies.append(Discrepancy(
                "batch-unlisted", ERROR, f"batch {name}: {len(group)} sheet(s) scanned, but no hand count was given "
                "for it", len(group), tuple((s.source, s.page) for s in group),
                params={"batch": name, "ballots": found}))
    return batch_counts, discrepancies


def _contest_results(outcomes: Sequence[SheetOutcome], known: Mapping[str, Template], in_tally: Sequence[str],
                     collected: int | None, accounted: int, not_issued_ballots: int) -> list[ContestResult]:
    """Results per contest and row. The percentage base is the ballots collected; with several ballot
    designs in one count (or no hand count), each design's own ballots."""
    single = len(in_tally) == 1
    contest_results: list[ContestResult] = []
    for fp in in_tally:
        t = known[fp]
        sheets_t = [s for s in outcomes if s.fingerprint == fp]
        base_is_collected = collected is not None and single
        if base_is_collected:
            base = collected
        elif single:
            base = accounted
        else:
            base = _ballots(sheets_t, 1)[2]
        row_pages = _row_pages(t)
        for c in t.contests:
            rows = tuple(_row_result(c, row_id, row_pages.get((c.id, row_id)), sheets_t, base,
                                     not_issued_ballots if single else 0) for row_id in c.row_ids)
            contest_results.append(ContestResult(
                template_id=t.id, fingerprint=fp, id=c.id, kind=c.kind, title=c.title,
                options=tuple((o.id, o.label) for o in c.options), base=base, base_is_collected=base_is_collected,
                pages=tuple(sorted({p for (cid, _), p in row_pages.items() if cid == c.id})), rows=rows,
                low_option=low_option(c) if c.kind == "confidence" else None))
    return contest_results


def tally_reads(reads: Sequence[SheetRead] | Sequence[tuple[int, SheetRead]], decisions: Mapping,
                templates: Mapping[str, Template] | Sequence[Template], *,
                sheet_ids: Sequence[int] | None = None, issued: int | None = None, collected: int | None = None,
                convened: int | None = None, present: int | None = None, batches: Mapping[str, int] | None = None,
                failures: Sequence[PageFailure] = (), as_of: str | None = None,
                log_head: LogHead | None = None, scans_running: int = 0,
                source_sha256: Mapping[int, str] | None = None, base: int | None = None,
                voters: int | None = None, voted: int | None = None) -> Tally:
    """The tally of some reads: pure, deterministic (the same inputs give the same Tally).

    `reads`: SheetReads, or (sheet id, SheetRead) pairs as ``Store.sheet_items()`` gives them; with
    plain reads, `sheet_ids` gives their store ids (needed to apply decisions). Later copies are
    those with the higher id (scanned later), or later in the list when there are no ids.
    `decisions`: as ``Store.latest_decisions()`` returns them (keyed by (sheet id, contest, row)).
    `templates`: the ballots' templates (any keys: each is found by its fingerprint).
    `failures`: the store's standing failures (``Store.failures()``).
    `source_sha256`: the SHA-256 of each sheet's file, by sheet id (the CVR names the file by it).
    `base`, `voters`, `voted`: cross-out elections: the party's percentage base (members or delegates
    convened less statutory exclusions); the state voter list and how many voted.
    """
    if sheet_ids is not None and len(sheet_ids) != len(reads):
        raise TallyError(f"{len(sheet_ids)} sheet id(s) for {len(reads)} read(s)")
    # (rank, sheet id, read): the rank orders copies (a later copy has a higher store id, or comes later)
    items: list[tuple[int, int | None, SheetRead]] = []
    for i, item in enumerate(reads):
        if isinstance(item, tuple):
            sid, read = int(item[0]), item[1]
        else:
            sid, read = (None if sheet_ids is None else int(sheet_ids[i])), item
        items.append((sid if sid is not None else i, sid, read))
    if decisions and any(sid is None for _, sid, _ in items):
        raise TallyError("decisions are keyed by sheet id: pass (id, read) pairs or sheet_ids")
    issued, collected = _check_count("issued", issued), _check_count("collected", collected)
    base, voters, voted = _check_count("base", base), _check_count("voters", voters), _check_count("voted", voted)
    convened, present = _check_count("convened", convened), _check_count("present", present)
    batches = {str(k): _check_count(f"batch {k}", v) for k, v in (batches or {}).items()}
    known: dict[str, Template] = {}
    for t in (templates.values() if isinstance(templates, Mapping) else templates):
        known.setdefault(fingerprint(t), t)
    unknown = sorted({r.fingerprint for _, _, r in items
                      if r.status != SHEET_REJECTED and not r.test and r.fingerprint not in known})
    if unknown:
        raise TemplateMissing("no template for the fingerprint(s) " + ", ".join(str(f)[:16] + "…" for f in unknown)
                              + ": give the templates the ballots were printed from")
    outcomes = _sheet_outcomes(items, known, *_split_decisions(decisions), source_sha256)

    # the ballots in the tally: templates with sheets counted (or rejected by a person); none: all given
    with_sheets = {s.fingerprint for s in outcomes if s.outcome in (COUNTED, REJECTED_BY_REVIEWER)}
    in_tally = sorted(with_sheets or known, key=lambda fp: (known[fp].id, fp))
    single = len(in_tally) == 1
    pages_per_ballot = len(_pages_of(known[in_tally[0]])) if single else 1
    ballots_counted, invalid_ballots, accounted = _ballots(outcomes, pages_per_ballot)
    not_issued_ballots = math.ceil(sum(s.outcome == NOT_ISSUED for s in outcomes) / pages_per_ballot)

    discrepancies, page_counts, missing, extra = _discrepancies(
        outcomes, known, in_tally, accounted, not_issued_ballots, issued=issued, collected=collected,
        present=present, failures=failures, scans_running=scans_running)
    if extra:
        discrepancies = [_look_first(d, items, outcomes, extra) if d.code == "extra" else d for d in discrepancies]
    batch_counts, batch_discrepancies = _batch_counts(outcomes, batches, pages_per_ballot)
    discrepancies += batch_discrepancies
    by = Counter(s.outcome for s in outcomes)
    quorum = Quorum(convened, present) if convened is not None and present is not None else None
    if quorum is not None and not quorum.met:
        discrepancies.append(Discrepancy("quorum", WARNING, f"{present} of {convened} convened present: fewer than "
                                         f"two thirds ({quorum.required} needed)", quorum.required - present,
                                         params={"convened": convened, "present": present,
                                                 "required": quorum.required}))

    pending_sheets = [s for s in outcomes if s.pending]  # counted sheets with doubts, suspected copies
    reconciliation = Reconciliation(
        issued=issued, collected=collected, sheets_read=len(outcomes), valid_sheets=by[COUNTED],
        ballots_counted=ballots_counted, invalid_ballots=invalid_ballots, accounted=accounted,
        not_issued=by[NOT_ISSUED], unreadable=by[UNREADABLE], rejected_by_reviewer=by[REJECTED_BY_REVIEWER],
        set_aside=by[SET_ASIDE], duplicates=by[DUPLICATE], test_sheets=by[TEST], page_failures=len(failures),
        pending_review=len(pending_sheets), missing=missing, extra=extra, pages=tuple(page_counts),
        batches=tuple(batch_counts), quorum=quorum, discrepancies=tuple(discrepancies))

    contest_results = _contest_results(outcomes, known, in_tally, collected, accounted, not_issued_ballots)
    templates_in = tuple(known[fp] for fp in in_tally)
    language = "vi" if templates_in and all(t.language == "vi" for t in templates_in) else "en"
    elections = tuple(election_result(c, known[fp].id, [s for s in outcomes if s.fingerprint == fp], base, voters,
                                      voted)
                      for fp in in_tally for c in known[fp].contests if c.kind == "crossout")
    return Tally(provisional=bool(pending_sheets), reconciliation=reconciliation, contests=tuple(contest_results),
                 sheets=tuple(outcomes), templates=templates_in, language=language, as_of=as_of, log_head=log_head,
                 pages_per_ballot=pages_per_ballot, elections=elections)


def _pages_of(t: Template):
    return layout(t).pages


def _row_pages(t: Template) -> dict[tuple[str, str], int]:
    """(contest, row) -> the template page its boxes are printed on."""
    out: dict[tuple[str, str], int] = {}
    for pl in _pages_of(t):
        for b in pl.boxes:
            out.setdefault((b.contest_id, b.row_id), pl.number)
        for cell in pl.strike_cells:
            out.setdefault((cell.contest_id, cell.row_id), pl.number)
    return out


def _row_result(c: Contest, row_id: str, page: int | None, sheets: Sequence[SheetOutcome], base: int | None,
                not_issued_ballots: int) -> RowResult:
    option_ids = [o.id for o in c.options]
    counts = dict.fromkeys(option_ids, 0)
    valid = invalid = pending = 0
    detail: Counter = Counter()
    over = under = 0
    low_id = low_option(c) if c.kind == "confidence" else None
    low_on_pending = not_low_on_pending = 0
    for s in sheets:
        if s.template_page != page:
            continue
        if s.outcome == REJECTED_BY_REVIEWER:
            invalid += 1
            detail["ballot-invalid"] += 1
            continue
        if s.outcome != COUNTED:
            continue
        row = next((r for r in s.rows if r.contest_id == c.id and r.row_id == row_id), None)
        if row is None:  # a sheet of that page without the row: read by another layout; nothing to count
            continue
        is_low = False
        if row.status == VALID:
            valid += 1
            for choice in row.choices:
                counts[choice] = counts.get(choice, 0) + 1
            is_low = low_id is not None and low_id in row.choices
            if c.kind == "choose" and len(row.choices) < c.max_marks:
                under += 1
        elif row.status == INVALID:
            invalid += 1
            code = row.codes[0] if row.codes else "invalid"
            detail[code] += 1
            if code == "overvote":
                over += 1
            elif code == "undervote":
                under += 1
        else:
            pending += 1
        if s.pending:
            if is_low:
                low_on_pending += 1
            else:
                not_low_on_pending += 1
    if not_issued_ballots:
        invalid += not_issued_ballots
        detail["not-issued"] += not_issued_ballots
    pct = {o: percent(counts[o], base) for o in option_ids}
    b = settled = None
    if c.kind == "confidence":
        n = base or 0
        low = counts[low_id]
        b = band(low, n)
        settled = band(low - low_on_pending, n) == band(low + not_low_on_pending, n)
    person = next((p for p in c.rows if p.id == row_id), None)
    return RowResult(
        contest_id=c.id, row_id=row_id, name=person.name if person else c.title, position=person.position if person
        else "", valid=valid, invalid=invalid, pending=pending, counts=counts, percent=pct, band=b,
        band_settled=settled, invalid_detail=dict(sorted(detail.items())),
        overvotes=over if c.kind == "choose" else None, undervotes=under if c.kind == "choose" else None)


def ballots_in(reads: Sequence[tuple[int, SheetRead]], templates: Mapping[str, Template] | Sequence[Template]
               ) -> dict[str, int]:
    """Template id -> number of sheets read of that ballot (identified sheets only), by first appearance."""
    by_fp = {fingerprint(t): t for t in (templates.values() if isinstance(templates, Mapping) else templates)}
    out: dict[str, int] = {}
    for _, read in reads:
        t = by_fp.get(read.fingerprint or "")
        if t is not None and read.status != SHEET_REJECTED:
            out[t.id] = out.get(t.id, 0) + 1
    return out


def of_ballot(reads: Sequence[tuple[int, SheetRead]], failures: Sequence[PageFailure],
              templates: Mapping[str, Template] | Sequence[Template], ballot: str
              ) -> tuple[list[tuple[int, SheetRead]], list[PageFailure]]:
    """The reads and failures of one ballot (template id) in a store that holds several: its sheets,
    and the sheets and failures no ballot claims that come from files holding its sheets (a scanned
    batch is one ballot's). A file no ballot's sheet was read from is left out: `omr tally` names it.
    Minutes are signed per ballot, with that ballot's issued and collected."""
    fps = {fingerprint(t) for t in (templates.values() if isinstance(templates, Mapping) else templates)
           if t.id == ballot}
    if not fps:
        raise TallyError(f"no ballot {ballot!r} among the templates")
    mine = [(sid, r) for sid, r in reads if r.fingerprint in fps and r.status != SHEET_REJECTED]
    files = {r.source for _, r in mine}
    stray = [(sid, r) for sid, r in reads if (r.status == SHEET_REJECTED or r.fingerprint is None)
             and r.fingerprint not in fps and r.source in files]
    own_rejected = [(sid, r) for sid, r in reads if r.status == SHEET_REJECTED and r.fingerprint in fps]
    kept = sorted(mine + stray + own_rejected, key=lambda x: x[0])
    return kept, [f for f in failures if f.path in files]
