"""`python cli.py validate | layout | generate` from a checkout, as a clerk runs them."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pypdfium2 as pdfium
import pytest

from omr.ballot.layout import layout
from omr.ballot.sheetcode import decode_sheet_code
from omr.ballot.template import load_template

ROOT = Path(__file__).resolve().parents[1]
TEMPLATES = sorted((ROOT / "ballot_templates").glob("*.yaml"))


def omr(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(ROOT / "cli.py"), *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True, encoding="utf-8", timeout=120)


def page_count(pdf: Path) -> int:
    doc = pdfium.PdfDocument(str(pdf))
    try:
        return len(doc)
    finally:
        doc.close()


BROKEN = """\
id: hong
paper: A3
header:
  title: PHIẾU LẤY PHIẾU TÍN NHIỆM
contests:
  - id: tin-nhiem
    kind: confidence
    title: ""
    rows:
      - {id: a, name: Nguyễn Văn A}
      - {id: a, name: Trần Thị B}
"""


@pytest.fixture(scope="module")
def broken(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("broken") / "hỏng.yaml"
    path.write_text(BROKEN, encoding="utf-8")
    return path


def test_validate_all_bundled_templates():
    result = omr("validate", *TEMPLATES)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    lines = result.stdout.strip().splitlines()
    assert len(lines) == len(TEMPLATES)
    for path, line in zip(TEMPLATES, lines):
        t = load_template(path)
        bl = layout(t)
        assert line.startswith(f"{path}: OK"), line
        assert f"{len(bl.pages)} page(s)" in line
        assert f"{sum(len(p.boxes) for p in bl.pages)} boxes" in line
        assert bl.fingerprint[:16] in line
        assert t.header.title in line


@pytest.mark.slow
def test_validate_broken_template_fails_with_the_message_on_stderr(broken):
    result = omr("validate", TEMPLATES[0], broken)
    assert result.returncode != 0
    assert f"{TEMPLATES[0]}: OK" in result.stdout  # the good one is still checked
    assert str(broken) not in result.stdout
    assert f"{broken}: 2 problem(s) in the ballot template" in result.stderr
    assert f"{broken}:2: paper: invalid paper size 'A3'; allowed: A4, Letter, A5" in result.stderr
    assert f"{broken}:11: contests[0].rows[1].id: duplicate id 'a'" in result.stderr


@pytest.mark.slow
@pytest.mark.parametrize("command", [("layout", "--json"), ("layout",), ("generate", "-o", "{out}")])
def test_other_commands_refuse_a_broken_template(broken, tmp_path, command):
    out = tmp_path / "x.pdf"
    result = omr(*(c.format(out=out) for c in command[:1]), broken, *(c.format(out=out) for c in command[1:]))
    assert result.returncode != 0
    assert "invalid paper size 'A3'" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    assert not out.exists()


def test_missing_template_file(tmp_path):
    missing = tmp_path / "khong-co.yaml"
    result = omr("validate", missing)
    assert result.returncode != 0
    assert f"{missing}: no such file" in result.stderr


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.stem)
def test_layout_json(path):
    result = omr("layout", path, "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    t = load_template(path)
    bl = layout(t)
    assert data["template_id"] == t.id
    assert data["fingerprint"] == bl.fingerprint and re.fullmatch(r"[0-9a-f]{64}", data["fingerprint"])
    assert data["paper"] == t.paper and data["layout_version"] == bl.layout_version
    assert len(data["pages"]) == len(bl.pages)
    for page, pl in zip(data["pages"], bl.pages):
        assert (page["width"], page["height"]) == t.paper_size_mm
        assert [f["corner"] for f in page["fiducials"]] == ["top_left", "top_right", "bottom_right", "bottom_left"]
        assert [f["marker_id"] for f in page["fiducials"]] == [f.marker_id for f in pl.fiducials]
        assert page["qr"] == {"x": pl.qr.x, "y": pl.qr.y, "w": pl.qr.w, "h": pl.qr.h}
        assert len(page["boxes"]) == len(pl.boxes) and (pl.boxes or pl.strike_cells)
        for box, b in zip(page["boxes"], pl.boxes):
            assert set(box) == {"contest_id", "row_id", "option_id", "rect"}
            assert (box["contest_id"], box["row_id"], box["option_id"]) == (b.contest_id, b.row_id, b.option_id)
            assert box["rect"] == {"x": b.rect.x, "y": b.rect.y, "w": b.rect.w, "h": b.rect.h}
        assert len(page["name_cells"]) == len(pl.name_cells)
        assert len(page["ink_zones"]) == len(pl.boxes) + (len(pl.strike_cells) + 1 if pl.strike_cells else 0)
    # every box of every contest row is somewhere in the layout
    expected = {(c.id, r, o.id) for c in t.contests for r in c.row_ids for o in c.options
                if c.kind != "crossout" or c.style == "agree"}
    got = {(b["contest_id"], b["row_id"], b["option_id"]) for p in data["pages"] for b in p["boxes"]}
    assert got == expected
    # names as printed: Vietnamese kept as UTF-8, not escaped
    for c in t.contests:
        for person in c.rows:
            assert person.name in result.stdout


def test_layout_text_summary():
    path = ROOT / "ballot_templates" / "tin-nhiem-cdyt-dong-nai-2023.yaml"
    result = omr("layout", path)
    assert result.returncode == 0, result.stderr
    assert layout(load_template(path)).fingerprint in result.stdout
    assert "page 1/1: 3 boxes" in result.stdout
    assert re.search(r"box tin-nhiem/nguyen-hong-quang/cao: x=[\d.]+ y=[\d.]+ w=6\.00 h=6\.00 mm", result.stdout)


def test_layout_text_summary_of_a_crossout_ballot_counts_its_names_and_shows_their_titles():
    """A cross-out ballot's names are strike cells, not the confidence ballot's name cells: the summary said "0
    names" above the five it listed, and left out the "Ông"/"Bà" printed before each, from where a strike
    through the name is measured. Every line fits a terminal of 80 columns (the fingerprint was on the
    template's line)."""
    path = ROOT / "ballot_templates" / "bau-cu-hdnd-phuong-a5.yaml"
    result = omr("layout", path)
    assert result.returncode == 0, result.stderr
    cells = layout(load_template(path)).pages[0].strike_cells
    assert f"page 1/1: 0 boxes, {len(cells)} names," in result.stdout
    titles = re.findall(r"^    title before it: x=([\d.]+) w=([\d.]+) mm$", result.stdout, re.M)
    assert [(float(x), float(w)) for x, w in titles] == [(round(c.prefix.x, 2), round(c.prefix.w, 2)) for c in cells]
    assert max(len(line) for line in result.stdout.splitlines()) <= 80


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.stem)
def test_generate_ballots_and_test_deck(path, tmp_path):
    t = load_template(path)
    bl = layout(t)
    out = tmp_path / "in" / "ballots.pdf"  # the folder is created
    result = omr("generate", path, "-o", out, "--copies", "2")
    assert result.returncode == 0, result.stderr
    assert str(out) in result.stdout
    assert out.read_bytes().startswith(b"%PDF-")
    assert page_count(out) == 2 * len(bl.pages)

    deck = tmp_path / "deck.pdf"
    result = omr("generate", path, "-o", deck, "--test-deck")
    assert result.returncode == 0, result.stderr
    key = json.loads(deck.with_suffix(".key.json").read_text(encoding="utf-8"))
    assert key["template"] == t.id
    sheets = key["sheets"]
    assert [s["number"] for s in sheets] == list(range(1, len(sheets) + 1))
    assert page_count(deck) == len(sheets) * len(bl.pages)
    for sheet in sheets:
        assert set(sheet["marks"]) == {c.id for c in t.contests}
        for c in t.contests:
            assert set(sheet["marks"][c.id]) == set(c.row_ids)
            assert all(set(v) <= {o.id for o in c.options} for v in sheet["marks"][c.id].values())


def test_generate_test_deck_copies_and_qr_flag(tmp_path, render):
    import zxingcpp

    path = ROOT / "ballot_templates" / "tin-nhiem-cdyt-dong-nai-2023.yaml"
    out = tmp_path / "deck.pdf"
    result = omr("generate", path, "-o", out, "--test-deck", "--copies", "2")
    assert result.returncode == 0, result.stderr
    pages = render(out, 100)
    assert len(pages) == 2
    for gray in pages:
        (read,) = zxingcpp.read_barcodes(gray, formats=zxingcpp.BarcodeFormat.QRCode)
        code = decode_sheet_code(read.text)
        assert code.test and code.fingerprint == layout(load_template(path)).fingerprint
