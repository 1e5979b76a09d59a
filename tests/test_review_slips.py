"""A person's slips on the review screen never change the count (issue 11), in Debian's Chromium at
1280x720 and at 200% zoom: R asks for a reason and a confirmation and can be undone; Enter in the
name box confirms the name only; S on a sheet scanned twice only opens its confirmation (the tick "the
same sheet", then the button, and the server refuses the form without the tick), counting both needs an
explicit choice too, and so does counting a cross-out ballot (the tick "I looked at the paper"); after
each decision the row the keys act on is on screen; a several-choice row cannot be saved with more
choices than allowed. Screenshots go to /tmp/review-screens/slips-*.png.

The database is its own (bundled samples and crafted sheets, as in test_review_browser).
"""

from __future__ import annotations

import re
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
from test_review_app import build_review_db
from test_review_browser import CHROMIUM_ARGS, SHOTS, browser, queue, tally  # noqa: F401 (fixture)

from omr.review.model import AWAITING, REJECTED
from omr.review.server import ReviewServer
from omr.store.database import Store

pytestmark = pytest.mark.slow  # a real browser through the review screen

REVIEWER = "Phạm Văn Đức"
SIZES = {"1280x720": ({"width": 1280, "height": 720}, 1), "200pct": ({"width": 640, "height": 360}, 2)}


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_review_db(tmp_path_factory.mktemp("review-slips"), with_samples=True)


@pytest.fixture(scope="module")
def server(db: Path):
    srv = ReviewServer(db, host="127.0.0.1", port=0).start()
    yield srv
    srv.close()


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same database with no decision in it, never served: the tests on the sheet scanned twice each
    start from a copy (the samples hold one such sheet)."""
    return build_review_db(tmp_path_factory.mktemp("review-slips-pristine"), with_samples=True)


@pytest.fixture
def fresh(pristine: Path, tmp_path: Path):
    """(server, database) on a fresh copy of the pristine database."""
    db = tmp_path / "results.sqlite"
    with closing(sqlite3.connect(pristine)) as source, closing(sqlite3.connect(db)) as copy:
        source.backup(copy)
    srv = ReviewServer(db, host="127.0.0.1", port=0).start()
    yield srv, db
    srv.close()


@pytest.fixture
def pair(fresh):
    """(server, database, the suspected copy) on a fresh copy of the pristine database."""
    server, db = fresh
    (sheet,) = awaiting(db, lambda s: "duplicate" in s.codes)
    return server, db, sheet


def new_page(browser, size: str = "1280x720"):  # noqa: F811
    viewport, scale = SIZES[size]
    context = browser.new_context(viewport=viewport, device_scale_factor=scale, locale="vi-VN")
    pg = context.new_page()
    pg.set_default_timeout(15_000)
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    return context, pg, errors


REFUSED_FORM = "Failed to load resource: the server responded with a status of 400 (BAD REQUEST)"


def shot(pg, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    pg.screenshot(path=str(SHOTS / f"slips-{name}.png"))


def history(db: Path, sheet_id: int):
    with Store(db) as store:
        return store.decisions(sheet_id)


def navigate(pg, action) -> None:
    with pg.expect_navigation():
        action()
    pg.wait_for_load_state("networkidle")


def in_view(pg, selector: str) -> bool:
    return pg.locator(selector).first.evaluate(
        "e => { const r = e.getBoundingClientRect(); return r.top >= 0 && r.bottom <= window.innerHeight "
        "&& r.height > 0; }")


def give_name(pg, name: str = REVIEWER) -> None:
    if not pg.locator("#reviewer-box").evaluate("d => d.open"):
        pg.click("#reviewer-box summary")
    pg.fill("#reviewer", name)
    pg.press("#reviewer", "Enter")


def awaiting(db: Path, test) -> list:
    return [s for s in queue(db).sheets if s.state == AWAITING and test(s)]


def rows_only(s) -> bool:
    """A sheet whose problems are all in rows, each decided with one key."""
    needs = [r for r in s.rows if r.needs_decision]
    return (s.read.status == "review" and not s.sheet_needs_decision and len(needs) >= 1
            and all(r.max_marks == 1 for r in needs))


# ---------------------------------------------------------------------------------------------


def test_r_asks_for_a_reason_and_a_confirmation_and_a_rejected_sheet_can_be_restored(browser, server, db):  # noqa: F811
    sheet = awaiting(db, rows_only)[0]
    context, pg, errors = new_page(browser)
    pg.goto(f"{server.base}/sheet/{sheet.id}")
    give_name(pg)
    pg.keyboard.press("r")  # one key: the reason list opens, nothing is decided
    assert pg.locator("#reject-box").evaluate("d => d.open")
    assert pg.input_value("#reject-reason") == ""  # "— chọn lý do —": no reason chosen for the reviewer
    assert pg.locator("#reject-reason option").first.inner_text() == "— chọn lý do —"
    assert in_view(pg, "#reject-sheet")
    shot(pg, "reject-asks")
    pg.click("#reject-sheet")  # confirming without a reason: refused on the screen
    assert pg.is_visible("#reject-reason-missing")
    assert history(db, sheet.id) == []
    pg.select_option("#reject-reason", "added-content")
    navigate(pg, lambda: pg.click("#reject-sheet"))
    assert queue(db).get(sheet.id).state == REJECTED
    assert history(db, sheet.id)[-1].reason == "added-content"
    # a sheet whose problems are only in rows can be restored after a rejection
    pg.goto(f"{server.base}/sheet/{sheet.id}?show=all")
    assert pg.locator("#restore-sheet").count() == 1
    navigate(pg, lambda: pg.click("#restore-sheet"))
    assert queue(db).get(sheet.id).state != REJECTED
    assert history(db, sheet.id)[-1].action == "accept"
    t = tally(db)
    outcome = next(s for s in t["sheets"] if s["source"] == sheet.read.source and s["page"] == sheet.read.page)
    assert outcome["outcome"] == "counted"
    context.close()
    assert errors == []


def test_enter_in_the_name_box_confirms_the_name_and_nothing_else(browser, server, db):  # noqa: F811
    sheet = awaiting(db, rows_only)[-1]
    context, pg, errors = new_page(browser)
    pg.goto(f"{server.base}/sheet/{sheet.id}")
    assert pg.locator("#reviewer-box").evaluate("d => d.open")  # no name yet: the box is open
    # a shortcut before the name: the prompt, then a stray "a" goes into the name and Enter refuses it
    pg.keyboard.press("a")
    assert pg.is_visible("#reviewer-missing") and pg.evaluate("document.activeElement.id") == "reviewer"
    pg.keyboard.press("a")
    pg.keyboard.press("Enter")
    assert pg.input_value("#reviewer") == "a" and pg.is_visible("#reviewer-short")
    assert pg.url.endswith(f"/sheet/{sheet.id}") and history(db, sheet.id) == []
    # the full name and Enter: the name is confirmed, nothing is decided, the box folds
    pg.fill("#reviewer", REVIEWER)
    pg.keyboard.press("Enter")
    pg.wait_for_timeout(300)
    assert history(db, sheet.id) == [] and pg.url.endswith(f"/sheet/{sheet.id}")
    assert not pg.locator("#reviewer-box").evaluate("d => d.open")
    assert pg.inner_text("#reviewer-shown") == REVIEWER
    assert pg.evaluate("document.activeElement.id") != "reviewer"
    shot(pg, "name-confirmed")
    # the shortcuts work right after
    row = next(r for r in sheet.rows if r.needs_decision)
    navigate(pg, lambda: pg.keyboard.press("a"))
    d = history(db, sheet.id)[-1]
    assert (d.action, d.reviewer, d.row_id) == ("accept", REVIEWER, row.read.row_id)
    # without the script, Enter cannot submit either: the form's default button is a disabled one
    assert pg.locator("#decide button[type=submit]").first.evaluate("b => b.disabled")
    context.close()
    assert errors == []


def test_a_sheet_scanned_twice_counts_once_unless_a_person_says_they_are_two(browser, server, db):  # noqa: F811
    sheet = awaiting(db, lambda s: "duplicate" in s.codes)[0]
    before = tally(db)["reconciliation"]
    context, pg, errors = new_page(browser)
    pg.goto(f"{server.base}/sheet/{sheet.id}")
    give_name(pg)
    this, earlier = pg.locator("#dup-this"), pg.locator("#dup-earlier")
    for img in (this, earlier):
        img.scroll_into_view_if_needed()
        assert img.evaluate("i => i.complete && i.naturalWidth > 500")
    a, b = this.bounding_box(), earlier.bounding_box()
    assert abs(a["y"] - b["y"]) < 5 and b["x"] > a["x"] + a["width"] - 5  # side by side
    assert "Cùng một tờ phiếu: chỉ đếm một lần" in pg.inner_text("#duplicate-once-open")
    assert pg.locator("#accept-sheet").count() == 0  # no one-key "valid ballot" on a copy
    pg.evaluate("window.scrollTo(0, 0)")
    shot(pg, "duplicate")
    pg.keyboard.press("s")  # the confirmation opens; the tick and the button decide
    pg.keyboard.press("Space")
    navigate(pg, lambda: pg.click("#duplicate-once"))
    d = history(db, sheet.id)[-1]
    assert (d.action, d.reason) == ("reject-sheet", "duplicate")
    after = tally(db)["reconciliation"]
    assert (after["ballots_counted"], after["duplicates"]) == (before["ballots_counted"], before["duplicates"])
    # counting both needs the explicit choice: the button alone is refused, on the sheet
    pg.goto(f"{server.base}/sheet/{sheet.id}?show=all")
    pg.click("#count-both-box summary")
    navigate(pg, lambda: pg.click("#count-both"))
    assert pg.is_visible("#form-error") and "hai lá phiếu khác nhau" in pg.inner_text("#form-error")
    assert len(history(db, sheet.id)) == 1
    pg.click("#count-both-box summary")
    pg.check("#distinct")
    navigate(pg, lambda: pg.click("#count-both"))
    assert history(db, sheet.id)[-1].action == "accept"
    both = tally(db)["reconciliation"]
    assert both["ballots_counted"] == before["ballots_counted"] + 1
    context.close()
    assert errors == [REFUSED_FORM]  # the refused form's answer (400), nothing else


WIDTHS = {"1280": {"width": 1280, "height": 720}, "800": {"width": 800, "height": 600}}


def still_awaiting(db: Path, sheet) -> bool:
    return history(db, sheet.id) == [] and queue(db).get(sheet.id).state == AWAITING


@pytest.mark.parametrize("width", list(WIDTHS))
def test_s_on_a_sheet_scanned_twice_decides_nothing_and_shows_what_confirming_does(browser, pair, width):  # noqa: F811
    """S (once, held down, then Enter or a click on the button without the tick) leaves the copy
    awaiting a person; the confirmation it opens says this scan will not be counted, on screen."""
    server, db, sheet = pair
    context = browser.new_context(viewport=WIDTHS[width], locale="vi-VN")
    pg = context.new_page()
    pg.set_default_timeout(15_000)
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    pg.goto(f"{server.base}/sheet/{sheet.id}")
    give_name(pg)
    assert not pg.locator("#duplicate-once-box").evaluate("d => d.open")
    pg.keyboard.press("s")
    pg.wait_for_timeout(300)
    assert still_awaiting(db, sheet) and pg.url.endswith(f"/sheet/{sheet.id}")
    assert pg.locator("#duplicate-once-box").evaluate("d => d.open")
    assert pg.evaluate("document.activeElement.id") == "same-sheet" and not pg.is_checked("#same-sheet")
    for part in ("#duplicate-once-help", "#same-sheet", "#duplicate-once"):
        assert in_view(pg, part), (width, part)
    assert "Bản quét này sẽ không được đếm" in pg.inner_text("#duplicate-once-help")
    assert pg.inner_text("#duplicate-once").strip() == "✓ Xác nhận: không đếm bản quét này"
    shot(pg, f"duplicate-confirm-{width}")
    for key in ("s", "s", "s", "Enter"):  # a held key repeats; Enter on the focused box submits nothing
        pg.keyboard.press(key)
    pg.wait_for_timeout(300)
    assert still_awaiting(db, sheet) and not pg.is_checked("#same-sheet")
    pg.click("#duplicate-once")  # the button without the tick: refused on the screen
    assert pg.is_visible("#same-sheet-missing") and pg.evaluate("document.activeElement.id") == "same-sheet"
    pg.wait_for_timeout(300)
    assert still_awaiting(db, sheet) and pg.url.endswith(f"/sheet/{sheet.id}")
    context.close()
    assert errors == []


def test_s_then_the_tick_and_the_button_count_a_sheet_scanned_twice_once(browser, pair):  # noqa: F811
    server, db, sheet = pair
    before = tally(db)["reconciliation"]
    context, pg, errors = new_page(browser)
    pg.goto(f"{server.base}/sheet/{sheet.id}")
    give_name(pg)
    pg.keyboard.press("s")
    pg.keyboard.press("Space")  # the box S put the focus on
    assert pg.is_checked("#same-sheet") and still_awaiting(db, sheet)
    navigate(pg, lambda: pg.click("#duplicate-once"))
    (d,) = history(db, sheet.id)
    assert (d.scope, d.action, d.reason, d.reviewer) == ("sheet", "reject-sheet", "duplicate", REVIEWER)
    assert queue(db).get(sheet.id).state == REJECTED
    after = tally(db)["reconciliation"]
    assert (after["ballots_counted"], after["duplicates"]) == (before["ballots_counted"], before["duplicates"])
    assert "msg=done" in pg.url  # off to the next sheet
    context.close()
    assert errors == []


def test_enter_in_a_text_box_does_not_confirm_counting_a_copy_once(browser, pair):  # noqa: F811
    """Everything but the button ready (the confirmation open, the box ticked): Enter in the name box
    or the note still decides nothing."""
    server, db, sheet = pair
    context, pg, errors = new_page(browser)
    pg.goto(f"{server.base}/sheet/{sheet.id}")
    pg.keyboard.press("s")
    pg.check("#same-sheet")
    pg.fill("#reviewer", REVIEWER)
    pg.press("#reviewer", "Enter")
    pg.click("#note")
    pg.keyboard.type("hai bản quét giống nhau")
    pg.keyboard.press("Enter")
    pg.wait_for_timeout(300)
    assert still_awaiting(db, sheet) and pg.url.endswith(f"/sheet/{sheet.id}")
    assert pg.inner_text("#reviewer-shown") == REVIEWER and pg.input_value("#note") == "hai bản quét giống nhau\n"
    # a second look at the name: Enter there again, the box still ticked
    pg.click("#reviewer-box summary")
    pg.press("#reviewer", "Enter")
    pg.wait_for_timeout(300)
    assert still_awaiting(db, sheet) and pg.is_checked("#same-sheet")
    context.close()
    assert errors == []


def test_a_form_counting_a_copy_once_without_the_tick_is_refused_and_changes_nothing(browser, pair):  # noqa: F811
    """The screen's own form (CSRF token, name and all) sent with do=duplicate-once but no "same sheet"
    tick, as a crafted page or an old one would: 400, said on the sheet, nothing saved. Both ticks at
    once ("the same sheet" and "two different ballots") are refused too, whichever button sends them."""
    server, db, sheet = pair
    context, pg, errors = new_page(browser)
    statuses: list[int] = []
    pg.on("response", lambda r: statuses.append(r.status) if r.request.method == "POST" else None)
    pg.goto(f"{server.base}/sheet/{sheet.id}")
    give_name(pg)
    pg.evaluate("""() => {
        const b = document.createElement('button'); b.name = 'do'; b.value = 'duplicate-once'; b.id = 'forged';
        document.getElementById('decide').appendChild(b); }""")
    navigate(pg, lambda: pg.click("#forged"))
    assert statuses == [400] and still_awaiting(db, sheet)
    assert "hãy đánh dấu ô xác nhận rằng hai bản quét là cùng một tờ phiếu" in pg.inner_text("#form-error")
    assert "Chưa có gì được lưu" in pg.inner_text("#form-error") and in_view(pg, "#form-error")
    assert pg.input_value("#reviewer") == REVIEWER  # what was typed is still there
    for button in ("#duplicate-once", "#count-both"):
        pg.keyboard.press("s")
        pg.check("#same-sheet")
        pg.click("#count-both-box summary")
        pg.check("#distinct")
        navigate(pg, lambda b=button: pg.click(b))
        assert "cả hai ô" in pg.inner_text("#form-error"), button
        assert still_awaiting(db, sheet)
    assert statuses == [400, 400, 400]
    context.close()
    assert errors == [REFUSED_FORM] * 3


def counted(db: Path) -> dict:
    """Every row's (valid, invalid, pending, counts) in the tally."""
    return {(c["template"], c["id"], r["id"]): (r["valid"], r["invalid"], r["pending"], r["counts"])
            for c in tally(db)["contests"] for r in c["rows"]}


def test_s_on_a_cross_out_ballot_asks_for_the_paper_before_its_votes_count(browser, fresh):  # noqa: F811
    """Accepting a cross-out ballot's sheet is what counts it as stamped, its writing harmless (a ballot the
    machine saw no stamp on is invalid or pending until then): S opens the question, the tick "I looked at
    the paper" and the button decide, the server refuses the form without the tick (accept or restore). A
    ballot of another kind keeps its one-key S (test_review_browser): its rows count as read already."""
    server, db = fresh
    sheet = awaiting(db, lambda s: s.accept_settles_ballot and s.sheet_needs_decision and "stamp-absent" in s.codes)[0]
    before = counted(db)
    context, pg, errors = new_page(browser)
    statuses: list[int] = []
    pg.on("response", lambda r: statuses.append(r.status) if r.request.method == "POST" else None)
    pg.goto(f"{server.base}/sheet/{sheet.id}")
    give_name(pg)
    pg.keyboard.press("s")
    pg.wait_for_timeout(300)
    assert history(db, sheet.id) == [] and pg.locator("#accept-sheet-box").evaluate("d => d.open")
    assert pg.evaluate("document.activeElement.id") == "checked-paper" and in_view(pg, "#accept-sheet")
    assert "Chỉ tờ phiếu giấy mới cho biết điều đó" in pg.inner_text("#accept-sheet-help")
    shot(pg, "crossout-confirm")
    pg.click("#accept-sheet")  # the button without the tick: refused on the screen
    assert pg.is_visible("#checked-paper-missing")
    pg.evaluate("""() => {
        const b = document.createElement('button'); b.name = 'do'; b.value = 'accept-sheet'; b.id = 'forged';
        document.getElementById('decide').appendChild(b); }""")
    navigate(pg, lambda: pg.click("#forged"))
    assert "hãy đánh dấu ô xác nhận đã xem tờ phiếu giấy" in pg.inner_text("#form-error")
    assert history(db, sheet.id) == [] and counted(db) == before
    pg.keyboard.press("s")
    pg.keyboard.press("Space")
    navigate(pg, lambda: pg.click("#accept-sheet"))
    (d,) = history(db, sheet.id)
    assert (d.scope, d.action, d.reviewer) == ("sheet", "accept", REVIEWER)
    assert counted(db) != before  # the ballot's votes count now: what the tick vouches for
    # rejected, then restored: the same tick
    pg.goto(f"{server.base}/sheet/{sheet.id}?show=all")
    pg.keyboard.press("r")
    pg.select_option("#reject-reason", "no-stamp")
    navigate(pg, lambda: pg.click("#reject-sheet"))
    pg.goto(f"{server.base}/sheet/{sheet.id}?show=all")
    navigate(pg, lambda: pg.click("#restore-sheet"))
    assert "hãy đánh dấu ô xác nhận đã xem tờ phiếu giấy" in pg.inner_text("#form-error")
    assert history(db, sheet.id)[-1].action == "reject-sheet"
    pg.check("#checked-paper")
    navigate(pg, lambda: pg.click("#restore-sheet"))
    assert history(db, sheet.id)[-1].action == "accept"
    assert statuses == [400, 303, 303, 400, 303]
    context.close()
    assert errors == [REFUSED_FORM] * 2


@pytest.mark.parametrize("size", list(SIZES))
def test_after_each_decision_the_row_in_use_is_on_screen(browser, server, db, size):  # noqa: F811
    def several(s) -> bool:
        return rows_only(s) and sum(r.needs_decision and not r.decided for r in s.rows) >= 2

    sheet = max(awaiting(db, several), key=lambda s: sum(r.needs_decision for r in s.rows))
    needs = [r for r in sheet.rows if r.needs_decision and not r.decided]
    context, pg, errors = new_page(browser, size)
    pg.goto(f"{server.base}/sheet/{sheet.id}")
    give_name(pg)
    for done, row in enumerate(needs[:-1]):
        pg.click(f"#row-{row.index} header .rname")
        navigate(pg, lambda: pg.keyboard.press("a"))
        nxt = needs[done + 1]
        assert f"row={nxt.index}" in pg.url
        assert "focus" in (pg.get_attribute(f"#row-{nxt.index}", "class") or "")
        assert in_view(pg, f"#row-{nxt.index} [data-act=accept]"), (size, nxt.index)
        assert in_view(pg, f"#row-{nxt.index} header")
    shot(pg, f"next-row-{size}")
    context.close()
    assert errors == []


def test_a_row_cannot_be_saved_with_more_choices_than_allowed(browser, server, db):  # noqa: F811
    sheet = awaiting(db, lambda s: "undervote" in s.codes)[0]
    row = next(r for r in sheet.rows if r.needs_decision and r.max_marks > 1)
    context, pg, errors = new_page(browser)
    pg.goto(f"{server.base}/sheet/{sheet.id}")
    give_name(pg)
    for box in pg.locator(f"#row-{row.index} input[type=checkbox]").all():
        box.check()
    assert pg.is_visible(f"#row-{row.index} .choices-over")  # warned while ticking
    navigate(pg, lambda: pg.click(f"#row-{row.index} [data-act=save]"))
    assert pg.is_visible("#form-error") and f"tối đa {row.max_marks}" in pg.inner_text("#form-error")
    assert in_view(pg, "#form-error")
    assert history(db, sheet.id) == []
    shot(pg, "too-many-choices")
    context.close()
    assert errors == [REFUSED_FORM]


def test_a_database_moved_away_from_its_scans_says_what_to_do(browser, tmp_path: Path):  # noqa: F811
    db = build_review_db(tmp_path / "moved")
    (tmp_path / "moved" / "extra.pdf").rename(tmp_path / "extra-elsewhere.pdf")  # the scans are not where they were
    with Store(db) as store:
        sid = next(s.id for s in store.sheet_items() if s.read.status == "review")
    srv = ReviewServer(db, host="127.0.0.1", port=0).start()
    try:
        context, pg, errors = new_page(browser)
        pg.goto(f"{srv.base}/sheet/{sid}")
        banner = pg.locator("#scan-problem")
        assert banner.is_visible() and in_view(pg, "#scan-problem")
        words = banner.inner_text()
        assert "Không tìm thấy tệp quét của phiếu này" in words and "tải lại trang" in words
        assert str(tmp_path / "moved") in words  # where relative paths start from
        broken = pg.evaluate("Array.from(document.images).filter(i => i.complete && i.naturalWidth === 0).length")
        assert broken == 0
        shot(pg, "scans-moved")
        context.close()
        assert errors == []  # no image asked for that cannot come
    finally:
        srv.close()


def test_progress_local_times_blank_sheets_and_keeping_a_long_sheet_as_read(browser, server, db):  # noqa: F811
    context, pg, errors = new_page(browser)
    # how many sheets are left, and with the reason filtered on
    q = queue(db)
    left = q.counts()[AWAITING]
    first = next(s for s in q.filtered("no-mark", "awaiting"))
    pg.goto(f"{server.base}/sheet/{first.id}?reason=no-mark")
    assert f"còn {left} tờ chờ xem xét" in pg.inner_text("#left")
    assert f"{len(q.filtered('no-mark', 'awaiting'))} tờ có lý do “Không đánh dấu ô nào”" in pg.inner_text("#left")
    # a blank sheet: the choice is named, and the screen says how it counts under QĐ 96
    blank = awaiting(db, lambda s: "blank-sheet" in s.codes)[0]
    pg.goto(f"{server.base}/sheet/{blank.id}")
    assert "Phiếu trắng" in pg.inner_text("#accept-sheet") and "Quy định 96" in pg.inner_text("#blank-rule")
    # a long sheet: every row kept as read with one confirmation, refused without it
    long = max(awaiting(db, lambda s: s.read.status == "review"),
               key=lambda s: sum(r.needs_decision and not r.decided for r in s.rows))
    rows = [r for r in long.rows if r.needs_decision and not r.decided]
    assert len(rows) >= 4
    before = history(db, long.id)  # an earlier test may have decided one of its rows
    pg.goto(f"{server.base}/sheet/{long.id}")
    give_name(pg)
    pg.click("#bulk-box summary")
    navigate(pg, lambda: pg.click("#accept-rows"))
    assert pg.is_visible("#form-error") and history(db, long.id) == before
    assert pg.input_value("#reviewer") == REVIEWER  # what was typed is still there
    pg.click("#bulk-box summary")
    pg.check("#bulk-confirm")
    navigate(pg, lambda: pg.click("#accept-rows"))
    made = [d for d in history(db, long.id) if d not in before]
    assert sorted(d.row_id for d in made) == sorted(r.read.row_id for r in rows)
    assert {(d.action, d.reviewer) for d in made} == {("accept", REVIEWER)}
    assert all(r.decided for r in queue(db).get(long.id).rows if r.needs_decision)
    # times in the history: local time, with its zone
    pg.goto(f"{server.base}/sheet/{long.id}?show=all")
    when = pg.inner_text("#history tbody tr td")
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d (UTC|[+-]\d\d(\d\d)?)", when), when
    context.close()
    assert errors == [REFUSED_FORM]


def test_the_reviewers_name_is_forgotten_when_the_screen_is_left_idle(browser, server, db):  # noqa: F811
    server.config.reviewer_idle_s = 2
    try:
        sheet = awaiting(db, rows_only)[0]
        context, pg, errors = new_page(browser)
        pg.goto(f"{server.base}/sheet/{sheet.id}")
        give_name(pg)
        assert pg.inner_text("#reviewer-shown") == REVIEWER
        pg.wait_for_timeout(2600)  # nobody at the keyboard
        assert pg.input_value("#reviewer") == "" and pg.locator("#reviewer-box").evaluate("d => d.open")
        assert pg.inner_text("#reviewer-shown") == "chưa nhập"
        pg.evaluate("document.activeElement.blur()")
        pg.keyboard.press("a")  # the next person's key asks for their name; nothing is decided
        assert pg.is_visible("#reviewer-missing") and history(db, sheet.id) == history(db, sheet.id)
        context.close()
        assert errors == []
    finally:
        server.config.reviewer_idle_s = 30 * 60
