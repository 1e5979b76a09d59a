"""Box scores on synthetic boxes drawn with numpy: blank, a pencil stroke, a fill, a box printed off its place."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from omr.ballot.layout import BOX_LINE, BOX_SIZE, Rect
from omr.read.calibration import load_profile
from omr.read.identify import upright_patch
from omr.read.marks import (
    INTERIOR_INSET_MM,
    MAX_BLUR_INSET_MM,
    NOISE_FLOOR,
    PALE_BASE,
    PALE_MAX_STROKE,
    PALE_PEAK,
    SEARCH_MM,
    SPECK_DARKNESS,
    STROKE_INSET_MM,
    STROKE_MIN_DARKNESS,
    STROKE_MIN_LENGTH_MM,
    STROKE_NOISE_SIGMAS,
    BoxMeasure,
    InkLevels,
    Thresholds,
    _best_offset,
    box_state,
    ink_levels,
    line_smooth,
    line_surroundings,
    measure_box,
    measure_patches,
    paper_noise,
    raw_darkness,
    sample_px_per_mm,
)
from omr.read.results import BLANK, MARGINAL, MARKED

S = 8.0  # px per mm of the synthetic scans
BOX = Rect(4.0, 4.0, BOX_SIZE, BOX_SIZE)  # where the layout says the box is
LEVELS = InkLevels(black=20.0, paper=235.0)
HOMOGRAPHY = np.diag([S, S, 1.0])


def px(mm: float) -> int:
    return int(round(mm * S))


def printed_box(offset_mm: tuple[float, float] = (0.0, 0.0)) -> np.ndarray:
    """A 14 x 14 mm scan of one empty printed box (outline BOX_LINE wide), optionally printed off its place."""
    image = np.full((px(14), px(14)), int(LEVELS.paper), np.uint8)
    x, y = BOX.x + offset_mm[0], BOX.y + offset_mm[1]
    half = BOX_LINE / 2
    cv2.rectangle(image, (px(x - half), px(y - half)), (px(x + BOX.w + half), px(y + BOX.h + half)),
                  int(LEVELS.black), thickness=max(1, px(BOX_LINE)))
    return image


def score(image: np.ndarray) -> float:
    return measure_box(image, HOMOGRAPHY, BOX, S, LEVELS).score


def test_an_empty_box_scores_zero() -> None:
    assert score(printed_box()) == 0.0


def test_a_filled_box_scores_nearly_one() -> None:
    image = printed_box()
    image[px(BOX.y):px(BOX.y + BOX.h), px(BOX.x):px(BOX.x + BOX.w)] = 30
    assert score(image) > 0.9


def test_a_one_millimetre_pencil_line_counts_as_a_mark() -> None:
    """VVSG 2.0: a 1 mm pencil line through the target must count."""
    image = printed_box()
    cv2.line(image, (px(BOX.x + 0.5), px(BOX.y + BOX.h - 0.5)), (px(BOX.x + BOX.w - 0.5), px(BOX.y + 0.5)),
             140, thickness=px(1.0))
    value = score(image)
    assert 0.05 < value < 0.6  # well above the marked threshold, well below a fill
    assert load_profile().thresholds.state(value) == MARKED


def test_a_faint_speck_stays_below_the_blank_threshold() -> None:
    image = printed_box()
    cv2.circle(image, (px(BOX.cx), px(BOX.cy)), 1, 200, -1)  # a 0.25 mm dust grain, barely darker than paper
    assert load_profile().thresholds.state(score(image)) == BLANK


def test_more_ink_scores_more() -> None:
    strokes = []
    for n in (1, 2, 4):
        image = printed_box()
        for i in range(n):
            y = px(BOX.y + 1.0 + i * 1.2)
            cv2.line(image, (px(BOX.x + 0.6), y), (px(BOX.x + BOX.w - 0.6), y), 40, thickness=px(0.5))
        strokes.append(score(image))
    assert strokes[0] < strokes[1] < strokes[2]


@pytest.mark.parametrize("offset", [(0.8, 0.0), (0.0, -0.8), (-0.6, 0.6)])
def test_a_box_printed_off_its_place_is_found_and_its_outline_not_counted(offset: tuple[float, float]) -> None:
    m = measure_box(printed_box(offset), HOMOGRAPHY, BOX, S, LEVELS)
    assert m.score < 0.01
    assert m.dx_mm == pytest.approx(offset[0], abs=1 / S) and m.dy_mm == pytest.approx(offset[1], abs=1 / S)


def test_thresholds_make_three_bands() -> None:
    t = Thresholds(blank_below=0.01, marked_at_least=0.05)
    assert [t.state(v) for v in (0.0, 0.0099, 0.01, 0.0499, 0.05, 1.0)] == \
        [BLANK, BLANK, MARGINAL, MARGINAL, MARKED, MARKED]


def test_ink_levels_come_from_the_marker_and_its_quiet_zone() -> None:
    image = np.full((px(20), px(20)), 228, np.uint8)
    marker = Rect(5.0, 5.0, 10.0, 10.0)
    image[px(marker.y):px(marker.y + marker.h), px(marker.x):px(marker.x + marker.w)] = 25
    levels = ink_levels(image, HOMOGRAPHY, [marker], S)
    assert levels.black == pytest.approx(25, abs=2) and levels.paper == pytest.approx(228, abs=2)
    assert levels.contrast == pytest.approx(203, abs=4)


@pytest.mark.parametrize("native, sampled", [(2.0, 3.0), (5.9, 6.0), (7.87, 8.0), (11.8, 8.0)])
def test_boxes_are_sampled_at_the_scan_resolution_capped(native: float, sampled: float) -> None:
    assert sample_px_per_mm(native) == sampled


def test_a_box_measured_with_its_thresholds_gets_the_state_and_score_of_a_full_measure() -> None:
    # measure_box skips the line evidence of a box scoring above blank without shading (issue 15):
    # blank, pencil, light and heavy marks, fills and pale shading must keep the state a full measure gives
    rng = np.random.default_rng(15)
    thresholds = load_profile().thresholds
    states = set()
    for i in range(120):
        image = printed_box((float(rng.uniform(-0.6, 0.6)), float(rng.uniform(-0.6, 0.6))))
        ink = int(rng.integers(20, 230))
        kind = i % 4
        x0, y0, x1, y1 = px(BOX.x + 0.8), px(BOX.y + 0.8), px(BOX.x + BOX.w - 0.8), px(BOX.y + BOX.h - 0.8)
        if kind == 1:  # a cross, any darkness and width
            width = int(rng.integers(1, 5))
            cv2.line(image, (x0, y0), (x1, y1), ink, width)
            cv2.line(image, (x1, y0), (x0, y1), ink, width)
        elif kind == 2:  # a fill, any share of the box
            cut = int(rng.integers(y0, y1))
            image[y0:cut, x0:x1] = ink
        elif kind == 3:  # pale shading over the whole box and round it (a fold, a shadow)
            image[:, :] = np.minimum(image, int(rng.integers(150, 225)))
        image = np.clip(image + rng.normal(0, 3, image.shape), 0, 255).astype(np.uint8)
        full = measure_box(image, HOMOGRAPHY, BOX, S, LEVELS)
        quick = measure_box(image, HOMOGRAPHY, BOX, S, LEVELS, thresholds=thresholds)
        assert (quick.score, quick.dx_mm, quick.dy_mm) == (full.score, full.dx_mm, full.dy_mm)
        assert box_state(quick, thresholds) == box_state(full, thresholds), (i, full, quick)
        assert quick.stroke in (None, full.stroke)
        states.add((box_state(full, thresholds), quick.stroke is None))
    # every state was met, and the line evidence was left out for some boxes, and looked for in others
    assert {s for s, _ in states} == {BLANK, MARGINAL, MARKED} and {skipped for _, skipped in states} == {True, False}


def scalar_stroke_share(strength: np.ndarray, noise: float, s: float) -> float:
    """A box interior's share covered by lines, as it was measured one box at a time."""
    if strength.size == 0:
        return 0.0
    lines = (strength > max(STROKE_NOISE_SIGMAS * noise, STROKE_MIN_DARKNESS)).astype(np.uint8)
    count, _, stats, _ = cv2.connectedComponentsWithStats(lines, connectivity=8)
    if count <= 1:
        return 0.0
    long_enough = np.maximum(stats[1:, cv2.CC_STAT_WIDTH], stats[1:, cv2.CC_STAT_HEIGHT]) >= STROKE_MIN_LENGTH_MM * s
    return float(stats[1:, cv2.CC_STAT_AREA][long_enough].sum() / strength.size)


def scalar_measure_patch(patch: np.ndarray, rect: Rect, s: float, levels: InkLevels, blur_mm: float, bilevel: bool,
                         thresholds) -> BoxMeasure:
    """measure_patch as it was before boxes were measured together (issue 15), one box at a time."""
    m = int(round((SEARCH_MM + 0.5) * s))
    strip = max(2, m - int(round(SEARCH_MM * s)) + 2)
    paper = max(float(patch[:strip].mean()), float(patch[-strip:].mean()), float(patch[:, :strip].mean()),
                float(patch[:, -strip:].mean()))
    paper = max(min(paper, levels.paper + 0.25 * levels.contrast), levels.black + 1.0)
    raw = raw_darkness(patch, levels.black, paper)
    dark = np.clip((raw - NOISE_FLOOR) / (1.0 - NOISE_FLOOR), 0.0, 1.0)
    side, height = int(round(rect.w * s)), int(round(rect.h * s))
    search, line = int(round(SEARCH_MM * s)), max(1, int(round(BOX_LINE * s)))
    dx = _best_offset(dark[m: m + side + 1, :].sum(axis=0), m, side, search, line)
    dy = _best_offset(dark[:, m + dx: m + dx + side + 1].sum(axis=1), m, height, search, line)
    inset = int(np.ceil((INTERIOR_INSET_MM + 0.5 * min(blur_mm, MAX_BLUR_INSET_MM)) * s))
    y0, x0 = m + dy + inset, m + dx + inset
    y1, x1 = m + dy + height - inset + 1, m + dx + side - inset + 1
    interior = dark[y0:y1, x0:x1]
    score = float(interior.mean()) if interior.size else 0.0
    inner = raw[y0:y1, x0:x1]
    specks = int(np.count_nonzero(inner > SPECK_DARKNESS)) if bilevel else 0
    pale = bool(inner.size) and float(np.median(inner)) > PALE_BASE and float(np.percentile(inner, 99.5)) < PALE_PEAK
    if thresholds is not None and not pale and thresholds.state(round(score, 4)) != BLANK:
        return BoxMeasure(round(score, 4), round(dx / s, 3), round(dy / s, 3), None, specks, False)
    smooth = line_smooth(raw, s)
    strength = smooth - line_surroundings(smooth, s)
    noise = paper_noise([strength[:strip], strength[-strip:], strength[:, :strip], strength[:, -strip:]])
    cut = int(round(STROKE_INSET_MM * s))
    stroke = scalar_stroke_share(strength[y0 + cut:y1 - cut, x0 + cut:x1 - cut], noise, s)
    pale = pale and (stroke < PALE_MAX_STROKE or bilevel)
    return BoxMeasure(round(score, 4), round(dx / s, 3), round(dy / s, 3), round(stroke, 4), specks, pale)


def test_boxes_measured_together_are_measured_as_one_at_a_time() -> None:
    """measure_boxes shares the work of a page's boxes (issue 15): every number must be the one-box code's, to
    the bit, whatever the ink (pencil lines, crosses, fills, shading, specks), blur, 1-bit pages and thresholds."""
    rng = np.random.default_rng(1515)
    thresholds = load_profile().thresholds
    patches = []
    for i in range(160):
        image = printed_box((float(rng.uniform(-0.6, 0.6)), float(rng.uniform(-0.6, 0.6))))
        x0, y0, x1, y1 = px(BOX.x + 0.8), px(BOX.y + 0.8), px(BOX.x + BOX.w - 0.8), px(BOX.y + BOX.h - 0.8)
        kind, ink = i % 6, int(rng.integers(20, 230))
        if kind == 1:  # a cross, any darkness and width
            cv2.line(image, (x0, y0), (x1, y1), ink, int(rng.integers(1, 5)))
            cv2.line(image, (x1, y0), (x0, y1), ink, int(rng.integers(1, 5)))
        elif kind == 2:  # a fill, any share of the box
            image[y0:int(rng.integers(y0, y1)), x0:x1] = ink
        elif kind == 3:  # pale shading over the whole box and round it (a fold, a shadow)
            image[:, :] = np.minimum(image, int(rng.integers(150, 225)))
        elif kind == 4:  # one light pencil line
            ends = (x0, int(rng.integers(y0, y1))), (x1, int(rng.integers(y0, y1)))
            cv2.line(image, *ends, int(rng.integers(170, 225)))
        elif kind == 5:  # a few specks
            image[rng.integers(y0, y1, 4), rng.integers(x0, x1, 4)] = int(rng.integers(0, 120))
        noise = float(rng.choice([0.0, 2.0, 6.0]))
        patch = upright_patch(np.clip(image + rng.normal(0, noise, image.shape), 0, 255).astype(np.uint8), HOMOGRAPHY,
                              BOX, S, margin_mm=SEARCH_MM + 0.5)
        patches.append(patch if i % 7 else np.where(patch < 128, 0, 255).astype(np.uint8))
    stack = np.stack(patches)
    for blur, bilevel, limits in ((0.0, False, None), (0.0, False, thresholds), (0.6, True, thresholds)):
        together = measure_patches(stack, BOX, S, LEVELS, blur, bilevel, limits)
        alone = [scalar_measure_patch(p, BOX, S, LEVELS, blur, bilevel, limits) for p in patches]
        assert together == alone
        assert {m.stroke for m in together} - {None, 0.0}  # some boxes had lines


def test_the_shortcuts_of_a_box_measure_are_numpys_to_the_bit() -> None:
    from omr.read.marks import mean_float32, top_below

    rng = np.random.default_rng(99)
    for t in range(4000):
        shape = (int(rng.integers(1, 40)), int(rng.integers(1, 40)))
        scale, shift = float(rng.choice([0.39, 0.41, 0.5, 1.2])), float(rng.choice([0.0, 0.1]))
        a = (rng.random(shape) * scale - shift).astype(np.float32)
        if t % 3 == 0:
            a[rng.random(shape) < 0.3] = np.float32(0.4)  # ties at the level
        view = a[:, ::2] if t % 2 else a
        assert mean_float32(view) == float(view.mean())
        assert top_below(view, 0.4) == (float(np.percentile(view, 99.5)) < 0.4)


def test_patches_cut_together_are_those_cut_one_by_one() -> None:
    from omr.read.identify import upright_patches

    rng = np.random.default_rng(7)
    gray = rng.integers(0, 256, (900, 700), dtype=np.uint8)
    for _ in range(20):
        homography = np.array([[rng.uniform(3, 12), rng.normal(0, 0.2), rng.uniform(0, 50)],
                               [rng.normal(0, 0.2), rng.uniform(3, 12), rng.uniform(0, 50)],
                               [rng.normal(0, 1e-4), rng.normal(0, 1e-4), 1.0]])
        rects = [Rect(float(rng.uniform(0, 60)), float(rng.uniform(0, 60)), 6.0, 6.0) for _ in range(12)]
        s, margin = float(rng.choice([3.0, 6.0, 8.0])), float(rng.choice([0.0, SEARCH_MM + 0.5]))
        for alone, together in zip([upright_patch(gray, homography, r, s, margin) for r in rects],
                                   upright_patches(gray, homography, rects, s, margin), strict=True):
            assert np.array_equal(alone, together)


def test_the_edge_profiles_running_sums_are_numpys_convolution() -> None:
    from omr.read.marks import running_sums

    rng = np.random.default_rng(31)
    for t in range(3000):
        width = 1 + t % 5
        rows = (rng.random((3, int(rng.integers(3, 120)))) * float(rng.choice([1.0, 40.0, 1e-3]))).astype(np.float32)
        if t % 3 == 0:
            rows = np.round(rows * 4) / 4
        expected = [np.convolve(row, np.ones(width, np.float32), mode="same") for row in rows]
        assert np.array_equal(running_sums(rows, width), np.stack(expected))
