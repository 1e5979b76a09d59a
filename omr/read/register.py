"""Registration: find the corner fiducials, the orientation and the page transform (mm -> pixels).

The fiducials are ArUco markers with a distinct id per corner, so one detection gives both the
position and the orientation (0, 90, 180, 270 degrees, or any skew and perspective in between).
Detection first runs on the four corners of the image at about 4 px/mm, which is where the markers
are on a scanner; only when that fails (phone photos, pages far off-centre) the whole image is
searched, and for a page that lost one marker only where the other three put it. Three markers are
enough; the missing one is reported.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from omr.ballot.layout import Fiducial

DETECT_PX_PER_MM = 4.0  # ~100 dpi: markers of 10 mm are 40 px, 6.7 px per cell
CORNER_WINDOW_MM = 42.0  # side of the square searched at each image corner on the fast path
MAX_RESIDUAL_MM = 0.25  # fiducial corners farther than this from the fitted transform: not trusted
FLAT_RESIDUAL_MM = 0.15  # three markers an affine map fits this well: a flat page (scanner), mapped affinely
MIN_PX_PER_MM, MAX_PX_PER_MM = 2.0, 25.0  # 50 to 635 dpi


@dataclass(frozen=True)
class MarkerHit:
    marker_id: int
    corners: np.ndarray  # (4, 2) float64 image pixels, in the marker's own TL, TR, BR, BL order


@dataclass(frozen=True)
class PageTransform:
    homography: np.ndarray  # 3x3, page mm -> image pixels
    rotation: int  # 0, 90, 180, 270: clockwise turn of the page on the image
    fiducials_found: tuple[str, ...]  # corners used
    fiducials_missing: tuple[str, ...]
    residual_mm: float
    px_per_mm: float


@dataclass(frozen=True)
class RegistrationFailure:
    reason: str


def _detector(error_correction: float = 0.6, thorough: bool = True) -> cv2.aruco.ArucoDetector:
    """Two thresholding windows suit a marker of known size (40 px); `thorough` tries four, for
    1-bit and photo pages and markers of any size."""
    params = cv2.aruco.DetectorParameters()
    params.errorCorrectionRate = error_correction
    params.cornerRefinementMethod = cv2.aruco.CORNER_REFINE_SUBPIX
    params.cornerRefinementWinSize = 3
    params.adaptiveThreshWinSizeMin = 5 if thorough else 13
    params.adaptiveThreshWinSizeMax = 35 if thorough else 23
    params.adaptiveThreshWinSizeStep = 10
    return cv2.aruco.ArucoDetector(cv2.aruco.getPredefinedDictionary(cv2.aruco.DICT_4X4_50), params)


def _detect(detector: cv2.aruco.ArucoDetector, image: np.ndarray, scale: float,
            offset: tuple[float, float]) -> list[MarkerHit]:
    """Markers in `image` (a crop scaled by `scale` from the original at `offset`)."""
    corners, ids, _ = detector.detectMarkers(image)
    hits = []
    if ids is None:
        return hits
    for c, i in zip(corners, ids.ravel()):
        pts = c.reshape(4, 2).astype(np.float64) / scale + np.asarray(offset, dtype=np.float64)
        hits.append(MarkerHit(int(i), pts))
    return hits


def _refine(gray: np.ndarray, hits: list[MarkerHit], window: int) -> list[MarkerHit]:
    """Sub-pixel corners on the full-resolution image."""
    if window < 2 or not hits:
        return hits
    pts = np.concatenate([h.corners for h in hits]).astype(np.float32).reshape(-1, 1, 2)
    h, w = gray.shape
    inside = (pts[:, 0, 0] > window + 1) & (pts[:, 0, 0] < w - window - 2) & \
             (pts[:, 0, 1] > window + 1) & (pts[:, 0, 1] < h - window - 2)
    if not inside.all():
        return hits
    cv2.cornerSubPix(gray, pts, (window, window), (-1, -1),
                     (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_COUNT, 20, 0.01))
    out = pts.reshape(-1, 4, 2).astype(np.float64)
    refined = []
    for hit, new in zip(hits, out):
        # keep the detector's corners if refinement wandered off (blur, pen strokes)
        moved = np.abs(new - hit.corners).max()
        refined.append(MarkerHit(hit.marker_id, new if moved < window else hit.corners))
    return refined


STREAK_DARK_SHARE = 0.85  # a column this dark from top to bottom is a scanner streak, not print
STREAK_MAX_WIDTH_MM = 3.0


def without_feed_streaks(gray: np.ndarray, px_per_mm: float) -> np.ndarray:
    """The image with dark scanner streaks (thin image columns dark from top to bottom) painted over
    from their neighbours, for finding the markers: a streak through a marker moves its corners.
    The image itself is returned when there is none."""
    rows = gray[::8]
    paper = _median_grey(rows[::2, ::4])
    # each column's share of sampled pixels darker than 0.6 x paper (a grey level below 0.6 x paper is at
    # most ceil(0.6 x paper) - 1: OpenCV's threshold and column sum, a seventh of numpy's cost)
    _, dark = cv2.threshold(np.ascontiguousarray(rows), math.ceil(0.6 * paper) - 1, 1, cv2.THRESH_BINARY_INV)
    share = cv2.reduce(dark, 0, cv2.REDUCE_SUM, dtype=cv2.CV_32S).ravel() / rows.shape[0]
    hot = share > STREAK_DARK_SHARE
    if not hot.any():
        return gray
    out = gray.copy()
    w = gray.shape[1]
    col = 0
    while col < w:
        if not hot[col]:
            col += 1
            continue
        end = col
        while end + 1 < w and hot[end + 1]:
            end += 1
        if end - col + 1 <= STREAK_MAX_WIDTH_MM * px_per_mm:
            left, right = out[:, max(col - 2, 0)], out[:, min(end + 2, w - 1)]
            out[:, col:end + 1] = np.maximum(left, right)[:, None]
        col = end + 1
    return out


def _median_grey(pixels: np.ndarray) -> float:
    """np.median of uint8 pixels, from their histogram (a partition of 60,000 pixels costs more)."""
    counts = np.cumsum(np.bincount(pixels.ravel(), minlength=256))
    n = int(counts[-1])
    upper = int(np.searchsorted(counts, n // 2 + 1))
    lower = upper if n % 2 else int(np.searchsorted(counts, n // 2))
    return (lower + upper) / 2


def find_markers(gray: np.ndarray, page_width_mm: float, page_height_mm: float,
                 wanted_ids: set[int], frames: Sequence[Frame] = ()) -> list[MarkerHit]:
    """ArUco markers with the wanted ids; the corners of the image first, then the whole image. When
    the corners gave three markers of one of the `frames`, the fourth is looked for first where they put
    it (_fourth_window), and the whole image only if it is found there (see _wider_search)."""
    detector = _detector(thorough=False)
    h, w = gray.shape
    # Estimate the scan resolution as if the page filled the image (true for scanners).
    px_per_mm = max(h, w) / max(page_width_mm, page_height_mm)
    gray = without_feed_streaks(gray, px_per_mm)
    scale = min(1.0, DETECT_PX_PER_MM / px_per_mm)
    side = int(round(CORNER_WINDOW_MM * px_per_mm))
    hits: dict[int, MarkerHit] = {}
    if side * 2 < min(h, w):
        for y, x in ((0, 0), (0, w - side), (h - side, w - side), (h - side, 0)):
            crop = gray[y:y + side, x:x + side]
            small = cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else crop
            for hit in _detect(detector, small, scale, (x, y)):
                if hit.marker_id in wanted_ids:
                    hits.setdefault(hit.marker_id, hit)
    if len(hits) < 4:
        window = _fourth_window(hits, frames, gray.shape)
        # a page that lost a marker (torn, inked over) costs three searches of the whole image (60-200 ms);
        # one not found even where the other three put it is not found elsewhere either, save a look-alike
        # that the page fit rejects: only a fourth found in its window sends the search over the whole image
        if window is None or len(_wider_search(gray, px_per_mm, detector, wanted_ids, hits, window)) > len(hits):
            hits = _wider_search(gray, px_per_mm, detector, wanted_ids, hits)
    window = int(round(px_per_mm * 0.4))
    return _refine(gray, sorted(hits.values(), key=lambda m: m.marker_id), window)


def _wider_search(gray: np.ndarray, px_per_mm: float, detector: cv2.aruco.ArucoDetector, wanted_ids: set[int],
                  hits: dict[int, MarkerHit], window: tuple[int, int, int, int] | None = None
                  ) -> dict[int, MarkerHit]:
    """`hits` with the wanted markers they lack, looked for in the whole image (or in `window`: x0, y0, x1,
    y1 pixels): phone photos, shifted pages, or a marker outside its corner window; the two-window detector
    first (it finds a photo's markers at two-thirds of the cost), then the four-window one, then once more
    softened: adaptive 1-bit scanning hollows solid black areas out."""
    hits = dict(hits)
    x0, y0, x1, y1 = window or (0, 0, gray.shape[1], gray.shape[0])
    for factor, rescue, finder in ((2.0, False, detector), (2.0, False, None), (1.0, True, None)):
        wide_scale = min(1.0, factor * DETECT_PX_PER_MM / px_per_mm)
        image = gray[y0:y1, x0:x1]
        image = cv2.resize(image, None, fx=wide_scale, fy=wide_scale, interpolation=cv2.INTER_AREA) \
            if wide_scale < 1 else image
        if rescue:
            # softened, and more bit errors allowed: hollow cells still vote black at their edges;
            # a wrong id cannot slip through, as the page fit rejects corners that disagree
            image = cv2.GaussianBlur(image, (0, 0), 0.3 * DETECT_PX_PER_MM)
            finder = _detector(error_correction=1.0)
        elif finder is None:
            finder = _detector()
        found = [h for h in _detect(finder, image, wide_scale, (x0, y0)) if h.marker_id in wanted_ids]
        by_id: dict[int, list[MarkerHit]] = {}
        for hit in found:
            by_id.setdefault(hit.marker_id, []).append(hit)
        for marker_id, group in by_id.items():
            if marker_id not in hits:
                # the same id twice: keep the largest (a real marker, not a look-alike in ink)
                hits[marker_id] = max(group, key=lambda m: cv2.contourArea(m.corners.astype(np.float32)))
        if len(hits) >= 4:
            break
    return hits


def _fourth_window(hits: dict[int, MarkerHit], frames: Sequence[Frame], shape: tuple[int, ...]
                   ) -> tuple[int, int, int, int] | None:
    """Where the marker the corner windows missed lies, when the other three of a paper size were found
    there and an affine map fits them as it fits a flat page: a corner window's square (x0, y0, x1, y1,
    pixels) round the spot they put it at. None otherwise (then the whole image is searched)."""
    if len(hits) != 3:
        return None
    for frame in frames:
        by_id = {f.marker_id: f for f in frame.fiducials}
        if not set(hits) <= set(by_id):
            continue
        homography, residual, px_per_mm = _fit(list(hits.values()), by_id, affine=True)
        if residual > MAX_RESIDUAL_MM:
            return None
        (missing,) = [f.rect for f in frame.fiducials if f.marker_id not in hits]
        cx, cy = project(homography, np.array([[missing.cx, missing.cy]]))[0]
        half = CORNER_WINDOW_MM * px_per_mm / 2
        x0, y0 = max(int(cx - half), 0), max(int(cy - half), 0)
        x1, y1 = min(int(cx + half) + 1, shape[1]), min(int(cy + half) + 1, shape[0])
        return (x0, y0, x1, y1) if x0 < x1 and y0 < y1 else None
    return None


def _fit(hits: list[MarkerHit], by_id: dict[int, Fiducial], affine: bool = False) -> tuple[np.ndarray, float, float]:
    """Least-squares homography page mm -> pixels (or `affine` map, as a 3x3 matrix), residual in mm, and
    mean px/mm."""
    page_pts, img_pts = [], []
    for hit in hits:
        r = by_id[hit.marker_id].rect
        page_pts += [(r.x, r.y), (r.x + r.w, r.y), (r.x + r.w, r.y + r.h), (r.x, r.y + r.h)]
        img_pts += list(hit.corners)
    src = np.asarray(page_pts, dtype=np.float64)
    dst = np.asarray(img_pts, dtype=np.float64)
    if affine:
        solution, *_ = np.linalg.lstsq(np.hstack([src, np.ones((len(src), 1))]), dst, rcond=None)
        homography = np.vstack([solution.T, [0.0, 0.0, 1.0]])
    else:
        homography, _ = cv2.findHomography(src, dst, 0)
    if homography is None:
        return np.eye(3), float("inf"), 0.0
    projected = cv2.perspectiveTransform(src.reshape(-1, 1, 2), homography).reshape(-1, 2)
    px_per_mm = local_scale(homography, src.mean(axis=0))
    residual_px = float(np.linalg.norm(projected - dst, axis=1).mean())
    return homography, residual_px / max(px_per_mm, 1e-9), px_per_mm


def local_scale(homography: np.ndarray, at_mm: np.ndarray | tuple[float, float]) -> float:
    """Pixels per mm of the transform around a page point (geometric mean of both axes)."""
    jac = local_affine(homography, at_mm)[:, :2]
    return float(np.sqrt(abs(np.linalg.det(jac))))


def local_affine(homography: np.ndarray, at_mm: np.ndarray | tuple[float, float]) -> np.ndarray:
    """The 2x3 affine map that equals the homography to first order around a page point."""
    x, y = float(at_mm[0]), float(at_mm[1])
    hm = homography
    d = hm[2, 0] * x + hm[2, 1] * y + hm[2, 2]
    u = (hm[0, 0] * x + hm[0, 1] * y + hm[0, 2]) / d
    v = (hm[1, 0] * x + hm[1, 1] * y + hm[1, 2]) / d
    jac = np.array([[(hm[0, 0] - u * hm[2, 0]) / d, (hm[0, 1] - u * hm[2, 1]) / d],
                    [(hm[1, 0] - v * hm[2, 0]) / d, (hm[1, 1] - v * hm[2, 1]) / d]])
    offset = np.array([u, v]) - jac @ np.array([x, y])
    return np.hstack([jac, offset.reshape(2, 1)])


def rotation_of(homography: np.ndarray, width_mm: float, height_mm: float) -> int:
    """How the page lies on the image: the angle of the page's x axis, to the nearest quarter turn."""
    centre = np.array([[[width_mm / 2, height_mm / 2]], [[width_mm / 2 + 10.0, height_mm / 2]]])
    a, b = cv2.perspectiveTransform(centre, homography).reshape(2, 2)
    angle = np.degrees(np.arctan2(b[1] - a[1], b[0] - a[0]))
    return int(round(angle / 90.0)) % 4 * 90


@dataclass(frozen=True)
class Frame:
    """Where the fiducials of one paper size are."""

    paper: str
    width_mm: float
    height_mm: float
    fiducials: tuple[Fiducial, ...]


def fit_frame(hits: list[MarkerHit], frame: Frame) -> PageTransform | RegistrationFailure:
    """The page transform of one paper size from at least three markers, or why it cannot be trusted."""
    by_id = {f.marker_id: f for f in frame.fiducials}
    hits = [h for h in hits if h.marker_id in by_id]
    if len(hits) < 3:
        names = [by_id[h.marker_id].corner for h in hits]
        return RegistrationFailure(f"only {len(hits)} of 4 corner marks found"
                                   + (f" ({', '.join(names)})" if names else "")
                                   + ": not a ballot of ours, or the corners are cut off, covered or torn")
    best: tuple[float, list[MarkerHit], np.ndarray, float] | None = None
    # All four when they agree; otherwise the best three (one marker damaged or a look-alike).
    candidates = [hits] + ([list(c) for c in itertools.combinations(hits, 3)] if len(hits) == 4 else [])
    for subset in candidates:
        homography, residual, px_per_mm = _fit(subset, by_id)
        if best is None or residual < best[0] - 1e-9:
            best = (residual, subset, homography, px_per_mm)
        if subset is hits and residual <= MAX_RESIDUAL_MM / 2:
            break
    assert best is not None
    residual, used, homography, px_per_mm = best
    if len(used) == 3:
        # the perspective of a homography fitted to three markers' corners rests on each marker's own few
        # millimetres: their measuring error, carried to the far corner, put names 0.3-0.8 mm off on 1-bit
        # scans (new ink all along the rules); a flat page, which an affine map fits, is mapped affinely
        flat = _fit(used, by_id, affine=True)
        if flat[1] <= FLAT_RESIDUAL_MM:
            homography, residual, px_per_mm = flat
    if residual > MAX_RESIDUAL_MM:
        return RegistrationFailure(f"corner marks do not fit one {frame.paper} page (off by {residual:.2f} mm): "
                                   "folded, torn or badly distorted sheet")
    if not MIN_PX_PER_MM <= px_per_mm <= MAX_PX_PER_MM:
        return RegistrationFailure(f"implausible scale of {px_per_mm * 25.4:.0f} dpi")
    used_ids = {h.marker_id for h in used}
    found = tuple(f.corner for f in frame.fiducials if f.marker_id in used_ids)
    missing = tuple(f.corner for f in frame.fiducials if f.marker_id not in used_ids)
    return PageTransform(homography, rotation_of(homography, frame.width_mm, frame.height_mm), found, missing,
                         round(residual, 4), px_per_mm)


def register(gray: np.ndarray, frames: list[Frame], markers_found: list[MarkerHit] | None = None
             ) -> tuple[Frame, PageTransform] | RegistrationFailure:
    """Find the fiducials once and fit every candidate paper size; the best fit wins. The markers
    found are added to `markers_found` when given (debug images show them)."""
    wanted = {f.marker_id for frame in frames for f in frame.fiducials}
    width = max(f.width_mm for f in frames)
    height = max(f.height_mm for f in frames)
    hits = find_markers(gray, width, height, wanted, frames)
    if markers_found is not None:
        markers_found.extend(hits)
    results = [(frame, fit_frame(hits, frame)) for frame in frames]
    fits = [(frame, r) for frame, r in results if isinstance(r, PageTransform)]
    if not fits:
        return results[0][1]  # type: ignore[return-value]
    return min(fits, key=lambda fr: (len(fr[1].fiducials_missing), fr[1].residual_mm))


def project(homography: np.ndarray, points_mm: np.ndarray) -> np.ndarray:
    """Page points (N, 2) in mm -> image pixels (N, 2)."""
    pts = np.asarray(points_mm, dtype=np.float64).reshape(-1, 1, 2)
    return cv2.perspectiveTransform(pts, homography).reshape(-1, 2)
