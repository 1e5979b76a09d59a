"""Cross-out election ballots whose list is longer than one page (issue 14): the list continues on the
next page of the same ballot, the seats line, the instruction and the stamp on page 1, rows numbered on;
the rules judge every page of a ballot together, and a ballot scanned without one of its pages cannot be
decided (a person, and the reconciliation names the page missing). Rendered, scanned back, tallied."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

import pypdfium2 as pdfium
import pytest

from ballot_sim.simulate import Simulator
from omr.ballot.generate import ballots_pdf
from omr.ballot.layout import layout
from omr.ballot.template import parse_template
from omr.codes import INVALID, VALID
from omr.count.tally import tally_reads
from omr.read.calibration import load_profile
from omr.read.pipeline import TemplateBook, read_sheet
from omr.store.records import Decision

ROOT = Path(__file__).resolve().parents[1]
PROFILE = load_profile()
EXTRA = ["Đặng Văn Bảo", "Ngô Thị Cúc", "Hồ Văn Dũng", "Lý Thị Giang", "Mai Văn Hậu", "Tạ Thị Hoa",
         "Đinh Văn Khánh", "Châu Thị Liên", "Lâm Văn Minh", "Kiều Thị Ngọc", "Tôn Văn Phúc", "Cao Thị Quyên",
         "Dương Văn Sơn"]
SEATS = 9


def long_ballot_text() -> str:
    """The bundled A5 People's Council ballot with 18 candidates for 9 seats: two pages."""
    text = (ROOT / "ballot_templates" / "bau-cu-hdnd-phuong-a5.yaml").read_text(encoding="utf-8")
    text = text.replace("id: bau-cu-hdnd-phuong-a5", "id: bau-cu-dai-a5").replace("seats: 3", f"seats: {SEATS}")
    return text + "".join(f"      - {{id: uv-{i + 1}, honorific: {'Bà' if 'Thị' in n else 'Ông'}, name: {n}, "
                          f"born: 19{70 + i}-0{1 + i % 9}-1{i % 9}}}\n" for i, n in enumerate(EXTRA))


@pytest.fixture(scope="module")
def long():
    return parse_template(long_ballot_text(), "long.yaml")


@pytest.fixture(scope="module")
def book(long):
    return TemplateBook.from_templates([long])


def page_texts(pdf: bytes) -> list[str]:
    doc = pdfium.PdfDocument(pdf)
    try:
        return [doc[i].get_textpage().get_text_range() for i in range(len(doc))]
    finally:
        doc.close()


def test_a_long_list_continues_on_page_2_numbered_on_with_the_seats_and_stamp_on_page_1(long):
    lay = layout(long)
    assert len(lay.pages) == 2
    p1, p2 = lay.pages
    cells = [c.row_id for p in lay.pages for c in p.strike_cells]
    assert cells == list(long.contests[0].row_ids)  # every name once, in the list's order
    assert 0 < len(p1.strike_cells) < 18 and p2.strike_cells
    assert p1.stamp is not None and p2.stamp is None  # one stamp a ballot, on its first page
    numbers = [t.text for t in p2.texts if t.text.isdigit()]
    assert numbers[0] == str(len(p1.strike_cells) + 1) and numbers[-1] == "18"
    text1, text2 = page_texts(ballots_pdf(long))
    assert f"Số lượng được bầu: {SEATS}" in text1 and "Số lượng được bầu" not in text2
    assert "gạch ngang họ và tên" in text1 and "(tiếp theo)" in text2
    assert "Trang 1/2" in text1 and "Trang 2/2" in text2 and "Dương Văn Sơn" in text2


def scan(sim: Simulator, t, index: int, page: int, kinds: list[str], profile: str = "clean"):
    return sim.ballot(index, t, profile, behaviours=["normal"], kinds=kinds, pages=[page])[0]


def kinds_leaving(n: int, left: set[int]) -> list[str]:
    return ["none" if i in left else "line" for i in range(n)]


def names_per_page(long) -> tuple[int, int]:
    lay = layout(long)
    return len(lay.pages[0].strike_cells), len(lay.pages[1].strike_cells)


@pytest.fixture(scope="module")
def scanned(long, book):
    """Four ballots scanned into one file, in order: A (9 left over both pages: valid), B (every name of
    page 1 struck, 4 left on page 2: valid, though page 1 alone is all struck), C (5 + 5 left: more than 9,
    invalid, though neither page alone is), D (page 1 alone: page 2 missing)."""
    n1, n2 = names_per_page(long)
    sim = Simulator([long], seed=41)
    plan = [
        (0, 1, kinds_leaving(n1, {0, 2, 4})), (0, 2, kinds_leaving(n2, {0, 1, 3, 5, 7, 9})),
        (1, 1, kinds_leaving(n1, set())), (1, 2, kinds_leaving(n2, {2, 4, 6, 8})),
        (2, 1, kinds_leaving(n1, {0, 1, 2, 3, 4})), (2, 2, kinds_leaving(n2, {0, 1, 2, 3, 4})),
        (3, 1, kinds_leaving(n1, {1, 3})),
    ]
    reads = []
    for file_page, (index, page, kinds) in enumerate(plan, start=1):
        sp = scan(sim, long, index, page, kinds)
        reads.append(read_sheet(sp.scan.pixels, "lot-1.pdf", file_page, book, PROFILE, dpi=sp.scan.dpi))
    return reads


def test_each_page_is_read_as_far_as_it_can_tell(scanned):
    assert [r.template_page for r in scanned] == [1, 2, 1, 2, 1, 2, 1]
    assert all(r.status == "ok" for r in scanned), [(r.page, r.status, r.reasons) for r in scanned]
    # page 1 of ballot B: every name on it struck, but its list goes on: not "all struck" on its own
    assert {row.status for row in scanned[2].rows} == {VALID} and all(row.choices for row in scanned[2].rows)


def test_the_tally_judges_every_page_of_a_ballot_together(long, scanned):
    t = tally_reads([(i + 1, r) for i, r in enumerate(scanned)], {}, [long], issued=4, collected=4)
    (e,) = t.elections
    assert (e.valid, e.invalid, e.pending) == (2, 1, 1)
    assert e.invalid_by_reason == {"too-many-left": 1}
    assert e.piles == {9: 1, 4: 1}
    lay = layout(long)
    p1 = [c.row_id for c in lay.pages[0].strike_cells]
    p2 = [c.row_id for c in lay.pages[1].strike_cells]
    votes = {c.row_id: c.votes for c in e.candidates}
    expected = dict.fromkeys(long.contests[0].row_ids, 0)
    for i in (0, 2, 4):
        expected[p1[i]] += 1  # A
    for i in (0, 1, 3, 5, 7, 9):
        expected[p2[i]] += 1  # A
    for i in (2, 4, 6, 8):
        expected[p2[i]] += 1  # B
    assert votes == expected
    # the pages of a ballot share its verdict: C's two pages are invalid, D waits for its page 2
    by_page = {s.page: s for s in t.sheets}
    assert {r.status for r in by_page[5].rows} == {r.status for r in by_page[6].rows} == {INVALID}
    assert by_page[5].ballot == by_page[6].ballot == "lot-1.pdf#5"
    assert by_page[7].pending == ("ballot-page-missing",) and t.provisional
    (gap,) = [d for d in t.reconciliation.discrepancies if d.code == "ballot-page-missing"]
    assert gap.sheets == (("lot-1.pdf", 7),) and gap.params["lacking"] == "2" and gap.severity == "error"
    assert "without page 2" in gap.message
    # the hand count reconciles by page: 4 ballots of page 1, 3 of page 2 (the confidence ballots' rule)
    assert any(d.code == "incomplete-ballot" and d.params["page"] == 2 for d in t.reconciliation.discrepancies)


def test_a_person_rejects_the_ballot_missing_a_page_and_it_is_invalid(long, scanned):
    reject = Decision(1, 7, "sheet", None, None, "reject-sheet", (), "unreadable", "Tổ trưởng", "",
                      "2026-03-15T20:00:00", {}, None)
    t = tally_reads([(i + 1, r) for i, r in enumerate(scanned)], {(7, None, None): reject}, [long], issued=4,
                    collected=4)
    (e,) = t.elections
    assert (e.valid, e.invalid, e.pending) == (2, 2, 0) and not t.provisional
    assert not [d for d in t.reconciliation.discrepancies if d.code == "ballot-page-missing"]


def test_a_card_fed_turned_over_still_makes_one_ballot(long, scanned):
    """Printed on both sides of one card (`duplex`), a card taken from the box turned over gives its back
    first: page 2 then page 1 are one ballot. Printed on two sheets, pages out of order are not joined:
    each waits for a person as a ballot lacking a page."""
    reads = [(1, replace(scanned[1], page=1)), (2, replace(scanned[0], page=2))]
    (e,) = tally_reads(reads, {}, [replace(long, duplex=True)], issued=1, collected=1).elections
    assert (e.valid, e.invalid, e.pending) == (1, 0, 0) and e.piles == {9: 1}
    t = tally_reads(reads, {}, [long], issued=1, collected=1)
    assert (t.elections[0].valid, t.elections[0].pending) == (0, 2) and t.provisional
    assert [s.pending for s in t.sheets] == [("ballot-page-missing",)] * 2


def test_a_page_fed_twice_is_not_joined_to_the_next_voters_ballot(long, book, scanned):
    """Ballot A's page 2 fed again after A, then ballot B: A2' B1 once made one ballot (B1's names with
    A's page 2 counted as a valid ballot) and B2 was left alone, so a person rejecting the lone page lost
    B's page 2 and kept A's page 2 twice. Pages on sheets of their own come in page order, so A2' is the
    page alone: a person rejects it as a copy and A and B count as they were voted. (Printed on both sides
    of a card, a page cannot be fed again alone: a duplex scanner gives both sides of the card again.)"""
    sim = Simulator([long], seed=41)
    page_2 = scan(sim, long, 0, 2, kinds_leaving(names_per_page(long)[1], {0, 1, 3, 5, 7, 9}))
    again = sim.rescan(page_2, "clean", 1)  # the same paper through the scanner again
    fed_again = read_sheet(again.scan.pixels, "lot-1.pdf", 3, book, PROFILE, dpi=again.scan.dpi)
    assert fed_again.image_sha256 != scanned[1].image_sha256 and fed_again.status == "ok"
    assert not fed_again.signature  # page 2 has no stamp: nothing to find the copy by
    sheets = [scanned[0], scanned[1], fed_again, scanned[2], scanned[3]]  # A1 A2 A2' B1 B2
    reads = [(i + 1, replace(r, page=i + 1)) for i, r in enumerate(sheets)]
    t = tally_reads(reads, {}, [long], issued=2, collected=2)
    (e,) = t.elections
    assert (e.valid, e.pending) == (2, 1) and t.provisional
    assert [s.pending for s in t.sheets] == [(), (), ("ballot-page-missing",), (), ()]
    assert [s.ballot for s in t.sheets] == ["lot-1.pdf#1", "lot-1.pdf#1", "lot-1.pdf#3", "lot-1.pdf#4",
                                            "lot-1.pdf#4"]
    copy = Decision(1, 3, "sheet", None, None, "reject-sheet", (), "duplicate", "Tổ trưởng", "",
                    "2026-03-15T20:00:00", {}, None)
    decided = tally_reads(reads, {(3, None, None): copy}, [long], issued=2, collected=2)
    (e,) = decided.elections
    alone = tally_reads([(i + 1, r) for i, r in enumerate(scanned[:4])], {}, [long], issued=2,
                        collected=2).elections[0]
    assert (e.valid, e.invalid, e.pending) == (2, 0, 0) and not decided.provisional
    assert {c.row_id: c.votes for c in e.candidates} == {c.row_id: c.votes for c in alone.candidates}
    assert e.piles == alone.piles == {9: 1, 4: 1}
    assert not [d for d in decided.reconciliation.discrepancies if d.severity == "error"]


def scan_into_store(long, folder: Path, pages) -> tuple[Path, Path, dict[int, int]]:
    """The simulated pages in one PDF, through the real scan into a real store. Returns the template's
    file, the database and each file page's sheet id."""
    from ballot_sim.simulate import write_pages
    from omr.scan.batch import ScanOptions
    from omr.scan.batch import scan as scan_files
    from omr.store.database import Store

    path = folder / "long.yaml"
    path.write_text(long_ballot_text(), encoding="utf-8")
    write_pages(pages, folder, "lot.pdf", "pdf")
    with Store(folder / "r.sqlite") as store:
        scan_files([str(folder / "lot.pdf")], store, ScanOptions((long,), (str(path),), PROFILE, jobs=1))
        ids = {s.read.page: s.id for s in store.sheet_items()}
    return path, folder / "r.sqlite", ids


def scan_a_lone_page(long, folder: Path) -> tuple[Path, Path]:
    """Through the real scan into a real store: ballot A whole, then page 1 of ballot D alone (its page 2
    lost). Returns the template's file and the database."""
    n1, n2 = names_per_page(long)
    sim = Simulator([long], seed=41)
    pages = [scan(sim, long, 0, 1, kinds_leaving(n1, {0, 2, 4})),
             scan(sim, long, 0, 2, kinds_leaving(n2, set(range(6)))), scan(sim, long, 3, 1, kinds_leaving(n1, {1, 3}))]
    path, db, _ = scan_into_store(long, folder, pages)
    return path, db


def test_a_page_scanned_alone_waits_on_the_review_screen_until_a_person_rejects_the_ballot(long, tmp_path):
    """Through the real scan, store and review queue: ballot A whole, then page 1 of ballot D alone."""
    from omr.count.stored import tally_store
    from omr.review.model import AWAITING, TemplateShelf, load_queue
    from omr.store.database import Store

    path, db = scan_a_lone_page(long, tmp_path)
    with Store(db) as store:
        queue = load_queue(store, TemplateShelf(store, [str(path)]))
        (lone,) = queue.sheets
        assert (lone.read.page, lone.state) == (3, AWAITING) and "ballot-page-missing" in lone.codes
        assert "page 2 of 2" in next(r.detail for r in lone.read.reasons if r.code == "ballot-page-missing")
        t = tally_store(store, [long], collected=2)
        assert t.provisional and (t.elections[0].valid, t.elections[0].pending) == (1, 1)
        store.add_decision(lone.id, scope="sheet", action="reject-sheet", reason="other", reviewer="Tổ trưởng",
                           note="page 2 lost")
        assert load_queue(store, TemplateShelf(store, [str(path)])).sheets[0].state != AWAITING


def test_the_review_screen_lists_a_page_scanned_alone(long, tmp_path):
    """The review screen's queue is load_queue's: the lone page 1 of a two-page ballot waits there with its
    reason (it listed nothing while the tally said a ballot waited for a person, so nobody could find it);
    it can only be rejected (accepting it would not count it: the tally cannot), and then leaves the queue."""
    from omr.review.app import create_app
    from omr.review.context import ReviewConfig
    from omr.store.database import Store

    path, db = scan_a_lone_page(long, tmp_path)
    with Store(db) as store:
        lone = next(s.id for s in store.sheet_items() if s.read.page == 3)
    client = create_app(ReviewConfig(db=db, templates=(str(path),), language="en")).test_client()
    queue = client.get("/queue").get_data(as_text=True)
    assert f'href="/sheet/{lone}' in queue and "lot.pdf" in queue
    assert re.search(r"1\s*</[^>]+>\s*<[^>]+>\s*Awaiting review", queue), queue
    sheet = client.get(f"/sheet/{lone}").get_data(as_text=True)
    assert "page 2 of 2 of this ballot was not scanned next to it" in sheet
    # it cannot be counted, whatever is decided: no "count this ballot", and the server refuses one
    assert 'value="accept-sheet"' not in sheet and 'id="page-missing"' in sheet
    form = {"reviewer": "Tổ trưởng", "seen-sheet": "", "csrf_token": re.search(r'name="csrf_token" value="(\w+)"',
                                                                                 sheet).group(1)}
    refused = client.post(f"/sheet/{lone}/decide", data={**form, "do": "accept-sheet", "checked-paper": "yes"})
    assert refused.status_code == 400 and "lacks a page" in refused.get_data(as_text=True)
    with Store(db) as store:
        assert not store.decisions(lone)
    rejected = client.post(f"/sheet/{lone}/decide", data={**form, "do": "reject-sheet", "reject-reason": "unreadable"})
    assert rejected.status_code == 303, rejected.get_data(as_text=True)
    assert re.search(r"0\s*</[^>]+>\s*<[^>]+>\s*Awaiting review", client.get("/queue").get_data(as_text=True))
    assert 'value="accept-sheet"' not in client.get(f"/sheet/{lone}").get_data(as_text=True)  # nor "restore"


def test_the_review_screen_shows_the_scan_a_page_fed_twice_may_copy(long, tmp_path):
    """Through the real scan, store and review screen: ballots A and B, A's page 2 fed again between them
    (a jammed sheet fed again at once). The page alone waits for a person with a link to the page just
    before it in the file, the same page of a ballot, to compare the two; rejected as the same sheet scanned
    twice, it leaves the queue and the tally counts A and B once each, final."""
    from omr.count.stored import tally_store
    from omr.review.app import create_app
    from omr.review.context import ReviewConfig
    from omr.store.database import Store

    n1, n2 = names_per_page(long)
    sim = Simulator([long], seed=41)
    a2 = scan(sim, long, 0, 2, kinds_leaving(n2, set(range(6))), "office-scanner")
    pages = [scan(sim, long, 0, 1, kinds_leaving(n1, {0, 2, 4}), "office-scanner"), a2,
             sim.rescan(a2, "office-scanner", 1), scan(sim, long, 1, 1, kinds_leaving(n1, {1}), "office-scanner"),
             scan(sim, long, 1, 2, kinds_leaving(n2, {2, 4}), "office-scanner")]
    path, db, ids = scan_into_store(long, tmp_path, pages)
    client = create_app(ReviewConfig(db=db, templates=(str(path),), language="en")).test_client()
    sheet = client.get(f"/sheet/{ids[3]}").get_data(as_text=True)
    assert "page 1 of 2 of this ballot was not scanned next to it" in sheet
    link = re.search(r'<a href="/sheet/(\d+)" class="btn small" id="same-page-before">', sheet)
    assert link and int(link.group(1)) == ids[2], sheet
    assert client.get(f"/sheet/{ids[2]}").status_code == 200  # read as ok, shown all the same
    assert 'id="same-page-before"' not in client.get(f"/sheet/{ids[4]}").get_data(as_text=True)
    form = {"reviewer": "Tổ trưởng", "seen-sheet": "", "csrf_token": re.search(r'name="csrf_token" value="(\w+)"',
                                                                                 sheet).group(1)}
    done = client.post(f"/sheet/{ids[3]}/decide", data={**form, "do": "reject-sheet", "reject-reason": "duplicate"})
    assert done.status_code == 303, done.get_data(as_text=True)
    with Store(db) as store:
        t = tally_store(store, [long], issued=2, collected=2)
    (e,) = t.elections
    assert (e.valid, e.invalid, e.pending) == (2, 0, 0) and not t.provisional and e.piles == {9: 1, 3: 1}


def test_a_whole_ballot_fed_again_leaves_its_page_2_waiting_with_the_copy_it_needs(long, tmp_path):
    """Through the real scan, store and review screen: ballots A and B, the whole of A fed again between them
    (A1 A2 A1' A2' B1 B2). A1' is found a copy by its stamp; A2' then stands alone in the tally (the copy
    is out of its ballot until a person says it is another ballot), and the review screen asks about it
    too (it listed only A1', so the tally stayed provisional with a page nobody could find). Decided as
    copies, A and B count once each, final; said to be another ballot, A1' and A2' make one again and the
    page waits no more."""
    from omr.count.stored import tally_store
    from omr.review.app import create_app
    from omr.review.context import ReviewConfig
    from omr.review.model import AWAITING, TemplateShelf, load_queue
    from omr.store.database import Store

    n1, n2 = names_per_page(long)
    sim = Simulator([long], seed=41)
    a1 = scan(sim, long, 0, 1, kinds_leaving(n1, {0, 2, 4}), "office-scanner")
    a2 = scan(sim, long, 0, 2, kinds_leaving(n2, {0, 1, 3, 5, 7, 9}), "office-scanner")
    b1, b2 = (scan(sim, long, 1, 1, kinds_leaving(n1, set()), "office-scanner"),
              scan(sim, long, 1, 2, kinds_leaving(n2, {2, 4, 6, 8}), "office-scanner"))
    path, db, ids = scan_into_store(long, tmp_path, [a1, a2, sim.rescan(a1, "clean", 1), sim.rescan(a2, "clean", 2),
                                                     b1, b2])

    def waiting() -> tuple[list[int], list[int]]:
        """(pages the review queue awaits a person on, pages the tally waits on)"""
        with Store(db) as store:
            queue = load_queue(store, TemplateShelf(store, [str(path)]))
            t = tally_store(store, [long], issued=2, collected=2)
        return (sorted(s.read.page for s in queue.sheets if s.state == AWAITING),
                sorted(s.page for s in t.sheets if s.pending))

    assert waiting() == ([3, 4], [3, 4])
    client = create_app(ReviewConfig(db=db, templates=(str(path),), language="en")).test_client()
    sheet = client.get(f"/sheet/{ids[4]}").get_data(as_text=True)
    assert "page 1 of 2 of this ballot was not scanned next to it" in sheet
    link = re.search(r'<a href="/sheet/(\d+)" class="btn small" id="same-page-before">', sheet)
    assert link and int(link.group(1)) == ids[2], sheet
    with Store(db) as store:
        store.add_decision(ids[3], scope="sheet", action="accept", reviewer="Tổ trưởng", note="two ballots")
    assert waiting() == ([], [])  # said to be another ballot: A1' A2' are one ballot again
    with Store(db) as store:
        store.add_decision(ids[3], scope="sheet", action="reject-sheet", reason="duplicate", reviewer="Tổ trưởng",
                           note="the same sheet")
    assert waiting() == ([4], [4])
    with Store(db) as store:
        store.add_decision(ids[4], scope="sheet", action="reject-sheet", reason="duplicate", reviewer="Tổ trưởng",
                           note="the same sheet")
        t = tally_store(store, [long], issued=2, collected=2)
    assert waiting() == ([], [])
    (e,) = t.elections
    assert (e.valid, e.invalid, e.pending) == (2, 0, 0) and not t.provisional and e.piles == {9: 1, 4: 1}


def test_a_ballot_printed_on_both_sides_is_one_card_in_the_audit_files(long, scanned):
    """The template says `duplex: true` (the ballot printed on both sides of one sheet): pages 1 and 2 are
    the two sides of one ballot card. Arlo's manifest counts cards, so it counts 4 here (A, B and C both
    sides each; D's lone page 1, rejected by a person, is in the box too), not the 7 pages; the Dominion CVR
    file has one line per card, the votes of both sides on it, which Arlo's reader totals as the tally
    does; cvr.json has one record per card (NIST's BallotSheetId counts sheets of paper), both sides'
    images in it. Printed on two sheets (the
    template as bundled), the same scans are 7 cards. Scanned back first, the two sides are still one card."""
    import jsonschema
    from test_export_consumers import SCHEMA, check_nist_references_and_arithmetic, read_arlo_manifest, read_dominion

    from omr.reports import render_reports
    from omr.reports.arlo import choice_names, crossout_contest_name

    reject = Decision(1, 7, "sheet", None, None, "reject-sheet", (), "unreadable", "Tổ trưởng", "",
                      "2026-03-15T20:00:00", {}, None)
    reads = [(i + 1, r) for i, r in enumerate(scanned)]
    duplex = replace(long, duplex=True)
    t = tally_reads(reads, {(7, None, None): reject}, [duplex], issued=4, collected=4)
    reports = render_reports(t)
    manifest = read_arlo_manifest(reports["manifest.csv"], "BALLOT_COMPARISON")
    assert [(r["Batch Name"], r["Number of Ballots"]) for r in manifest] == [("lot-1", 4)]
    read = read_dominion(reports["cvr-dominion.csv"], manifest)
    assert read["records"] == {("ballot-omr", "lot-1"): [1, 2, 3, 4]}
    (e,) = t.elections
    c = duplex.contests[0]
    names = dict(zip(c.row_ids, choice_names(c)))
    assert read["totals"][crossout_contest_name(duplex, c)] == {names[x.row_id]: x.votes for x in e.candidates}
    assert sum(x.votes for x in e.candidates) > 0
    report = json.loads(reports["cvr.json"])
    schema = jsonschema.Draft4Validator(json.loads(SCHEMA.read_text(encoding="utf-8")),
                                        format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER)
    assert not list(schema.iter_errors(report))
    check_nist_references_and_arithmetic(report)
    records = {tuple(sorted({int(i["Location"].rpartition("=")[2]) for i in r["BallotImage"]})): r
               for r in report["CVR"]}  # a record a sheet of paper: both sides' images
    assert sorted(records) == [(1, 2), (3, 4), (5, 6), (7,)]
    assert [records[p]["BatchSequenceId"] for p in sorted(records)] == [1, 2, 3, 4]
    assert {r["BallotSheetId"] for r in records.values()} == {"1"}
    assert len({r["BallotAuditId"] for r in records.values()}) == 4
    for r in (records[(1, 2)], records[(3, 4)], records[(5, 6)]):  # the cross-out contest once, whole
        for snap in r["CVRSnapshot"]:
            (contest,) = snap["CVRContest"]
            assert len(contest["CVRContestSelection"]) == len(c.candidates), (r["BallotImage"], snap["Type"])

    sheets = render_reports(tally_reads(reads, {(7, None, None): reject}, [long], issued=4, collected=4))
    manifest = read_arlo_manifest(sheets["manifest.csv"], "BALLOT_COMPARISON")
    assert [(r["Batch Name"], r["Number of Ballots"]) for r in manifest] == [("lot-1", 7)]

    back_first = [(1, replace(scanned[1], page=1)), (2, replace(scanned[0], page=2))]
    data = render_reports(tally_reads(back_first, {}, [duplex], issued=1, collected=1))["manifest.csv"]
    assert read_arlo_manifest(data, "BALLOT_COMPARISON")[0]["Number of Ballots"] == 1
