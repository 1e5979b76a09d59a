"""Determinism: the same scans give bit-identical reads (every score, transform, metric and ink
signature, not only the digest) across repeated runs, `--jobs 1` vs `--jobs N`, the order the inputs
are given in, how pages are split among workers, and where the archive lies on disk."""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import LEADERS_TEMPLATE, ROOT, SEED_TEMPLATE

from ballot_sim import simulate as S
from omr.audit.digest import reads_digest
from omr.ballot.template import load_template
from omr.read.calibration import load_profile
from omr.scan import batch
from omr.scan.batch import ScanOptions, scan
from omr.store.chain import canonical_json, sheet_payload
from omr.store.database import Store

pytestmark = pytest.mark.slow  # the same archive scanned again and again, across jobs and workers

TEMPLATES = [str(SEED_TEMPLATE), str(LEADERS_TEMPLATE)]


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Scanner PDFs (grey JPEG and 1-bit pages, a phone photo, streaks), a G4 TIFF, a JPEG, and a
    sheet scanned twice: every reader path and the one read that depends on other sheets."""
    root = tmp_path_factory.mktemp("determinism") / "scans"
    templates = [load_template(p) for p in TEMPLATES]
    sim = S.Simulator(templates, seed=96)
    mixed = list(sim.pages(6, ("office-scanner", "phone", "fax-streak")))
    S.write_pages(mixed, root, "batch-01.pdf", "pdf")
    one_bit = [p for i in (20, 21, 22) for p in sim.ballot(i, templates[i % 2], "1bit", dpi=200)][:4]
    S.write_pages(one_bit, root, "sub/batch-02.tif", "tiff-g4")
    S.write_pages(sim.ballot(30, templates[0], "rough"), root, "loose-03.jpg", "jpeg")
    k = next(i for i, p in enumerate(mixed) if sum(b.expected == "marked" for b in p.expected.boxes) >= 3)
    S.write_pages([sim.rescan(mixed[k], "office-scanner", 2)], root, "rescan-04.pdf", "pdf")
    return root


def files_of(folder: Path) -> list[str]:
    return sorted(str(p) for p in folder.rglob("*") if p.is_file())


def scan_cli(inputs: list[str], db: Path, jobs: int, hash_seed: str) -> str:
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}
    proc = subprocess.run([sys.executable, str(ROOT / "cli.py"), "scan", *inputs, "--template", *TEMPLATES,
                           "--db", str(db), "--jobs", str(jobs), "--digest"], capture_output=True, text=True,
                          timeout=600, env=env)
    assert proc.returncode == 1, proc.stdout + proc.stderr  # sheets need review (the copy at least)
    return re.search(r"^digest ([0-9a-f]{64})$", proc.stdout, re.M).group(1)


def logged_sheets(db: Path) -> list[str]:
    """The sheet payloads the log holds: every number read, canonical JSON, no path or time."""
    con = sqlite3.connect(db)
    try:
        return sorted(p for (p,) in con.execute("SELECT payload FROM log WHERE kind = 'sheet'"))
    finally:
        con.close()


def test_reads_are_bit_identical_across_runs_jobs_and_input_order(archive: Path, tmp_path: Path) -> None:
    given = files_of(archive)
    top = [g for g in given if Path(g).parent == archive]
    shuffled = [top[2], str(archive / "sub"), top[0], top[1], top[2]]  # a folder, files, one given twice
    runs = [([str(archive)], 1, "1"), (given[::-1], 3, "2"), (shuffled, 2, "random")]
    digests, payloads = [], []
    for i, (inputs, jobs, seed) in enumerate(runs):
        db = tmp_path / f"r{i}.sqlite"
        digests.append(scan_cli(inputs, db, jobs, seed))
        payloads.append(logged_sheets(db))
    assert len(payloads[0]) == 12
    assert any('"code":"duplicate"' in p for p in payloads[0])
    assert digests[0] == digests[1] == digests[2]
    assert payloads[0] == payloads[1] == payloads[2]


def test_reads_do_not_depend_on_how_pages_are_split_among_workers(archive: Path, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    templates = [load_template(p) for p in TEMPLATES]
    options = ScanOptions(tuple(templates), tuple(TEMPLATES), load_profile())
    seen = []
    for i, (chunk, jobs) in enumerate([(8, 1), (1, 2), (3, 3)]):
        monkeypatch.setattr(batch, "PAGES_PER_CHUNK", chunk)
        with Store(tmp_path / f"c{i}.sqlite") as store:
            scan([str(archive)], store, replace(options, jobs=jobs))
            seen.append(sorted(canonical_json(sheet_payload(s.read, s.source_sha256)) for s in store.sheet_items()))
    assert len(seen[0]) == 12 and seen[0] == seen[1] == seen[2]


def test_a_moved_archive_reads_the_same(archive: Path, tmp_path: Path) -> None:
    """Another computer, another folder: the same digest and the same reads. Only the wording of a
    duplicate's reason names the path of its first copy."""
    moved = tmp_path / "elsewhere" / "archive-2023"
    shutil.copytree(archive, moved)
    here = scan_cli([str(archive)], tmp_path / "here.sqlite", 1, "0")
    there = scan_cli([str(moved)], tmp_path / "there.sqlite", 2, "0")
    assert here == there

    def without_paths(payloads: list[str]) -> list[str]:
        out = []
        for text in payloads:
            obj = json.loads(text)
            for reason in obj["reasons"]:
                reason["detail"] = reason["detail"].replace(str(moved), "ARCHIVE").replace(str(archive), "ARCHIVE")
            out.append(canonical_json(obj))
        return sorted(out)

    a, b = logged_sheets(tmp_path / "here.sqlite"), logged_sheets(tmp_path / "there.sqlite")
    assert without_paths(a) == without_paths(b)
    assert sum(x != y for x, y in zip(a, b)) <= 1  # the duplicate's wording, nothing else


def test_the_digest_fingerprints_every_read_but_no_path(archive: Path, tmp_path: Path) -> None:
    with Store(tmp_path / "d.sqlite") as store:
        scan([str(archive / "batch-01.pdf")], store,
             ScanOptions(tuple(load_template(p) for p in TEMPLATES), tuple(TEMPLATES), load_profile()))
        reads = store.sheets()
    digest = reads_digest(reads)
    assert reads_digest(reversed(reads)) == digest
    assert reads_digest([replace(r, source="D:/other/place.pdf") for r in reads]) == digest
    first = reads[0]
    row = next(r for r in first.rows if r.marks)
    nudged = replace(row, marks=(replace(row.marks[0], score=row.marks[0].score + 0.0001),) + row.marks[1:])
    changed = replace(first, rows=tuple(nudged if r is row else r for r in first.rows))
    assert reads_digest([changed, *reads[1:]]) != digest  # one box score, 0.0001 apart
    assert reads_digest([replace(first, status="ok" if first.status != "ok" else "review"), *reads[1:]]) != digest
