"""Annotated sheet images for people: the registered page with every box outlined in the colour of
its state and labelled with its score, crossed names and writing framed, the reasons written on top."""

from __future__ import annotations

import cv2
import numpy as np

from omr.ballot.layout import PageLayout, Rect
from omr.read.identify import upright_patch
from omr.read.results import BLANK, MARGINAL, MARKED, SheetRead

ANNOTATE_PX_PER_MM = 5.0
COLOURS = {MARKED: (40, 160, 40), MARGINAL: (0, 140, 255), BLANK: (160, 160, 160)}  # BGR
FINDING = (200, 40, 200)


def _label(out: np.ndarray, text: str, org: tuple[int, int], colour: tuple[int, int, int]) -> None:
    """Text on a white plate, readable over print and ink."""
    (w, h), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, 0.42, 1)
    x, y = org
    cv2.rectangle(out, (x - 1, y - h - 2), (x + w + 1, y + base), (255, 255, 255), -1)
    cv2.putText(out, text, (x, y), cv2.FONT_HERSHEY_SIMPLEX, 0.42, colour, 1, cv2.LINE_AA)


def annotate(pixels: np.ndarray, homography: np.ndarray, pl: PageLayout, read: SheetRead) -> np.ndarray:
    """A BGR image: a panel with the status and reasons, above the registered page (upright,
    ANNOTATE_PX_PER_MM) with every box outlined in its state's colour and labelled with its score."""
    s = ANNOTATE_PX_PER_MM
    page = upright_patch(pixels, homography, Rect(0, 0, pl.width, pl.height), s)
    out = cv2.cvtColor(page, cv2.COLOR_GRAY2BGR)
    flagged_rows = {(row.contest_id, row.row_id) for row in read.rows if row.status != "valid"}
    for box in pl.boxes:
        if (box.contest_id, box.row_id) in flagged_rows:
            r = box.rect.grow(2.5)
            y0, y1 = int(r.y * s), int((r.y + r.h) * s)
            x0, x1 = int(r.x * s), int((r.x + r.w) * s)
            out[y0:y1, x0:x1] = (0.75 * out[y0:y1, x0:x1] + 0.25 * np.array([0, 200, 255])).astype(np.uint8)
    marks = {(m.contest_id, m.row_id, m.option_id): m for row in read.rows for m in row.marks}
    for box in pl.boxes:
        m = marks.get((box.contest_id, box.row_id, box.option_id))
        if m is None:
            continue
        r = Rect(box.rect.x + m.dx_mm, box.rect.y + m.dy_mm, box.rect.w, box.rect.h).grow(0.8)
        colour = COLOURS[m.state]
        p0 = (int(r.x * s), int(r.y * s))
        p1 = (int((r.x + r.w) * s), int((r.y + r.h) * s))
        cv2.rectangle(out, p0, p1, colour, 3 if m.state != BLANK else 1)
        _label(out, f"{m.score:.3f}", (p0[0], p0[1] - 3), colour)
    for reason in list(read.reasons) + [x for row in read.rows for x in row.reasons]:
        if reason.where is None:
            continue
        r = Rect(*reason.where)
        cv2.rectangle(out, (int(r.x * s), int(r.y * s)), (int((r.x + r.w) * s), int((r.y + r.h) * s)), FINDING, 2)
    lines = [f"{read.source}  page {read.page}: {read.status.upper()}"] + [str(x) for x in read.reasons] + [
        str(x) for row in read.rows for x in row.reasons]
    panel = np.full((12 + 18 * len(lines), out.shape[1], 3), 255, np.uint8)
    for i, text in enumerate(lines):
        cv2.putText(panel, text[:140], (8, 20 + 18 * i), cv2.FONT_HERSHEY_SIMPLEX, 0.5,
                    (0, 0, 0) if i == 0 else (0, 0, 180), 1, cv2.LINE_AA)
    return np.vstack([panel, out])
