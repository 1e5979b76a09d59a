"""Annotated sheet images: every box outlined in its state's colour where it was found, findings framed,
flagged rows tinted, the status and reasons written above the page."""

from __future__ import annotations

from functools import cache

import cv2
import numpy as np

from omr.ballot.layout import Rect
from omr.read.annotate import ANNOTATE_PX_PER_MM, COLOURS, FINDING, annotate
from omr.read.calibration import load_profile
from omr.read.pipeline import TemplateBook
from omr.read.pipeline import read_sheet as read_page
from omr.read.results import BLANK, MARKED, SheetRead


@cache
def book(template) -> TemplateBook:
    return TemplateBook.from_templates([template])


def fill(image: np.ndarray, page, r: Rect) -> None:
    (x0, y0), (x1, y1) = page.px(r.x + 0.8, r.y + 0.8), page.px(r.x + r.w - 0.8, r.y + r.h - 0.8)
    image[y0:y1, x0:x1] = 30


def annotated(page, image: np.ndarray) -> tuple[SheetRead, np.ndarray, int]:
    """The read, the annotated image, and the height of its text panel."""
    read = read_page(image, "sheet.png", 1, book(page.template), load_profile())
    assert read.registration is not None
    out = annotate(image, np.array(read.registration.homography).reshape(3, 3), page.page, read)
    return read, out, out.shape[0] - int(round(page.page.height * ANNOTATE_PX_PER_MM))


def outline_colours(out: np.ndarray, panel: int, r: Rect) -> set[tuple[int, int, int]]:
    """The colours on the top edge of a box's drawn outline (the box grown by 0.8 mm, as drawn)."""
    s = ANNOTATE_PX_PER_MM
    g = r.grow(0.8)
    y = panel + int(g.y * s)
    return {tuple(int(v) for v in px) for px in out[y, int(g.x * s) + 2:int((g.x + g.w) * s) - 2]}


def test_boxes_are_outlined_in_the_colour_of_their_state(blank) -> None:
    page = blank(dpi=200)
    image = page.copy()
    marked, empty = page.page.boxes[0], page.page.boxes[1]
    fill(image, page, marked.rect)
    read, out, panel = annotated(page, image)
    assert read.status == "ok"
    assert out.shape[1] == int(round(page.page.width * ANNOTATE_PX_PER_MM)) and out.shape[2] == 3
    assert COLOURS[MARKED] in outline_colours(out, panel, marked.rect)
    assert COLOURS[BLANK] in outline_colours(out, panel, empty.rect)
    assert COLOURS[MARKED] not in outline_colours(out, panel, empty.rect)


def test_a_finding_is_framed_and_its_reason_listed(blank) -> None:
    page = blank(dpi=200)
    image = page.copy()
    fill(image, page, page.page.boxes[0].rect)
    x0, y0 = page.px(60.0, 150.0)
    cv2.putText(image, "hello", (x0, y0), cv2.FONT_HERSHEY_SIMPLEX, 2.0, 20, 5)  # a note on the ballot
    read, out, panel = annotated(page, image)
    assert read.status == "review" and [r.code for r in read.reasons] == ["extra-writing"]
    x, y, w, _ = read.reasons[0].where
    s = ANNOTATE_PX_PER_MM
    top_edge = out[panel + int(y * s), int(x * s) + 2:int((x + w) * s) - 2]
    assert (top_edge == FINDING).all(axis=1).mean() > 0.9
    lines_of_text = 1 + len(read.reasons)
    assert panel == 12 + 18 * lines_of_text


def test_a_row_that_needs_a_person_is_tinted(blank) -> None:
    page = blank(dpi=200)
    read, out, panel = annotated(page, page.copy())  # blank: the row has no mark
    assert read.rows[0].status == "invalid"
    s = ANNOTATE_PX_PER_MM
    r = page.page.boxes[0].rect
    between = out[panel + int((r.y + r.h + 1.5) * s), int((r.x + r.w / 2) * s)]  # paper below the box, in the tint
    assert between[0] < between[2] - 40  # white turned orange: less blue than red
    _, clean, clean_panel = annotated(page, _marked_row(page))
    below = clean[clean_panel + int((r.y + r.h + 1.5) * s), int((r.x + r.w / 2) * s)]
    assert abs(int(below[0]) - int(below[2])) < 10  # a valid row stays grey


def _marked_row(page) -> np.ndarray:
    image = page.copy()
    fill(image, page, page.page.boxes[0].rect)
    return image
