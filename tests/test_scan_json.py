"""`omr scan --json` streams its reads (issue 15: memory flat in the size of the batch): the file is
still exactly what json.dumps(indent=1) makes of {"run", "sheets"}, every sheet once, sorted by file and
page, for a first run and for a re-run whose files were all read before; the digest and the terminal
lines say the same in both."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import BUNDLED_TEMPLATES, ROOT

pytestmark = pytest.mark.slow  # two end-to-end scans of bundled samples

SAMPLES = ROOT / "sample_scans"
INPUTS = [SAMPLES / "scans-g4-300dpi.tif", SAMPLES / "batch-02-1bit-200dpi.pdf"]
PAGES = sum(f["pages"] for f in json.loads((SAMPLES / "expected.json").read_text(encoding="utf-8"))["files"]
            if f["path"] in {p.name for p in INPUTS})  # as the samples' record says


def scan(db: Path, out: Path, inputs: list[Path]) -> tuple[dict, str, bytes]:
    args = ["scan", *map(str, inputs), "--template", *map(str, BUNDLED_TEMPLATES), "--db", str(db), "--json", str(out),
            "--digest", "--jobs", "1"]
    proc = subprocess.run([sys.executable, str(ROOT / "cli.py"), *args], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 1, proc.stdout + proc.stderr  # some sample sheets await a person
    return json.loads(out.read_bytes()), proc.stdout, out.read_bytes()


def test_scan_json_is_streamed_whole_sorted_and_as_json_dumps_writes_it(tmp_path: Path) -> None:
    # given in reverse order: the output is sorted all the same
    inputs = INPUTS
    db = tmp_path / "r.sqlite"
    first, said, raw = scan(db, tmp_path / "first.json", inputs)
    again, said_again, raw_again = scan(db, tmp_path / "again.json", inputs)
    for payload, data in ((first, raw), (again, raw_again)):
        assert json.dumps(payload, ensure_ascii=False, indent=1).encode() == data
        keys = [(s["source"], s["page"]) for s in payload["sheets"]]
        assert keys == sorted(keys) and len(set(keys)) == len(keys) == PAGES
    assert first["sheets"] == again["sheets"]  # the re-run lists the sheets read before, as they were
    digest = re.search(r"^digest ([0-9a-f]{64})$", said, re.M).group(1)
    assert digest == first["run"]["digest"] == again["run"]["digest"]
    assert f"digest {digest}" in said_again
    waiting = [s for s in first["sheets"] if s["status"] != "ok"]
    assert waiting and all(f"{s['source']}" in said for s in waiting)  # each sheet that needs a person, named
    assert str(inputs[0]) not in said_again.split("digest")[0]  # a re-run names none: they were read before
