"""Cross-out election results (phiếu bầu, gạch tên): votes, who is elected, ties, piles. Pure.

A ballot counts for a candidate when it is valid and the name is not struck out (the agree style:
only "Đồng ý" marked). Percentages: of the valid ballots (state) or of the base the committee enters
(party: official members or delegates convened, less statutory exclusions). Elected: more than half
of that base, compared on integers (``2 * votes > base``); when more pass than seats, the most votes
win; a tie at the cut-off goes to the older candidate under state rules (date of birth from the
template) and is flagged for the congress under party rules. The result is shown for the committee
to announce, never hidden, and says PROVISIONAL while sheets await a person.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from omr.ballot.template import STRUCK, Contest
from omr.codes import COUNTED, INVALID, REJECTED_BY_REVIEWER, SHEET_REJECT_CHOICES, VALID

ELECTED, NOT_ELECTED, TIE, UNDECIDED = "elected", "not-elected", "tie", "undecided"


@dataclass(frozen=True)
class CandidateResult:
    row_id: str
    name: str
    honorific: str
    born: str
    votes: int
    percent: Decimal
    over_half: bool | None  # None: no base to compare with (party, --base not given)
    outcome: str  # elected | not-elected | tie (the congress decides) | undecided (no base)
    note: str = ""  # e.g. "elected as the older of two with 5 votes"


@dataclass(frozen=True)
class ElectionResult:
    contest_id: str
    template_id: str
    regime: str
    seats: int
    ballots: int  # counted and rejected by a person: the ballots the scans account for
    valid: int
    invalid: int
    pending: int  # ballots awaiting a person
    invalid_by_reason: dict[str, int]
    base: int | None  # the denominator: valid ballots (state) or the committee's base (party)
    candidates: tuple[CandidateResult, ...]  # in descending order of votes, then the list's order
    piles: dict[int, int] = field(default_factory=dict)  # names left -> valid ballots (state: "phiếu bầu L đại biểu")
    voters: int | None = None  # on the voter list (state), when given
    voted: int | None = None
    turnout_over_half: bool | None = None  # state: more than half the voter list voted
    of_valid: bool = True  # the base is the valid ballots (else the committee's --base): omr.ballot.regimes
    tie_rule: str = "older"  # older | congress: a tie at the cut-off (omr.ballot.regimes)


def percent(count: int, base: int | None) -> Decimal:
    if not base:
        return Decimal("0.00")
    return Decimal((2 * count * 10000 + base) // (2 * base)).scaleb(-2)


def is_vote(c: Contest, choices: Sequence[str]) -> bool:
    """A valid row counts for its candidate: not struck out, or (agree style) "Đồng ý" alone."""
    if c.style == "agree":
        return tuple(choices) == (c.options[0].id,)
    return STRUCK not in choices


def _elect(c: Contest, votes: dict[str, int], base: int | None) -> dict[str, tuple[str, str]]:
    """row id -> (outcome, note) by the rules above."""
    order = {p.id: i for i, p in enumerate(c.candidates)}
    born = {p.id: p.born for p in c.candidates}
    if base is None:
        return {r: (UNDECIDED, "") for r in votes}
    passing = sorted((r for r in votes if 2 * votes[r] > base), key=lambda r: (-votes[r], order[r]))
    out = {r: (NOT_ELECTED, "") for r in votes}
    if len(passing) <= c.seats:
        out.update({r: (ELECTED, "") for r in passing})
        return out
    cut = votes[passing[c.seats - 1]]
    above = [r for r in passing if votes[r] > cut]
    group = [r for r in passing if votes[r] == cut]
    out.update({r: (ELECTED, "") for r in above})
    room = c.seats - len(above)
    rules = c.crossout_rules
    if rules.tie == "older" and all(born[r] for r in group):
        by_age = sorted(group, key=lambda r: born[r])  # ISO dates: the earlier, the older
        boundary_tie = born[by_age[room - 1]] == born[by_age[room]] if room < len(by_age) else False
        if not boundary_tie:
            for i, r in enumerate(by_age):
                if i < room:
                    out[r] = (ELECTED, f"tie at {cut} votes: elected as the older (born {born[r]})")
                else:
                    out[r] = (NOT_ELECTED, f"tie at {cut} votes: the older candidate(s) take the seat(s)")
            return out
    for r in group:
        out[r] = (TIE, f"{len(group)} candidates with {cut} votes for {room} seat(s): the "
                  + ("congress decides (no rule breaks the tie)" if rules.tie == "congress"
                     else "same date of birth or none given: the election team decides"))
    return out


def _ballots(sheets: Sequence) -> list[list]:
    """The sheets of each ballot: one sheet, or the pages of a longer list (SheetOutcome.ballot)."""
    groups: dict[object, list] = {}
    for s in sheets:
        if s.outcome in (COUNTED, REJECTED_BY_REVIEWER):
            groups.setdefault(s.ballot or (s.source, s.page), []).append(s)
    return list(groups.values())


def election_result(c: Contest, template_id: str, sheets: Sequence, base: int | None = None,
                    voters: int | None = None, voted: int | None = None) -> ElectionResult:
    """The result of one cross-out contest over the tally's sheet outcomes (omr.count.tally.SheetOutcome)."""
    votes = dict.fromkeys(c.row_ids, 0)
    valid = invalid = pending = 0
    reasons: Counter = Counter()
    piles: Counter = Counter()
    for group in _ballots(sheets):
        rejected = next((s for s in group if s.outcome == REJECTED_BY_REVIEWER), None)
        if rejected is not None:  # by the person's reason: the minutes list invalid ballots by reason
            invalid += 1
            why = rejected.decision.reason if rejected.decision is not None else ""
            reasons[why if why in SHEET_REJECT_CHOICES and why != "other" else "ballot-invalid"] += 1
            continue
        rows = [r for s in group if s.outcome == COUNTED for r in s.rows if r.contest_id == c.id]
        if not rows:
            continue
        if all(r.status == VALID for r in rows):
            valid += 1
            left = 0
            for r in rows:
                if is_vote(c, r.choices):
                    votes[r.row_id] += 1
                    left += 1
            piles[left] += 1
        elif any(r.status == INVALID for r in rows):
            invalid += 1
            reasons[next(r.codes[0] for r in rows if r.status == INVALID and r.codes)] += 1
        else:
            pending += 1
    denominator = valid if c.crossout_rules.elected_of == "valid" else base
    outcomes = _elect(c, votes, denominator)
    people = {p.id: p for p in c.candidates}
    order = {p.id: i for i, p in enumerate(c.candidates)}
    candidates = tuple(CandidateResult(
        r, people[r].name, people[r].honorific, people[r].born, votes[r], percent(votes[r], denominator),
        None if denominator is None else 2 * votes[r] > denominator, *outcomes[r])
        for r in sorted(votes, key=lambda r: (-votes[r], order[r])))
    turnout = None if voters is None or voted is None else 2 * voted > voters
    return ElectionResult(c.id, template_id, c.regime, c.seats, valid + invalid + pending, valid, invalid, pending,
                          dict(sorted(reasons.items())), denominator, candidates,
                          dict(sorted(piles.items(), reverse=True)),
                          voters, voted, turnout, c.crossout_rules.elected_of == "valid", c.crossout_rules.tie)
