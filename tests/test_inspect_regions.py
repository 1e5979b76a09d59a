"""Cheaper, the same reads (issue 15). Inspection looks only round the ink a page has: the findings
beside boxes and the fold lines of a page, computed on crops round its ink, are those of the whole page,
in the same order; the ink off the print, worked out on the rows that may hold some, is the whole
page's. The box measure's medians, edge search and paper noise are the scalar code's to the bit.

The whole-page computations below are the reader's before it cropped (kept here as the reference).
Ink is drawn on the real layouts of the bundled ballots, at odd and even pixel positions: the
labelling scans 2x2 blocks, so a crop with an odd origin reorders the pieces (this was seen)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from conftest import BUNDLED_TEMPLATES, LEADERS_TEMPLATE, ROOT, SEED_TEMPLATE

from omr.ballot.layout import Rect, layout
from omr.ballot.template import load_template
from omr.read.calibration import load_profile
from omr.read.debug import Trace
from omr.read.identify import upright_patch
from omr.read.inspect import (
    BESIDE_MIN_LENGTH_MM,
    BESIDE_MIN_MM2,
    BESIDE_REACH_MM,
    FOLD_EDGE_MM,
    FOLD_EDGE_PIECE_MM,
    FOLD_GAP_MM,
    FOLD_LINE_MM,
    PAGE_PX_PER_MM,
    _fill,
    _ink_below,
    fold_lines,
    ink_beside_boxes,
    ink_mask,
    ink_off_print,
    straight_strokes,
)
from omr.read.marks import mean_greys, median
from omr.read.pipeline import TemplateBook, read_sheet
from omr.scan.ingest import PageImage, expand_inputs, read_pages

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
    beside_seen = folds_seen = edges_seen = 0
    for pl in layout(load_template(template_path)).pages:
        shape = (int(round(pl.height * S)), int(round(pl.width * S)))
        memo: dict = {}  # the template page's, as inspect_page passes it: masks drawn once
        for trial in range(12):
            ink = scribbles(shape, pl, rng)
            ink = np.roll(ink, (trial % 2, trial // 2 % 2), axis=(0, 1))  # odd and even positions
            want = whole_page_beside(ink, pl)
            got = [(f.contest_id, f.row_id, f.option_id, f.rect)
                   for f in ink_beside_boxes(ink, pl, S, memo if trial % 3 else None)]
            assert got == want
            assert [f.rect for f in fold_lines(ink, S)] == whole_page_folds(ink)
            pieces: dict = {}  # as inspect_page searches a page twice: the second search on the first's pieces
            assert fold_lines(ink, S, pieces=pieces) == fold_lines(ink, S)
            at_edges = fold_lines(ink, S, FOLD_EDGE_PIECE_MM, FOLD_EDGE_MM)
            assert fold_lines(ink, S, FOLD_EDGE_PIECE_MM, FOLD_EDGE_MM, pieces) == at_edges
            edges_seen += bool(at_edges)
            beside_seen += len(want) > 1
            folds_seen += bool(whole_page_folds(ink))
    assert beside_seen and folds_seen and edges_seen, "the drawings exercise several pieces and fold lines"
    empty = np.zeros(shape, bool)
    assert ink_beside_boxes(empty, pl, S) == [] and fold_lines(empty, S) == []


def test_ink_off_print_round_the_pixels_that_may_hold_it_is_the_whole_pages() -> None:
    """Every bundled sample scan (grey, 1-bit, phone photos, streaks, folds, signatures, every template), as
    inspect_page sees it, and again with strokes at its top and bottom rows and runs of rows just closer
    and just farther apart than the reach of the local paper, and with specks so placed in columns (the
    rectangles are cut by rows, then by columns): ink_mask & ~printed to the pixel."""
    book = TemplateBook.from_templates([load_template(p) for p in BUNDLED_TEMPLATES])
    profile = load_profile()
    pages = few_rows = 0
    for path in expand_inputs([str(ROOT / "sample_scans")])[0]:
        for item in read_pages(path):
            assert isinstance(item, PageImage)
            trace = Trace()
            read_sheet(item.pixels, item.source, item.page, book, profile, trace, item.dpi)
            if trace.inspection is None:
                continue  # rejected before inspection
            pl, printed = trace.page_layout, trace.reference.printed
            scan = upright_patch(trace.pixels, trace.transform.homography, Rect(0, 0, pl.width, pl.height), S)
            marked = scan.copy()
            h, w = scan.shape
            for y in (0, 1, h // 3, h // 3 + 25, h // 3 + 50, h // 2, h // 2 + 49, h - 2, h - 1):
                marked[y, 20:scan.shape[1] - 20:7] = 0  # 24 rows reach 12 either side: runs 25 and 50 apart
            # and specks in a few rows, in columns at the page's edges and just closer and farther apart
            dotted = scan.copy()
            for x in (0, 1, w // 3, w // 3 + 25, w // 3 + 50, w // 2, w // 2 + 49, w - 2, w - 1):
                dotted[[0, h // 4, h // 4 + 3, h // 2 + 40, h - 1], x] = 0
                dotted[h // 3 + x % 5:h // 3 + 12, x] = 0
            for image in (scan, marked, dotted):
                want = ink_mask(image, trace.levels, S) & ~printed
                assert np.array_equal(ink_off_print(image, trace.levels, S, printed), want), (path, item.page)
            pages += 1
            few_rows += not (ink_mask(scan, trace.levels, S) & ~printed).any(axis=1).mean() > 0.5
    assert pages >= 90 and few_rows >= pages // 2, (pages, few_rows)


def test_ink_threshold_table_is_the_division_of_every_pair_of_levels() -> None:
    """_ink_below, taken from one table of whole reflectance levels, is what dividing every scan level by
    every paper level and comparing with the sheet's ratio gives (as ink_mask did per pixel before the
    table), for ratios anywhere and on either side of each whole level."""
    levels = np.arange(256, dtype=np.uint8)
    scans, papers = np.meshgrid(levels, np.maximum(levels, 1), indexing="ij")
    reflectance = cv2.divide(scans, papers, scale=255.0)
    rng = np.random.default_rng(7)
    whole = [v / 255.0 for v in range(-1, 257)]
    ratios = [*rng.random(1500) * 1.1, *whole, *(np.nextafter(r, 2.0) for r in whole),
              *(np.nextafter(r, -2.0) for r in whole), 0.0, 1.0, float("nan")]
    for ratio in ratios:
        want = np.count_nonzero(reflectance < float(ratio) * 255.0, axis=0).astype(np.uint8).reshape(1, 256)
        assert np.array_equal(_ink_below(float(ratio)), want), ratio


def test_median_is_numpys_to_the_last_bit() -> None:
    rng = np.random.default_rng(96)
    for n in (*range(1, 300), 839, 840, 1187, 1188):  # and a page's width or height at PAGE_PX_PER_MM (_valleys)
        for a in (rng.random(n).astype(np.float32), rng.integers(0, 4, n).astype(np.float32),
                  rng.normal(size=(n, 2))[:, 1], (rng.random((n, 3)) * 1e-3).astype(np.float32)[:, 1]):
            assert median(a) == float(np.median(a))


def test_mean_grey_is_numpys_to_the_last_bit() -> None:
    """A box's paper level, from its four margin strips (views across rows and down columns)."""
    rng = np.random.default_rng(15)
    for _ in range(2000):
        h, w, strip = int(rng.integers(1, 90)), int(rng.integers(1, 90)), int(rng.integers(1, 8))
        patch = rng.integers(int(rng.integers(0, 200)), 256, (h, w)).astype(np.uint8)
        for part in (patch[:strip], patch[-strip:], patch[:, :strip], patch[:, -strip:], patch):
            assert mean_greys(part[None])[0] == float(part.mean())


def scalar_best_offset(profile: np.ndarray, start: int, length: int, search: int, line: int) -> int:
    """The box edge search as it was, one offset at a time."""
    smooth = np.convolve(profile, np.ones(max(line, 1), dtype=np.float32), mode="same")
    best, best_value = 0, -1.0
    for d in sorted(range(-search, search + 1), key=abs):
        a, b = start + d, start + length + d
        if 0 <= a < smooth.size and 0 <= b < smooth.size:
            value = smooth[a] + smooth[b]
            if value > best_value + 1e-6:
                best, best_value = d, value
    return best


def scalar_paper_noise(strips: list[np.ndarray]) -> float:
    spreads = sorted(1.4826 * float(np.median(np.abs(st - np.median(st)))) + float(np.median(st))
                     for st in strips if st.size)
    return spreads[1] if len(spreads) > 1 else (spreads[0] if spreads else 0.0)


def test_box_edge_search_and_paper_noise_are_the_scalar_codes() -> None:
    """Ties (flat and quantised profiles) must go to the nearest offset, as before; square and
    oblong boxes give the same paper noise."""
    from omr.read.marks import _best_offset, paper_noise

    rng = np.random.default_rng(10)
    for t in range(3000):
        size = int(rng.integers(20, 90))
        profile = (rng.random(size) * rng.choice([1.0, 30.0, 0.001])).astype(np.float32)
        if t % 3 == 0:
            profile = np.round(profile * 4) / 4
        if t % 7 == 0:
            profile[:] = profile[0]
        args = (int(rng.integers(0, size)), int(rng.integers(1, size)), int(rng.integers(0, 12)),
                int(rng.integers(1, 4)))
        assert _best_offset(profile, *args) == scalar_best_offset(profile, *args)
        w, strip = int(rng.integers(2, 80)), int(rng.integers(1, 6))
        h = w if t % 2 else int(rng.integers(2, 80))
        grid = (rng.normal(size=(h, w)) * rng.choice([1.0, 0.01])).astype(np.float32)
        strips = [grid[:strip], grid[-strip:], grid[:, :strip], grid[:, -strip:]]
        assert paper_noise(strips) == scalar_paper_noise(strips)


def one_band_crossed_out(gray, homography, cell, reference, levels, blur_mm, memo, across_words):
    """crossed_out as it was, a band at a time (its transform, its threshold): the whole of it, for the
    reference, as crossed_out_cells now runs the bands of a page together."""
    from omr.read.inspect import (
        NAME_PX_PER_MM,
        STRIKE_DARK_INK,
        STRIKE_INK,
        STRIKE_KERNEL_MM,
        STRIKE_MAX_WIDTH_MM,
        WORD_GAP_MM,
        _bare_print,
        _printed_name,
        darkest_paper_ink,
        word_gaps,
    )
    s = NAME_PX_PER_MM
    band = Rect(cell.text_rect.x - 1.0, cell.text_rect.y - 0.8, cell.text_rect.w + 2.0, cell.text_rect.h + 1.6)
    scan = upright_patch(gray, homography, band, s)
    x0, y0 = int(np.floor(band.x * s)), int(np.floor(band.y * s))
    ref = reference[y0:y0 + scan.shape[0], x0:x0 + scan.shape[1]]
    if ref.shape != scan.shape:
        return 0.0, band, False
    length = int(round(STRIKE_KERNEL_MM * s))
    key = (cell.contest_id, cell.row_id)
    may_be_ink = scan < darkest_paper_ink(scan, levels, STRIKE_INK)
    if np.count_nonzero(may_be_ink & ~_bare_print(ref, memo, key)) < length:
        return 0.0, band, False
    runs, printed, letters = _printed_name(ref, round(blur_mm * s / 2.56, 1), length, memo, key)
    if np.count_nonzero(may_be_ink & ~printed) < length:
        return 0.0, band, False
    ink = ink_mask(scan, levels, s, STRIKE_INK).astype(np.uint8)
    if np.count_nonzero(ink & ~printed) < length:
        return 0.0, band, False
    strokes = straight_strokes(ink, length) & ~runs
    top = int(round((0.8 + 0.25 * cell.text_rect.h) * s))
    bottom = int(round((0.8 + 0.8 * cell.text_rect.h) * s))
    inner = strokes[top:bottom, int(s):-int(s)]
    if inner.size == 0:
        return 0.0, band, False
    covered = inner.any(axis=0)
    gaps = covered & ~letters[int(s):-int(s)]
    pale = False
    if gaps.sum() >= 4 and np.median(inner.sum(axis=0)[gaps]) > STRIKE_MAX_WIDTH_MM * s:
        dark = ink_mask(scan, levels, s, STRIKE_DARK_INK)[top:bottom, int(s):-int(s)].any(axis=0)
        pale = bool(dark[gaps].mean() < 0.5)
    spaces = word_gaps(letters[int(s):-int(s)], int(round(WORD_GAP_MM * s))) if across_words else []
    if spaces and not any(covered[a:b].mean() >= 0.5 for a, b in spaces):
        return 0.0, band, pale
    return float(covered.mean()), band, pale


def test_crossed_out_cells_together_are_each_band_alone() -> None:
    """Every bundled sample scan's printed names and texts, as inspect_page looks at them, and again with a pen
    line drawn through every one (most of them crossed, some pale, some not): crossed_out_cells gives each
    cell what the one-band code gave, coverage, band and paleness."""
    from omr.ballot.layout import NameCell, text_rect
    from omr.read.inspect import OVERPRINT_MIN_MM, crossed_out_cells

    book = TemplateBook.from_templates([load_template(p) for p in BUNDLED_TEMPLATES])
    profile = load_profile()
    pages = crossed = 0
    for path in expand_inputs([str(ROOT / "sample_scans")])[0]:
        for item in read_pages(path):
            trace = Trace()
            read_sheet(item.pixels, item.source, item.page, book, profile, trace, item.dpi)
            if trace.inspection is None:
                continue
            pl, homography, fine = trace.page_layout, trace.transform.homography, trace.reference.fine
            texts = [NameCell("", f"text-{i}", text_rect(t).grow(1.0), text_rect(t)) for i, t in enumerate(pl.texts)
                     if text_rect(t).w >= OVERPRINT_MIN_MM]
            struck = trace.pixels.copy()
            for cell in [*pl.name_cells, *texts[::3]]:
                r = cell.text_rect
                ends = cv2.perspectiveTransform(np.float64([[[r.x + 0.5, r.cy]], [[r.x + r.w - 0.5, r.cy + 0.4]]]),
                                                homography).reshape(2, 2)
                cv2.line(struck, *(tuple(int(v) for v in p) for p in ends), 40, 2 + pages % 3)
            for gray in (trace.pixels, struck):
                for cells, across in ((list(pl.name_cells), False), (texts, True)):
                    want = [one_band_crossed_out(gray, homography, c, fine, trace.levels, trace.blur_mm, {}, across)
                            for c in cells]
                    got = crossed_out_cells(gray, homography, cells, fine, trace.levels, trace.blur_mm, {}, across)
                    assert got == want, (path, item.page)
                    crossed += sum(c >= 0.55 for c, _, _ in want)
            pages += 1
    assert pages >= 90 and crossed >= 200, (pages, crossed)


def test_band_means_a_band_at_a_time_are_the_whole_pages_resize() -> None:
    """folds_down's profiles: each band's column means (_band_means, one band at a time) are what shrinking the
    whole page's grey, as shares of the contrast, to one row a band gave, to the bit: random scans and print,
    bands of many heights (a band of one row too), widths, contrasts as Python and numpy floats, and pages whose
    height leaves rows below the last band."""
    from omr.read.inspect import _band_means

    rng = np.random.default_rng(5)
    for trial in range(300):
        band, n, border = int(rng.integers(1, 90)), int(rng.integers(1, 16)), int(rng.integers(0, 20))
        height, width = 2 * border + n * band + int(rng.integers(0, band)), int(rng.integers(1, 900))
        scan = rng.integers(0, 256, (height, width), dtype=np.uint8)
        if trial % 3 == 0:  # a scan's own structure: smooth paper, dark print
            scan = cv2.GaussianBlur(scan, (0, 0), 3.0)
        bare = np.where(rng.random((height, width)) < 0.3, 0, 255).astype(np.uint8)
        contrast = float(rng.uniform(1.0, 250.0))
        for c in (contrast, np.float64(contrast), max(contrast, 1.0)):
            grey = cv2.bitwise_and(scan, bare).astype(np.float32) / c
            want = cv2.resize(grey[border:border + n * band], (width, n), interpolation=cv2.INTER_AREA)
            got = _band_means(scan, bare, c, border, band, n)
            assert got.dtype == want.dtype and np.array_equal(got, want), (trial, band, n, width)



def test_column_shares_counted_in_bytes_are_the_sums_of_booleans() -> None:
    """streak_columns' column shares, counted in bytes, are those of the sums of booleans it took before, for
    every mask value, every level, dark or bright, and up to the 255 rows bytes can count (it samples
    STREAK_ROWS)."""
    from omr.read.inspect import STREAK_ROWS, _column_shares

    assert STREAK_ROWS < 256
    rng = np.random.default_rng(64)
    for trial in range(400):
        rows, cols = int(rng.choice([1, 2, 63, 64, 200, 255])), int(rng.integers(1, 1700))
        masks = rng.choice(np.arange(4, dtype=np.uint8), (rows, cols), p=rng.dirichlet(np.ones(4)))
        if trial % 4 == 0:
            masks[:] = 1  # every sample counted: 255 of 255
        sampled = rng.integers(0, 256, (rows, cols)).astype(np.uint8)
        level = float(rng.uniform(0, 256)) if trial % 5 else float(rng.integers(0, 256))
        brighter = trial % 3 == 0
        on_page = (masks & 1).astype(bool)
        valid = on_page & ~(masks & 2).astype(bool)
        dark = ((sampled > level) if brighter else (sampled < level)) & valid
        counted = valid.sum(axis=0)
        want = np.where(counted >= 0.3 * on_page.sum(axis=0).clip(1), dark.sum(axis=0) / counted.clip(1), 0.0)
        got = _column_shares(sampled, masks, level, brighter)
        assert got.dtype == want.dtype and np.array_equal(got, want), trial


def test_a_fold_down_a_page_with_a_band_of_print_is_placed_where_it_lies() -> None:
    """folds_down profiles the page in 20 mm bands and leaves out those mostly print; each valley was placed at
    the middle of the band of its index among the bands kept, so past a band left out every valley lay 20 mm
    higher up the page than it is, and a slanted fold's line was fitted through the wrong heights. A synthetic
    A5 scan: bare paper, a slanted crease's valley, one band all but a tenth printed: the fold is found where
    it was drawn, at its top and at its bottom."""
    from omr.read.inspect import PageReference, folds_down
    from omr.read.marks import InkLevels

    s = PAGE_PX_PER_MM
    width, height = 148.0, 210.0
    scan = np.full((int(height * s), int(width * s)), 230, np.uint8)
    top, bottom = 60.0, 66.3  # the crease's x at the page's top and bottom (mm)
    for row in range(scan.shape[0]):
        x = (top + (bottom - top) * (row + 0.5) / scan.shape[0]) * s
        scan[row, int(round(x - 1)):int(round(x + 1))] = 200  # a valley 0.5 mm wide
    printed = np.zeros(scan.shape, bool)
    printed[int(64 * s):int(84 * s), int(0.1 * width * s):] = True  # the band from 64 to 84 mm: print
    scan[printed] = 60
    reference = PageReference(scan, scan, printed, printed)
    found = folds_down(scan, reference, InkLevels(black=40.0, paper=230.0), s)
    assert len(found) == 1, found
    x0, y0, x1, y1, _ = found[0].line
    assert (y0, y1) == (0.0, height) and abs(x0 - top) <= 0.3 and abs(x1 - bottom) <= 0.3, found[0].line
