"""Debug images: the trace a read leaves when asked, one image per stage reached, and `omr scan --debug`."""

from __future__ import annotations

import subprocess
import sys
from functools import cache
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import BUNDLED_TEMPLATES, LEADERS_TEMPLATE, ROOT

from omr.ballot.layout import Rect, page_frame
from omr.read.calibration import load_profile
from omr.read.debug import GREEN, PURPLE, RED, Trace, stage_images
from omr.read.pipeline import TemplateBook, read_sheet
from omr.read.results import SheetRead

ALL_STAGES = ["1-markers", "2-grid", "3-qr", "4-boxes", "5-ink", "6-result"]


@cache
def book(template) -> TemplateBook:
    return TemplateBook.from_templates([template])


def traced(page, image: np.ndarray) -> tuple[SheetRead, Trace, dict[str, np.ndarray]]:
    trace = Trace()
    read = read_sheet(image, "sheet.png", 1, book(page.template), load_profile(), trace)
    return read, trace, dict(stage_images(trace))


def fill(image: np.ndarray, page, r: Rect) -> None:
    (x0, y0), (x1, y1) = page.px(r.x + 0.8, r.y + 0.8), page.px(r.x + r.w - 0.8, r.y + r.h - 0.8)
    image[y0:y1, x0:x1] = 30


def has(image: np.ndarray, colour: tuple[int, int, int]) -> int:
    return int((image == colour).all(axis=2).sum())


def test_a_trace_does_not_change_the_read(blank) -> None:
    page = blank()
    image = page.copy()
    fill(image, page, page.page.boxes[2].rect)
    assert read_sheet(image, "sheet.png", 1, book(page.template), load_profile()) == traced(page, image)[0]


def test_a_read_sheet_has_an_image_for_every_stage(blank) -> None:
    page = blank()
    image = page.copy()
    fill(image, page, page.page.boxes[2].rect)
    read, trace, images = traced(page, image)
    assert read.status == "ok" and trace.read == read
    assert list(images) == ALL_STAGES
    assert all(im.dtype == np.uint8 and im.ndim == 3 and im.shape[2] == 3 for im in images.values())
    assert has(images["1-markers"], GREEN) and not has(images["1-markers"], RED)  # four markers, none missing
    assert has(images["4-boxes"], GREEN)  # the marked box, outlined where it was found
    assert not has(images["5-ink"], RED)  # no ink outside the boxes


def test_a_covered_marker_is_drawn_missing(blank) -> None:
    page = blank()
    image = page.copy()
    r = next(f.rect for f in page_frame("A4")[0] if f.corner == "top_right").grow(1.0)
    (x0, y0), (x1, y1) = page.px(r.x, r.y), page.px(r.x + r.w, r.y + r.h)
    image[y0:y1, x0:x1] = 255
    _, trace, images = traced(page, image)
    assert len(trace.markers) == 3
    assert has(images["1-markers"], RED)


def test_writing_shows_as_ink_and_a_framed_finding(blank) -> None:
    page = blank()
    image = page.copy()
    fill(image, page, page.page.boxes[0].rect)
    cv2.putText(image, "note", page.px(60.0, 150.0), cv2.FONT_HERSHEY_SIMPLEX, 1.5, 20, 4)
    read, _, images = traced(page, image)
    assert {r.code for r in read.reasons} == {"extra-writing"}
    assert has(images["5-ink"], RED) > 200 and has(images["5-ink"], PURPLE)


def test_a_page_that_is_not_a_ballot_has_only_the_markers_stage(blank) -> None:
    read, trace, images = traced(blank(), np.full((1200, 850), 250, np.uint8))
    assert read.status == "rejected" and trace.transform is None
    assert list(images) == ["1-markers"]


def test_a_sheet_not_issued_stops_after_the_qr_stage(blank) -> None:
    from omr.ballot.layout import layout
    from omr.ballot.template import load_template

    other = load_template(LEADERS_TEMPLATE)  # A4 too: the page registers, its QR is not of this book
    page = blank()
    assert layout(other).fingerprint != layout(page.template).fingerprint
    trace = Trace()
    read = read_sheet(page.copy(), "sheet.png", 1, TemplateBook.from_templates([other]), load_profile(), trace)
    assert read.status == "rejected" and trace.qr_text
    assert [name for name, _ in stage_images(trace)] == ["1-markers", "2-grid", "3-qr"]


def test_an_empty_trace_draws_nothing() -> None:
    assert stage_images(Trace()) == []


def test_a_page_whose_recognition_fails_keeps_the_images_of_the_stages_before(blank, tmp_path: Path,
                                                                            monkeypatch) -> None:
    """A bug in a late stage is reported as a page failure, and the debug images show how far it got."""
    from omr.read import pipeline
    from omr.scan import batch
    from omr.store.database import Store

    def broken(*args, **kwargs):
        raise RuntimeError("inspection broke")

    monkeypatch.setattr(pipeline, "inspect_page", broken)
    page = blank()
    cv2.imwrite(str(tmp_path / "ballot.png"), page.pixels)
    options = batch.ScanOptions((page.template,), ("seed.yaml",), load_profile(), debug_dir=str(tmp_path / "debug"))
    with Store(tmp_path / "r.db") as store:
        summary = batch.scan([str(tmp_path / "ballot.png")], store, options)
    assert [f.message for f in summary.failures] == ["recognition failed: RuntimeError: inspection broke"]
    assert sorted(p.name for p in (tmp_path / "debug").iterdir()) == \
        ["ballot-p0001-1-markers.png", "ballot-p0001-2-grid.png", "ballot-p0001-3-qr.png"]


def omr(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "cli.py"), *args], capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_scan_debug_writes_the_same_images_with_any_number_of_workers(blank, tmp_path: Path) -> None:
    page = blank()
    cv2.imwrite(str(tmp_path / "white.png"), np.full((1200, 850), 250, np.uint8))
    inputs = [str(ROOT / "sample_scans" / "scan-clean-1bit.png"), str(tmp_path / "white.png")]
    templates = ["--template", *[str(p) for p in BUNDLED_TEMPLATES]]
    outputs = []
    for jobs in ("1", "2"):
        out = tmp_path / f"debug-{jobs}"
        done = omr("scan", *inputs, *templates, "--db", str(tmp_path / f"{jobs}.db"), "--jobs", jobs,
                   "--debug", str(out))
        assert done.returncode == 1, done.stderr  # the white page is rejected
        outputs.append({p.name: p.read_bytes() for p in sorted(out.iterdir())})
    assert sorted(outputs[0]) == [f"scan-clean-1bit-p0001-{s}.png" for s in ALL_STAGES] + ["white-p0001-1-markers.png"]
    assert outputs[0] == outputs[1]
    assert page.template  # the fixture's template is among the bundled ones
