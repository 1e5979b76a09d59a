"""Batch robustness (issue 17): nothing around the readers can stop, hang or double a count.

Every test builds the real thing: a symbolic link loop, a dangling link, a FIFO and a socket in a
folder, a file the process may not read (root drops its DAC capabilities with setpriv), a file name
that is not UTF-8, a PNG bomb, a worker killed with SIGKILL, two `omr scan` processes on one database.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT, SEED_TEMPLATE

from ballot_sim import simulate as S
from omr.ballot.template import load_template
from omr.read.calibration import load_profile
from omr.scan import batch
from omr.scan.batch import ScanOptions, scan
from omr.scan.ingest import PageError, PageImage, path_text, read_pages, text_path
from omr.store.database import Store

pytestmark = pytest.mark.slow  # real worker processes, killed, racing, fuzzed

TEMPLATE_ARGS = ["--template", str(SEED_TEMPLATE)]


def omr(*args: str, timeout: float = 300, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "cli.py"), *args], capture_output=True, text=True,
                          timeout=timeout, **kwargs)


@pytest.fixture(scope="module")
def sim_pages() -> tuple[list[S.SimulatedPage], list[S.SimulatedPage]]:
    """Eight marked one-page ballots and a second scan of each (the same paper through the scanner again)."""
    template = load_template(SEED_TEMPLATE)
    sim = S.Simulator([template], seed=17)
    pages = [sim.ballot(i, template, "office-scanner", overrides={"rotation": 0})[0] for i in range(1, 9)]
    rescans = [sim.rescan(p, "office-scanner", i) for i, p in enumerate(pages)]
    return pages, rescans


def write_batch(folder: Path, pages: list[S.SimulatedPage], prefix: str = "sheet") -> list[Path]:
    """One PDF per page, as a feeder scanner that splits per sheet writes them."""
    for i, page in enumerate(pages):
        S.write_pages([page], folder, f"{prefix}-{i + 1:02d}.pdf", "pdf")
    return sorted(folder.glob(f"{prefix}-*.pdf"))


def sheets_in(db: Path) -> list[tuple[str, int, str]]:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT path, page, status FROM sheets ORDER BY path, page").fetchall()


def run_statuses(db: Path) -> list[str]:
    """The runs' statuses; none while the database is still being created."""
    try:
        with sqlite3.connect(db) as conn:
            return [r[0] for r in conn.execute("SELECT status FROM runs ORDER BY id")]
    except sqlite3.OperationalError:
        return []


# --- 1, 2: the walk yields regular files only; everything else is a named failure, never a hang ----------------

def test_link_loop_dangling_link_fifo_and_socket_are_named_and_the_rest_is_read(sim_pages, tmp_path: Path) -> None:
    pages, _ = sim_pages
    scans = tmp_path / "scans"
    write_batch(scans, pages[:4])
    os.symlink("loop-b.pdf", scans / "loop-a.pdf")
    os.symlink("loop-a.pdf", scans / "loop-b.pdf")
    os.symlink("gone.pdf", scans / "dangling.pdf")
    os.mkfifo(scans / "pipe.pdf")
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(scans / "socket.pdf"))
    os.symlink("sheet-01.pdf", scans / "zz-link-to-sheet.pdf")  # a link to a real file is read (a copy)
    db, out = tmp_path / "r.sqlite", tmp_path / "r.json"
    try:
        proc = omr("scan", str(scans), *TEMPLATE_ARGS, "--db", str(db), "--json", str(out), timeout=120)
    finally:
        server.close()
    assert proc.returncode == 2, proc.stdout + proc.stderr
    failed = {Path(line.split()[1].rstrip(":")).name: line for line in proc.stderr.splitlines()
              if line.startswith("FAILED")}
    assert "symbolic link loop" in failed["loop-a.pdf"] and "symbolic link loop" in failed["loop-b.pdf"]
    assert "broken symbolic link" in failed["dangling.pdf"] and "gone.pdf" in failed["dangling.pdf"]
    assert "named pipe (FIFO)" in failed["pipe.pdf"]
    assert "a socket" in failed["socket.pdf"]
    assert "Traceback" not in proc.stderr
    assert len(sheets_in(db)) == 4  # every good sheet stored, the link to sheet-01 skipped as a copy
    assert len(json.loads(out.read_text(encoding="utf-8"))["sheets"]) == 4
    assert run_statuses(db) == ["finished"]
    with Store(db) as store:
        assert {Path(f.path).name for f in store.failures()} >= {"loop-a.pdf", "dangling.pdf", "pipe.pdf"}


def test_a_fifo_given_to_the_audit_archive_does_not_hang(sim_pages, tmp_path: Path) -> None:
    pages, _ = sim_pages
    scans = tmp_path / "scans"
    write_batch(scans, pages[:1])
    db = tmp_path / "r.sqlite"
    assert omr("scan", str(scans), *TEMPLATE_ARGS, "--db", str(db)).returncode in (0, 1)
    os.mkfifo(scans / "pipe.pdf")
    proc = omr("audit", str(scans), "--db", str(db), *TEMPLATE_ARGS, timeout=120)
    assert "pipe.pdf" in proc.stdout + proc.stderr and "named pipe" in proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr


# --- 1: a file the process may not read --------------------------------------------------------------------------

def _unprivileged() -> list[str]:
    """A command prefix under which permissions apply: as root, the capabilities that bypass them are
    dropped (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH) for the child only."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: cannot make a file unreadable")
    drop = "-dac_override,-dac_read_search"
    return [setpriv, f"--inh-caps={drop}", f"--bounding-set={drop}"]


def test_an_unreadable_file_and_folder_are_named_and_the_rest_is_read(sim_pages, tmp_path: Path) -> None:
    pages, _ = sim_pages
    scans = tmp_path / "scans"
    write_batch(scans, pages[:3])
    (scans / "sheet-02.pdf").chmod(0)
    locked = scans / "locked"
    write_batch(locked, pages[3:4], "inner")
    locked.chmod(0)
    db = tmp_path / "r.sqlite"
    try:
        proc = subprocess.run([*_unprivileged(), sys.executable, str(ROOT / "cli.py"), "scan", str(scans),
                               *TEMPLATE_ARGS, "--db", str(db)], capture_output=True, text=True, timeout=120)
    finally:
        locked.chmod(0o755)
        (scans / "sheet-02.pdf").chmod(0o644)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert re.search(r"FAILED \S*sheet-02\.pdf: cannot read file: permission denied", proc.stderr), proc.stderr
    assert re.search(r"FAILED \S*locked: cannot list folder: permission denied", proc.stderr), proc.stderr
    assert "Traceback" not in proc.stderr
    assert [Path(p).name for p, _, _ in sheets_in(db)] == ["sheet-01.pdf", "sheet-03.pdf"]
    assert run_statuses(db) == ["finished"]


# --- 3: a file name that is not UTF-8 ------------------------------------------------------------------------------

def test_a_file_name_that_is_not_utf8_is_stored_readably_and_found_again(sim_pages, tmp_path: Path) -> None:
    pages, _ = sim_pages
    scans = tmp_path / "scans"
    write_batch(scans, pages[:3])
    raw = os.path.join(os.fsencode(scans), b"phi\xe9u-02.pdf")  # Latin-1 bytes: not valid UTF-8
    os.rename(scans / "sheet-02.pdf", raw)
    db, out = tmp_path / "r.sqlite", tmp_path / "r.json"
    proc = omr("scan", str(scans), *TEMPLATE_ARGS, "--db", str(db), "--json", str(out))
    assert proc.returncode in (0, 1), proc.stdout + proc.stderr
    names = sorted(Path(p).name for p, _, _ in sheets_in(db))
    assert names == ["phi\\xe9u-02.pdf", "sheet-01.pdf", "sheet-03.pdf"]
    shown = next(s["source"] for s in json.loads(out.read_text(encoding="utf-8"))["sheets"] if "phi" in s["source"])
    assert os.fsencode(text_path(shown)) == raw  # the stored text leads back to the file
    assert path_text(os.fsdecode(raw)) == shown
    again = omr("scan", str(scans), *TEMPLATE_ARGS, "--db", str(db))
    assert again.returncode == proc.returncode and "3 tệp đã đọc ở lượt trước, bỏ qua" in " ".join(again.stdout.split())
    with Store(db) as store:
        assert store.verify_log().ok
        stored = next(s for s in store.sheet_items() if "phi" in s.read.source)
        sheet_id, read = stored.id, stored.read
    from omr.review.images import SheetImages

    assert SheetImages().pixels(sheet_id, read).shape == pages[1].scan.pixels.shape  # the reviewer sees the scan


# --- 4: a decompression bomb is refused from its header ------------------------------------------------------------

def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def bomb_png(path: Path, side: int) -> None:
    """A real RGBA PNG of side x side white pixels, a few hundred KB on disk."""
    row = b"\x00" + b"\xff" * (4 * side)
    z = zlib.compressobj(9)
    body = b"".join(z.compress(row) for _ in range(side)) + z.flush()
    header = struct.pack(">IIBBBBB", side, side, 8, 6, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", body)
                     + _png_chunk(b"IEND", b""))


def test_a_png_bomb_is_refused_before_any_pixel_is_decoded(tmp_path: Path) -> None:
    png = tmp_path / "bomb.png"
    bomb_png(png, 10_000)  # 100 megapixels, 400 MB decoded; under Pillow's own error limit
    assert png.stat().st_size < 1_000_000
    code = ("import sys; from omr.scan.ingest import read_pages; items = list(read_pages(sys.argv[1])); "
            "print(repr(items)); "
            "print([ln.split()[1] for ln in open('/proc/self/status') if ln.startswith('VmHWM')][0])")
    proc = subprocess.run([sys.executable, "-c", code, str(png)], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, proc.stderr
    listing, peak_kb = proc.stdout.strip().splitlines()
    assert "image is 100.0 megapixels (10000 x 10000 pixels); at most 60 allowed" in listing
    assert int(peak_kb) < 300_000, f"peak RSS {int(peak_kb) // 1024} MB: pixels were decoded"


# --- 5: a worker that dies ----------------------------------------------------------------------------------------

def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def _reader_pids(pid: int) -> list[int]:
    """The pool's worker processes under `omr scan` (children of its fork server)."""
    tree = _descendants(pid)
    return [p for p in tree if any(p in _descendants(q) for q in tree)]


@pytest.fixture(scope="module")
def long_batch(sim_pages, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three 16-page PDFs: long enough for a worker to be killed in the middle of one."""
    pages, rescans = sim_pages
    folder = tmp_path_factory.mktemp("long")
    all_pages = pages + rescans
    for k in range(3):
        S.write_pages(all_pages[k:] + all_pages[:k], folder, f"batch-{k + 1}.pdf", "pdf")
    return folder


def test_a_worker_killed_with_sigkill_mid_run_loses_and_doubles_nothing(long_batch: Path, tmp_path: Path) -> None:
    reference = omr("scan", str(long_batch), *TEMPLATE_ARGS, "--db", str(tmp_path / "ref.sqlite"), "--digest")
    db = tmp_path / "r.sqlite"
    proc = subprocess.Popen([sys.executable, str(ROOT / "cli.py"), "scan", str(long_batch), *TEMPLATE_ARGS,
                             "--db", str(db), "--jobs", "2", "--digest"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    killed = None
    deadline = time.monotonic() + 120
    while killed is None and time.monotonic() < deadline and proc.poll() is None:
        workers = _reader_pids(proc.pid)
        if len(workers) == 2 and db.exists():
            time.sleep(0.3)  # the workers are reading their first chunks
            os.kill(workers[0], signal.SIGKILL)
            killed = workers[0]
        time.sleep(0.05)
    assert killed is not None, "no worker to kill"
    stdout, stderr = proc.communicate(timeout=300)  # a hang fails here
    assert proc.returncode == reference.returncode, stdout + stderr
    assert "note: a reading process died 1 time(s)" in stderr, stderr  # noticed, not merely survived
    digest = re.search(r"^digest (\w+)$", stdout, re.M).group(1)
    assert digest == re.search(r"^digest (\w+)$", reference.stdout, re.M).group(1)  # every page, read once
    assert len(sheets_in(db)) == 48 and len(set(sheets_in(db))) == 48
    assert run_statuses(db) == ["finished"]
    with Store(db) as store:
        assert store.runs()[0].summary["workers_lost"] == 1  # kept for the auditors


def crash_on_page_3(chunk: batch._Chunk):
    """A reader that dies like a native crash whenever its chunk holds page 3 of the first file."""
    if chunk.path.endswith("batch-1.pdf") and chunk.first <= 3 <= (chunk.last or 3):
        os.kill(os.getpid(), signal.SIGKILL)
    return batch._read_chunk(chunk)



def test_a_pool_that_breaks_as_a_chunk_is_handed_out_loses_and_doubles_nothing(long_batch: Path, monkeypatch) -> None:
    """A worker that dies just before the next chunk is handed out breaks the pool there, in submit (as
    seen once in CI: `omr scan --jobs 2` stopped with BrokenProcessPool's traceback): the finished chunks
    are kept, the rest read in a new pool, in order, each once."""
    from concurrent.futures.process import BrokenProcessPool

    real_pool, pools = batch._pool, []

    def pool_that_breaks(options, workers):
        pool = real_pool(options, workers)
        if not pools:  # the first pool breaks as its third chunk is handed out
            submit, calls = pool.submit, []

            def submit_or_break(*args, **kwargs):
                calls.append(args)
                if len(calls) == 3:
                    raise BrokenProcessPool("a child process terminated abruptly")
                return submit(*args, **kwargs)
            pool.submit = submit_or_break
        pools.append(pool)
        return pool

    monkeypatch.setattr(batch, "_pool", pool_that_breaks)
    options = ScanOptions((load_template(SEED_TEMPLATE),), (str(SEED_TEMPLATE),), load_profile(), jobs=2)
    chunks = [c for p in sorted(long_batch.glob("*.pdf")) for c in batch._chunks(str(p))]
    lost = []
    results = list(batch._results(chunks, options, on_worker_lost=lambda: lost.append(1)))
    assert [c for c, _, _ in results] == chunks and len(lost) == 1 and len(pools) >= 2
    reads = [(Path(r.source).name, r.page) for _, rs, _ in results for r in rs]
    assert len(reads) == 48 and len(set(reads)) == 48 and not [e for _, _, es in results for e in es]

def test_a_page_that_kills_its_reader_every_time_is_reported_and_the_rest_read(long_batch: Path) -> None:
    options = ScanOptions((load_template(SEED_TEMPLATE),), (str(SEED_TEMPLATE),), load_profile(), jobs=2)
    chunks = [c for p in sorted(long_batch.glob("*.pdf")) for c in batch._chunks(str(p))]
    results = list(batch._results(chunks, options, reader=crash_on_page_3))
    assert [c for c, _, _ in results] == chunks  # in order, each chunk once
    reads = [(Path(r.source).name, r.page) for _, rs, _ in results for r in rs]
    errors = [e for _, _, es in results for e in es]
    assert [(Path(e.source).name, e.page) for e in errors] == [("batch-1.pdf", 3)]
    assert "reading process died on this page every time" in errors[0].message
    assert len(reads) == 47 and len(set(reads)) == 47 and ("batch-1.pdf", 3) not in reads


# --- 6: two scans into one database --------------------------------------------------------------------------------

def test_a_rescan_stored_by_another_process_mid_run_is_flagged(sim_pages, tmp_path: Path) -> None:
    """Process B stores the second scans while this process is reading the first ones: each pair is
    flagged once, whichever process stored which."""
    pages, rescans = sim_pages
    first, second, db = tmp_path / "first", tmp_path / "second", tmp_path / "r.sqlite"
    write_batch(first, pages)
    write_batch(second, rescans, "rescan")
    options = ScanOptions((load_template(SEED_TEMPLATE),), (str(SEED_TEMPLATE),), load_profile())
    other: list[subprocess.CompletedProcess] = []

    def meanwhile(_: int) -> None:
        if not other:
            other.append(omr("scan", str(second), *TEMPLATE_ARGS, "--db", str(db)))

    with Store(db) as store:
        summary = scan([str(first)], store, options, on_page=meanwhile)
    assert other and other[0].returncode in (0, 1), other[0].stderr
    assert "Lượt quét 2: đã đọc 8 tờ từ 8 tệp" in other[0].stdout
    assert summary.sheets == summary.files == 8
    with Store(db) as store:
        flagged = [r for r in store.sheets() if any(x.code == "duplicate" for x in r.reasons)]
    assert sorted(Path(r.source).name for r in flagged) == [f"sheet-{i:02d}.pdf" for i in range(1, 9)]
    assert summary.review == 8  # this run says what it stored: 8 copies sent to review


def test_two_scans_at_once_flag_every_pair_once_and_count_what_each_stored(sim_pages, tmp_path: Path) -> None:
    pages, rescans = sim_pages
    first, second, db = tmp_path / "first", tmp_path / "second", tmp_path / "r.sqlite"
    write_batch(first, pages)
    write_batch(second, rescans, "rescan")
    Store(db).close()
    procs = [subprocess.Popen([sys.executable, str(ROOT / "cli.py"), "scan", str(folder), *TEMPLATE_ARGS,
                               "--db", str(db)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for folder in (first, second, first)]  # the first folder twice: its files stored once
    outputs = [p.communicate(timeout=300) for p in procs]
    stored = 0
    # a run that stored only new sheets, and ended before any copy was stored, has nothing awaiting: 0
    assert any(proc.returncode == 1 for proc in procs), outputs
    for proc, (stdout, stderr) in zip(procs, outputs):
        assert proc.returncode in (0, 1) and "Traceback" not in stderr, stdout + stderr
        stored += int(re.search(r"Lượt quét \d+: đã đọc (\d+) tờ", stdout).group(1))
    assert stored == len(sheets_in(db)) == 16  # the three summaries add up to what the database holds
    with Store(db) as store:
        reads = store.sheets()
    pairs = {}
    for r in reads:
        number = re.search(r"-(\d+)\.pdf$", r.source).group(1)
        pairs.setdefault(number, []).append(any(x.code == "duplicate" for x in r.reasons))
    assert all(sorted(flags) == [False, True] for flags in pairs.values()), pairs


# --- 7: exit codes from the state of the database ------------------------------------------------------------------

def test_a_rerun_that_only_skips_exits_1_while_sheets_await_review(sim_pages, tmp_path: Path) -> None:
    pages, rescans = sim_pages
    scans, db = tmp_path / "scans", tmp_path / "r.sqlite"
    write_batch(scans, pages[:2] + rescans[:1])  # the rescan of sheet 1 goes to review
    first = omr("scan", str(scans), *TEMPLATE_ARGS, "--db", str(db))
    assert first.returncode == 1, first.stdout + first.stderr
    again = omr("scan", str(scans), *TEMPLATE_ARGS, "--db", str(db))
    assert "3 tệp đã đọc ở lượt trước, bỏ qua" in " ".join(again.stdout.split())
    assert again.returncode == 1, again.stdout
    assert re.search(r"^\d+ tờ đang chờ xem xét trong ", again.stdout, re.M), again.stdout
    with Store(db) as store:  # a person decides: the database is settled
        for stored in store.sheet_items():
            if stored.read.status != "ok":
                store.add_decision(stored.id, scope="sheet", action="reject-sheet", reviewer="Tổ kiểm phiếu",
                                   reason="scanned twice")
    settled = omr("scan", str(scans), *TEMPLATE_ARGS, "--db", str(db))
    assert settled.returncode == 0, settled.stdout


# --- 12: a run left "running" by a killed process ------------------------------------------------------------------

def test_a_run_killed_with_sigkill_is_marked_interrupted_by_the_next_run(long_batch: Path, tmp_path: Path) -> None:
    db = tmp_path / "r.sqlite"
    proc = subprocess.Popen([sys.executable, str(ROOT / "cli.py"), "scan", str(long_batch), *TEMPLATE_ARGS,
                             "--db", str(db)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (db.exists() and run_statuses(db)):
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)  # the killed process's workers may still hold its output for a moment
    assert run_statuses(db) == ["running"]
    again = omr("scan", str(long_batch), *TEMPLATE_ARGS, "--db", str(db))
    assert "run 1 was left open by a process that stopped" in again.stderr, again.stderr
    assert run_statuses(db) == ["interrupted", "finished"]
    assert len(sheets_in(db)) == 48 and len(set(sheets_in(db))) == 48


def test_a_running_scan_is_not_marked_interrupted(tmp_path: Path) -> None:
    db = tmp_path / "r.sqlite"
    from omr.store.database import RunInfo

    with Store(db) as store:
        live = store.begin_run(RunInfo(tool_version="t", options={"process": batch.this_process()}, templates=[],
                                       calibration={}, environment={}))
        assert batch.mark_dead_runs(store) == []
        assert store.run(live).status == "running"


# --- fuzz: mutated scans never raise, never hang, always name the file ---------------------------------------------

def test_fuzzed_scans_give_a_page_or_a_named_error(sim_pages, tmp_path: Path) -> None:
    import random

    import cv2

    pages, _ = sim_pages
    small = cv2.resize(pages[0].scan.pixels, None, fx=0.25, fy=0.25)
    seeds = {
        "pdf": (S.write_pages([pages[0]], tmp_path, "seed.pdf", "pdf"), (tmp_path / "seed.pdf").read_bytes())[1],
        "png": cv2.imencode(".png", small)[1].tobytes(),
        "jpg": cv2.imencode(".jpg", small)[1].tobytes(),
        "tif": (S.write_pages([pages[0]], tmp_path, "seed.tif", "tiff-jpeg"), (tmp_path / "seed.tif").read_bytes())[1],
    }
    rng = random.Random(17)
    tried = 0
    for i in range(300):
        kind = ("pdf", "png", "jpg", "tif")[i % 4]
        data = bytearray(seeds[kind])
        for _ in range(rng.randint(1, 8)):
            what = rng.random()
            at = rng.randrange(len(data))
            if what < 0.5:
                data[at] = rng.randrange(256)
            elif what < 0.75:
                del data[at:at + rng.randint(1, 64)]
            else:
                data[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
        if rng.random() < 0.1:
            data = data[:rng.randrange(len(data))]
        path = tmp_path / f"m{i:03d}.{kind}"
        path.write_bytes(bytes(data))
        for item in read_pages(str(path)):
            assert isinstance(item, (PageImage, PageError))
            assert item.source == str(path)
            if isinstance(item, PageError):
                assert item.message
        tried += 1
    assert tried == 300


# --- 8, 9, 11: tally and review arguments checked before any work -------------------------------------------------

@pytest.fixture(scope="module")
def scanned_db(sim_pages, tmp_path_factory: pytest.TempPathFactory) -> Path:
    pages, _ = sim_pages
    work = tmp_path_factory.mktemp("tally")
    write_batch(work / "scans", pages[:3])
    assert omr("scan", str(work / "scans"), *TEMPLATE_ARGS, "--db", str(work / "r.sqlite")).returncode == 0
    return work / "r.sqlite"


def test_tally_output_that_is_a_file_or_unwritable_gets_a_message_and_exit_2(scanned_db: Path, tmp_path: Path) -> None:
    counts = ["--issued", "3", "--collected", "3"]
    a_file = tmp_path / "minutes.pdf"
    a_file.write_bytes(b"keep me")
    for out, said in ((a_file, "is a file, not a folder"), (a_file / "sub", f"({a_file} is a file)")):
        proc = omr("tally", "--db", str(scanned_db), *counts, "-o", str(out))
        assert proc.returncode == 2 and said in proc.stderr, proc.stdout + proc.stderr
        assert "Traceback" not in proc.stderr and a_file.read_bytes() == b"keep me"
    read_only = tmp_path / "ro"
    read_only.mkdir()
    read_only.chmod(0o555)
    try:
        proc = subprocess.run([*_unprivileged(), sys.executable, str(ROOT / "cli.py"), "tally", "--db",
                               str(scanned_db), *counts, "-o", str(read_only / "reports")],
                              capture_output=True, text=True, timeout=120)
    finally:
        read_only.chmod(0o755)
    assert proc.returncode == 2 and "cannot write into" in proc.stderr and "ermission denied" in proc.stderr, \
        proc.stdout + proc.stderr
    good = omr("tally", "--db", str(scanned_db), *counts, "-o", str(tmp_path / "reports"))
    assert good.returncode == 0, good.stdout + good.stderr


def test_an_empty_file_is_never_adopted_as_a_results_database(tmp_path: Path) -> None:
    empty = tmp_path / "results.sqlite"
    empty.write_bytes(b"")
    tally = omr("tally", "--db", str(empty), "--issued", "1", "--collected", "1")
    assert tally.returncode == 2 and "is an empty file (0 bytes), not a results database" in tally.stderr
    review = omr("review", "--db", str(empty), "--port", "0", timeout=60)
    assert review.returncode == 2 and "is an empty file (0 bytes)" in review.stderr, review.stdout + review.stderr
    assert empty.stat().st_size == 0


@pytest.mark.parametrize("text", ["3_00", "٣", "３", "1" + "0" * 30, "1e3", " 7 8", "+5", "-1"])
def test_tally_numbers_are_plain_ascii_digits_within_bounds(scanned_db: Path, text: str) -> None:
    proc = omr("tally", "--db", str(scanned_db), "--issued", "3", "--collected", text)
    assert proc.returncode == 2 and "--collected" in proc.stderr and "Traceback" not in proc.stderr, proc.stderr


@pytest.mark.parametrize(("convened", "present", "said"), [("10", "11", "--present 11 is more than --convened 10"),
                                                            ("0", "0", "nobody was convened")])
def test_quorum_numbers_must_be_consistent(scanned_db: Path, convened: str, present: str, said: str) -> None:
    proc = omr("tally", "--db", str(scanned_db), "--issued", "3", "--collected", "3", "--convened", convened,
               "--present", present)
    assert proc.returncode == 2 and said in proc.stderr, proc.stdout + proc.stderr


# --- 10: print scale ------------------------------------------------------------------------------------------------

def test_a_ballot_printed_at_50_or_70_percent_is_rejected_with_what_to_do(sim_pages, tmp_path: Path) -> None:
    import cv2
    import img2pdf

    pages, _ = sim_pages
    scans = tmp_path / "scans"
    scans.mkdir()
    page = pages[0].scan.pixels  # 200 dpi
    for percent in (50, 70, 100):
        small = cv2.resize(page, None, fx=percent / 100, fy=percent / 100, interpolation=cv2.INTER_AREA)
        sheet = np.full_like(page, 255)  # the shrunk print on full-size paper, scanned at 200 dpi
        y, x = (page.shape[0] - small.shape[0]) // 2, (page.shape[1] - small.shape[1]) // 2
        sheet[y:y + small.shape[0], x:x + small.shape[1]] = small
        jpeg = cv2.imencode(".jpg", sheet, [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes()
        (scans / f"printed-{percent}.pdf").write_bytes(
            img2pdf.convert([jpeg], layout_fun=img2pdf.get_fixed_dpi_layout_fun((200, 200))))
    db, out = tmp_path / "r.sqlite", tmp_path / "r.json"
    proc = omr("scan", str(scans), *TEMPLATE_ARGS, "--db", str(db), "--json", str(out))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    sheets = {Path(s["source"]).name: s for s in json.loads(out.read_text(encoding="utf-8"))["sheets"]}
    assert sheets["printed-100.pdf"]["status"] == "ok"
    for percent in (50, 70):
        read = sheets[f"printed-{percent}.pdf"]
        assert read["status"] == "rejected", read
        detail = read["reasons"][0]
        assert f"printed at {percent}% of its size" in detail and "in lại phiếu đúng khổ giấy" in detail


# --- 12: messages that say what is wrong ----------------------------------------------------------------------------

def test_messages_say_what_is_actually_wrong(sim_pages, tmp_path: Path) -> None:
    import io

    from PIL import Image

    tiff = io.BytesIO()
    Image.fromarray(np.full((60, 40), 200, np.uint8)).save(tiff, format="TIFF", compression="tiff_lzw")
    data = bytearray(tiff.getvalue())
    ifd = struct.unpack("<I", data[4:8])[0]
    for i in range(struct.unpack("<H", data[ifd:ifd + 2])[0]):
        entry = ifd + 2 + 12 * i
        if struct.unpack("<H", data[entry:entry + 2])[0] == 259:  # Compression -> 34712, JPEG 2000
            data[entry + 8:entry + 10] = struct.pack("<H", 34712)
    (tmp_path / "j2k.tif").write_bytes(bytes(data))
    (tmp_path / "noise.pdf").write_bytes(b"%PDF-1.7\n" + np.random.default_rng(1).bytes(4000))
    S.write_pages([sim_pages[0][0]], tmp_path, "whole.pdf", "pdf")
    (tmp_path / "cut.pdf").write_bytes((tmp_path / "whole.pdf").read_bytes()[:5000])
    said = {name: str(next(iter(read_pages(str(tmp_path / name))))) for name in ("j2k.tif", "noise.pdf", "cut.pdf")}
    assert "TIFF compressed with JPEG 2000 (compression code 34712), which is not supported" in said["j2k.tif"]
    assert "holds no PDF content after its header" in said["noise.pdf"] and "cut off" not in said["noise.pdf"]
    assert "cut off while copying" in said["cut.pdf"]


def test_another_templates_letter_ballot_is_named_as_such(tmp_path: Path) -> None:
    from conftest import GENERAL_EN_TEMPLATE

    letter = load_template(GENERAL_EN_TEMPLATE)
    assert letter.paper == "Letter"
    page = S.Simulator([letter], seed=3).ballot(0, letter, "office-scanner", pages=[1])
    S.write_pages(page, tmp_path, "letter.pdf", "pdf")
    out = tmp_path / "r.json"
    proc = omr("scan", str(tmp_path / "letter.pdf"), *TEMPLATE_ARGS, "--db", str(tmp_path / "r.sqlite"),
               "--json", str(out))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    (read,) = json.loads(out.read_text(encoding="utf-8"))["sheets"]
    detail = read["reasons"][0]
    assert "corner marks are those of a Letter ballot" in detail and "cut off" not in detail, detail


def test_a_jpeg_in_a_pdf_larger_than_the_pdf_says_is_refused_before_decoding(tmp_path: Path) -> None:
    """The PDF declares a 100 x 100 image; the JPEG's own header says 20000 x 20000 (400 MB decoded)."""
    import cv2

    jpeg = bytearray(cv2.imencode(".jpg", np.full((100, 100), 128, np.uint8))[1].tobytes())
    sof = jpeg.index(b"\xff\xc0")
    jpeg[sof + 5:sof + 9] = struct.pack(">HH", 20_000, 20_000)
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 72 72] /Resources << /XObject << /Im0 5 0 R >> >> "
               b"/Contents 4 0 R >>",
               b"<< /Length 31 >>\nstream\nq 72 0 0 72 0 0 cm /Im0 Do Q\nendstream",
               b"<< /Type /XObject /Subtype /Image /Width 100 /Height 100 /ColorSpace /DeviceGray "
               b"/BitsPerComponent 8 /Filter /DCTDecode /Length %d >>\nstream\n" % len(jpeg) + bytes(jpeg)
               + b"\nendstream"]
    pdf, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objects, 1):
        offsets.append(len(pdf))
        pdf += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(pdf)
    pdf += b"xref\n0 6\n0000000000 65535 f \n" + b"".join(b"%010d 00000 n \n" % o for o in offsets)
    pdf += b"trailer\n<< /Size 6 /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % xref
    path = tmp_path / "lying.pdf"
    path.write_bytes(bytes(pdf))
    code = ("import sys; from omr.scan.ingest import read_pages; print([str(i) for i in read_pages(sys.argv[1])]); "
            "print([ln.split()[1] for ln in open('/proc/self/status') if ln.startswith('VmHWM')][0])")
    proc = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    listing, peak_kb = proc.stdout.strip().splitlines()
    assert "its own header says 20000 x 20000 pixels, the PDF 100 x 100; not decoded" in listing, proc.stdout
    assert int(peak_kb) < 300_000, f"peak RSS {int(peak_kb) // 1024} MB"


def test_the_last_pages_of_a_batch_are_handed_out_one_at_a_time() -> None:
    """So that the workers finish together; every page once, in the same order."""
    chunks = [batch._Chunk("a.pdf", 1, 8), batch._Chunk("a.pdf", 9, 10), batch._Chunk("b.pdf", 1, 8),
              batch._Chunk("b.pdf", 9, 16), batch._Chunk("b.pdf", 17, 20)]
    split = batch._balanced(chunks, 2)
    assert split[:2] == chunks[:2] and all(c.first == c.last for c in split[2:])
    pages = [(c.path, p) for c in split for p in range(c.first, c.last + 1)]  # type: ignore[operator]
    assert pages == [(c.path, p) for c in chunks for p in range(c.first, c.last + 1)]  # type: ignore[operator]
    unknown = [batch._Chunk("c.tif", 1, None)]  # a file whose page count is not known stays whole
    assert batch._balanced(unknown, 2) == unknown and batch._balanced([], 2) == []
