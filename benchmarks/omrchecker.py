"""OMRChecker side by side (issue 15): the same simulated seed ballots read by OMRChecker in its
fastest configuration (FeatureBasedAlignment) and by `omr scan`, one process each, in one sitting.

    python benchmarks/omrchecker.py --omrchecker ~/src/OMRChecker            # 300 office PNG, 100 phone JPEG
    python benchmarks/omrchecker.py --omrchecker DIR --office 60 --phone 20  # a quick look

OMRChecker is neither vendored nor a dependency: give a checkout of
https://github.com/Udayraj123/OMRChecker (GPL-3); its requirements and OpenCV are installed into a
scratch virtual environment (``--venv``, reused when it already exists). It is given what it needs to
do its best: a reference image (the clean render of the ballot) for its feature alignment, and a
template whose bubbles are our layout's boxes, scaled to its processing size (100 dpi).

Printed per set: ms a sheet for decoding the files alone (cv2.imread, grey), for OMRChecker and for
`omr scan` (fresh processes, start-up included; ours also writes its database and JSON), the ratio of
the two readers, and each reader's flips on clear boxes (a box drawn marked read blank, or drawn blank
read marked); for `omr scan` also how many of those flips a person is shown (the sheet goes to review).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ballot_sim import simulate as S  # noqa: E402
from omr.ballot.layout import PageLayout  # noqa: E402
from omr.ballot.template import load_template  # noqa: E402

TEMPLATE = ROOT / "ballot_templates" / "tin-nhiem-cdyt-dong-nai-2023.yaml"
PROCESSING_DPI = 100.0  # OMRChecker's processing size; its default (666 x 820) distorts an A4 page
SETS = (("office 200 dpi PNG", "office-scanner", "png"), ("phone photo JPEG", "phone", "jpeg"))
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
# OMRChecker asks screeninfo for a monitor when it is imported, which fails on a headless machine:
# its main.py is run with one pretend monitor (it shows nothing at show_image_level 0)
HEADLESS = ("import runpy, sys, screeninfo; screeninfo.get_monitors = lambda: [screeninfo.Monitor(0, 0, 1920, 1080)]; "
            "sys.argv[0] = 'main.py'; runpy.run_path('main.py', run_name='__main__')")


def scratch_venv(venv: Path, checkout: Path) -> Path:
    """The Python of a virtual environment holding OMRChecker's requirements (made once)."""
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "-r", str(checkout / "requirements.txt"),
                        "opencv-python-headless"], check=True)
    return python


def omrchecker_template(page: PageLayout) -> tuple[dict, dict[str, tuple[str, str, list[str]]]]:
    """OMRChecker's template.json for one page (one field per row of boxes, its bubbles the row's
    boxes left to right) and, per field label, (contest, row, option ids in bubble order)."""
    scale = PROCESSING_DPI / 25.4
    rows: dict[tuple[str, str], list] = {}
    for box in page.boxes:
        rows.setdefault((box.contest_id, box.row_id), []).append(box)
    blocks, fields = {}, {}
    first = page.boxes[0].rect
    for n, ((contest, row), boxes) in enumerate(rows.items(), 1):
        boxes.sort(key=lambda b: b.rect.x)
        gaps = {round((b.rect.x - a.rect.x) * scale) for a, b in zip(boxes, boxes[1:])}
        if len(gaps) > 1:
            raise ValueError(f"row {row}: boxes not evenly spaced, which OMRChecker's blocks need")
        label = f"r{n}"
        blocks[label] = {"origin": [round(boxes[0].rect.x * scale), round(boxes[0].rect.y * scale)],
                         "bubblesGap": gaps.pop() if gaps else 0, "labelsGap": 0, "fieldLabels": [label],
                         "bubbleValues": list(LETTERS[:len(boxes)]), "direction": "horizontal"}
        fields[label] = (contest, row, [b.option_id for b in boxes])
    template = {"pageDimensions": [round(page.width * scale), round(page.height * scale)],
                "bubbleDimensions": [round(first.w * scale), round(first.h * scale)],
                "preProcessors": [{"name": "FeatureBasedAlignment", "options": {"reference": "reference.png"}}],
                "fieldBlocks": blocks}
    return template, fields


def make_set(folder: Path, profile: str, fmt: str, sheets: int, seed: int) -> tuple[S.ExpectedSet, dict]:
    """Sheets of the seed ballot as a scanner or a phone leaves them, one file each, with the
    reference image, template and config OMRChecker reads from the same folder."""
    folder.mkdir(parents=True)
    template = load_template(TEMPLATE)
    sim = S.Simulator([template], seed)
    expected = S.ExpectedSet(seed, generator={"benchmark": "omrchecker", "profile": profile})
    for i in range(sheets):
        pages = sim.ballot(i, template, profile, overrides={"rotation": 0})
        records, _ = S.write_pages(pages, folder, f"sheet-{i:05d}.{'jpg' if fmt == 'jpeg' else 'png'}", fmt)
        expected.pages.extend(records)
    clean = S.clean_pages(template, 200)[0]
    cv2.imwrite(str(folder / "reference.png"), clean.image)
    omrc, fields = omrchecker_template(clean.layout)
    size = omrc["pageDimensions"]
    (folder / "template.json").write_text(json.dumps(omrc, indent=1))
    (folder / "config.json").write_text(json.dumps({
        "dimensions": {"processing_width": size[0], "processing_height": size[1]},
        "outputs": {"show_image_level": 0, "save_image_level": 0}}))
    return expected, fields


def sheet_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.name.startswith("sheet-"))


def decode_seconds(folder: Path) -> float:
    start = time.perf_counter()
    for path in sheet_files(folder):
        cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    return time.perf_counter() - start


def run_omrchecker(python: Path, checkout: Path, folder: Path, out: Path) -> tuple[float, Path]:
    start = time.perf_counter()
    proc = subprocess.run([str(python), "-c", HEADLESS, "-i", str(folder), "-o", str(out)], cwd=checkout,
                          capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if proc.returncode:
        raise RuntimeError(f"OMRChecker failed on {folder}:\n{(proc.stdout + proc.stderr)[-3000:]}")
    return seconds, next((out / "Results").glob("*.csv"))


def run_omr(folder: Path, work: Path) -> tuple[float, Path]:
    reads = work / "omr.json"
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "omr", "scan", *map(str, sheet_files(folder)), "--template",
                           str(TEMPLATE), "--db", str(work / "omr.sqlite"), "--jobs", "1", "--json", str(reads)],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    seconds = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"omr scan failed with exit code {proc.returncode}")
    return seconds, reads


def clear_boxes(page: S.ExpectedPage) -> dict[tuple[str, str, str], bool]:
    """The boxes drawn clearly marked (True) or left blank (False)."""
    return {(b.contest, b.row, b.option): b.expected == S.MARKED
            for b in page.boxes if b.expected in (S.MARKED, S.BLANK) and not b.flags}


def omrchecker_flips(expected: S.ExpectedSet, results: Path, fields: dict) -> tuple[int, int, int]:
    """(flips, clear boxes, sheets it gave no answer for) from OMRChecker's results CSV: a bubble's
    letter in its field's answer means marked."""
    by_file = {Path(p.file).name: p for p in expected.pages}
    flips = boxes = 0
    answered = set()
    with open(results, newline="") as fh:
        for line in csv.DictReader(fh):
            page = by_file.get(line["file_id"])
            if page is None:
                continue
            answered.add(line["file_id"])
            truth = clear_boxes(page)
            for label, (contest, row, options) in fields.items():
                for letter, option in zip(LETTERS, options):
                    key = (contest, row, option)
                    if key in truth:
                        boxes += 1
                        flips += truth[key] != (letter in line.get(label, ""))
    return flips, boxes, len(by_file) - len(answered)


def omr_flips(expected: S.ExpectedSet, reads: Path) -> tuple[int, int, int]:
    """(flips, of which on sheets sent to a person, clear boxes) from `omr scan --json`."""
    check = S.check_reads(expected, json.loads(reads.read_text())["sheets"])
    flips = shown = boxes = 0
    for c in check.pages:
        truth = clear_boxes(c.expected)
        for key, marked in truth.items():
            state = c.states.get(key)
            boxes += 1
            if state in ("marked", "blank") and (state == "marked") != marked:
                flips += 1
                shown += c.status != "ok"
    return flips, shown, boxes


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--omrchecker", type=Path, required=True, help="a checkout of Udayraj123/OMRChecker")
    ap.add_argument("--venv", type=Path, help="scratch virtual environment for it (made when missing)")
    ap.add_argument("--office", type=int, default=300, help="office-scanner sheets (200 dpi PNG)")
    ap.add_argument("--phone", type=int, default=100, help="phone photos (JPEG)")
    ap.add_argument("--seed", type=int, default=8080)
    args = ap.parse_args(argv)
    checkout = args.omrchecker.resolve()
    if not (checkout / "main.py").exists():
        ap.error(f"{checkout}: not an OMRChecker checkout (no main.py)")
    with tempfile.TemporaryDirectory(prefix="omrchecker-") as tmp:
        work = Path(tmp)
        python = scratch_venv((args.venv or work / "venv").resolve(), checkout)
        print(f"{'set':22} {'sheets':>6} {'decode':>7} {'OMRChecker':>10} {'omr scan':>8} {'ours/theirs':>11}"
              f"  flips: OMRChecker        omr scan (shown to a person)")
        for (name, profile, fmt), sheets in zip(SETS, (args.office, args.phone)):
            if not sheets:
                continue
            folder = work / profile
            expected, fields = make_set(folder, profile, fmt, sheets, args.seed)
            decode_seconds(folder)  # warm the file cache
            decode = decode_seconds(folder)
            theirs, results = run_omrchecker(python, checkout, folder, work / f"out-{profile}")
            ours, reads = run_omr(folder, work)
            t_flips, t_boxes, unanswered = omrchecker_flips(expected, results, fields)
            o_flips, o_shown, o_boxes = omr_flips(expected, reads)
            ms = 1000 / sheets
            print(f"{name:22} {sheets:6d} {decode * ms:5.1f}ms {theirs * ms:8.1f}ms {ours * ms:6.1f}ms "
                  f"{ours / theirs:10.2f}x  {t_flips:5d}/{t_boxes} ({100 * t_flips / max(t_boxes, 1):.2f}%)"
                  f"{f', {unanswered} unread' if unanswered else ''}   {o_flips:3d}/{o_boxes} ({o_shown})", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
