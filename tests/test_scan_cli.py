"""`omr scan` end to end: real files in, a real SQLite file and JSON out, exit codes, re-runs."""

from __future__ import annotations

import io
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import cv2
import img2pdf
import numpy as np
import pytest
from conftest import BUNDLED_TEMPLATES, LEADERS_TEMPLATE, ROOT, SEED_TEMPLATE, render_pdf
from PIL import Image

from omr.ballot.generate import test_deck_pdf as make_deck_pdf
from omr.ballot.generate import test_deck_votes as make_deck
from omr.ballot.template import load_template
from omr.read.calibration import load_profile
from omr.scan import batch
from omr.store.database import Store

TEMPLATE_ARGS = ["--template", *[str(p) for p in BUNDLED_TEMPLATES]]


def omr(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "cli.py"), *args], capture_output=True, text=True,
                          cwd=cwd, timeout=600)


def jpeg_pdf(pages: list[np.ndarray], quality: int = 80) -> bytes:
    """A scanner-like PDF: one embedded grey JPEG per page, 200 dpi."""
    jpegs = []
    for p in pages:
        ok, data = cv2.imencode(".jpg", p, [cv2.IMWRITE_JPEG_QUALITY, quality])
        assert ok
        jpegs.append(data.tobytes())
    return img2pdf.convert(jpegs, layout_fun=img2pdf.get_fixed_dpi_layout_fun((200, 200)))


@pytest.fixture(scope="module")
def batch_dir(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """A folder as a committee would have it: scanner PDFs, a TIFF, a loose PNG, and broken files."""
    d = tmp_path_factory.mktemp("scans")
    leaders = load_template(LEADERS_TEMPLATE)
    deck = make_deck(leaders)
    pages = render_pdf(make_deck_pdf(leaders, deck))
    (d / "batch-01.pdf").write_bytes(jpeg_pdf(pages[:4]))  # sheets 1-2, both pages
    tiff = io.BytesIO()
    Image.fromarray(pages[4]).save(tiff, format="TIFF", save_all=True,
                                   append_images=[Image.fromarray(pages[5])], compression="tiff_deflate")
    (d / "sub").mkdir()
    (d / "sub" / "batch-02.tif").write_bytes(tiff.getvalue())  # sheet 3
    cv2.imwrite(str(d / "loose.png"), cv2.rotate(pages[6], cv2.ROTATE_180))  # sheet 4 page 1, upside down
    (d / "corrupt.pdf").write_bytes(b"%PDF-1.7\n1 0 obj <<>> endobj\ngarbage")
    (d / "notes.png").write_text("these are not pixels", encoding="utf-8")
    (d / "empty.pdf").write_bytes(b"")
    return d, {"deck": deck}


def expected_choices(deck, sheet_number: int) -> dict[str, tuple[str, ...]]:
    return dict(deck[sheet_number - 1].marks["tin-nhiem"])


@pytest.mark.slow
def test_scan_reads_the_batch_reports_bad_files_and_exits_2(batch_dir, tmp_path: Path) -> None:
    d, info = batch_dir
    db, out = tmp_path / "results.sqlite", tmp_path / "results.json"
    proc = omr("scan", str(d), *TEMPLATE_ARGS, "--db", str(db), "--json", str(out))
    assert proc.returncode == 2, proc.stderr
    for name in ("corrupt.pdf", "notes.png", "empty.pdf"):
        assert any(name in line and "FAILED" in line for line in proc.stderr.splitlines()), (name, proc.stderr)
    result = json.loads(out.read_text(encoding="utf-8"))
    sheets = result["sheets"]
    assert len(sheets) == 7
    assert {s["source"].rsplit("/", 1)[-1] for s in sheets} == {"batch-01.pdf", "batch-02.tif", "loose.png"}
    by_key = {(Path(s["source"]).name, s["page"]): s for s in sheets}
    # batch-01 holds sheets 1 and 2, two pages each; the TIFF sheet 3; the PNG page 1 of sheet 4
    layout = [("batch-01.pdf", 1, 1), ("batch-01.pdf", 2, 1), ("batch-01.pdf", 3, 2), ("batch-01.pdf", 4, 2),
              ("batch-02.tif", 1, 3), ("batch-02.tif", 2, 3), ("loose.png", 1, 4)]
    for name, page, sheet_number in layout:
        s = by_key[(name, page)]
        assert s["test"] is True and s["template"] == "tin-nhiem-28-lanh-dao"
        want = expected_choices(info["deck"], sheet_number)
        for row in s["contests"][0]["rows"]:
            assert tuple(row["choices"]) == want[row["id"]], (name, page, row["id"])
            assert {m["state"] for m in row["marks"]} <= {"marked", "blank"}
            assert [m["option"] for m in row["marks"]] == ["cao", "tin-nhiem", "thap"]
    assert by_key[("loose.png", 1)]["rotation"] == 180
    # the database holds the same reads, the failures, and a finished run
    con = sqlite3.connect(db)
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert con.execute("SELECT count(*) FROM sheets").fetchone()[0] == 7
    # page 1 holds 15 people, page 2 the other 13, three boxes each
    assert con.execute("SELECT count(*) FROM marks").fetchone()[0] == 4 * 15 * 3 + 3 * 13 * 3
    assert con.execute("SELECT status FROM runs").fetchone()[0] == "finished"
    con.close()
    assert "7 sheet(s) read" in proc.stdout  # English and Vietnamese ballots: the terminal speaks English


@pytest.mark.slow
def test_rescanning_the_same_files_counts_nothing_twice(batch_dir, tmp_path: Path) -> None:
    d, _ = batch_dir
    db = tmp_path / "results.sqlite"
    first = omr("scan", str(d / "batch-01.pdf"), *TEMPLATE_ARGS, "--db", str(db))
    assert first.returncode == 0, first.stdout + first.stderr
    copy = tmp_path / "copy-of-batch-01.pdf"
    copy.write_bytes((d / "batch-01.pdf").read_bytes())
    second = omr("scan", str(d / "batch-01.pdf"), str(copy), *TEMPLATE_ARGS, "--db", str(db), "--digest",
                 "--json", str(tmp_path / "second.json"))
    assert second.returncode == 0, second.stderr
    assert "2 file(s) already read before, skipped" in " ".join(second.stdout.split())
    # the same file under two names: its sheets listed once (issue 11)
    assert len(json.loads((tmp_path / "second.json").read_text(encoding="utf-8"))["sheets"]) == 4
    with Store(db) as store:
        assert len(store.sheets()) == 4
        assert [r.status for r in store.runs()] == ["finished", "finished"]


@pytest.mark.slow
def test_reads_and_digest_do_not_depend_on_jobs_or_input_order(batch_dir, tmp_path: Path) -> None:
    d, _ = batch_dir
    inputs = [str(d / "batch-01.pdf"), str(d / "sub"), str(d / "loose.png")]
    digests, sheets = [], []
    for i, (jobs, order) in enumerate([("1", inputs), ("2", inputs[::-1])]):
        out = tmp_path / f"r{i}.json"
        proc = omr("scan", *order, *TEMPLATE_ARGS, "--db", str(tmp_path / f"r{i}.sqlite"), "--jobs", jobs,
                   "--json", str(out), "--digest")
        assert proc.returncode == 1, proc.stderr  # loose.png is the deck's blank sheet: review
        digests.append([line for line in proc.stdout.splitlines() if line.startswith("digest ")][0])
        sheets.append(json.loads(out.read_text(encoding="utf-8"))["sheets"])
    assert digests[0] == digests[1]
    assert sheets[0] == sheets[1]


def test_exit_code_1_when_a_sheet_needs_review(tmp_path: Path) -> None:
    blank = render_pdf(make_deck_pdf(load_template(SEED_TEMPLATE), make_deck(load_template(SEED_TEMPLATE))))[3]
    (tmp_path / "blank.pdf").write_bytes(jpeg_pdf([blank]))
    proc = omr("scan", str(tmp_path / "blank.pdf"), "--template", str(SEED_TEMPLATE), "--db",
               str(tmp_path / "r.sqlite"))
    assert proc.returncode == 1
    # a Vietnamese ballot: the terminal speaks Vietnamese, names the people, wraps at 80 columns (issue 11)
    assert "CẦN XEM XÉT" in proc.stdout and "phiếu không đánh dấu" in proc.stdout
    assert "Nguyễn Hồng Quang: không đánh dấu ô nào" in " ".join(proc.stdout.split())
    assert max(len(line) for line in proc.stdout.splitlines() if "/" not in line) <= 80
    assert proc.stdout.rstrip().splitlines()[-1].startswith("1 tờ đang chờ xem xét")  # the summary last


def test_unknown_template_sheet_is_rejected_not_counted(tmp_path: Path) -> None:
    page = render_pdf(make_deck_pdf(load_template(SEED_TEMPLATE), make_deck(load_template(SEED_TEMPLATE))))[0]
    (tmp_path / "other.pdf").write_bytes(jpeg_pdf([page]))
    out = tmp_path / "r.json"
    proc = omr("scan", str(tmp_path / "other.pdf"), "--template", str(LEADERS_TEMPLATE), "--db",
               str(tmp_path / "r.sqlite"), "--json", str(out))
    assert proc.returncode == 1
    sheet = json.loads(out.read_text(encoding="utf-8"))["sheets"][0]
    assert sheet["status"] == "rejected"
    assert "not issued by the counting committee" in sheet["reasons"][0]


def test_an_interrupted_run_leaves_no_half_file_and_the_same_command_finishes(batch_dir, tmp_path: Path,
                                                                                 monkeypatch) -> None:
    d, _ = batch_dir
    templates = [load_template(p) for p in BUNDLED_TEMPLATES]
    options = batch.ScanOptions(tuple(templates), tuple(map(str, BUNDLED_TEMPLATES)), load_profile())
    real = batch._read_chunk
    calls = {"n": 0}

    def dies_on_second_chunk(chunk):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return real(chunk)

    monkeypatch.setattr(batch, "PAGES_PER_CHUNK", 2)  # batch-01.pdf: two chunks of two pages
    monkeypatch.setattr(batch, "_read_chunk", dies_on_second_chunk)
    db = tmp_path / "r.sqlite"
    with Store(db) as store, pytest.raises(KeyboardInterrupt):
        batch.scan([str(d / "batch-01.pdf")], store, options)
    with Store(db) as store:
        assert store.sheets() == []  # half of batch-01.pdf was read: none of it is kept
        assert store.runs()[0].status == "interrupted"
    monkeypatch.setattr(batch, "_read_chunk", real)
    with Store(db) as store:
        summary = batch.scan([str(d / "batch-01.pdf")], store, options)
        assert summary.sheets == 4 and len(store.sheets()) == 4


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="needs Linux CPU affinity")
def test_jobs_default_to_the_cores_the_process_may_use() -> None:
    """`--jobs` (scan, calibrate, audit) defaults to the usable cores: all of them, or one when the
    process is pinned to one core (as taskset or a container's CPU set does)."""
    probe = ("import os, sys\n"
             "if sys.argv[1] == 'one': os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})\n"
             "from omr.cli.main import build_parser\n"
             "p = build_parser()\n"
             "print(p.parse_args(['scan', 'x.pdf', '--template', 't.yaml', '--db', 'r.sqlite']).jobs,\n"
             "      p.parse_args(['calibrate', 'x.pdf', '--template', 't.yaml', '-o', 'c.yaml']).jobs,\n"
             "      p.parse_args(['audit', 'x.pdf', '--db', 'r.sqlite']).jobs)\n")
    cores = len(os.sched_getaffinity(0))
    for pinned, expected in (("all", cores), ("one", 1)):
        out = subprocess.run([sys.executable, "-c", probe, pinned], capture_output=True, text=True, cwd=ROOT,
                             timeout=120)
        assert out.returncode == 0, out.stderr
        assert out.stdout.split() == [str(expected)] * 3


def test_a_rerun_says_what_still_awaits_review_and_unreadable_files_count_once(tmp_path: Path) -> None:
    blank = render_pdf(make_deck_pdf(load_template(SEED_TEMPLATE), make_deck(load_template(SEED_TEMPLATE))))[3]
    (tmp_path / "blank.pdf").write_bytes(jpeg_pdf([blank]))
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "a.pdf").write_text("not a pdf", encoding="utf-8")
    (tmp_path / "junk" / "b.png").write_text("not an image", encoding="utf-8")
    db = str(tmp_path / "r.sqlite")
    bad = omr("scan", str(tmp_path / "junk"), "--template", str(SEED_TEMPLATE), "--db", db)
    assert bad.returncode == 2
    assert "2 tệp hoặc trang không đọc được" in " ".join(bad.stdout.split())  # two files, said once each
    first = omr("scan", str(tmp_path / "blank.pdf"), "--template", str(SEED_TEMPLATE), "--db", db)
    assert first.returncode == 1 and "CẦN XEM XÉT" in first.stdout
    again = omr("scan", str(tmp_path / "blank.pdf"), "--template", str(SEED_TEMPLATE), "--db", db)
    assert again.returncode == 1, again.stdout  # still awaiting review: not "all done"
    assert "CẦN XEM XÉT" not in again.stdout  # not listed again: one line says where they are
    assert "1 tờ trong các tệp đã đọc trước" in again.stdout
    assert again.stdout.rstrip().splitlines()[-1].startswith("1 tờ đang chờ xem xét")
