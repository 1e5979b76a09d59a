"""`omr audit` and `omr verify` on real files: simulated scans in PDFs and a PNG, a real SQLite file,
and everything an auditor must catch done to them the way a person would do it (pixels changed and
the file saved again, a file deleted, a file added, a read and a decision edited in SQLite behind the
guard triggers, a threshold changed). Each is caught and named; a clean re-run reports nothing."""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pypdfium2 as pdfium
import pytest
import yaml
from conftest import LEADERS_TEMPLATE, ROOT, SEED_TEMPLATE

from ballot_sim import simulate as S
from omr.audit.compare import compare_environment, compare_profiles, compare_sheet, compare_totals, match_files
from omr.audit.findings import AuditError
from omr.audit.rerun import run_audit
from omr.ballot.layout import layout
from omr.ballot.template import load_template
from omr.read.calibration import load_profile
from omr.read.results import MarkRead, Reason, Registration, RowRead, SheetRead
from omr.store.chain import canonical_json, chain_hash, sheet_payload
from omr.store.database import Store
from omr.store.environment import tool_code_sha256

TEMPLATES = [str(SEED_TEMPLATE), str(LEADERS_TEMPLATE)]


def omr(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "cli.py"), *args], capture_output=True, text=True, timeout=600)


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def drop_guards(db: Path) -> sqlite3.Connection:
    """What someone with the sqlite3 shell does first: drop the triggers that refuse edits."""
    con = sqlite3.connect(db)
    for (name,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
        con.execute(f"DROP TRIGGER {name}")
    return con


# --------------------------------------------------------------------------------------------------
# Pure comparisons


def sheet(**changes) -> SheetRead:
    marks = (MarkRead("c", "p1", "cao", 0.2, "marked", 0.1, 0.0), MarkRead("c", "p1", "thap", 0.001, "blank"))
    read = SheetRead("scans/a.pdf", 3, "ok", (), "ab" * 32, "t", "f" * 64, 1, False, None,
                     Registration(0, 4, 0.05, 7.87, tuple(range(9))),
                     (RowRead("c", "p1", "valid", (), ("cao",), marks),), {"contrast": 120.0}, b"\x01")
    return replace(read, **changes)


def with_mark(read: SheetRead, option: str, **changes) -> SheetRead:
    row = read.rows[0]
    marks = tuple(replace(m, **changes) if m.option_id == option else m for m in row.marks)
    return replace(read, rows=(replace(row, marks=marks),))


def test_compare_sheet_names_each_change_and_ignores_paths_and_wording() -> None:
    a = sheet()
    assert compare_sheet(a, a) == []
    moved = replace(a, source="D:/audit/a.pdf", reasons=())
    assert compare_sheet(a, moved) == []  # another computer, another path: the same read
    kinds = {d.kind for d in compare_sheet(a, with_mark(a, "thap", state="marked", score=0.3))}
    assert "vote-flip" in kinds
    flips = compare_sheet(a, with_mark(a, "cao", state="blank", score=0.002), "a.pdf")
    assert [(d.kind, d.where, d.before, d.after) for d in flips if d.kind == "vote-flip"] == [
        ("vote-flip", "a.pdf page 3, c / p1 / cao", "marked (0.2000)", "blank (0.0020)")]
    marginal = compare_sheet(a, with_mark(a, "cao", state="marginal", score=0.02))
    assert [d.kind for d in marginal] == ["marginal"] and marginal[0].severity == "marginal"
    score = compare_sheet(a, with_mark(a, "cao", score=0.2001))
    assert [(d.kind, d.severity) for d in score] == [("score", "minor")]
    status = compare_sheet(a, replace(a, status="review", reasons=(Reason("extra-writing", "x"),)))
    assert [d.kind for d in status] == ["sheet-status"] and "extra-writing" in status[0].detail
    row = a.rows[0]
    choices = compare_sheet(a, replace(a, rows=(replace(row, status="invalid", choices=()),)))
    assert {d.kind for d in choices} == {"row-status", "row-choices"}
    assert {d.kind for d in compare_sheet(a, replace(a, fingerprint="0" * 64))} == {"sheet-identity"}
    assert {d.kind for d in compare_sheet(a, replace(a, image_sha256="cd" * 32))} == {"numbers"}
    same_words = replace(a, status="review", reasons=(Reason("duplicate", "the same sheet as /x/b.pdf page 2"),))
    assert compare_sheet(same_words, replace(same_words, reasons=(Reason("duplicate", "as D:/y/b.pdf page 2"),))) == []


def test_match_files_pairs_content_then_paths_and_names_the_rest() -> None:
    recorded = {"a1": ["scans/batch-01.pdf"], "b1": ["scans/batch-02.pdf"], "c1": ["scans/sub/loose.png"]}
    archived = {"a1": ["/audit/scans/batch-01.pdf"], "b2": ["/audit/scans/batch-02.pdf"], "x9": ["/audit/new.pdf"]}
    pairs, missing, extra = match_files(recorded, archived)
    assert pairs == {"a1": "a1", "b2": "b1"}  # b2: the file at batch-02.pdf with other bytes: altered
    assert missing == ["c1"] and extra == ["x9"]
    # the longest shared tail wins: two folders hold a scan001.pdf
    pairs, _, _ = match_files({"o1": ["day1/scan001.pdf"], "o2": ["day2/scan001.pdf"]},
                              {"n2": ["/a/day2/scan001.pdf"], "n1": ["/a/day1/scan001.pdf"]})
    assert pairs == {"n1": "o1", "n2": "o2"}


def test_compare_totals_names_template_contest_row_and_field() -> None:
    before = {"provisional": False, "reconciliation": {"ballots_counted": 10, "duplicates": 1, "pages": []},
              "contests": [{"id": "tin-nhiem", "template": "t1", "rows": [
                  {"id": "p01", "name": "Trần Văn An", "valid": 9, "invalid": 1, "band": "none",
                   "counts": {"cao": 5, "tin-nhiem": 3, "thap": 1}, "percent": {"cao": 50.0}}]}]}
    assert compare_totals(before, json.loads(json.dumps(before))) == []
    after = json.loads(json.dumps(before))
    after["contests"][0]["rows"][0]["counts"]["thap"] = 2
    after["contests"][0]["rows"][0]["percent"]["cao"] = 45.0  # derived: not listed on its own
    after["reconciliation"]["ballots_counted"] = 11
    diffs = {(d.item, d.before, d.after) for d in compare_totals(before, after)}
    assert diffs == {("tin-nhiem / p01: counts.thap", "1", "2"), ("ballots: ballots_counted", "10", "11")}
    assert "Trần Văn An" in compare_totals(before, after)[0].detail


def test_environment_and_threshold_differences_are_said_by_name() -> None:
    recorded = {"tool": "0.1.0", "tool_code": "a" * 64, "python": "3.11.7",
                "libraries": {"numpy": "1.26.4", "opencv": "4.9.0"}}
    here = {"tool": "0.1.0", "tool_code": "b" * 64, "python": "3.12.1",
            "libraries": {"numpy": "1.26.4", "opencv": "4.10.0"}}
    assert compare_environment(recorded, here) == [
        "Python 3.11.7 when read, 3.12.1 here",
        f"the tool's code (SHA-256 of its source) {'a' * 16}… when read, {'b' * 16}… here",
        "opencv 4.9.0 when read, 4.10.0 here"]
    assert compare_environment(recorded, recorded) == []
    default = load_profile().to_json()
    assert compare_profiles(default, {**default, "marked_at_least": 0.05, "description": "other words"}) == [
        "marked_at_least: 0.03 recorded, 0.05 used"]


# --------------------------------------------------------------------------------------------------
# A counted batch: simulated scans read by `omr scan` into a real database


@pytest.fixture(scope="module")
def counted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three scanner PDFs (one holds a sheet of the first scanned again) and a loose PNG, read by
    `omr scan` with copies of the templates that are then deleted, and a human decision."""
    root = tmp_path_factory.mktemp("counted")
    tdir = root / "templates"
    tdir.mkdir()
    copies = [str(Path(shutil.copy(p, tdir))) for p in TEMPLATES]
    templates = [load_template(p) for p in copies]
    sim = S.Simulator(templates, seed=61)
    first = list(sim.pages(6, ("office-scanner",)))
    archive = root / "archive"
    S.write_pages(first, archive, "batch-01.pdf", "pdf")
    S.write_pages(list(sim.pages(4, ("1bit",), start=10)), archive, "batch-02.pdf", "pdf")
    again = next(p for p in first if sum(b.expected == "marked" for b in p.expected.boxes) >= 3)
    S.write_pages([sim.rescan(again, "office-scanner", 1)], archive, "batch-03.pdf", "pdf")
    S.write_pages(sim.ballot(20, templates[0], "clean", behaviours=("normal",)), archive, "loose-01.png", "png")
    db = root / "results.sqlite"
    proc = omr("scan", str(archive), "--template", *copies, "--db", str(db), "--jobs", "2")
    assert proc.returncode == 1, proc.stdout + proc.stderr  # sheets need review (the duplicate at least)
    with Store(db) as store:  # a person decides a row, as the review screen does
        sid, read = next((s.id, s.read) for s in store.sheet_items() if s.read.status == "review"
                         and not s.read.test and s.read.rows and s.read.rows[0].marks)
        row = read.rows[0]
        store.add_decision(sid, scope="row", contest_id=row.contest_id, row_id=row.row_id, action="set",
                           choices=[row.marks[0].option_id], reviewer="Trần Thị B")
    shutil.rmtree(tdir)  # the template files the run recorded are gone: the auditor brings them
    return root


@pytest.fixture
def work(counted: Path, tmp_path: Path) -> tuple[Path, Path]:
    """A private copy of the archive and the database, to do things to."""
    shutil.copytree(counted / "archive", tmp_path / "archive")
    shutil.copy(counted / "results.sqlite", tmp_path / "results.sqlite")
    return tmp_path / "archive", tmp_path / "results.sqlite"


def audit(archive: Path, db: Path, *extra: str) -> tuple[subprocess.CompletedProcess, dict]:
    out = db.parent / "audit.json"
    proc = omr("audit", str(archive), "--db", str(db), "--template", *TEMPLATES, "--json", str(out), *extra)
    assert proc.returncode in (0, 1), proc.stdout + proc.stderr
    return proc, json.loads(out.read_text(encoding="utf-8"))


def kinds(report: dict) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for d in report["differences"]:
        out.setdefault(d["kind"], []).append(d)
    return out


def pdf_text(path: Path) -> str:
    doc = pdfium.PdfDocument(str(path))
    try:
        return "\n".join(doc[i].get_textpage().get_text_range() for i in range(len(doc)))
    finally:
        doc.close()


@pytest.mark.slow
def test_a_clean_rerun_reports_nothing_exits_0_and_never_writes_the_database(work) -> None:
    archive, db = work
    before = {p.name: file_sha256(p) for p in db.parent.iterdir() if p.name.startswith(db.name)}
    report_pdf = db.parent / "audit.pdf"
    proc, report = audit(archive, db, "--report", str(report_pdf), "--jobs", "2")
    assert proc.returncode == 0, proc.stdout
    assert "AUDIT PASSED" in proc.stdout and "database log: intact" in proc.stdout
    assert report["passed"] and report["differences"] == []
    assert report["sheets"]["before"] == report["sheets"]["after"] == report["sheets"]["compared"] == 12
    assert report["digest"]["before"] == report["digest"]["after"]
    assert report["file_counts"] == {"same": 4}
    totals = report["totals"]
    assert totals["before"] is not None and totals["before"]["contests"] == totals["after"]["contests"]
    assert totals["before"]["reconciliation"]["duplicates"] == 1  # the sheet scanned twice counts once
    assert [t["status"] for t in report["templates"]] == ["match", "match"]
    # the audited file is never written: same bytes, no -wal or -shm left behind
    assert {p.name: file_sha256(p) for p in db.parent.iterdir() if p.name.startswith(db.name)} == before
    text = pdf_text(report_pdf)
    assert "PASSED" in text and "loose-01.png" in text and "Trần Thị B" not in text
    assert "Nguyễn Hồng Quang" in text  # the seed ballot's person, in the totals, with every diacritic


def paint_box(png: Path, read: SheetRead, contest: str, row: str, option: str) -> None:
    """Ink a box of a scanned page, through the page transform the read recorded, and save the file."""
    pixels = cv2.imread(str(png), cv2.IMREAD_GRAYSCALE)
    template = load_template(SEED_TEMPLATE)
    box = next(b for b in layout(template).pages[read.template_page - 1].boxes
               if (b.contest_id, b.row_id, b.option_id) == (contest, row, option))
    r = box.rect.grow(-0.8)
    corners = np.array([[r.x, r.y], [r.x + r.w, r.y], [r.x + r.w, r.y + r.h], [r.x, r.y + r.h]], dtype=np.float64)
    h = np.array(read.registration.homography).reshape(3, 3)
    px = cv2.perspectiveTransform(corners.reshape(-1, 1, 2), h).reshape(-1, 2)
    cv2.fillConvexPoly(pixels, np.round(px).astype(np.int32), 30)
    assert cv2.imwrite(str(png), pixels)


@pytest.mark.slow
def test_a_scan_file_altered_is_caught_and_the_vote_it_makes_is_named(work) -> None:
    archive, db = work
    png = archive / "loose-01.png"
    with Store(db) as store:
        read = next(s.read for s in store.sheet_items() if s.source_sha256 == file_sha256(png))
    row = read.rows[0]
    blank = next(m for m in row.marks if m.state == "blank")
    paint_box(png, read, row.contest_id, row.row_id, blank.option_id)
    pdf = db.parent / "audit.pdf"
    proc, report = audit(archive, db, "--report", str(pdf))
    assert proc.returncode == 1 and "AUDIT FAILED" in proc.stdout
    found = kinds(report)
    assert [d["file"] for d in found["file-altered"]] == [str(png)]
    text = pdf_text(pdf)
    assert "FAILED" in text and "VOTE FLIP" in text and "file altered" in text and "loose-01.png" in text
    doc = pdfium.PdfDocument(str(pdf))  # what the auditor sees, as an image (kept with the test's files)
    doc[0].render(scale=2).to_pil().save(db.parent / "audit-page-1.png")
    doc.close()
    flip = found["vote-flip"]
    assert [(d["where"], d["before"].split()[0], d["after"].split()[0]) for d in flip] == [
        (f"{png} page 1, {row.contest_id} / {row.row_id} / {blank.option_id}", "blank", "marked")]
    assert found["row-choices"][0]["before"] == ", ".join(row.choices)
    assert report["digest"]["before"] != report["digest"]["after"]
    assert report["file_counts"] == {"same": 3, "altered": 1}
    assert f"vote-flip {png} page 1, {row.contest_id} / {row.row_id} / {blank.option_id}: blank" in proc.stdout


@pytest.mark.slow
def test_a_file_deleted_and_a_file_added_are_caught_and_named(work, tmp_path: Path) -> None:
    archive, db = work
    (archive / "batch-02.pdf").unlink()
    sim = S.Simulator([load_template(p) for p in TEMPLATES], seed=62)
    S.write_pages(list(sim.pages(2, ("clean",))), archive, "batch-04.pdf", "pdf")
    proc, report = audit(archive, db)
    assert proc.returncode == 1
    found = kinds(report)
    missing = found["file-missing"]
    assert len(missing) == 1 and missing[0]["file"].endswith("batch-02.pdf") and "4 sheet(s)" in missing[0]["detail"]
    assert [d["file"] for d in found["file-extra"]] == [str(archive / "batch-04.pdf")]
    assert "2 sheet(s)" in found["file-extra"][0]["detail"]
    assert "sheet-missing" not in found and "sheet-extra" not in found  # named once, by file
    assert any(d["item"] == "ballots: sheets_read" and (d["before"], d["after"]) == ("12", "10")
               for d in found["total"])
    assert report["file_counts"] == {"same": 3, "missing": 1, "extra": 1}
    assert "file-missing" in proc.stdout and "file-extra" in proc.stdout


def ok_blank_box(db: Path) -> tuple[int, str, int, str, str, str]:
    """(sheet id, file SHA-256, page, contest, row, option) of a blank box on a sheet read ok."""
    with Store(db) as store:
        for stored in store.sheet_items():
            sid, sha, read = stored.id, stored.source_sha256, stored.read
            if read.status == "ok" and not read.test:
                for row in read.rows:
                    for m in row.marks:
                        if m.state == "blank":
                            return sid, sha, read.page, row.contest_id, row.row_id, m.option_id
    raise AssertionError("no blank box on an ok sheet")


@pytest.mark.slow
def test_a_read_edited_in_sqlite_is_caught_by_verify_and_by_the_audit(work) -> None:
    archive, db = work
    sid, sha, page, contest, row, option = ok_blank_box(db)
    con = drop_guards(db)  # an attacker turns a blank box into a vote
    con.execute("UPDATE marks SET score = 0.4321, state = 'marked' WHERE sheet_id = ? AND contest_id = ? "
                "AND row_id = ? AND option_id = ?", (sid, contest, row, option))
    con.commit()
    entry = next(eid for eid, payload in con.execute("SELECT id, payload FROM log WHERE kind = 'sheet'")
                 if json.loads(payload)["source_sha256"] == sha and json.loads(payload)["page"] == page)
    con.close()
    verify = omr("verify", "--db", str(db))
    assert verify.returncode == 1
    assert f"first broken entry: log entry {entry}" in verify.stdout
    assert ".marks[" in verify.stdout and f"({option}).score: log has" in verify.stdout
    assert "database has 0.4321" in verify.stdout
    proc, report = audit(archive, db)
    assert proc.returncode == 1
    found = kinds(report)
    assert [d["item"] for d in found["integrity"]] == [f"log entry {entry}"]
    flip = [d for d in found["vote-flip"] if d["item"] == f"{contest} / {row} / {option}"]
    assert len(flip) == 1 and flip[0]["before"] == "marked (0.4321)" and flip[0]["after"].startswith("blank")


@pytest.mark.slow
def test_a_decision_edited_through_writable_schema_is_caught(work) -> None:
    """A careful attacker: no DROP TRIGGER in any log; the guards are taken out of sqlite_master with
    writable_schema, the decision changed, and the guards put back so the schema looks untouched."""
    archive, db = work
    con = sqlite3.connect(db)
    guards = con.execute("SELECT type, name, tbl_name, rootpage, sql FROM sqlite_master "
                         "WHERE type = 'trigger'").fetchall()
    (did, choices), = con.execute("SELECT id, choices FROM decisions").fetchall()
    con.execute("PRAGMA writable_schema = ON")
    con.execute("DELETE FROM sqlite_master WHERE type = 'trigger'")
    con.commit()
    con.close()
    con = sqlite3.connect(db)
    new = "thap" if json.loads(choices) != ["thap"] else "cao"
    con.execute("UPDATE decisions SET choices = ? WHERE id = ?", (json.dumps([new]), did))
    con.commit()
    con.execute("PRAGMA writable_schema = ON")
    con.executemany("INSERT INTO sqlite_master (type, name, tbl_name, rootpage, sql) VALUES (?, ?, ?, ?, ?)", guards)
    con.commit()
    con.close()
    con = sqlite3.connect(db)
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):  # the guards are back
        con.execute("UPDATE decisions SET note = 'x'")
    con.close()
    verify = omr("verify", "--db", str(db))
    assert verify.returncode == 1 and f"(decision {did} by Trần Thị B): the database was edited" in verify.stdout
    assert f'choices[0]: log has {json.dumps(json.loads(choices)[0])}, database has "{new}"' in verify.stdout
    proc, report = audit(archive, db)
    assert proc.returncode == 1 and "database log: BROKEN" in proc.stdout
    assert any(f"decision {did}" in d["detail"] for d in kinds(report)["integrity"])


@pytest.mark.slow
def test_a_forged_log_passes_verify_but_not_the_published_head_nor_the_audit(work) -> None:
    """Rewriting the log after the edit (every hash recomputed) makes a self-consistent chain: only
    the head printed in the minutes and the re-read of the scans still catch it."""
    archive, db = work
    with Store(db) as store:
        published = store.log_head().hash
    sid, sha, page, contest, row, option = ok_blank_box(db)
    con = drop_guards(db)
    con.execute("UPDATE marks SET score = 0.3, state = 'marked' WHERE sheet_id = ? AND contest_id = ? "
                "AND row_id = ? AND option_id = ?", (sid, contest, row, option))
    con.execute("UPDATE rows SET choices = ? WHERE sheet_id = ? AND contest_id = ? AND row_id = ?",
                (json.dumps([option]), sid, contest, row))
    con.commit()
    con.close()
    with Store(db) as store:
        forged = canonical_json(sheet_payload(store.sheet(sid), sha))
    con = sqlite3.connect(db)
    entries = con.execute("SELECT id, payload, prev_hash FROM log ORDER BY id").fetchall()
    prev = None  # from the forged entry on, every entry is chained again
    for eid, payload, prev_hash in entries:
        obj = json.loads(payload)
        if obj["kind"] == "sheet" and (obj["source_sha256"], obj["page"]) == (sha, page):
            payload, prev = forged, prev_hash
        if prev is not None:
            digest = chain_hash(prev, payload)
            con.execute("UPDATE log SET payload = ?, prev_hash = ?, hash = ? WHERE id = ?",
                        (payload, prev, digest, eid))
            prev = digest
    con.commit()
    con.close()
    assert omr("verify", "--db", str(db)).returncode == 0  # the chain alone cannot tell
    against_head = omr("verify", "--db", str(db), "--head", published)
    assert against_head.returncode == 1 and "published log head" in against_head.stdout
    proc, report = audit(archive, db)
    assert proc.returncode == 1
    assert [d["item"] for d in kinds(report)["vote-flip"]] == [f"{contest} / {row} / {option}"]


@pytest.mark.slow
def test_a_different_threshold_is_caught_and_named(work, tmp_path: Path) -> None:
    archive, db = work
    strict = tmp_path / "strict.yaml"
    strict.write_text(yaml.safe_dump({**load_profile().to_json(), "name": "strict", "blank_below": 0.15,
                                      "marked_at_least": 0.4}), encoding="utf-8")
    proc, report = audit(archive, db, "--calibration", str(strict))
    assert proc.returncode == 1
    assert "WARNING calibration: run 1 recorded calibration 'default'; the audit re-reads with 'strict'" in proc.stdout
    assert "blank_below: 0.005 recorded, 0.15 used" in proc.stdout and "marked_at_least: 0.03 recorded, 0.4 used" \
        in proc.stdout
    found = kinds(report)
    assert found.get("vote-flip") or found.get("marginal")
    assert report["runs"][0]["calibration_used"]["marked_at_least"] == 0.4


@pytest.mark.slow
def test_a_threshold_edited_in_the_run_record_is_caught(work) -> None:
    archive, db = work
    con = drop_guards(db)
    con.execute("UPDATE runs SET calibration = json_set(calibration, '$.blank_below', 0.15, '$.marked_at_least', 0.4)")
    con.commit()
    con.close()
    verify = omr("verify", "--db", str(db))
    assert verify.returncode == 1 and "first broken entry: log entry 1" in verify.stdout
    assert "run-start of run 1" in verify.stdout and "calibration.blank_below: log has 0.005, database has 0.15" \
        in verify.stdout
    proc, report = audit(archive, db)
    assert proc.returncode == 1
    assert report["runs"][0]["calibration_used"]["marked_at_least"] == 0.4  # as recorded, now edited
    found = kinds(report)
    assert found["integrity"] and (found.get("vote-flip") or found.get("marginal"))


@pytest.mark.slow
def test_the_templates_must_be_the_ones_the_run_recorded(work, tmp_path: Path) -> None:
    archive, db = work
    with pytest.raises(AuditError, match="does not exist here.*Pass the template files"):
        run_audit([str(archive)], db)  # the recorded paths are gone and none was given
    edited = tmp_path / "edited.yaml"
    edited.write_text(SEED_TEMPLATE.read_text(encoding="utf-8").replace("Nguyễn Hồng Quang", "Nguyễn Hồng Quân"),
                      encoding="utf-8")
    with pytest.raises(AuditError) as caught:
        run_audit([str(archive)], db, [str(edited), str(LEADERS_TEMPLATE)])
    message = str(caught.value)
    assert "used template tin-nhiem-cdyt-dong-nai-2023" in message and f"{edited} has fingerprint" in message
    proc = omr("audit", str(archive), "--db", str(db), "--template", str(edited), str(LEADERS_TEMPLATE))
    assert proc.returncode == 2 and "cannot re-read with the same templates" in proc.stderr


@pytest.mark.slow
def test_what_differs_on_the_auditors_computer_is_said(work) -> None:
    archive, db = work
    with Store(db) as store:  # every run records the code that read, not only the version number
        assert store.runs()[0].environment["tool_code"] == tool_code_sha256()
    con = drop_guards(db)
    con.execute("UPDATE runs SET environment = json_set(environment, '$.libraries.numpy', '1.0.0', "
                "'$.python', '3.9.1', '$.tool_code', ?)", ("c" * 64,))
    con.commit()
    con.close()
    report = run_audit([str(archive)], db, TEMPLATES)
    notes = [n.message for n in report.notes if n.topic == "environment"]
    assert any(n.startswith("Python 3.9.1 when read,") for n in notes)
    assert any(n.startswith("numpy 1.0.0 when read,") and n.endswith("(run 1)") for n in notes)
    assert any(n.startswith(f"the tool's code (SHA-256 of its source) {'c' * 16}… when read,") for n in notes)
    assert [d.kind for d in report.differences] == ["integrity"]  # the reads agree; the record was edited


@pytest.mark.slow
def test_verify_reports_an_intact_log_with_its_head_and_refuses_what_is_not_a_database(work, tmp_path) -> None:
    _, db = work
    proc = omr("verify", "--db", str(db))
    assert proc.returncode == 0 and "log intact" in proc.stdout
    with Store(db) as store:
        head = store.log_head().hash
    assert head in proc.stdout
    assert omr("verify", "--db", str(db), "--head", head).returncode == 0
    assert omr("verify", "--db", str(db), "--head", "0" * 64).returncode == 1
    con = drop_guards(db)  # an edit that leaves a value the tool cannot even read back
    con.execute("UPDATE sheets SET metrics = 'garbage' WHERE id = 2")
    con.commit()
    con.close()
    broken = omr("verify", "--db", str(db))
    assert broken.returncode == 1 and "first problem: sheets row 2: metrics is not what the tool writes" \
        in broken.stdout
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"not a database at all" * 100)
    bad = omr("verify", "--db", str(junk))
    assert bad.returncode == 2 and "error:" in bad.stderr
    assert omr("verify", "--db", str(tmp_path / "none.sqlite")).returncode == 2


# --------------------------------------------------------------------------------------------------
# Two runs: the order and the thresholds of each run are what the audit repeats


@pytest.mark.slow
def test_each_run_is_replayed_in_its_order_with_its_own_thresholds(tmp_path: Path) -> None:
    """Run 1 reads b-first.pdf then c-again.pdf (a sheet of b scanned again: flagged); run 2, with
    another profile (its file since deleted), reads a-late.pdf (another sheet of b scanned again:
    flagged, though its name sorts first). The auditor receives the files renamed 3.pdf, 1.pdf and
    2.pdf: read in path order, the first copies would be flagged instead of the later ones."""
    templates = [load_template(p) for p in TEMPLATES]
    sim = S.Simulator(templates, seed=63)
    first = list(sim.pages(4, ("office-scanner",)))
    k1, k2 = [i for i, p in enumerate(first) if sum(b.expected == "marked" for b in p.expected.boxes) >= 3][:2]
    scans = tmp_path / "scans"
    S.write_pages(first, scans, "b-first.pdf", "pdf")
    S.write_pages([sim.rescan(first[k1], "office-scanner", 5)], scans, "c-again.pdf", "pdf")
    S.write_pages([sim.rescan(first[k2], "office-scanner", 6)], scans, "a-late.pdf", "pdf")
    profile = tmp_path / "office-b.yaml"
    profile.write_text(yaml.safe_dump({**load_profile().to_json(), "name": "office-b", "blank_below": 0.006,
                                       "marked_at_least": 0.035}), encoding="utf-8")
    db = tmp_path / "results.sqlite"
    run1 = omr("scan", str(scans / "b-first.pdf"), str(scans / "c-again.pdf"), "--template", *TEMPLATES, "--db",
               str(db))
    run2 = omr("scan", str(scans / "a-late.pdf"), "--template", *TEMPLATES, "--db", str(db), "--calibration",
               str(profile))
    # the copies are said in the ballots' language (issue 11: "quét trùng", a sheet scanned twice)
    assert run1.returncode == run2.returncode == 1 and "quét trùng" in run1.stdout and "quét trùng" in run2.stdout
    profile.unlink()
    received = tmp_path / "received"
    received.mkdir()
    for old, new in (("b-first.pdf", "3.pdf"), ("c-again.pdf", "1.pdf"), ("a-late.pdf", "2.pdf")):
        shutil.copy(scans / old, received / new)
    report = run_audit([str(received)], db)  # no --template: the paths the runs recorded still hold them
    assert report.passed, [str(d) for d in report.differences]
    assert [r["calibration_used"]["name"] for r in report.runs] == ["default", "office-b"]
    assert report.runs[1]["calibration_used"]["marked_at_least"] == 0.035
    assert {t.used_path for t in report.templates} == set(TEMPLATES)
    # what one read of the received folder in path order gives instead: the first copies flagged
    naive = tmp_path / "naive.sqlite"
    assert omr("scan", str(received), "--template", *TEMPLATES, "--db", str(naive)).returncode == 1

    def flagged(path: Path) -> set[tuple[str, int]]:
        with Store(path) as store:
            return {(Path(r.source).name, r.page) for r in store.sheets() if any(x.code == "duplicate"
                                                                                 for x in r.reasons)}

    assert flagged(db) == {("c-again.pdf", 1), ("a-late.pdf", 1)}
    assert flagged(naive) == {("3.pdf", k1 + 1), ("3.pdf", k2 + 1)}


def test_the_digest_of_lines_sorted_by_sqlite_is_that_of_sorted_lines() -> None:
    """omr scan sorts a batch's digest lines in a temporary SQLite database (BINARY collation of UTF-8),
    not in memory: the same order as Python's sorted() by code point, so the same digest, with lines that
    differ only past the ASCII range (Vietnamese letters, one in the astral plane) and prefixes."""
    import sqlite3

    from omr.audit.digest import keys_digest, sorted_keys_digest

    lines = ["{\"a\":1}", "{\"a\":1}", "Bà", "Ba", "Bá", "Bạ", "B\U0001f600", "B\uffff", "B", "Ông", "ông", "Z",
             "{\"a\":10}", "{\"a\":1,\"b\":\"Đ\"}"]
    with sqlite3.connect("") as conn:
        conn.execute("CREATE TABLE lines (line TEXT NOT NULL)")
        conn.executemany("INSERT INTO lines VALUES (?)", [(x,) for x in reversed(lines)])
        ordered = [x for (x,) in conn.execute("SELECT line FROM lines ORDER BY line")]
    assert ordered == sorted(lines)
    assert sorted_keys_digest(ordered) == keys_digest(lines)
