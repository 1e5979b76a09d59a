"""Whose rules judge a cross-out election ballot, as data: one profile per regime, every difference
between them declared here once, and a template may override any field (``rules:`` in its contest).

- ``state``: Luật Bầu cử ĐBQH và ĐB HĐND 2015 (Điều 74 khoản 1; Điều 78 on who is elected).
- ``party``: Quy chế bầu cử trong Đảng (QĐ 190-QĐ/TW 2024, keeping QĐ 244-QĐ/TW 2014 Điều 17 on ballots).
- ``mass``: mass organisations (Đoàn Thanh niên, Công đoàn, Hội Phụ nữ, Hội Nông dân, Hội Cựu chiến binh,
  Mặt trận...) electing with the same ballot under their own statutes, which differ between them and between
  congresses: the defaults are the cautious common ground (a doubtful stamp goes to a person, more names left
  than seats and an untouched ballot are invalid, every name struck is invalid on a list with surplus, elected
  with more than half of the valid ballots, a tie goes back to the congress). A committee sets the fields its
  statute words otherwise in the template.

The reader (omr.read.interpret.crossout_verdict) and the count (omr.count.election) read these fields and
nothing else of the regime.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

INVALID, REVIEW, IGNORE = "invalid", "review", "ignore"
WITH_SURPLUS = "invalid-with-surplus"  # all struck is invalid only when the list has more names than seats
OF_VALID, OF_BASE = "valid", "base"  # more than half of the valid ballots, or of the base the committee gives
TIE_OLDER, TIE_CONGRESS = "older", "congress"  # the older candidate takes the seat, or the congress decides


@dataclass(frozen=True)
class CrossoutRules:
    """What the rules do with each case a cross-out ballot may show (first match wins in this order:
    stamp, writing, more names left than seats, unclear names, all struck)."""

    stamp_absent: str  # invalid | review | ignore: no stamp seen on a clear scan
    stamp_unclear: str  # review | ignore: the scan cannot show whether it is stamped
    too_many_left: str  # invalid | review: more names left than seats (some struck)
    untouched: str  # invalid | review: no name struck at all (every name left: more than seats)
    all_struck: str  # invalid | invalid-with-surplus | valid: every name struck
    elected_of: str  # valid | base: elected with more than half of the valid ballots, or of --base
    tie: str  # older | congress: a tie at the cut-off
    cites: tuple[tuple[str, str], ...] = ()  # (rule code, the text it cites in a reason)

    def cite(self, code: str) -> str:
        return dict(self.cites).get(code, "")


CHOICES: dict[str, tuple[str, ...]] = {
    "stamp_absent": (INVALID, REVIEW, IGNORE), "stamp_unclear": (REVIEW, IGNORE),
    "too_many_left": (INVALID, REVIEW), "untouched": (INVALID, REVIEW),
    "all_struck": (INVALID, WITH_SURPLUS, "valid"), "elected_of": (OF_VALID, OF_BASE),
    "tie": (TIE_OLDER, TIE_CONGRESS),
}

REGIME_RULES: dict[str, CrossoutRules] = {
    "state": CrossoutRules(
        stamp_absent=INVALID, stamp_unclear=REVIEW, too_many_left=INVALID, untouched=INVALID, all_struck=INVALID,
        elected_of=OF_VALID, tie=TIE_OLDER,
        cites=(("no-stamp", "Luật Bầu cử 2015, Điều 74 khoản 1 điểm b"),
               ("too-many-left", "Luật Bầu cử 2015, Điều 74 khoản 1 điểm c"),
               ("all-struck", "Luật Bầu cử 2015, Điều 74 khoản 1 điểm d"))),
    "party": CrossoutRules(
        stamp_absent=REVIEW, stamp_unclear=REVIEW, too_many_left=INVALID, untouched=INVALID, all_struck=WITH_SURPLUS,
        elected_of=OF_BASE, tie=TIE_CONGRESS,
        cites=(("too-many-left", "QĐ 244-QĐ/TW Điều 17, giữ trong QĐ 190-QĐ/TW"),
               ("all-struck", "QĐ 244-QĐ/TW Điều 17 (danh sách có số dư), giữ trong QĐ 190-QĐ/TW"),
               ("agree-no-vote", "QĐ 190-QĐ/TW Điều 30"))),
    "mass": CrossoutRules(
        stamp_absent=REVIEW, stamp_unclear=REVIEW, too_many_left=INVALID, untouched=INVALID, all_struck=WITH_SURPLUS,
        elected_of=OF_VALID, tie=TIE_CONGRESS,
        cites=(("no-stamp", "Điều lệ và quy chế bầu cử của tổ chức"),
               ("too-many-left", "Điều lệ và quy chế bầu cử của tổ chức"),
               ("all-struck", "Điều lệ và quy chế bầu cử của tổ chức"))),
}
REGIMES = tuple(REGIME_RULES)


def rules_for(regime: str, overrides: tuple[tuple[str, str], ...] = ()) -> CrossoutRules:
    """A regime's rules with a template's overrides applied (already validated by the template)."""
    return replace(REGIME_RULES.get(regime, REGIME_RULES["state"]), **dict(overrides))


def override_problems(raw: Any) -> tuple[tuple[tuple[str, str], ...], list[tuple[str | None, str]]]:
    """A template's ``rules:`` mapping as sorted (field, value) pairs, and its problems as (key, message)."""
    if raw is None:
        return (), []
    if not isinstance(raw, dict):
        return (), [(None, "expected a mapping of rule: value, e.g. {stamp_absent: review}")]
    problems: list[tuple[str | None, str]] = []
    out = []
    names = [f.name for f in fields(CrossoutRules) if f.name != "cites"]
    for key, value in raw.items():
        if key not in CHOICES:
            problems.append((key, f"unknown rule '{key}'; allowed: {', '.join(names)}"))
        elif value not in CHOICES[key]:
            problems.append((key, f"{value!r} is not one of {', '.join(CHOICES[key])}"))
        else:
            out.append((str(key), str(value)))
    return tuple(sorted(out)), problems
