"""The committee's whole day, as subprocesses: simulated scans of sample ballots (marked with known
votes, plus a blank ballot, a sheet scanned twice, a test-deck sheet and a sheet the committee never
issued) -> `omr scan` -> `omr tally` -> minutes and exports; a person's decision; `omr tally` again.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest
from conftest import ROOT, SEED_TEMPLATE
from pypdf import PdfReader

from ballot_sim import simulate as S
from omr.ballot.layout import layout
from omr.ballot.template import load_template
from omr.store.database import Store

pytestmark = pytest.mark.slow  # a day of counting from scans: one scan of a batch for the module

VOTES = ["thap", "thap", "cao", "thap", "cao", "thap", None]  # None: a ballot left blank


def omr(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "cli.py"), *args], capture_output=True, text=True, timeout=300)


def pdf_text(path: Path) -> str:
    """The PDF's text as pypdf extracts it, NFC, with every run of white space made one space (table
    cells wrap their words over lines)."""
    text = unicodedata.normalize("NFC", "\n".join(p.extract_text() or "" for p in PdfReader(str(path)).pages))
    return " ".join(text.split())


def _ballot(sim: S.Simulator, template, index: int, option: str | None) -> S.SimulatedPage:
    rng = sim.rng(index)
    clean = sim.clean(template, 200.0)[0]
    person = template.contests[0].rows[0].id
    marks = () if option is None else (S.BoxMark("tin-nhiem", person, option, "x"),)
    plan = S.SheetPlan(("normal",) if option else ("blank",), "blue-ballpoint", marks)
    marked = S.mark_sheet(clean, plan, rng)
    scan = S.scan_page(marked, S.draw_scan_settings("clean", rng, template.paper_size_mm, 200.0), rng)
    contests = {c.id: c for c in template.contests}
    expected = S.expected_page(marked, scan, contests, sheet=f"b{index}", ballot=f"b{index}")
    return S.SimulatedPage(scan, expected, marked)


@pytest.fixture(scope="module")
def day(tmp_path_factory: pytest.TempPathFactory) -> dict:
    work = tmp_path_factory.mktemp("day")
    template = load_template(SEED_TEMPLATE)
    sim = S.Simulator([template], seed=404)
    ballots = [_ballot(sim, template, i, vote) for i, vote in enumerate(VOTES)]
    rescan = sim.rescan(ballots[1], "clean", 1)  # the second ballot goes through the feeder again
    test_sheet = sim.ballot(50, template, "clean", kind="test")[0]
    foreign = sim.ballot(51, template, "clean", behaviours=["normal"], kind="foreign")[0]
    scans = work / "scans"
    S.write_pages(ballots[:4], scans, "lo-1.pdf", "pdf")
    S.write_pages(ballots[4:] + [rescan, test_sheet, foreign], scans, "lo-2.pdf", "pdf")
    db = work / "results.sqlite"
    scan = omr("scan", str(scans), "--template", str(SEED_TEMPLATE), "--db", str(db))
    assert scan.returncode == 1, scan.stdout + scan.stderr  # sheets need review
    return {"work": work, "db": db, "template": template, "scan": scan}


def tally(day: dict, out: str, *extra: str) -> subprocess.CompletedProcess:
    return omr("tally", "--db", str(day["db"]), "--issued", "9", "--collected", "8", "--convened", "10",
               "--present", "9", "--batch", "lo-1=4", "--batch", "lo-2=4", "-o", str(day["work"] / out), *extra)


def test_a_day_of_counting_from_scans_to_signed_minutes(day: dict) -> None:
    # 1. the first tally: the blank ballot and the suspected copy await a person: PROVISIONAL
    first = tally(day, "provisional")
    assert first.returncode == 1, first.stdout + first.stderr
    assert "TẠM TÍNH" in first.stdout  # the terminal speaks the ballot's language (issue 11)
    out = day["work"] / "provisional"
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert results["provisional"] is True
    rec = results["reconciliation"]
    # 7 ballots + 1 sheet not issued = 8 collected; the copy and the test sheet are left out
    assert (rec["sheets_read"], rec["valid_sheets"], rec["duplicates"], rec["test_sheets"]) == (10, 7, 1, 1)
    assert (rec["rejected_detail"]["not_issued"], rec["invalid_ballots"], rec["accounted"]) == (1, 1, 8)
    assert (rec["missing"], rec["extra"], rec["pending_review"], rec["reconciled"]) == (0, 0, 2, True)
    assert {b["name"]: (b["hand_count"], b["ballots"]) for b in rec["batches"]} == {"lo-1": (4, 4), "lo-2": (4, 4)}
    assert {d["code"] for d in rec["discrepancies"]} == {"duplicate", "test-deck", "not-issued"}
    row = results["contests"][0]["rows"][0]
    # 4 "tín nhiệm thấp" of 8 collected: exactly one half, which is not over half; the blank ballot
    # could still become a fifth, so the band is not settled
    assert row["counts"] == {"cao": 2, "tin-nhiem": 0, "thap": 4}
    assert (row["valid"], row["invalid"], row["pending"]) == (6, 2, 0)
    assert row["percent"] == {"cao": 25.0, "tin-nhiem": 0.0, "thap": 50.0}
    assert (row["band"], row["band_settled"]) == ("none", False)
    assert next(s for s in results["sheets"] if s["awaiting_review"])["source"].endswith("lo-2.pdf")
    text = pdf_text(out / "bien-ban-kiem-phieu.pdf")
    assert "TẠM TÍNH" in text and "không ký bản tạm tính" in text
    assert "50,00" in text and "Nguyễn Hồng Quang" in text and "Được kiểm, CHỜ XEM XÉT" in text
    # the ballot cards in the box do not depend on review: the manifest is importable as it is; the
    # sheet awaiting review is what makes Arlo refuse the CVR file
    rows = list(csv.DictReader(io.StringIO((out / "manifest.csv").read_text(encoding="utf-8-sig"))))
    assert [(r["Batch Name"], r["Number of Ballots"]) for r in rows] == [("lo-1", "4"), ("lo-2", "4")]
    assert "pending-review" in (out / "cvr-dominion.csv").read_text(encoding="utf-8-sig")
    cvr = json.loads((out / "cvr.json").read_text(encoding="utf-8"))
    assert "PROVISIONAL" in cvr["Notes"] and len(cvr["CVR"]) == 7

    # 2. a member of the committee looks at the blank ballot and confirms it (no mark: invalid), and
    # confirms that the suspected copy is the same sheet fed twice (counted once)
    with Store(day["db"]) as store:
        sheet_id = next(s.id for s in store.sheet_items() if s.read.status == "review"
                        and not any(r.code == "duplicate" for r in s.read.reasons))
        store.add_decision(sheet_id, scope="sheet", action="accept", reviewer="Lê Văn Cường",
                           reason="phiếu trắng, không đánh dấu")
        copy_id = next(s.id for s in store.sheet_items() if any(r.code == "duplicate" for r in s.read.reasons))
        store.add_decision(copy_id, scope="sheet", action="reject-sheet", reviewer="Lê Văn Cường",
                           reason="duplicate")

    # 3. the final tally: nothing awaits review, the numbers reconcile, the quorum is met
    final = tally(day, "final")
    assert final.returncode == 0, final.stdout + final.stderr
    out = day["work"] / "final"
    assert sorted(p.name for p in out.iterdir()) == [
        "bien-ban-kiem-phieu.pdf", "cvr-dominion.csv", "cvr.json", "manifest-hybrid.csv", "manifest.csv",
        "results-vi.csv", "results.csv", "results.json", "results.xlsx"]
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert results["provisional"] is False and results["reconciled"] is True
    row = results["contests"][0]["rows"][0]
    assert (row["counts"]["thap"], row["band"], row["band_settled"]) == (4, "none", True)
    text = pdf_text(out / "bien-ban-kiem-phieu.pdf")
    assert "TẠM TÍNH" not in text
    for phrase in ("BIÊN BẢN KIỂM PHIẾU", "ĐẢNG BỘ TRƯỜNG CAO ĐẲNG Y TẾ ĐỒNG NAI", "Số phiếu phát ra",
                   "Số phiếu thu về", "Số phiếu hợp lệ", "Số phiếu không hợp lệ", "Tín nhiệm thấp",
                   "TRƯỞNG BAN KIỂM PHIẾU", "CÁC THÀNH VIÊN BAN KIỂM PHIẾU", "lo-2.pdf", "Lê Văn Cường", "quét trùng",
                   "không do Ban kiểm phiếu phát ra", "phiếu thử", "đủ 2/3"):
        assert phrase in text, phrase
    assert "25,00" in text and "50,00" in text and "25.00" not in text
    rows = list(csv.DictReader(io.StringIO((out / "manifest.csv").read_text(encoding="utf-8-sig"))))
    assert [(r["Container"], r["Batch Name"], r["Number of Ballots"]) for r in rows] == [
        ("scans", "lo-1", "4"), ("scans", "lo-2", "4")]
    assert "pending-review" not in (out / "cvr-dominion.csv").read_text(encoding="utf-8-sig")
    # each record's image: the scanned file, found by its path under the scans folder and its SHA-256
    cvr = json.loads((out / "cvr.json").read_text(encoding="utf-8"))
    for record in cvr["CVR"]:
        location = record["BallotImage"][0]["Location"]
        assert location.startswith(f"file:{record['BatchId']}.pdf#page=")
        scanned = day["work"] / "scans" / location[len("file:"):].partition("#")[0]
        assert record["BallotImage"][0]["Hash"]["Value"] == hashlib.sha256(scanned.read_bytes()).hexdigest()
    # the reports say what the simulator drew
    expected = {"cao": VOTES.count("cao"), "tin-nhiem": 0, "thap": VOTES.count("thap")}
    assert row["counts"] == expected
    assert len(layout(day["template"]).pages) == 1


def test_tally_refuses_what_it_cannot_count(day: dict, tmp_path: Path) -> None:
    missing = omr("tally", "--db", str(tmp_path / "none.sqlite"), "--issued", "1", "--collected", "1")
    assert missing.returncode == 2 and "no such results database" in missing.stderr
    half = omr("tally", "--db", str(day["db"]), "--issued", "9", "--collected", "8", "--convened", "10")
    assert half.returncode == 2 and "--present" in half.stderr
    bad = omr("tally", "--db", str(day["db"]), "--issued", "9", "--collected", "-1")
    assert bad.returncode == 2
    wrong = omr("tally", "--db", str(day["db"]), "--issued", "9", "--collected", "8", "--template",
                str(ROOT / "ballot_templates" / "tin-nhiem-28-lanh-dao.yaml"), "-o", str(tmp_path / "x"))
    assert wrong.returncode == 2 and "no template for the fingerprint" in wrong.stderr
    assert not (tmp_path / "x").exists()


def test_a_hand_count_that_disagrees_is_said_on_the_minutes_and_in_the_exit_code(day: dict) -> None:
    proc = omr("tally", "--db", str(day["db"]), "--issued", "9", "--collected", "9", "--batch", "lo-1=5",
               "--batch", "lo-2=4", "-o", str(day["work"] / "short"))
    assert proc.returncode == 1
    assert "Đối chiếu số phiếu: CHƯA KHỚP" in proc.stdout
    text = pdf_text(day["work"] / "short" / "bien-ban-kiem-phieu.pdf")
    assert "SỐ LIỆU CHƯA KHỚP" in text and "Thiếu 1 phiếu" in text and "Lô lo-1" in text
