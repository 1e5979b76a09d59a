"""No doubt passes unseen (issue 10): faint pencil, strokes a 1-bit threshold dissolved, ink beside a
box, writing over print, the same sheet scanned twice. Simulated ballots (rendered from the
generated PDF, marked, put through a simulated scanner) read by the real one-sheet pipeline."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from functools import cache
from pathlib import Path

import numpy as np
import pytest

from ballot_sim import simulate as S
from omr.ballot.template import load_template
from omr.read.calibration import load_profile
from omr.read.duplicates import PAPER_STEP_MM, PAPER_WINDOW_MM, blank_squares
from omr.read.inspect import PAGE_PX_PER_MM
from omr.read.marks import InkLevels, measure_patch
from omr.read.pipeline import TemplateBook, read_sheet

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "ballot_templates" / "tin-nhiem-cdyt-dong-nai-2023.yaml"
GENERAL = ROOT / "ballot_templates" / "general-election-en.yaml"


@cache
def templates():
    return tuple(load_template(p) for p in (SEED, GENERAL))


@cache
def book() -> TemplateBook:
    return TemplateBook.from_templates(list(templates()))


def read(page: S.SimulatedPage):
    return read_sheet(page.scan.pixels, "sim.pdf", 1, book(), load_profile())


def box_states(sheet) -> dict[tuple[str, str, str], str]:
    return {(r.contest_id, r.row_id, m.option_id): m.state for r in sheet.rows for m in r.marks}


@pytest.mark.parametrize("profile", ["office-scanner", "phone", "faint", "rough"])
def test_light_pencil_is_never_read_blank_on_grey_scans(profile: str) -> None:
    sim = S.Simulator(list(templates()), 1010)
    seen = 0
    for index, template in enumerate(templates()):
        for page in sim.ballot(index, template, profile, behaviours=("normal",), kinds=["faint_pencil"] * 60):
            sheet = read(page)
            assert sheet.status != "ok", "a sheet with light pencil marks passed unseen"
            states = box_states(sheet)
            for b in page.expected.boxes:
                if b.kind == "faint_pencil" and b.expected == "marked":
                    seen += 1
                    assert states[(b.contest, b.row, b.option)] in ("marginal", "marked"), b
                elif b.kind == "none":
                    assert states[(b.contest, b.row, b.option)] != "marked", b
    assert seen >= 5


def test_specks_of_a_dissolved_stroke_on_a_1bit_page_are_marginal() -> None:
    sim = S.Simulator(list(templates()), 77)
    found = 0
    for index in range(6):
        template = templates()[index % 2]
        overrides = {"threshold": ("fixed", 203.0, 0.0)}  # a threshold that breaks a faint stroke into specks
        for page in sim.ballot(index, template, "1bit", behaviours=("normal",), kinds=["faint_pencil"] * 60,
                               overrides=overrides):
            states = box_states(read(page))
            for b in page.expected.boxes:
                if b.kind == "faint_pencil" and b.expected == "marked":  # specks remain inside the box
                    found += 1
                    assert states[(b.contest, b.row, b.option)] != "blank", b
    assert found >= 3


def _box_patch(paper: float, noise: float, rng: np.random.Generator, s: float = 8.0) -> np.ndarray:
    side = int(round((5.0 + 2 * 1.7) * s))
    patch = np.full((side, side), paper, np.float32) + rng.normal(0, noise, (side, side))
    m = int(round(1.7 * s))
    b = int(round(5.0 * s))
    patch[m:m + 3, m:m + b + 1] = patch[m + b - 2:m + b + 1, m:m + b + 1] = 30  # the printed outline
    patch[m:m + b + 1, m:m + 3] = patch[m:m + b + 1, m + b - 2:m + b + 1] = 30
    return patch


def test_an_empty_box_on_noisy_paper_has_no_line_evidence() -> None:
    from omr.ballot.layout import Rect

    rng = np.random.default_rng(5)
    for noise in (1.0, 3.0, 6.0):
        patch = np.clip(_box_patch(240, noise, rng), 0, 255).astype(np.uint8)
        m = measure_patch(patch, Rect(0, 0, 5.0, 5.0), 8.0, InkLevels(30.0, 240.0))
        assert m.stroke == 0.0 and m.score < 0.005, (noise, m)
        # a light pencil line (grey 200 on paper 240, 0.4 mm) across the same box is seen
        line = patch.copy()
        for i in range(18, 50):
            line[i, i - 2:i + 1] = np.minimum(line[i, i - 2:i + 1], 200)
        m = measure_patch(line, Rect(0, 0, 5.0, 5.0), 8.0, InkLevels(30.0, 240.0))
        assert m.stroke >= 0.01, (noise, m)


# --- the same sheet scanned twice ----------------------------------------------------------------


def _single_mark_sheets(sim: S.Simulator, count: int, profile: str, option_kind: str = "x"):
    """Ballots of the 3-box seed ballot, each with one X (by a different voter)."""
    return [sim.ballot(i, templates()[0], profile, behaviours=("normal",), kinds=[option_kind])[0]
            for i in range(count)]


def test_a_rescan_is_found_and_two_voters_marking_the_same_box_are_not_confused() -> None:
    from omr.read.duplicates import CANDIDATES, DuplicateIndex

    sim = S.Simulator(list(templates()), 2024)
    sheets = _single_mark_sheets(sim, 24, "office-scanner")
    index = DuplicateIndex()
    held: dict[int, bytes] = {}  # what the results database would give back
    group = ("seed", 1)
    for i, page in enumerate(sheets):
        sig = read(page).signature
        assert sig, "a marked sheet has a signature"
        assert index.find(group, sig, held.__getitem__) is None, f"ballot {i} taken for an earlier voter's"
        index.add(group, sig, i)
        held[i] = sig
    looked_up = []
    for i in (0, 5, 11):
        again = read(sim.rescan(sheets[i], "office-scanner", 100 + i))
        found = index.find(group, again.signature, lambda item: looked_up.append(item) or held[item])
        assert found is not None and found[0] == i, (i, found)
    # a look-up compares in full (and fetches) only the few sheets most alike, never every sheet of its box
    assert 3 <= len(looked_up) <= 3 * CANDIDATES


def test_a_suspected_copy_waits_for_a_person_and_counts_once_only_when_confirmed() -> None:
    from omr.count.tally import tally_reads
    from tests.test_tally_support import decision, decisions_of

    sim = S.Simulator(list(templates()), 2025)
    first = sim.ballot(3, templates()[0], "office-scanner", behaviours=("normal",), kinds=["x"])[0]
    again = sim.rescan(first, "office-scanner", 7)
    from omr.scan.batch import _Duplicates

    class NoStore:  # nothing stored yet: the two scans are in one file
        def signatures(self, after_id: int = 0):
            return []

    reads = _Duplicates().check_file(NoStore(), [read(first), replace(read(again), page=2)])
    assert [r.code for r in reads[1].reasons if r.code == "duplicate"] == ["duplicate"]
    assert reads[1].status == "review"
    items = list(enumerate(reads, start=1))
    waiting = tally_reads(items, {}, list(templates()), collected=1)
    assert waiting.provisional and [s.pending for s in waiting.pending_sheets] == [("duplicate",)]
    same = tally_reads(items, decisions_of(decision(2, "reject-sheet")), list(templates()), collected=1)
    assert not same.provisional and same.reconciliation.valid_sheets == 1
    two = tally_reads(items, decisions_of(decision(2, "accept")), list(templates()), collected=2)
    assert not two.provisional and two.reconciliation.valid_sheets == 2


def test_a_sheet_is_compared_in_full_with_no_more_sheets_once_a_file_is_stored(monkeypatch) -> None:
    """A cross-out ballot's signature is the committee's stamp, pressed alike on every ballot, so from the
    second file on a sheet's look-alikes are both stored and earlier in its own file: it was compared in
    full with CANDIDATES of each (twelve, not six: the check cost twice as much after the first file).
    The CANDIDATES most alike of both together are compared; a re-scan of a stored sheet and one of a sheet
    earlier in the file are both still found, and no other sheet is taken for a copy."""
    import omr.read.duplicates as D
    from omr.scan.batch import _Duplicates
    from omr.store.records import SheetSignature

    party = load_template(Path(__file__).parent.parent / "ballot_templates" / "bau-bch-cdyt-dong-nai-2025.yaml")
    party_book = TemplateBook.from_templates([party])
    sim = S.Simulator([party], 2027)
    sheets = [sim.ballot(i, party, "office-scanner", behaviours=("normal",))[0] for i in range(40)]

    def read_party(page: S.SimulatedPage, source: str, number: int):
        return read_sheet(page.scan.pixels, source, number, party_book, load_profile())

    stored = [read_party(p, "a.pdf", n) for n, p in enumerate(sheets[:20], start=1)]  # the first file, stored

    class Stored:  # what the results database gives back
        def signatures(self, after_id: int = 0):
            return [SheetSignature(n, "a.pdf", n, r.fingerprint, r.template_page, r.signature)
                    for n, r in enumerate(stored, start=1) if n > after_id]

        def signature(self, sheet_id: int) -> bytes:
            return stored[sheet_id - 1].signature

    # the second file, b.pdf: twenty other voters, then a.pdf's page 4 and its own page 5 fed again
    again = [sim.rescan(sheets[3], "office-scanner", 7), sim.rescan(sheets[24], "office-scanner", 8)]
    second = [read_party(p, "b.pdf", n) for n, p in enumerate(sheets[20:] + again, start=1)]
    compare, compared = D.compare, Counter()  # full comparisons, by the sheet looked up
    monkeypatch.setattr(D, "compare", lambda a, b: compared.update([a.inks[0].tobytes()]) or compare(a, b))
    checked = _Duplicates().check_file(Stored(), second)
    flagged = {r.page: r.reasons[-1].detail for r in checked if any(x.code == "duplicate" for x in r.reasons)}
    assert sorted(flagged) == [21, 22], flagged
    assert "a.pdf page 4" in flagged[21] and "b.pdf page 5" in flagged[22], flagged
    assert compared and max(compared.values()) <= D.CANDIDATES, sorted(compared.values())


def test_more_sheets_than_collected_names_a_1bit_rescan_the_check_could_not_prove() -> None:
    """A 1-bit scan keeps no paper texture, so a re-fed sheet may be counted twice; the reconciliation
    then says one sheet too many, and names the pair of sheets most alike first: the re-scan."""
    from omr.count.tally import tally_reads
    from omr.reports.text import discrepancy_text

    sim = S.Simulator(list(templates()), 2031)
    sheets = _single_mark_sheets(sim, 8, "1bit")
    again = sim.rescan(sheets[2], "1bit", 5)
    reads = [replace(read(p), page=i + 1) for i, p in enumerate([*sheets, again])]
    tally = tally_reads(list(enumerate(reads, start=1)), {}, list(templates()), collected=8)
    extra = next(d for d in tally.reconciliation.discrepancies if d.code == "extra")
    assert extra.count == 1
    assert (extra.params["alike"][0]["first"]["page"], extra.params["alike"][0]["second"]["page"]) == (3, 9)
    assert extra.sheets[:2] == (("sim.pdf", 3), ("sim.pdf", 9))
    assert "sim.pdf trang 3 và sim.pdf trang 9" in discrepancy_text(extra, "vi")
    # with the numbers reconciled nothing is named
    tally = tally_reads(list(enumerate(reads, start=1)), {}, list(templates()), collected=9)
    assert not any(d.code == "extra" for d in tally.reconciliation.discrepancies)


# --- ink beside a box, writing over the print ----------------------------------------------------


@pytest.mark.parametrize("kind", ["circle_around", "beside"])
def test_ink_next_to_an_empty_box_sends_its_row_to_a_person(kind: str) -> None:
    sim = S.Simulator(list(templates()), 31)
    rows = 0
    for index, template in enumerate(templates()):
        for page in sim.ballot(index, template, "office-scanner", behaviours=("normal",), kinds=[kind] * 8):
            sheet = read(page)
            by_row = {(r.contest_id, r.row_id): r for r in sheet.rows}
            for b in page.expected.boxes:
                if b.kind == kind:
                    rows += 1
                    row = by_row[(b.contest, b.row)]
                    assert "mark-beside-box" in {x.code for x in row.reasons}, (b, row.reasons)
                    assert row.status == "review"
            assert sheet.status == "review"
    assert rows >= 4


def test_plain_marks_and_marks_run_over_the_edge_are_not_ink_beside_a_box() -> None:
    sim = S.Simulator(list(templates()), 32)
    for index, template in enumerate(templates()):
        for kinds in (["x"] * 60, ["overflow"] * 60, ["tick"] * 60):
            for page in sim.ballot(index, template, "office-scanner", behaviours=("normal",), kinds=kinds):
                codes = {x.code for r in read(page).rows for x in r.reasons}
                assert "mark-beside-box" not in codes, kinds[0]


def test_a_line_through_a_printed_option_is_writing_a_person_sees() -> None:
    sim = S.Simulator(list(templates()), 33)
    general = templates()[1]
    struck = 0
    for index in range(3):
        for page in sim.ballot(index, general, "office-scanner", behaviours=("normal", "struck_text")):
            if not page.marked.plan.struck_texts:
                continue
            struck += 1
            sheet = read(page)
            assert "writing-over-print" in {x.code for x in sheet.reasons}
            assert sheet.status == "review"
    assert struck >= 2
    plain = read(sim.ballot(9, general, "office-scanner", behaviours=("normal",), kinds=["x"] * 60)[0])
    assert "writing-over-print" not in {x.code for x in plain.reasons}


# --- review only where there is doubt ------------------------------------------------------------


def test_a_clear_empty_row_is_invalid_without_a_person_and_a_blank_ballot_still_goes_to_one() -> None:
    leaders = load_template(ROOT / "ballot_templates" / "tin-nhiem-28-lanh-dao.yaml")
    both = TemplateBook.from_templates([leaders, *templates()])
    sim = S.Simulator([leaders, *templates()], 41)
    empty_rows = 0
    for page in sim.ballot(1, leaders, "office-scanner", behaviours=("normal", "no_mark"), kinds=["x"] * 60):
        sheet = read_sheet(page.scan.pixels, "sim.pdf", 1, both, load_profile())
        empty = [r for r in sheet.rows if r.status == "invalid"]
        assert all(r.reasons[0].code == "no-mark" for r in empty)
        assert sheet.status == "ok" and len(empty) < len(sheet.rows)
        empty_rows += len(empty)
    assert empty_rows >= 1
    seed_template = templates()[0]
    blank = read(sim.ballot(2, seed_template, "office-scanner", behaviours=("blank",))[0])
    assert blank.status == "review" and "blank-sheet" in {r.code for r in blank.reasons}


def test_a_fold_a_1bit_scan_drew_black_through_a_row_is_no_vote() -> None:
    # ballot 4 of seed 71 on the 28-person ballot: a fold across row p10, which an adaptive 1-bit
    # threshold turned into a black bar through its three boxes (all three read "marked" before)
    paths = sorted((ROOT / "ballot_templates").glob("*.yaml"))
    all_templates = [load_template(p) for p in paths]
    leaders = next(t for t in all_templates if t.id.startswith("tin-nhiem-28"))
    sim = S.Simulator(all_templates, 71)
    page = next(p for p in sim.ballot(4, leaders, "1bit", behaviours=("normal",), kinds=["faint_pencil"] * 200)
                if any(b.row == "p10" for b in p.expected.boxes))
    assert page.expected.scan["folds"] and page.scan.bilevel
    sheet = read_sheet(page.scan.pixels, "sim.pdf", 1, TemplateBook.from_templates(all_templates), load_profile())
    check = S.check_page(page.expected, sheet.to_json())
    assert check.flips == 0, check.problems
    assert "fold-over-boxes" in {r.code for r in sheet.reasons} and sheet.status == "review"


def test_the_votes_printed_in_a_test_sheets_footer_are_not_writing() -> None:
    from omr.ballot.generate import test_deck_pdf, test_deck_votes

    leaders = load_template(ROOT / "ballot_templates" / "tin-nhiem-28-lanh-dao.yaml")
    book28 = TemplateBook.from_templates([leaders])
    pages = S.render_pdf(test_deck_pdf(leaders, test_deck_votes(leaders)), 200)
    assert len(pages) >= 8
    for i, pixels in enumerate(pages):
        sheet = read_sheet(pixels, "deck.pdf", i + 1, book28, load_profile())
        assert sheet.test
        assert not {"extra-writing", "writing-over-print"} & {r.code for r in sheet.reasons}, (i, sheet.reasons)


def test_the_blank_squares_of_a_page_are_those_a_square_by_square_search_finds() -> None:
    """blank_squares, from a table of sums, finds the squares of paper the duplicate check keeps the
    texture of (omr.read.duplicates.paper_windows) that a search looking inside each square finds, in
    its order, on every page of the templates and on a mask with a square cleared on the grid's edge."""
    side, step = int(PAPER_WINDOW_MM * PAGE_PX_PER_MM), int(PAPER_STEP_MM * PAGE_PX_PER_MM)
    masks = [~book().reference(fp, pl.number).not_voter_ink for fp, bl in book().layouts.items() for pl in bl.pages]
    edge = np.zeros((100, 2 * step + side), bool)  # the last square of its rows ends on its right edge
    edge[step:step + side, 2 * step:2 * step + side] = True
    for blank in [*masks, edge]:
        plain = [(y, x) for y in range(0, blank.shape[0] - side + 1, step)
                 for x in range(0, blank.shape[1] - side + 1, step) if blank[y:y + side, x:x + side].all()]
        assert blank_squares(blank, side, step) == plain
    assert blank_squares(edge, side, step) == [(step, 2 * step)]
