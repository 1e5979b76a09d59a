"""Annotated sheet images for people: the registered page with every box outlined in the colour of
its state and labelled with its score, crossed names and writing framed, the reasons written on top."""

from __future__ import annotations

import cv2
import numpy as np

from omr.identify import upright_patch
from omr.layout import PageLayout, Rect
from omr.results import BLANK, MARGINAL, MARKED, SheetRead

ANNOTATE_PX_PER_MM = 5.0
COLOURS = {MARKED: (40, 160, 40), MARGINAL: (0, 140, 255), BLANK: (160, 160, 160)}  # BGR
FINDING = (200, 40, 200)


def annotate(pixels: np.ndarray, homography: np.ndarray, pl: PageLayout, read: SheetRead) -> np.ndarray:
    """A BGR image of the registered page (upright, ANNOTATE_PX_PER_MM) with the read drawn on it."""
    s = ANNOTATE_PX_PER_MM
    page = upright_patch(pixels, homography, Rect(0, 0, pl.width, pl.height), s)
    out = cv2.cvtColor(page, cv2.COLOR_GRAY2BGR)
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
        cv2.putText(out, f"{m.score:.3f}", (p0[0], p1[1] + 14), cv2.FONT_HERSHEY_SIMPLEX, 0.45, colour, 1,
                    cv2.LINE_AA)
    for reason in list(read.reasons) + [x for row in read.rows for x in row.reasons]:
        if reason.where is None:
            continue
        r = Rect(*reason.where)
        cv2.rectangle(out, (int(r.x * s), int(r.y * s)), (int((r.x + r.w) * s), int((r.y + r.h) * s)), FINDING, 2)
    y = 16
    for text in [f"{read.source} p{read.page}: {read.status.upper()}"] + [str(x) for x in read.reasons] + [
            str(x) for row in read.rows for x in row.reasons]:
        cv2.putText(out, text[:150], (8, y), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (255, 255, 255), 3, cv2.LINE_AA)
        cv2.putText(out, text[:150], (8, y), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 200), 1, cv2.LINE_AA)
        y += 16
    return out
