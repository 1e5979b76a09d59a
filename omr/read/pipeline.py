"""One sheet, from pixels to a typed read: register -> identify -> measure -> inspect -> interpret.

Pure: takes an image array and the known templates, returns a SheetRead. No file, database or
network I/O, so the same pixels always give the same read, in any process.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import cv2
import numpy as np
import pypdfium2 as pdfium

from omr.ballot.generate import ballots_pdf
from omr.ballot.layout import BallotLayout, PageLayout, Rect, layout, page_frame
from omr.ballot.sheetcode import SheetCode
from omr.ballot.template import PAPER_SIZES_MM, Template
from omr.read import duplicates
from omr.read.calibration import Profile
from omr.read.crossout import read_crossout_page
from omr.read.identify import MATCH_PX_PER_MM, match_printed_page, read_sheet_code, upright_patch
from omr.read.inspect import (
    NAME_PX_PER_MM,
    PAGE_PX_PER_MM,
    PageReference,
    inspect_page,
    page_reference,
    sheet_blur_mm,
    test_sheet_reference,
)
from omr.read.interpret import STAMP_PRESENT, interpret_row, sheet_status
from omr.read.marks import InkLevels, box_state, ink_levels, measure_boxes, sample_px_per_mm
from omr.read.register import Frame, PageTransform, register
from omr.read.results import (
    MARGINAL,
    MARKED,
    SHEET_REJECTED,
    MarkRead,
    Reason,
    Registration,
    RowRead,
    SheetRead,
)
from omr.read.stamp import stamp_disc
from omr.read.strikes import Line, off_print_darkness

if TYPE_CHECKING:
    from omr.read.debug import Trace


@dataclass
class TemplateBook:
    """The templates a batch is read against, with their layouts and blank-page references."""

    templates: dict[str, Template]  # by fingerprint
    layouts: dict[str, BallotLayout]
    _references: dict[tuple[str, int], PageReference] = field(default_factory=dict)
    _printed: dict[str, bytes] = field(default_factory=dict)  # by fingerprint: the blank ballot's PDF

    @classmethod
    def from_templates(cls, templates: list[Template]) -> TemplateBook:
        layouts = {}
        by_fp = {}
        for t in templates:
            bl = layout(t)
            layouts[bl.fingerprint] = bl
            by_fp[bl.fingerprint] = t
        return cls(by_fp, layouts)

    def frames(self) -> list[Frame]:
        papers = sorted({t.paper for t in self.templates.values()}) or ["A4"]
        return [Frame(p, *PAPER_SIZES_MM[p], page_frame(p)[0]) for p in papers]

    def reference(self, fingerprint: str, page: int) -> PageReference:
        """The blank page as printed, rendered from the generated PDF (once per page)."""
        key = (fingerprint, page)
        if key not in self._references:
            if fingerprint not in self._printed:  # generated once for all its pages (a 28-leader one: ~70 ms)
                self._printed[fingerprint] = ballots_pdf(self.templates[fingerprint], 1)
            pdf = pdfium.PdfDocument(self._printed[fingerprint])
            try:
                scale = NAME_PX_PER_MM * 25.4 / 72.0
                fine = pdf[page - 1].render(scale=scale, grayscale=True).to_numpy()
            finally:
                pdf.close()
            fine = np.ascontiguousarray(fine[:, :, 0] if fine.ndim == 3 else fine)
            pl = self.layouts[fingerprint].pages[page - 1]
            size = (int(round(pl.width * PAGE_PX_PER_MM)), int(round(pl.height * PAGE_PX_PER_MM)))
            coarse = cv2.resize(fine, size, interpolation=cv2.INTER_AREA)
            self._references[key] = page_reference(pl, coarse, fine)
        return self._references[key]


def image_sha256(pixels: np.ndarray) -> str:
    h = hashlib.sha256()
    h.update(f"{pixels.shape[0]}x{pixels.shape[1]}:".encode())
    h.update(memoryview(np.ascontiguousarray(pixels)).cast("B"))
    return h.hexdigest()


def _registration(pt: PageTransform) -> Registration:
    return Registration(rotation=pt.rotation, fiducials_found=len(pt.fiducials_found),
                        residual_mm=round(pt.residual_mm, 3), px_per_mm=round(pt.px_per_mm, 3),
                        homography=tuple(round(float(v), 6) for v in pt.homography.ravel()))


SIGNED_STAMP_PX = 64  # the stamp area's ink is kept in a square of this many pixels (0.6-1.4 mm each: 36 mm
#                       high, 60-88 mm wide): a stamp pressed a ring's width away no longer lines up


def _signed_stamp(gray: np.ndarray, homography: np.ndarray, stamp: Rect, levels: InkLevels,
                  reference: PageReference, streaks: Sequence[Line]) -> np.ndarray:
    """The committee's stamp on a cross-out page, for the signature: pressed by hand on every ballot, it
    lies a little differently on each (where, how hard), while a strike hides in the letters it crosses.
    The print under it is left out, and so are the scanner's streaks and folds found on the page and what
    runs the area's whole height or width: all are much the same on many sheets."""
    dark = off_print_darkness(gray, homography, stamp, reference.fine, levels, reference.memo, ("signed-stamp",),
                              streaks)
    for axis in (0, 1):  # each column's median, then each row's: what runs through it all
        dark = _less_median(dark, axis)
    return cv2.resize(dark, (SIGNED_STAMP_PX, SIGNED_STAMP_PX), interpolation=cv2.INTER_AREA)


def _less_median(dark: np.ndarray, axis: int) -> np.ndarray:
    """`dark` (0..1) less its median along `axis`, clipped at 0. Only lines inked over half their length or
    more can have a median above 0, and only theirs are computed (a whole median costs 2.6 ms a stamp)."""
    lines = np.flatnonzero(np.count_nonzero(dark, axis=axis) * 2 >= dark.shape[axis])  # across the other axis
    if lines.size:
        part = np.take(dark, lines, axis=1 - axis)
        part = np.clip(part - np.median(part, axis=axis, keepdims=True), 0.0, 1.0)
        dark = dark.copy()
        if axis == 0:
            dark[:, lines] = part
        else:
            dark[lines] = part
    return dark


def _signature(gray: np.ndarray, homography: np.ndarray, marks: list[tuple[Rect, MarkRead]],
               levels: InkLevels, reference: PageReference, bilevel: bool, stamp: Rect | None,
               streaks: Sequence[Line]) -> bytes:
    """What tells this physical sheet from every other (see omr.read.duplicates): the voter's ink inside
    each marked box at 0.125 mm after registration, and the texture of a few windows of blank paper (none
    on a 1-bit scan, whose threshold erased it). Empty when nothing is marked. A cross-out page with no
    box marked keeps its stamp's ink instead (_signed_stamp), when the stamp was read present (`stamp`: its area),
    judged by the boxes' bars: two ballots' stamps were at most 0.92 alike over 170,000 simulated pairs
    (benchmarks/accuracy.py --dup-ballot crossout), where ink alone must reach 0.985."""
    s = float(duplicates.INK_PX_PER_MM)
    boxes = []
    for index, (rect, mark) in enumerate(marks):
        if len(boxes) == duplicates.INK_MAX_BOXES:
            break  # encode keeps no more (a page of the 28-leader ballot has 14 marked boxes)
        if mark.state != MARKED:
            continue
        found = Rect(rect.x + mark.dx_mm, rect.y + mark.dy_mm, rect.w, rect.h)  # where the printed box is
        patch = upright_patch(gray, homography, found.grow(-duplicates.INK_INSET_MM), s).astype(np.float32)
        boxes.append((index, np.clip((levels.paper - patch) / max(levels.contrast, 1.0), 0, 1)))
    if not boxes and stamp is not None:  # numbered after the boxes
        boxes = [(len(marks), _signed_stamp(gray, homography, stamp, levels, reference, streaks))]
    if not boxes:
        return b""
    if "paper_windows" not in reference.memo:
        reference.memo["paper_windows"] = duplicates.paper_windows(~reference.not_voter_ink, PAGE_PX_PER_MM)
    papers = [] if bilevel else [duplicates.paper_texture(upright_patch(
        gray, homography, window, float(duplicates.PAPER_PX_PER_MM))) for window in reference.memo["paper_windows"]]
    if any(p is None for p in papers):
        papers = []  # no texture kept by this scan: the ink alone decides
    return duplicates.encode(boxes, papers)


def _other_paper(gray: np.ndarray, book: TemplateBook) -> str | None:
    """When the page's corner marks are those of a paper size no given template uses, say so (a ballot
    of another template, not a page with its corners cut off). Looked for only when registration failed."""
    given = {frame.paper for frame in book.frames()}
    others = [Frame(p, *size, page_frame(p)[0]) for p, size in PAPER_SIZES_MM.items() if p not in given]
    found = register(gray, others) if others else None
    if not isinstance(found, tuple):
        return None
    return (f"its corner marks are those of a {found[0].paper} ballot, and no template given is printed on "
            f"{found[0].paper}: a ballot of another template (give it with --template) or not of this election")


MIN_PRINT_SCALE = 0.985  # as VxSuite: a ballot printed smaller (a "fit to page" print) is refused; scans of
# ballots printed at 100% measure 0.992-1.008 (paper stretch, feeder speed: 324 simulated scanner pages)


def print_scale(px_per_mm: float, dpi: float | None) -> float | None:
    """The size the sheet was printed at, as a share of the template's: the scale the corner marks give
    over the one the file states. None when the file states no plausible resolution (a phone photo's
    72 dpi means nothing, but gives a scale far above 1, never below)."""
    if dpi is None or not 50 <= dpi <= 2400:
        return None
    return px_per_mm * 25.4 / dpi


def read_sheet(pixels: np.ndarray, source: str, page: int, book: TemplateBook, profile: Profile,
               trace: Trace | None = None, dpi: float | None = None) -> SheetRead:
    """Everything the machine can say about one page image. A `trace` (debug images) is filled
    with what each stage found; without one nothing is kept. `dpi`: the resolution the file states
    (None when unknown), against which the distance between the corner marks gives the print scale."""
    digest = image_sha256(pixels)
    gray = pixels if pixels.dtype == np.uint8 else np.clip(pixels, 0, 255).astype(np.uint8)
    if trace is not None:
        trace.source, trace.page, trace.pixels = source, page, gray
        trace.frames, trace.profile = book.frames(), profile

    def rejected(code_detail: str, registration: Registration | None = None, **extra) -> SheetRead:
        read = SheetRead(source, page, SHEET_REJECTED, (Reason("rejected", code_detail),), digest,
                         registration=registration, **extra)
        if trace is not None:
            trace.read = read
        return read

    found = register(gray, book.frames(), None if trace is None else trace.markers)
    if not isinstance(found, tuple):
        return rejected(f"not registered: {_other_paper(gray, book) or found.reason}")
    frame, pt = found
    if trace is not None:
        trace.frame, trace.transform = frame, pt
    registration = _registration(pt)
    scale = print_scale(pt.px_per_mm, dpi)
    if scale is not None and scale < MIN_PRINT_SCALE:
        return rejected(f"printed at {scale:.0%} of its size (its corner marks are {scale:.0%} as far apart as the "
                        f"template's at the scan's {dpi:g} dpi): print the ballot again at 100%, without 'fit to "
                        "page' (in lại phiếu đúng khổ giấy)", registration)
    reasons: list[Reason] = []
    if pt.fiducials_missing:
        reasons.append(Reason("fiducial-missing", f"corner mark {', '.join(pt.fiducials_missing)} not found "
                              f"(damaged or covered); registered on {len(pt.fiducials_found)}"))
    _, qr_rect = page_frame(frame.paper)
    code, raw = read_sheet_code(gray, pt.homography, qr_rect, pt.px_per_mm)
    if trace is not None:
        trace.qr_rect, trace.qr_text = qr_rect, raw
    if code is None:
        what = f"QR code '{raw[:40]}' is not a ballot code of ours" if raw else "QR code not readable"
        code = _identify_by_print(gray, pt.homography, frame, book)
        if code is None:
            return rejected(f"not identified: {what}, and the printed page matches no given template", registration)
        reasons.append(Reason("identified-by-print", f"{what}: identified by its printed content as page "
                              f"{code.page} of a given template; whether it is an official or a test sheet "
                              "issued by the committee cannot be checked: a person decides", _where(qr_rect)))
    template = book.templates.get(code.fingerprint)
    if template is None:
        return rejected(f"not issued by the counting committee: fingerprint {code.fingerprint[:16]}… matches "
                        "no given template", registration, fingerprint=code.fingerprint, test=code.test)
    bl = book.layouts[code.fingerprint]
    if code.page_count != len(bl.pages) or template.paper != frame.paper:
        return rejected(f"QR code says page {code.page} of {code.page_count} on {frame.paper}; template "
                        f"{template.id} has {len(bl.pages)} page(s) on {template.paper}", registration,
                        template_id=template.id, fingerprint=code.fingerprint, test=code.test)
    pl: PageLayout = bl.pages[code.page - 1]
    s = sample_px_per_mm(pt.px_per_mm)
    found = [f.rect for f in pl.fiducials if f.corner in pt.fiducials_found]
    levels = ink_levels(gray, pt.homography, found, s)
    blur = sheet_blur_mm(gray, pt.homography, found, pt.px_per_mm)
    reference = book.reference(code.fingerprint, code.page)
    if code.test:  # a test sheet's footer carries its printed votes: not the voter's writing
        reference = test_sheet_reference(reference, pl)
    bilevel = is_bilevel(gray)
    disc = stamp_disc(gray, pt.homography, pl.stamp, reference, levels) if pl.stamp is not None else None
    inspection = inspect_page(gray, pt.homography, pl, reference, levels, blur, bilevel, disc)
    if trace is not None:
        trace.page_layout, trace.levels, trace.blur_mm, trace.inspection = pl, levels, blur, inspection
        trace.reference = reference
    streaks = [f for f in inspection.findings if f.code in ("streak", "fold-line")]
    # what every measure of ink leaves out; a light streak too, which only takes ink away from a box
    streak_lines = [f.line for f in inspection.findings if f.code in ("streak", "light-streak", "fold-line") and f.line]
    measured: list[tuple[Rect, MarkRead]] = []
    for box, m in zip(pl.boxes, measure_boxes(gray, pt.homography, [box.rect for box in pl.boxes], s, levels, blur,
                                              bilevel, profile.thresholds)):
        state = box_state(m, profile.thresholds)
        if any(st.crosses(box.rect.grow(-0.5)) for st in streaks):
            state = MARGINAL  # a scanner streak or a fold crosses the box: its score says nothing about the voter
        measured.append((box.rect, MarkRead(box.contest_id, box.row_id, box.option_id, m.score, state,
                                            m.dx_mm, m.dy_mm)))
    crossed = {(f.contest_id, f.row_id): f for f in inspection.findings if f.code == "crossed-out-name"}
    box_zones = [b.rect.grow(1.0) for b in pl.boxes] + [c.rect for c in pl.name_cells]
    for f in inspection.findings:
        if f.code == "streak":
            hits_boxes = any(f.crosses(z) for z in box_zones)
            reasons.append(Reason("streak-over-boxes" if hits_boxes else "streak", f.detail, _where(f.rect)))
        elif f.code == "light-streak":
            reasons.append(Reason("streak", f.detail, _where(f.rect)))
        elif f.code == "name-obscured":
            reasons.append(Reason("name-obscured", f"{f.contest_id} / {f.row_id}: {f.detail}", _where(f.rect)))
        elif f.code == "fold-line" and any(f.crosses(z) for z in box_zones):
            reasons.append(Reason("fold-over-boxes", f.detail + ": the boxes it crosses are for a person to read",
                                  _where(f.rect)))
        elif f.code == "writing-over-print":
            reasons.append(Reason("writing-over-print", f.detail, _where(f.rect)))
        elif f.code == "extra-writing":
            reasons.append(Reason("extra-writing", f.detail + " (a signature is allowed: a person decides)",
                                  _where(f.rect)))
    if blur > profile.max_edge_width_mm:
        reasons.append(Reason("blurred", f"printed edges are {blur:.2f} mm wide "
                              f"(limit {profile.max_edge_width_mm} mm): too blurred to trust"))
    if inspection.contrast < profile.min_contrast:
        reasons.append(Reason("faint", f"paper-to-print contrast is {inspection.contrast:.0f} grey levels "
                              f"(at least {profile.min_contrast:.0f} needed): too faint to trust"))
    rows: list[RowRead] = []
    for contest in template.contests:
        if contest.kind == "crossout":
            continue  # judged as a whole ballot below
        for row_id in contest.row_ids:
            marks = [m for _, m in measured if m.contest_id == contest.id and m.row_id == row_id]
            if not marks:
                continue  # this row is on another page of the template
            strike = crossed.get((contest.id, row_id))
            beside = tuple(f.detail for f in inspection.findings
                           if f.code == "mark-beside-box" and (f.contest_id, f.row_id) == (contest.id, row_id))
            rows.append(interpret_row(contest, row_id, marks, strike.detail if strike else None, beside))
    crossout_metrics: dict[str, float] = {}
    stamp_state = STAMP_PRESENT  # (a page without a stamp area)
    if pl.strike_cells or pl.stamp is not None:  # a cross-out election ballot (omr.read.crossout)
        more_rows, more_reasons, crossout_metrics, stamp_state = read_crossout_page(
            gray, pt.homography, pl, template, reference, levels, blur,
            inspection.contrast, profile, [m for _, m in measured], any(r.code == "extra-writing" for r in reasons),
            streak_lines, bilevel, [f.line for f in inspection.findings if f.code == "crease" and f.line])
        rows += more_rows
        reasons += more_reasons
    elif all(m.state != MARKED for _, m in measured) and not any(m.state == MARGINAL for _, m in measured) \
            and inspection.new_ink_mm2 == 0 and not crossed:
        reasons.append(Reason("blank-sheet", "no box is marked and nothing is written on the sheet"))
    for (contest_id, row_id), strike in crossed.items():
        reasons.append(Reason("crossed-out-name", f"{contest_id} / {row_id}: the printed name is crossed out",
                              _where(strike.rect)))
    status = sheet_status(rows, reasons, profile.policy)
    metrics = {"edge_width_mm": blur, "contrast": inspection.contrast,
               "new_ink_mm2": inspection.new_ink_mm2, "paper_level": round(levels.paper, 1),
               "black_level": round(levels.black, 1), **crossout_metrics}
    read = SheetRead(
        source=source, page=page, status=status, reasons=tuple(reasons), image_sha256=digest,
        template_id=template.id, fingerprint=code.fingerprint, template_page=code.page, test=code.test,
        serial=code.serial, registration=registration, rows=tuple(rows), metrics=metrics,
        # the paper windows are the plain page's: a test sheet's reference shares its memo but masks its
        # footer, and windows chosen on it would depend on whether a test sheet came first in the process
        signature=_signature(gray, pt.homography, measured, levels, book.reference(code.fingerprint, code.page),
                             bilevel, pl.stamp if stamp_state == STAMP_PRESENT else None, streak_lines),
    )
    if trace is not None:
        trace.read = read
    return read


def is_bilevel(gray: np.ndarray) -> bool:
    """A 1-bit scan (every pixel black or white): its threshold may have dissolved light strokes."""
    sample = gray[::7, ::7]
    return bool(np.all((sample == 0) | (sample == 255)))


def _identify_by_print(gray: np.ndarray, homography: np.ndarray, frame: Frame, book: TemplateBook) -> SheetCode | None:
    """A sheet code for a page whose QR code cannot be read, from the page's print alone."""
    s = MATCH_PX_PER_MM
    size = (int(round(frame.width_mm * s)), int(round(frame.height_mm * s)))
    scan = upright_patch(gray, homography, Rect(0, 0, frame.width_mm, frame.height_mm), s)
    refs = {}
    for fp, bl in book.layouts.items():
        if book.templates[fp].paper != frame.paper:
            continue
        for pl in bl.pages:
            coarse = book.reference(fp, pl.number).coarse
            refs[(fp, pl.number)] = cv2.resize(coarse, size, interpolation=cv2.INTER_AREA)
    key, _, _ = match_printed_page(scan, refs)
    if key is None:
        return None
    return SheetCode(key[0], key[1], len(book.layouts[key[0]].pages), test=False)


def _where(r: Rect) -> tuple[float, float, float, float]:
    return (round(r.x, 1), round(r.y, 1), round(r.w, 1), round(r.h, 1))
