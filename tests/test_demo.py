"""`omr demo`: the committee's day on the bundled samples, for real (PDFs, SQLite, worker processes)."""

from __future__ import annotations

import json
import shlex
import shutil
import sqlite3
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest
from conftest import ROOT
from pypdf import PdfReader

pytestmark = pytest.mark.slow  # the committee's whole day on the bundled samples

SAMPLES = ROOT / "sample_scans"
DEMO = json.loads((SAMPLES / "demo-decisions.json").read_text(encoding="utf-8"))
VIETNAMESE = ("tin-nhiem-28-lanh-dao", "tin-nhiem-cdyt-dong-nai-2023")
ELECTIONS = ("bau-cu-hdnd-phuong-a5", "bau-bch-cdyt-dong-nai-2025")


def omr(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "omr", *args], capture_output=True, text=True, cwd=cwd, timeout=900)


def pdf_text(path: Path) -> str:
    return unicodedata.normalize("NFC", " ".join(p.extract_text() for p in PdfReader(path).pages))


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess, Path]:
    cwd = tmp_path_factory.mktemp("demo")
    return omr("demo", "-o", "out", "--jobs", "2", cwd=cwd), cwd / "out"


def test_the_demo_prints_scans_decides_tallies_and_writes_the_minutes(demo) -> None:
    done, out = demo
    assert done.returncode == 0, done.stdout + done.stderr
    # how to open the review screen: a command that works from any folder (the venv is not activated)
    (line,) = [x for x in done.stdout.splitlines() if f" review --db {out.resolve() / 'results.sqlite'}" in x]
    command = shlex.split(line)[:-3]
    assert subprocess.run([*command, "--version"], capture_output=True, cwd="/").returncode == 0, line
    # the ballots, printed
    for template in DEMO["hand_counts"]:
        assert len(PdfReader(out / "ballots" / f"{template}.pdf").pages) >= 1
    # one set of minutes and exports per ballot, each with the demonstration's hand counts
    for template, counts in DEMO["hand_counts"].items():
        results = json.loads((out / template / "results.json").read_text(encoding="utf-8"))
        assert results["provisional"] is False, f"{template}: a doubt was left undecided"
        assert results["reconciliation"]["collected"] == counts["collected"]
        for name in ("results.csv", "cvr.json", "manifest.csv"):
            assert (out / template / name).stat().st_size > 0
    for template in VIETNAMESE:
        text = pdf_text(out / template / "bien-ban-kiem-phieu.pdf")
        assert "BIÊN BẢN KIỂM PHIẾU" in text
    # the two cross-out elections of the samples: counted, reconciled, minutes of an election
    for template in ELECTIONS:
        results = json.loads((out / template / "results.json").read_text(encoding="utf-8"))
        (e,) = results["elections"]
        assert results["reconciled"] is True and e["valid"] > 0 and e["invalid"] > 0
        assert "BIÊN BẢN KẾT QUẢ KIỂM PHIẾU BẦU CỬ" in pdf_text(out / template / "bien-ban-kiem-phieu.pdf")
        assert (out / template / "election.csv").stat().st_size > 0
    # the samples hold a phone photo of page 1 alone of a two-page ballot: said, never hidden
    leaders = json.loads((out / "tin-nhiem-28-lanh-dao" / "results.json").read_text(encoding="utf-8"))
    assert leaders["reconciled"] is False
    assert [d["code"] for d in leaders["reconciliation"]["discrepancies"] if d["severity"] == "error"] == [
        "incomplete-ballot"]
    # ... and a 1-bit re-scan of a seed ballot, which the duplicate check cannot prove (no paper texture):
    # one sheet more than collected, and the first pair of sheets named to look at is that sheet's two scans
    seed = json.loads((out / "tin-nhiem-cdyt-dong-nai-2023" / "results.json").read_text(encoding="utf-8"))
    assert seed["reconciled"] is False
    (extra,) = [d for d in seed["reconciliation"]["discrepancies"] if d["severity"] == "error"]
    assert (extra["code"], extra["count"]) == ("extra", 1)
    expected = json.loads((SAMPLES / "expected.json").read_text(encoding="utf-8"))["pages"]
    first_scan = {p["id"]: p for p in expected}
    (copy,) = [p for p in expected if p["duplicate_of"] and p["template"] == "tin-nhiem-cdyt-dong-nai-2023"
               and p["bilevel"] and first_scan[p["duplicate_of"]]["bilevel"]]
    original = first_scan[copy["duplicate_of"]]
    named = extra["alike"][0]
    assert {(Path(named[k]["source"]).name, named[k]["page"]) for k in ("first", "second")} == {
        (original["file"], original["page"]), (copy["file"], copy["page"])}


def test_the_demonstration_decides_only_doubtful_sheets_under_its_own_name(demo) -> None:
    _, out = demo
    with sqlite3.connect(out / "results.sqlite") as db:
        decisions = db.execute("SELECT d.reviewer, s.status FROM decisions d JOIN sheets s ON s.id = d.sheet_id"
                               ).fetchall()
    assert len(decisions) > 50
    assert {reviewer for reviewer, _ in decisions} == {"DEMO — not a real review"}
    assert {status for _, status in decisions} == {"review"}  # never a sheet the machine read without doubt


def test_the_demo_never_empties_a_folder_it_did_not_make(tmp_path: Path) -> None:
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "results.sqlite").write_bytes(b"a real count")
    done = omr("demo", "-o", "mine", cwd=tmp_path)
    assert done.returncode == 2
    assert "not made by `omr demo`" in done.stderr
    assert (tmp_path / "mine" / "results.sqlite").read_bytes() == b"a real count"


def test_the_demonstration_decisions_are_those_derived_from_the_samples_truth() -> None:
    """demo-decisions.json is what make_demo_decisions.py derives from expected.json, nothing edited by hand."""
    sys.path.insert(0, str(SAMPLES))
    try:
        from make_demo_decisions import demo_decisions
    finally:
        sys.path.remove(str(SAMPLES))
    expected = json.loads((SAMPLES / "expected.json").read_text(encoding="utf-8"))
    assert demo_decisions(expected) == DEMO
    assert DEMO["reviewer"] == "DEMO — not a real review"
    assert DEMO["demonstration"].startswith("DEMONSTRATION ONLY")


def test_the_scan_counts_what_awaits_a_person_as_the_review_screen_does(demo, tmp_path: Path) -> None:
    """omr scan says how many sheets await a person without reading every sheet back (awaiting_count:
    the sheets in doubt, a batch at a time): the review screen's number, on the demo's database with all,
    some and none of its decisions (removed from copies, their append-only trigger dropped)."""
    from omr.review.model import AWAITING, TemplateShelf, awaiting_count, load_queue
    from omr.store.database import Store

    _, out = demo
    counts = []
    for keep in ("all", "some", "none"):
        db = tmp_path / f"{keep}.sqlite"
        shutil.copyfile(out / "results.sqlite", db)
        if keep != "all":
            with sqlite3.connect(db) as conn:
                conn.execute("DROP TRIGGER decisions_no_delete")
                conn.execute("DELETE FROM decisions" + (" WHERE id % 3 = 0" if keep == "some" else ""))
        with Store(db, create=False) as store:
            shelf = TemplateShelf(store)
            assert shelf.by_fingerprint
            queue = load_queue(store, shelf)
            counts.append(awaiting_count(store, shelf))
            assert counts[-1] == queue.counts()[AWAITING], keep
            decided = {d.sheet_id for d in store.decisions()}
            in_doubt = [s.id for batch in store.sheets_in_doubt(batch=7) for s in batch]
            assert sorted(in_doubt) == sorted(s.id for s in store.sheet_items()
                                              if s.read.status != "ok" or s.id in decided), keep
    assert counts[0] < counts[1] < counts[2], counts  # (one sheet the demonstration leaves to a person)
