"""Inspection looks only round the ink a page has (issue 15: the same reads, cheaper): the findings
beside boxes and the fold lines of a page, computed on crops round its ink, are those of the whole page,
in the same order; the small medians of the box measure are numpy's to the last bit.

The whole-page computations below are the reader's before it cropped (kept here as the reference).
Ink is drawn on the real layouts of the bundled ballots, at odd and even pixel positions: the
labelling scans 2x2 blocks, so a crop with an odd origin reorders the pieces (this was seen)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from conftest import LEADERS_TEMPLATE, SEED_TEMPLATE

from omr.ballot.layout import Rect, layout
from omr.ballot.template import load_template
from omr.read.inspect import (
    BESIDE_MIN_LENGTH_MM,
    BESIDE_MIN_MM2,
    BESIDE_REACH_MM,
    FOLD_GAP_MM,
    FOLD_LINE_MM,
    PAGE_PX_PER_MM,
    _fill,
    fold_lines,
    ink_beside_boxes,
    straight_strokes,
)
from omr.read.marks import median

S = PAGE_PX_PER_MM


def whole_page_beside(ink: np.ndarray, pl) -> list[tuple]:
    zone = np.zeros(ink.shape, bool)
    _fill(zone, pl.ink_zones, S)
    _fill(zone, [c.rect for c in pl.name_cells], S, False)
    boxes = np.zeros(ink.shape, bool)
    _fill(boxes, [b.rect.grow(0.5) for b in pl.boxes], S)
    inside = np.zeros(ink.shape, bool)
    _fill(inside, [b.rect.grow(-0.3) for b in pl.boxes], S)
    k = 2 * int(round(BESIDE_REACH_MM * S)) + 1
    reach = cv2.dilate((ink & inside).astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))) > 0
    outside = (ink & zone & ~boxes).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(cv2.dilate(outside, np.ones((5, 5), np.uint8)),
                                                              connectivity=8)
    explained = np.unique(labels[reach & (labels > 0)])
    ink_px = np.bincount(labels[outside > 0], minlength=count)
    found = {}
    for i in range(1, count):
        x, y, w, h, _ = (int(v) for v in stats[i])
        if i in explained or (ink_px[i] / (S * S) < BESIDE_MIN_MM2 and max(w, h) < BESIDE_MIN_LENGTH_MM * S):
            continue
        rect = Rect(round(x / S, 1), round(y / S, 1), round(w / S, 1), round(h / S, 1))
        box = min(pl.boxes, key=lambda b: (b.rect.cx - rect.cx) ** 2 + (b.rect.cy - rect.cy) ** 2)
        found.setdefault((box.contest_id, box.row_id, box.option_id), rect)
    return [(*key, rect) for key, rect in found.items()]


def whole_page_folds(ink: np.ndarray) -> list[Rect]:
    length = int(round(FOLD_LINE_MM * S))
    ink8 = ink.astype(np.uint8)
    bridge = np.ones((1, int(round(FOLD_GAP_MM * S)) | 1), np.uint8)
    found = []
    for image, across in ((ink8, True), (np.ascontiguousarray(ink8.T), False)):
        lines = straight_strokes(cv2.morphologyEx(image, cv2.MORPH_CLOSE, bridge), length)
        count, _, stats, _ = cv2.connectedComponentsWithStats(lines, connectivity=8)
        for i in range(1, count):
            x, y, w, h, _ = (int(v) for v in stats[i])
            if not across:
                x, y, w, h = y, x, h, w
            found.append(Rect(round(x / S, 1), round(y / S, 1), round(w / S, 1), round(h / S, 1)))
    return found


def scribbles(shape: tuple[int, int], pl, rng: np.random.Generator) -> np.ndarray:
    """Voter-like ink round the boxes (rings, ticks beside them, specks) and a few long lines."""
    ink = np.zeros(shape, np.uint8)
    for box in rng.choice(pl.boxes, size=min(len(pl.boxes), 12), replace=False):
        cx, cy = int(box.rect.cx * S) + int(rng.integers(-6, 7)), int(box.rect.cy * S) + int(rng.integers(-6, 7))
        kind = rng.integers(3)
        if kind == 0:
            cv2.circle(ink, (cx, cy), int(rng.integers(12, 20)), 1, 1)
        elif kind == 1:
            cv2.line(ink, (cx + 14, cy - 9), (cx + 23 + int(rng.integers(5)), cy + 7), 1, 2)
        else:
            ink[cy + 11:cy + 13, cx - 1:cx + 1] = 1
    for _ in range(int(rng.integers(0, 3))):
        y = int(rng.integers(10, shape[0] - 10))
        end = (shape[1] - int(rng.integers(0, 80)), y + int(rng.integers(-30, 30)))
        cv2.line(ink, (int(rng.integers(0, 80)), y), end, 1, int(rng.integers(1, 4)))
    return ink > 0


@pytest.mark.parametrize("template_path", [SEED_TEMPLATE, LEADERS_TEMPLATE])
def test_beside_boxes_and_fold_lines_on_crops_are_the_whole_pages(template_path) -> None:
    rng = np.random.default_rng(15)
    beside_seen = folds_seen = 0
    for pl in layout(load_template(template_path)).pages:
        shape = (int(round(pl.height * S)), int(round(pl.width * S)))
        for trial in range(12):
            ink = scribbles(shape, pl, rng)
            ink = np.roll(ink, (trial % 2, trial // 2 % 2), axis=(0, 1))  # odd and even positions
            want = whole_page_beside(ink, pl)
            got = [(f.contest_id, f.row_id, f.option_id, f.rect) for f in ink_beside_boxes(ink, pl, S)]
            assert got == want
            assert [f.rect for f in fold_lines(ink, S)] == whole_page_folds(ink)
            beside_seen += len(want) > 1
            folds_seen += bool(whole_page_folds(ink))
    assert beside_seen and folds_seen, "the drawings exercise several pieces and fold lines"
    empty = np.zeros(shape, bool)
    assert ink_beside_boxes(empty, pl, S) == [] and fold_lines(empty, S) == []


def test_median_is_numpys_to_the_last_bit() -> None:
    rng = np.random.default_rng(96)
    for n in range(1, 300):
        for a in (rng.random(n).astype(np.float32), rng.integers(0, 4, n).astype(np.float32),
                  rng.normal(size=(n, 2))[:, 1], (rng.random((n, 3)) * 1e-3).astype(np.float32)[:, 1]):
            assert median(a) == float(np.median(a))
