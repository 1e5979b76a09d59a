"""The regimes of cross-out elections as rule data (omr/ballot/regimes.py, issue 14): state, party and a
mass organisation's profile in one table, and a template's override of each field, each with its effect
on the verdict, on the count, and (stamp) on a scanned ballot."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_crossout_exports import page_read

from ballot_sim.simulate import Simulator
from omr.ballot.layout import fingerprint
from omr.ballot.regimes import REGIME_RULES, CrossoutRules
from omr.ballot.template import TemplateError, load_template, parse_template
from omr.codes import INVALID, REVIEW, VALID
from omr.count.election import ELECTED, NOT_ELECTED, TIE
from omr.count.tally import tally_reads
from omr.read.calibration import load_profile
from omr.read.interpret import LEFT, STRUCK_OUT, UNCLEAR, crossout_verdict
from omr.read.pipeline import TemplateBook, read_sheet
from omr.store.records import Decision

ROOT = Path(__file__).resolve().parents[1]
PARTY = ROOT / "ballot_templates" / "bau-bch-cdyt-dong-nai-2025.yaml"
STATE = ROOT / "ballot_templates" / "bau-cu-hdnd-phuong-a5.yaml"


def mass(**rules: str) -> object:
    """The Party ballot (9 names, 7 seats) as a mass organisation's, with some rules overridden."""
    text = PARTY.read_text(encoding="utf-8").replace("regime: party", "regime: mass")
    if rules:
        text = text.replace("    seats: 7\n", "    seats: 7\n    rules:\n"
                            + "".join(f"      {k}: {v}\n" for k, v in rules.items()))
    return parse_template(text, "mass.yaml")


def judge(t, left: int, struck: int, unclear: int = 0, stamp: str = "present", accepted: bool = False):
    c = t.contests[0]
    values = [LEFT] * left + [STRUCK_OUT] * struck + [UNCLEAR] * unclear
    return crossout_verdict(c, dict(zip(c.row_ids, values)), stamp, False, accepted=accepted)


def test_every_regime_is_one_line_of_the_same_table():
    assert set(REGIME_RULES) == {"state", "party", "mass"}
    assert all(isinstance(r, CrossoutRules) for r in REGIME_RULES.values())
    state, party, m = REGIME_RULES["state"], REGIME_RULES["party"], REGIME_RULES["mass"]
    assert (state.stamp_absent, state.elected_of, state.tie, state.all_struck) == ("invalid", "valid", "older",
                                                                                  "invalid")
    assert (party.stamp_absent, party.elected_of, party.tie, party.all_struck) == ("review", "base", "congress",
                                                                                  "invalid-with-surplus")
    assert (m.stamp_absent, m.elected_of, m.tie) == ("review", "valid", "congress")
    t = mass()
    assert t.contests[0].crossout_rules == m and t.contests[0].rules == ()


def test_an_override_is_validated_and_changes_the_fingerprint_only_when_given():
    with pytest.raises(TemplateError) as info:
        mass(stamp_absent="maybe")
    assert "contests[0].rules.stamp_absent: 'maybe' is not one of invalid, review, ignore" in str(info.value)
    with pytest.raises(TemplateError) as info:
        mass(quorum="half")
    assert "unknown rule 'quorum'; allowed: stamp_absent" in str(info.value)
    assert fingerprint(mass()) != fingerprint(mass(tie="older"))
    # the bundled ballots, which override nothing, keep the fingerprint they were printed with
    party = load_template(PARTY)
    assert party.contests[0].rules == () and "rules" not in party.canonical()["contests"][0]


@pytest.mark.parametrize("value,status", [("invalid", INVALID), ("review", REVIEW), ("ignore", VALID)])
def test_stamp_absent(value, status):
    v = judge(mass(stamp_absent=value), 7, 2, stamp="absent")
    assert v.status == status
    if status == INVALID:
        assert v.code == "no-stamp"


@pytest.mark.parametrize("value,status", [("review", REVIEW), ("ignore", VALID)])
def test_stamp_unclear(value, status):
    assert judge(mass(stamp_unclear=value), 7, 2, stamp="unclear").status == status


def test_a_stamp_the_rules_ignore_does_not_send_a_scanned_ballot_to_a_person():
    profile = load_profile()
    for rules, expected in (({}, "review"), ({"stamp_absent": "ignore"}, "ok")):
        t = mass(**rules)
        page = Simulator([t], seed=8).ballot(3, t, "office-scanner", behaviours=["normal", "no_stamp"])[0]
        sheet = read_sheet(page.scan.pixels, "sim.pdf", 1, TemplateBook.from_templates([t]), profile,
                           dpi=page.scan.dpi)
        assert sheet.status == expected, (rules, sheet.reasons)
        assert bool([r for r in sheet.reasons if r.code == "stamp-absent"]) == (expected == "review")


def person(sheet_id: int, action: str) -> Decision:
    return Decision(sheet_id, sheet_id, "sheet", None, None, action, (), "", "Tổ trưởng", "", "2026-03-15T20:00:00",
                    {}, None)


def test_too_many_left_under_review_waits_for_a_person_who_settles_it():
    t = mass(too_many_left="review")
    v = judge(t, 8, 1)
    assert (v.status, v.code) == (REVIEW, "too-many-left")
    assert judge(t, 8, 1, accepted=True).status == VALID
    assert judge(mass(), 8, 1).status == INVALID
    ids = list(t.contests[0].row_ids)
    read = page_read(t, set(ids[:8]), "lo.pdf", 1)
    assert read.status == "review" and {r.status for r in read.rows} == {INVALID}
    assert {x.code for r in read.rows for x in r.reasons} == {"too-many-left", "crossout-rule-review"}
    (e,) = tally_reads([(1, read)], {}, [t], issued=1, collected=1).elections
    assert (e.valid, e.invalid, e.pending) == (0, 0, 1)
    (e,) = tally_reads([(1, read)], {(1, None, None): person(1, "accept")}, [t], issued=1, collected=1).elections
    assert (e.valid, e.pending) == (1, 0) and sum(c.votes for c in e.candidates) == 8
    (e,) = tally_reads([(1, read)], {(1, None, None): person(1, "reject-sheet")}, [t], issued=1,
                       collected=1).elections
    assert (e.valid, e.invalid, e.pending) == (0, 1, 0)


def test_an_untouched_ballot_has_its_own_field():
    t = mass(untouched="review")
    assert judge(t, 9, 0).status == REVIEW  # nothing struck: a person decides
    assert judge(t, 8, 1).status == INVALID  # too many left with a strike: still invalid
    t = mass(too_many_left="review")
    assert judge(t, 9, 0).status == INVALID and judge(t, 8, 1).status == REVIEW


@pytest.mark.parametrize("value,status", [("invalid", INVALID), ("invalid-with-surplus", INVALID), ("valid", VALID)])
def test_all_struck(value, status):
    v = judge(mass(all_struck=value), 0, 9)
    assert v.status == status and (v.code == "all-struck") == (status == INVALID)


def test_all_struck_without_surplus_is_valid_only_where_the_rule_says_with_surplus():
    text = PARTY.read_text(encoding="utf-8").replace("regime: party", "regime: mass").replace(
        "seats: 7", "seats: 9\n    style: agree")
    for rules, status in (("", VALID), ("    rules: {all_struck: invalid}\n", INVALID)):
        t = parse_template(text.replace("    candidates:\n", rules + "    candidates:\n"), "agree.yaml")
        assert judge(t, 0, 9).status == status


def count(t, ballots: list[set[int]], **kw):
    ids = list(t.contests[0].row_ids)
    reads = [(i + 1, page_read(t, {ids[j] for j in left}, "lo.pdf", i + 1)) for i, left in enumerate(ballots)]
    (e,) = tally_reads(reads, {}, [t], issued=len(reads), collected=len(reads), **kw).elections
    return e


def test_elected_of_valid_ballots_or_of_the_base():
    ballots = [set(range(7)), set(range(7)), set(range(2, 9)), set(range(2, 9))]  # names 0,1: 2 votes of 4
    e = count(mass(), ballots, base=3)  # mass: of the valid ballots, --base is not its base
    assert e.base == 4 and e.of_valid
    outcome = {c.row_id: c.outcome for c in e.candidates}
    ids = list(mass().contests[0].row_ids)
    assert outcome[ids[0]] == NOT_ELECTED  # 2 * 2 = 4: exactly half is not elected
    e = count(mass(elected_of="base"), ballots, base=3)
    assert e.base == 3 and not e.of_valid and {c.row_id: c.outcome for c in e.candidates}[ids[0]] != NOT_ELECTED
    assert str(next(c.percent for c in e.candidates if c.row_id == ids[0])) == "66.67"


def test_a_tie_goes_to_the_congress_or_to_the_older():
    # 9 names, 7 seats, 5 valid ballots: names 0-5 pass with 4 or 5 votes, names 6 and 7 tie at the cut-off
    # with 3 each (more than half of 5) for the last seat
    six = set(range(6))
    ballots = [six | {6}, six | {7}, six | {6}, six | {7}, {0, 1, 2, 3, 4, 6, 7}]
    e = count(mass(), ballots)
    ids = list(mass().contests[0].row_ids)
    outcome = {c.row_id: c.outcome for c in e.candidates}
    assert outcome[ids[6]] == outcome[ids[7]] == TIE and e.tie_rule == "congress"
    text = PARTY.read_text(encoding="utf-8").replace("regime: party", "regime: mass").replace(
        "{id: nguyen-hong-quang, name: Nguyễn Hồng Quang}", "{id: nguyen-hong-quang, name: Nguyễn Hồng Quang, born: "
        "1970-01-01}").replace("{id: vu-thi-thanh, name: Vũ Thị Thanh}", "{id: vu-thi-thanh, name: Vũ Thị Thanh, born: "
                               "1980-01-01}").replace("    seats: 7\n", "    seats: 7\n    rules: {tie: older}\n")
    older = parse_template(text, "older.yaml")
    outcome = {c.row_id: c.outcome for c in count(older, ballots).candidates}
    assert outcome["nguyen-hong-quang"] == ELECTED and outcome["vu-thi-thanh"] == NOT_ELECTED


def test_the_state_ballot_keeps_its_rules_through_the_table():
    state = load_template(STATE)
    assert state.contests[0].crossout_rules == REGIME_RULES["state"]
    v = judge(state, 3, 2, stamp="absent")
    assert (v.status, v.code) == (INVALID, "no-stamp") and "Điều 74 khoản 1 điểm b" in v.detail
