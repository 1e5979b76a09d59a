"""The review screen in a real browser (Debian's headless Chromium, driven by Playwright): from the
queue, through a sheet of every reason, to a tally that changed accordingly, then to a final count.

The database is real: the bundled sample scans and a few crafted scanned sheets (faint, blurred,
undervote, a name under a broad stroke) read by `omr scan`'s batch runner. Screenshots of every main
screen go to /tmp/review-screens/ (look at them: a committee member must be able to use it).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from test_review_app import build_review_db

from omr.count.stored import compute_tally
from omr.review.model import AWAITING, DECIDED, REJECTED, TemplateShelf, load_queue
from omr.review.server import ReviewServer
from omr.store.database import Store

pytestmark = pytest.mark.slow  # a real browser through the review app

SHOTS = Path("/tmp/review-screens")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run"]
REASONS = ("marginal-mark", "no-mark", "several-marks", "overvote", "undervote", "crossed-out-name", "name-obscured",
           "extra-writing", "blank-sheet", "duplicate", "streak-over-boxes", "blurred", "faint", "identified-by-print",
           "rejected")
REVIEWER = "Nguyễn Thị Hoa"


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_review_db(tmp_path_factory.mktemp("review-browser"), with_samples=True)


@pytest.fixture(scope="module")
def server(db: Path):
    srv = ReviewServer(db, host="127.0.0.1", port=0).start()
    yield srv
    srv.close()


@pytest.fixture(scope="module")
def browser():
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.fail("Debian's chromium is needed for the browser tests: `bash scripts/test.sh` installs it "
                    "(apt-get install -y chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("Playwright for Python is needed for the browser tests: pip install playwright "
                    "(never `playwright install`: it drives Debian's chromium)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, server):
    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="vi-VN")
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    pg.set_default_timeout(15_000)
    yield pg
    context.close()
    assert errors == [], errors  # no script error, no failed resource on any screen


def shot(pg, name: str, full: bool = False) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    pg.screenshot(path=str(SHOTS / f"{name}.png"), full_page=full)


def queue(db: Path):
    with Store(db) as store:
        return load_queue(store, TemplateShelf(store))


def tally(db: Path) -> dict:
    with Store(db) as store:
        return compute_tally(store).to_json()


def tally_row(t: dict, template: str, contest: str, row: str) -> dict:
    for c in t["contests"]:
        if c["template"] == template and c["id"] == contest:
            return next(r for r in c["rows"] if r["id"] == row)
    raise KeyError((template, contest, row))


def tally_sheet(t: dict, source: str, page: int) -> dict | None:
    return next((s for s in t["sheets"] if s["source"] == source and s["page"] == page), None)


def pending_everywhere(db: Path) -> tuple[set[int], set[int]]:
    """(sheets the queue says await a person and that count, sheets omr.count.tally says are pending)."""
    q = queue(db)
    # a suspected copy awaits a person in both (issue 10): counted once only when they confirm it
    mine = {s.id for s in q.sheets if s.state == AWAITING and s.read.status == "review" and not s.read.test}
    with Store(db) as store:
        theirs = {s.sheet_id for s in compute_tally(store).sheets if s.pending}
    return mine, theirs


ROW_TESTS = {  # the row to decide, for reasons found in rows
    # a faint mark alone in its row: what the reviewer sets is the row's only vote
    "marginal-mark": lambda r: r.max_marks == 1 and r.contest is not None and r.contest.kind == "confidence"
    and not any(m.state == "marked" for m in r.read.marks),
    "no-mark": lambda r: r.contest is not None and r.contest.kind == "confidence",
    "several-marks": lambda r: r.contest is not None and r.contest.kind == "confidence",
    "overvote": lambda r: True,
    "undervote": lambda r: True,
    "crossed-out-name": lambda r: True,
}


def plan(db: Path) -> dict:
    """A distinct sheet awaiting review for every reason (with its row for row reasons): the
    rarest reasons choose first, so a sheet that is the only one of its kind is kept for it."""
    sheets = [s for s in queue(db).sheets if s.state == AWAITING]

    def candidates(code: str) -> list:
        test = ROW_TESTS.get(code)
        out = []
        for s in sheets:
            if code not in s.codes:
                continue
            if test is None:
                out.append((s, None))
                continue
            row = next((r for r in s.rows if r.needs_decision and code in r.codes and test(r)), None)
            if row is not None:
                out.append((s, row))
        return out

    chosen: dict = {}
    used: set[int] = set()
    for code in sorted(REASONS, key=lambda c: len(candidates(c))):
        free = [(s, r) for s, r in candidates(code) if s.id not in used]
        assert free, f"no sheet awaiting review for {code}"
        free.sort(key=lambda sr: len(sr[0].codes))  # the plainest sheet of that reason
        chosen[code] = free[0]
        used.add(free[0][0].id)
    return chosen


def open_from_queue(pg, base: str, code: str, sheet_id: int) -> None:
    """Queue -> the reason's filter chip -> the sheet's row in the filtered list."""
    pg.goto(f"{base}/queue")
    with pg.expect_navigation():
        pg.click(f"a.chip.reason[data-code='{code}']")
    assert f"reason={code}" in pg.url
    rows = pg.locator("table.queue tbody tr")
    assert rows.count() >= 1
    for i in range(rows.count()):  # every listed sheet has the reason
        assert rows.nth(i).locator(f".tag[data-code='{code}']").count() == 1
    with pg.expect_navigation():
        pg.click(f"tr[data-sheet='{sheet_id}'] a.btn")
    assert re.search(rf"/sheet/{sheet_id}\?reason={code}", pg.url), pg.url
    pg.wait_for_load_state("networkidle")
    # the reason is written out in words next to the sheet image
    assert pg.locator(f".reasonlist li[data-code='{code}']").count() >= 1


def press(pg, key: str) -> None:
    with pg.expect_navigation():
        pg.keyboard.press(key)
    pg.wait_for_load_state("networkidle")


def click(pg, selector: str) -> None:
    with pg.expect_navigation():
        pg.click(selector)
    pg.wait_for_load_state("networkidle")


def focus_row(pg, index: int) -> None:
    pg.click(f"#row-{index} header .rname")
    assert "focus" in (pg.get_attribute(f"#row-{index}", "class") or "")


def latest(db: Path, sheet_id: int):
    with Store(db) as store:
        return store.decisions(sheet_id)


def state(db: Path, sheet_id: int) -> str:
    return queue(db).get(sheet_id).state


# ---------------------------------------------------------------------------------------------


def test_queue_and_tally_agree_on_what_awaits_a_person(db: Path) -> None:
    q = queue(db)
    codes = {c for s in q.sheets for c in s.codes}
    assert set(REASONS) <= codes, set(REASONS) - codes
    mine, theirs = pending_everywhere(db)
    assert mine and mine == theirs


def test_from_the_queue_through_every_reason_to_the_final_count(page, server, db: Path) -> None:
    pg, base = page, server.base
    chosen = plan(db)
    q0 = queue(db)
    t0 = tally(db)
    assert t0["provisional"] is True

    # the queue: counts, reasons in words with their counts
    pg.goto(f"{base}/queue")
    assert pg.inner_text("#count-awaiting") == str(q0.counts()[AWAITING])
    for code in REASONS:
        chip = pg.locator(f"a.chip.reason[data-code='{code}']")
        assert chip.count() == 1, code
        n = sum(1 for s in q0.sheets if s.state == AWAITING and code in s.codes)
        assert chip.locator("b").inner_text() == str(n), code
    assert "Chờ xem xét" in pg.inner_text("body") and "Bắt đầu xem xét" in pg.inner_text("#start")
    shot(pg, "01-queue")

    # --- marginal mark: the reviewer sees the faint mark and records it (keyboard: row, digit)
    sheet, row = chosen["marginal-mark"]
    marginal = max((m for m in row.read.marks if m.state == "marginal"), key=lambda m: m.score)
    option_n = [o for o, _ in row.options].index(marginal.option_id) + 1
    before = tally_row(t0, sheet.read.template_id, row.read.contest_id, row.read.row_id)
    open_from_queue(pg, base, "marginal-mark", sheet.id)
    assert pg.locator("#registered-img").evaluate("i => i.complete && i.naturalWidth > 1000")
    for img in pg.locator(f"#row-{row.index} img.zoom").all():  # the row, and a close-up of its boxes
        assert img.evaluate("i => i.complete && i.naturalWidth > 300")
    assert pg.locator(f"#row-{row.index} img.zoom.boxes").count() == 1
    focus_row(pg, row.index)
    assert pg.locator(f".hl.row.active[data-row='{row.index}']").count() == 1  # the row is highlighted on the sheet
    shot(pg, "02-sheet-marginal-mark")
    pg.keyboard.press(str(option_n))  # no reviewer name yet: refused, with a message, nothing written
    assert pg.is_visible("#reviewer-missing") and latest(db, sheet.id) == []
    pg.fill("#reviewer", REVIEWER)
    pg.fill("#note", "dấu X nhạt nhưng rõ ràng")
    pg.evaluate("document.activeElement.blur()")
    pg.click(f"#row-{row.index} header .rname")
    press(pg, str(option_n))
    d = latest(db, sheet.id)[-1]
    assert (d.action, d.choices, d.reviewer, d.note) == ("set", (marginal.option_id,), REVIEWER,
                                                         "dấu X nhạt nhưng rõ ràng")
    t1 = tally(db)
    after = tally_row(t1, sheet.read.template_id, row.read.contest_id, row.read.row_id)
    assert after["counts"][marginal.option_id] == before["counts"][marginal.option_id] + 1
    assert (after["pending"], after["valid"]) == (before["pending"] - 1, before["valid"] + 1)
    marginal_sheet, marginal_row = sheet, row

    # --- no mark: the reviewer sees a mark the machine missed and sets it (mouse)
    sheet, row = chosen["no-mark"]
    before = tally_row(tally(db), sheet.read.template_id, row.read.contest_id, row.read.row_id)
    open_from_queue(pg, base, "no-mark", sheet.id)
    assert pg.input_value("#reviewer") == REVIEWER  # remembered
    click(pg, f"#row-{row.index} button[value='set:{row.index}:cao']")
    after = tally_row(tally(db), sheet.read.template_id, row.read.contest_id, row.read.row_id)
    assert (after["counts"]["cao"], after["valid"], after["invalid"]) == (
        before["counts"]["cao"] + 1, before["valid"] + 1, before["invalid"] - 1)

    # --- several marks: the row is invalid (keyboard X; the reason comes preselected)
    sheet, row = chosen["several-marks"]
    before = tally_row(tally(db), sheet.read.template_id, row.read.contest_id, row.read.row_id)
    open_from_queue(pg, base, "several-marks", sheet.id)
    assert pg.input_value(f"#invalid-reason-{row.index}") == "several-marks"
    focus_row(pg, row.index)
    press(pg, "x")
    assert (latest(db, sheet.id)[-1].action, latest(db, sheet.id)[-1].reason) == ("invalid", "several-marks")
    t = tally(db)
    after = tally_row(t, sheet.read.template_id, row.read.contest_id, row.read.row_id)
    assert (after["valid"], after["invalid"]) == (before["valid"], before["invalid"])  # it was counted invalid
    sheet_t = tally_sheet(t, sheet.read.source, sheet.read.page)
    assert f"{row.read.contest_id}/{row.read.row_id}" not in sheet_t["awaiting_review"]

    # --- overvote: keep the machine read (keyboard A): the contest stays invalid on this ballot
    sheet, row = chosen["overvote"]
    before = tally_row(tally(db), sheet.read.template_id, row.read.contest_id, row.read.row_id)
    open_from_queue(pg, base, "overvote", sheet.id)
    assert re.search("→ (không hợp lệ|invalid)", pg.inner_text(f"#row-{row.index} [data-act=accept]"))
    focus_row(pg, row.index)
    press(pg, "a")
    assert latest(db, sheet.id)[-1].action == "accept"
    after = tally_row(tally(db), sheet.read.template_id, row.read.contest_id, row.read.row_id)
    assert (after["valid"], after["invalid"]) == (before["valid"], before["invalid"])
    assert state(db, sheet.id) == DECIDED

    # --- undervote: tick the two people the voter meant, save (several choices: checkboxes)
    sheet, row = chosen["undervote"]
    before = tally_row(tally(db), sheet.read.template_id, row.read.contest_id, row.read.row_id)
    open_from_queue(pg, base, "undervote", sheet.id)
    for box in pg.locator(f"#row-{row.index} input[type=checkbox]").all():
        box.uncheck()
    pg.check(f"#row-{row.index} input[value='an']")
    pg.check(f"#row-{row.index} input[value='binh']")
    click(pg, f"#row-{row.index} button[value='setmany:{row.index}']")
    assert latest(db, sheet.id)[-1].choices == ("an", "binh")
    after = tally_row(tally(db), sheet.read.template_id, row.read.contest_id, row.read.row_id)
    assert (after["valid"], after["invalid"]) == (before["valid"] + 1, before["invalid"] - 1)
    for chosen_option in ("an", "binh"):
        assert after["counts"][chosen_option] == before["counts"][chosen_option] + 1

    # --- crossed-out name: confirmed invalid (the reason is preselected)
    sheet, row = chosen["crossed-out-name"]
    open_from_queue(pg, base, "crossed-out-name", sheet.id)
    assert pg.input_value(f"#invalid-reason-{row.index}") == "crossed-out-name"
    click(pg, f"#row-{row.index} [data-act=invalid]")
    assert latest(db, sheet.id)[-1].reason == "crossed-out-name"

    # --- name obscured: the reviewer judges it a strike-through: that row invalid, the sheet kept
    sheet, _ = chosen["name-obscured"]
    row = sheet.rows[0]
    before = tally_row(tally(db), sheet.read.template_id, row.read.contest_id, row.read.row_id)
    open_from_queue(pg, base, "name-obscured", sheet.id)
    assert pg.locator("#sheet-card img.zoom").count() >= 1  # zoom on the stroke
    shot(pg, "03-sheet-name-obscured")
    if not pg.locator("details.others").evaluate("d => d.open"):  # rows read as valid are folded away
        pg.click("details.others summary")
    pg.select_option(f"#invalid-reason-{row.index}", "crossed-out-name")
    click(pg, f"#row-{row.index} [data-act=invalid]")
    assert state(db, sheet.id) == AWAITING  # the sheet-level finding still needs its decision
    press(pg, "s")
    assert state(db, sheet.id) == DECIDED
    after = tally_row(tally(db), sheet.read.template_id, row.read.contest_id, row.read.row_id)
    assert (after["valid"], after["invalid"]) == (before["valid"] - 1, before["invalid"] + 1)

    # --- extra writing: added content, the whole ballot is rejected (keyboard R)
    sheet, _ = chosen["extra-writing"]
    t = tally(db)
    open_from_queue(pg, base, "extra-writing", sheet.id)
    shot(pg, "04-sheet-extra-writing")
    pg.evaluate("document.activeElement.blur()")
    pg.keyboard.press("r")  # R asks for the reason and a confirmation: nothing is decided yet
    assert pg.locator("#reject-box").evaluate("d => d.open") and pg.input_value("#reject-reason") == ""
    assert latest(db, sheet.id) == [] and state(db, sheet.id) == AWAITING
    pg.select_option("#reject-reason", "added-content")
    click(pg, "#reject-sheet")
    assert state(db, sheet.id) == REJECTED
    t2 = tally(db)
    assert t2["reconciliation"]["rejected_detail"]["rejected_by_reviewer"] == \
        t["reconciliation"]["rejected_detail"]["rejected_by_reviewer"] + 1
    assert tally_sheet(t2, sheet.read.source, sheet.read.page)["outcome"] == "rejected-by-reviewer"

    # --- blank sheet, streak over boxes, blurred, QR unreadable: a valid ballot, keep counting (S)
    for code in ("blank-sheet", "streak-over-boxes", "blurred", "identified-by-print"):
        sheet, _ = chosen[code]
        open_from_queue(pg, base, code, sheet.id)
        press(pg, "s")
        d = latest(db, sheet.id)[-1]
        assert (d.scope, d.action) == ("sheet", "accept"), code
        sheet_t = tally_sheet(tally(db), sheet.read.source, sheet.read.page)
        assert sheet_t is not None and code not in sheet_t["awaiting_review"], code
        assert sheet_t["outcome"] == "counted"

    # --- faint: the committee cannot trust it: rejected as unreadable (mouse)
    sheet, _ = chosen["faint"]
    open_from_queue(pg, base, "faint", sheet.id)
    pg.click("#reject-open")
    pg.select_option("#reject-reason", "unreadable")
    click(pg, "#reject-sheet")
    assert (latest(db, sheet.id)[-1].action, latest(db, sheet.id)[-1].reason) == ("reject-sheet", "unreadable")

    # --- duplicate: the copy is confirmed (reason preselected); it still counts once
    sheet, _ = chosen["duplicate"]
    dups = tally(db)["reconciliation"]["duplicates"]
    open_from_queue(pg, base, "duplicate", sheet.id)
    assert pg.locator("#sheet-card a.btn.small").count() == 1  # a link to the earlier scan
    shot(pg, "05-sheet-duplicate")
    pg.keyboard.press("s")  # the main action on a copy opens its confirmation: the same sheet, counted once
    assert latest(db, sheet.id) == [] and pg.locator("#duplicate-once-box").evaluate("d => d.open")
    pg.keyboard.press("Space")  # the box S focused: "I compared the two scans: the same sheet"
    click(pg, "#duplicate-once")
    assert (latest(db, sheet.id)[-1].action, latest(db, sheet.id)[-1].reason) == ("reject-sheet", "duplicate")
    assert state(db, sheet.id) == REJECTED and tally(db)["reconciliation"]["duplicates"] == dups

    # --- rejected by the machine (not issued by the committee): the original scan, then confirm
    sheet, _ = chosen["rejected"]
    open_from_queue(pg, base, "rejected", sheet.id)
    assert pg.is_visible("#pane-original") and pg.locator("#original-img").evaluate("i => i.naturalWidth > 500")
    assert pg.locator("#accept-sheet").count() == 0  # it cannot be counted from here
    shot(pg, "06-sheet-rejected-by-machine")
    assert pg.input_value("#reject-reason") == ""  # the reviewer chooses the reason
    pg.select_option("#reject-reason", "not-issued")
    click(pg, "#reject-sheet")
    assert state(db, sheet.id) == REJECTED
    assert tally_sheet(tally(db), sheet.read.source, sheet.read.page)["outcome"] == "not-issued"

    # --- a revision: back to the marginal mark, another choice; the history keeps both
    other = next(o for o, _ in marginal_row.options if o != marginal.option_id)
    pg.goto(f"{base}/sheet/{marginal_sheet.id}?show=all")
    pg.click("#tab-original")  # the original scan is one click away
    pg.locator("#original-img").wait_for(state="visible")
    assert pg.locator("#original-img").evaluate("i => i.complete && i.naturalWidth > 500")
    pg.click("#tab-registered")
    # the row's counts just before the revision (the steps between decided other sheets of the same ballot)
    before = tally_row(tally(db), marginal_sheet.read.template_id, marginal_row.read.contest_id,
                       marginal_row.read.row_id)
    click(pg, f"#row-{marginal_row.index} button[value='set:{marginal_row.index}:{other}']")
    history = pg.locator("#history tbody tr")
    assert history.count() >= 2 and pg.locator("#history tr.superseded").count() >= 1
    shot(pg, "07-sheet-revised-history", full=True)
    after = tally_row(tally(db), marginal_sheet.read.template_id, marginal_row.read.contest_id,
                      marginal_row.read.row_id)
    assert after["counts"][marginal.option_id] == before["counts"][marginal.option_id] - 1
    assert after["counts"][other] == before["counts"][other] + 1
    assert [after[k] for k in ("valid", "invalid", "pending")] == [before[k] for k in ("valid", "invalid", "pending")]

    # --- results: PROVISIONAL while anything awaits review, the numbers of omr.count.tally
    pg.goto(f"{base}/results")
    t = tally(db)
    assert t["provisional"] is True and pg.is_visible("#provisional")
    assert "TẠM THỜI" in pg.inner_text("#provisional")
    cell = pg.locator(f"section[data-contest='{marginal_row.read.contest_id}'] "
                      f"tr[data-row='{marginal_row.read.row_id}'] td[data-option='{other}'] b")
    want = tally_row(t, marginal_sheet.read.template_id, marginal_row.read.contest_id,
                     marginal_row.read.row_id)["counts"][other]
    assert str(want) in [c.inner_text() for c in cell.all()]
    shot(pg, "08-results-provisional")

    # --- the language switch (the screen follows the template's language until then)
    pg.goto(f"{base}/queue")
    click(pg, "#lang-switch")
    assert "Review queue" in pg.inner_text("header.top") and "Awaiting review" in pg.inner_text("body")
    shot(pg, "09-queue-english")
    click(pg, "#lang-switch")
    assert "Danh sách chờ" in pg.inner_text("header.top")

    mine, theirs = pending_everywhere(db)
    assert mine == theirs

    # --- everything else decided (as a second reviewer would, through the store), the last sheet here
    rest = [s for s in queue(db).sheets if s.state == AWAITING]
    last = next(s for s in rest if s.read.status == "review" and not s.sheet_needs_decision
                and all(r.max_marks == 1 for r in s.rows if r.needs_decision))
    with Store(db) as store:
        for s in rest:
            if s.id == last.id:
                continue
            if s.read.status == "rejected" or "duplicate" in s.codes:
                store.add_decision(s.id, scope="sheet", action="reject-sheet", reason="other", reviewer="Trần Văn B")
                continue
            if s.sheet_needs_decision:
                store.add_decision(s.id, scope="sheet", action="accept", reviewer="Trần Văn B")
            for r in s.rows:
                if r.needs_decision and r.latest is None and (r.read.status == "review" or not s.sheet_needs_decision):
                    store.add_decision(s.id, scope="row", action="accept", reviewer="Trần Văn B",
                                       contest_id=r.read.contest_id, row_id=r.read.row_id)
    assert [s.id for s in queue(db).sheets if s.state == AWAITING] == [last.id]
    pg.goto(f"{base}/results")
    assert pg.is_visible("#provisional")
    pg.goto(f"{base}/next")
    assert pg.url.startswith(f"{base}/sheet/{last.id}")
    for r in [r for r in last.rows if r.needs_decision]:
        focus_row(pg, r.index)
        press(pg, "a")
    assert "msg=done" in pg.url  # the sheet is done: off to the next one (none: the queue)
    assert pg.url.startswith(f"{base}/queue")
    assert pg.is_visible(".done-note") and pg.inner_text("#count-awaiting") == "0"
    pg.goto(f"{base}/results")
    assert pg.is_visible("#final") and not pg.is_visible("#provisional")
    assert tally(db)["provisional"] is False
    shot(pg, "10-results-final")
