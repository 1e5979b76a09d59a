"""Debug images: one picture per recognition stage of one sheet, for when a scanner misbehaves.

`read_sheet(..., trace=Trace())` fills a Trace with what each stage found (the markers, the page
transform, the QR region, the ink levels, the inspection); `stage_images` draws it. Pure: arrays
in, BGR images out; writing them to files is the caller's job. A normal read passes no trace and
pays nothing for this module.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from omr.ballot.layout import PageLayout, Rect
from omr.ballot.sheetcode import decode_sheet_code
from omr.read.annotate import annotate
from omr.read.calibration import Profile
from omr.read.identify import QR_PX_PER_MM, QUIET_MM, upright_patch
from omr.read.inspect import PAGE_PX_PER_MM, Finding, PageInspection, PageReference, ink_mask
from omr.read.marks import SEARCH_MM, InkLevels
from omr.read.register import CORNER_WINDOW_MM, Frame, MarkerHit, PageTransform, project
from omr.read.results import BLANK, MARGINAL, MARKED, SheetRead

SCAN_MAX_SIDE = 1600  # the scan is shown at most this many pixels high or wide
BOXES_VIEW_WIDTH = 1400  # the boxes' part of the page is shown this wide, at most BOXES_MAX_PX_PER_MM
BOXES_MAX_PX_PER_MM = 10.0
INK_VIEW_SCALE = 1.5  # the inspection runs at PAGE_PX_PER_MM; shown this much larger

# BGR
GREEN, ORANGE, RED, BLUE = (40, 160, 40), (0, 140, 255), (30, 30, 220), (200, 120, 0)
CYAN, MAGENTA, GREY, PURPLE = (200, 170, 0), (200, 40, 200), (150, 150, 150), (140, 40, 120)
STATE_COLOURS = {MARKED: GREEN, MARGINAL: ORANGE, BLANK: GREY}
FINDING_COLOURS = {"crossed-out-name": RED, "name-obscured": ORANGE, "extra-writing": PURPLE, "streak": MAGENTA,
                   "light-streak": MAGENTA, "crease": GREY}


@dataclass
class Trace:
    """What the stages of one sheet's read found, filled in by `read_sheet` as it goes: a stage
    that was not reached leaves its fields empty (a rejected sheet has no inspection)."""

    source: str = ""  # the file, as given
    page: int = 0  # in the file, 1-based
    pixels: np.ndarray | None = None  # the grey page image as read
    frames: list[Frame] = field(default_factory=list)  # the paper sizes looked for
    profile: Profile | None = None
    markers: list[MarkerHit] = field(default_factory=list)  # every wanted marker the detector found
    frame: Frame | None = None  # the paper size that fitted
    transform: PageTransform | None = None
    qr_rect: Rect | None = None
    qr_text: str = ""  # the raw text decoded, '' when none
    page_layout: PageLayout | None = None  # the template page identified
    levels: InkLevels | None = None
    blur_mm: float = 0.0
    reference: PageReference | None = None
    inspection: PageInspection | None = None
    read: SheetRead | None = None


def stage_images(trace: Trace) -> list[tuple[str, np.ndarray]]:
    """(stage name, BGR image) for every stage the read reached, in pipeline order."""
    if trace.pixels is None:
        return []
    images = [("1-markers", markers_image(trace))]
    if trace.transform is None or trace.frame is None:
        return images
    images += [("2-grid", grid_image(trace)), ("3-qr", qr_image(trace))]
    if trace.page_layout is None or trace.read is None or trace.levels is None:
        return images
    images.append(("4-boxes", boxes_image(trace)))
    if trace.inspection is not None and trace.reference is not None:
        images.append(("5-ink", ink_image(trace)))
    images.append(("6-result", annotate(trace.pixels, trace.transform.homography, trace.page_layout, trace.read)))
    return images


# --- drawing helpers -------------------------------------------------------------------------------

def _bgr(gray: np.ndarray, fade: float = 0.0) -> np.ndarray:
    """Grey to BGR, lightened towards white by `fade` so that drawings stand out."""
    g = gray if fade == 0 else (gray.astype(np.float32) * (1 - fade) + 255 * fade).astype(np.uint8)
    return cv2.cvtColor(g, cv2.COLOR_GRAY2BGR)


def _stretched(gray: np.ndarray, levels: InkLevels) -> np.ndarray:
    """The scan stretched from its printed black to its paper white: a faint scan shown at full contrast."""
    out = (gray.astype(np.float32) - levels.black) * (255.0 / max(levels.contrast, 1.0))
    return np.clip(out, 0, 255).astype(np.uint8)


def _label(out: np.ndarray, text: str, org: tuple[float, float], colour: tuple[int, int, int],
           size: float = 0.45) -> None:
    """Text on a white plate, kept inside the image, readable over print and ink."""
    (w, h), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, size, 1)
    x = int(min(max(org[0], 2), out.shape[1] - w - 3))
    y = int(min(max(org[1], h + 3), out.shape[0] - base - 2))
    cv2.rectangle(out, (x - 2, y - h - 3), (x + w + 2, y + base + 1), (255, 255, 255), -1)
    cv2.putText(out, text, (x, y), cv2.FONT_HERSHEY_SIMPLEX, size, colour, 1, cv2.LINE_AA)


def _wrap(text: str, width: int) -> list[str]:
    lines, line = [], ""
    for word in (w[i:i + width] for w in text.split() for i in range(0, len(w), width)):
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    return lines + [line] if line else lines


def _with_caption(image: np.ndarray, title: str, lines: list[tuple[str, tuple[int, int, int]]]) -> np.ndarray:
    """The image under a white panel: a bold title, then each line wrapped in its colour."""
    chars = max(40, image.shape[1] // 9)
    wrapped = [(part, colour) for text, colour in lines for part in _wrap(text, chars)]
    panel = np.full((34 + 20 * len(wrapped), image.shape[1], 3), 255, np.uint8)
    cv2.putText(panel, title, (8, 22), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 0, 0), 2, cv2.LINE_AA)
    for i, (text, colour) in enumerate(wrapped):
        cv2.putText(panel, text, (8, 44 + 20 * i), cv2.FONT_HERSHEY_SIMPLEX, 0.5, colour, 1, cv2.LINE_AA)
    return np.vstack([panel, image])


def _title(trace: Trace, stage: str) -> str:
    return f"{stage}  ({trace.source} page {trace.page})"


def _scan_view(trace: Trace) -> tuple[np.ndarray, float]:
    """The scan as it came, in BGR, at most SCAN_MAX_SIDE pixels; and its scale from the scan."""
    assert trace.pixels is not None
    scale = min(1.0, SCAN_MAX_SIDE / max(trace.pixels.shape))
    small = cv2.resize(trace.pixels, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 \
        else trace.pixels
    return _bgr(small, 0.35), scale


def _polygon(out: np.ndarray, points: np.ndarray, colour: tuple[int, int, int], thickness: int) -> None:
    cv2.polylines(out, [np.round(points).astype(np.int32).reshape(-1, 1, 2)], True, colour, thickness, cv2.LINE_AA)


def _rect_corners(r: Rect) -> np.ndarray:
    return np.array([[r.x, r.y], [r.x + r.w, r.y], [r.x + r.w, r.y + r.h], [r.x, r.y + r.h]])


def _frame_rect(out: np.ndarray, r: Rect, s: float, colour: tuple[int, int, int], thickness: int = 1) -> None:
    cv2.rectangle(out, (int(round(r.x * s)), int(round(r.y * s))),
                  (int(round((r.x + r.w) * s)), int(round((r.y + r.h) * s))), colour, thickness)


# --- the stages ------------------------------------------------------------------------------------

def markers_image(trace: Trace) -> np.ndarray:
    """The scan with the corner windows searched first, every marker found (green: used for the page
    transform, orange: found but not used) and, once registered, where the missing ones should be."""
    assert trace.pixels is not None
    out, k = _scan_view(trace)
    h, w = trace.pixels.shape
    if trace.frames:
        # the fast path's corner windows, at the resolution it assumes (the page fills the image)
        px_per_mm = max(h, w) / max(max(f.width_mm, f.height_mm) for f in trace.frames)
        side = CORNER_WINDOW_MM * px_per_mm
        if side * 2 < min(h, w):
            for x, y in ((0, 0), (w - side, 0), (w - side, h - side), (0, h - side)):
                p0, p1 = (int(x * k), int(y * k)), (int((x + side) * k) - 1, int((y + side) * k) - 1)
                cv2.rectangle(out, p0, p1, BLUE, 1)
    used: set[int] = set()
    corner_of: dict[int, str] = {}
    if trace.frame is not None:
        corner_of = {f.marker_id: f.corner for f in trace.frame.fiducials}
    elif trace.frames:
        corner_of = {f.marker_id: f.corner for frame in trace.frames for f in frame.fiducials}
    if trace.transform is not None and trace.frame is not None:
        used = {f.marker_id for f in trace.frame.fiducials if f.corner in trace.transform.fiducials_found}
        for f in trace.frame.fiducials:
            if f.corner in trace.transform.fiducials_missing:
                expected = project(trace.transform.homography, _rect_corners(f.rect.grow(1.0))) * k
                _polygon(out, expected, RED, 2)
                _label(out, f"{f.corner} missing", expected.min(axis=0) + (0, -6), RED)
    for hit in trace.markers:
        colour = GREEN if hit.marker_id in used else ORANGE
        pts = hit.corners * k
        _polygon(out, pts, colour, 2)
        cv2.circle(out, tuple(int(v) for v in np.round(pts[0])), 4, colour, -1)  # the marker's own top-left
        name = corner_of.get(hit.marker_id, "")
        _label(out, f"id {hit.marker_id} {name}".strip(), (pts[:, 0].min(), pts[:, 1].max() + 16), colour)
    lines = [(f"{len(trace.markers)} marker(s) found: "
              + (", ".join(f"id {m.marker_id} ({corner_of.get(m.marker_id, '?')})" for m in trace.markers) or "none"),
              (0, 0, 0)),
             ("blue: corner windows searched first; green: marker used for the page transform; orange: found, "
              "not used; red: where a missing marker should be; dot: the marker's own top-left corner", GREY)]
    pt = trace.transform
    if pt is not None and trace.frame is not None:
        lines.append((f"registered on {trace.frame.paper}: turned {pt.rotation} degrees, "
                      f"{len(pt.fiducials_found)} of 4 markers, residual {pt.residual_mm:.3f} mm, "
                      f"{pt.px_per_mm:.2f} px/mm ({pt.px_per_mm * 25.4:.0f} dpi)", GREEN))
    if trace.read is not None and trace.read.registration is None:
        lines.append(("; ".join(str(r) for r in trace.read.reasons), RED))
    return _with_caption(out, _title(trace, "1 markers"), lines)


def grid_image(trace: Trace) -> np.ndarray:
    """The page's millimetre grid carried onto the scan by the fitted transform, with the layout
    (markers, QR code, boxes, name cells) where the transform puts it: drift shows as print off
    its outline."""
    assert trace.transform is not None and trace.frame is not None
    out, k = _scan_view(trace)
    hm = trace.transform.homography
    width, height = trace.frame.width_mm, trace.frame.height_mm
    grid = out.copy()
    lines_mm = [((x, 0.0), (x, height)) for x in np.arange(0, width + 0.01, 10.0)] + \
        [((0.0, y), (width, y)) for y in np.arange(0, height + 0.01, 10.0)]
    for a, b in lines_mm:
        p, q = (tuple(int(v) for v in np.round(pt)) for pt in project(hm, np.array([a, b])) * k)
        major = (a[0] == b[0] and a[0] % 50 == 0) or (a[1] == b[1] and a[1] % 50 == 0)
        cv2.line(grid, p, q, BLUE if major else CYAN, 1, cv2.LINE_AA)
    out = cv2.addWeighted(grid, 0.6, out, 0.4, 0)
    for f in trace.frame.fiducials:
        _polygon(out, project(hm, _rect_corners(f.rect)) * k, GREEN, 2)
    if trace.qr_rect is not None:
        _polygon(out, project(hm, _rect_corners(trace.qr_rect)) * k, MAGENTA, 2)
    if trace.page_layout is not None:
        for cell in trace.page_layout.name_cells:
            _polygon(out, project(hm, _rect_corners(cell.text_rect)) * k, BLUE, 1)
        for box in trace.page_layout.boxes:
            _polygon(out, project(hm, _rect_corners(box.rect)) * k, RED, 1)
    axes = np.round(project(hm, np.array([[20.0, 20.0], [50.0, 20.0], [20.0, 50.0]])) * k).astype(int)
    for end, name in ((axes[1], "x"), (axes[2], "y")):
        cv2.arrowedLine(out, tuple(axes[0]), tuple(end), RED, 2, cv2.LINE_AA, tipLength=0.2)
        _label(out, f"page {name}", end + 6, RED)
    lines = [("cyan: the page's 10 mm grid (blue every 50 mm; arrows: the page's x and y from (20, 20) mm) "
              "through the fitted transform; green: markers; "
              "magenta: QR region; red: boxes; blue: printed names. Print off its outline = registration drift.",
              GREY)]
    if trace.page_layout is None:
        lines.append(("the template page was not identified: its boxes are not drawn", RED))
    return _with_caption(out, _title(trace, "2 registration grid"), lines)


def qr_image(trace: Trace) -> np.ndarray:
    """The QR region as the decoder saw it (upright, with its quiet zone), and what it said."""
    assert trace.transform is not None and trace.pixels is not None
    lines: list[tuple[str, tuple[int, int, int]]] = []
    if trace.qr_rect is not None:
        scale = min(QR_PX_PER_MM, max(trace.transform.px_per_mm, 3.0))
        patch = upright_patch(trace.pixels, trace.transform.homography, trace.qr_rect, scale, QUIET_MM)
        zoom = max(1, int(round(360 / max(patch.shape))))
        out = _bgr(cv2.resize(patch, None, fx=zoom, fy=zoom, interpolation=cv2.INTER_NEAREST))
        out = cv2.copyMakeBorder(out, 0, 0, 0, max(0, 720 - out.shape[1]), cv2.BORDER_CONSTANT, value=(255, 255, 255))
    else:
        out = np.full((200, 720, 3), 255, np.uint8)
    lines.append((f"QR text: {trace.qr_text}" if trace.qr_text else "no QR code decoded in this region", (0, 0, 0)))
    code = decode_sheet_code(trace.qr_text) if trace.qr_text else None
    if code is not None:
        lines.append((f"sheet code: template fingerprint {code.fingerprint[:16]}..., page {code.page} of "
                      f"{code.page_count}, {'TEST' if code.test else 'official'} sheet"
                      + (f", serial {code.serial}" if code.serial is not None else ""), (0, 0, 0)))
    elif trace.qr_text:
        lines.append(("not a sheet code of ours", RED))
    read = trace.read
    if read is not None and read.template_id:
        lines.append((f"template {read.template_id}, page {read.template_page}", GREEN))
    for reason in read.reasons if read is not None else ():
        if reason.code in ("identified-by-print", "rejected"):
            lines.append((str(reason), RED))
    return _with_caption(out, _title(trace, "3 QR code"), lines)


def boxes_image(trace: Trace) -> np.ndarray:
    """The registered page with each box's search window (blue), where the layout puts it (grey),
    where its printed outline was found (the state's colour) and its score."""
    assert trace.pixels is not None and trace.transform is not None and trace.page_layout is not None
    assert trace.read is not None
    pl = trace.page_layout
    view = _boxes_region(pl)
    s = min(BOXES_MAX_PX_PER_MM, BOXES_VIEW_WIDTH / view.w)
    out = _bgr(_stretched(upright_patch(trace.pixels, trace.transform.homography, view, s), trace.levels), 0.3)
    marks = {(m.contest_id, m.row_id, m.option_id): m for row in trace.read.rows for m in row.marks}
    for box in pl.boxes:
        r = Rect(box.rect.x - view.x, box.rect.y - view.y, box.rect.w, box.rect.h)
        _frame_rect(out, r.grow(SEARCH_MM), s, BLUE)
        _frame_rect(out, r, s, GREY)
        m = marks.get((box.contest_id, box.row_id, box.option_id))
        if m is None:
            continue
        colour = STATE_COLOURS.get(m.state, RED)
        _frame_rect(out, Rect(r.x + m.dx_mm, r.y + m.dy_mm, r.w, r.h), s, colour, 2 if m.state != BLANK else 1)
        _label(out, f"{m.score:.3f}", ((r.x - SEARCH_MM) * s, (r.y - SEARCH_MM) * s - 4), colour, 0.45)
    lines = [("blue: search window; grey: where the layout puts the box; coloured: the printed outline found, "
              "green marked, orange marginal, grey blank; number: share of the interior inked", GREY)]
    if trace.profile is not None:
        p = trace.profile
        lines.append((f"profile {p.name}: blank below {p.blank_below}, marked from {p.marked_at_least}", (0, 0, 0)))
    levels = trace.levels
    if levels is not None:
        lines.append((f"ink levels from the markers: printed black {levels.black:.0f}, paper {levels.paper:.0f} "
                      f"(contrast {levels.contrast:.0f}); edge width {trace.blur_mm:.2f} mm", (0, 0, 0)))
    return _with_caption(out, _title(trace, "4 boxes"), lines)


def _boxes_region(pl: PageLayout) -> Rect:
    """The part of the page with the boxes and the printed names, with a margin."""
    rects = [b.rect for b in pl.boxes] + [c.rect for c in pl.name_cells]
    if not rects:
        return Rect(0, 0, pl.width, pl.height)
    x0 = max(min(r.x for r in rects) - 10.0, 0.0)
    y0 = max(min(r.y for r in rects) - 10.0, 0.0)
    x1 = min(max(r.x + r.w for r in rects) + 10.0, pl.width)
    y1 = min(max(r.y + r.h for r in rects) + 10.0, pl.height)
    return Rect(x0, y0, x1 - x0, y1 - y0)


def ink_image(trace: Trace) -> np.ndarray:
    """The inspection's view: ink that the blank ballot does not have and that is outside the boxes
    (red), the zones not judged (tinted blue), and each finding framed and named."""
    assert trace.pixels is not None and trace.transform is not None and trace.page_layout is not None
    assert trace.reference is not None and trace.inspection is not None and trace.levels is not None
    s = PAGE_PX_PER_MM
    pl = trace.page_layout
    scan = upright_patch(trace.pixels, trace.transform.homography, Rect(0, 0, pl.width, pl.height), s)
    out = _bgr(_stretched(scan, trace.levels), 0.5)
    ignored = trace.reference.not_voter_ink & ~trace.reference.printed
    out[ignored] = (0.8 * out[ignored] + 0.2 * np.array([255, 200, 120])).astype(np.uint8)
    out[ink_mask(scan, trace.levels, s) & ~trace.reference.not_voter_ink] = RED
    z = INK_VIEW_SCALE
    out = cv2.resize(out, None, fx=z, fy=z, interpolation=cv2.INTER_NEAREST)
    for f in trace.inspection.findings:
        _draw_finding(out, f, s * z)
    lines = [("red: ink the blank ballot does not have, outside the boxes; blue tint: not judged (boxes, "
              "markers, QR, footer, page edge); frames: findings", GREY),
             (f"new ink {trace.inspection.new_ink_mm2:.1f} mm2, contrast {trace.inspection.contrast:.0f} grey "
              f"levels, {len(trace.inspection.findings)} finding(s)", (0, 0, 0))]
    lines += [(f"{f.code}: " + (f"{f.contest_id} / {f.row_id}: " if f.row_id else "") + f.detail,
               FINDING_COLOURS.get(f.code, RED)) for f in trace.inspection.findings]
    return _with_caption(out, _title(trace, "5 ink found by inspection"), lines)


def _draw_finding(out: np.ndarray, f: Finding, s: float) -> None:
    colour = FINDING_COLOURS.get(f.code, RED)
    if f.line is not None:
        x0, y0, x1, y1, width = f.line
        cv2.line(out, (int(round(x0 * s)), int(round(y0 * s))), (int(round(x1 * s)), int(round(y1 * s))), colour,
                 max(1, int(round(width * s))), cv2.LINE_AA)
        across = f.rect.w > f.rect.h  # a line across the page (a fold, a page fed sideways) is named at its left end
        _label(out, f.code, (40, f.rect.cy * s - 6) if across else (f.rect.cx * s + 6, 40), colour)
        return
    _frame_rect(out, f.rect.grow(0.5), s, colour, 2)
    _label(out, f"{f.code} {f.row_id}".strip(), (f.rect.x * s, f.rect.y * s - 5), colour)
