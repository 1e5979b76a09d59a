"""The committee's stamp (dấu) on a cross-out election ballot: present, absent or unclear.

A round stamp in red ink is mid-grey on a grey scan and may vanish from a 1-bit one, so "absent"
(which voids every vote on a state ballot) is only said where the scan could show the stamp: a grey
scan with enough contrast. Anywhere else the answer is "unclear" and a person looks at the paper.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from omr.ballot.layout import Rect
from omr.read.identify import upright_patch
from omr.read.inspect import PAGE_PX_PER_MM, STRIKE_INK, PageReference, ink_mask
from omr.read.interpret import STAMP_ABSENT, STAMP_PRESENT, STAMP_UNCLEAR
from omr.read.marks import InkLevels
from omr.read.strikes import faint_levels

GREY_SHARE_1BIT = 0.002  # a 1-bit scan has (almost) no pixels between black and white
MIN_EXTENT_MM = 12.0  # a round stamp spreads its ink at least this far both ways (a streak, a stroke do not)


@dataclass(frozen=True)
class StampRead:
    state: str  # present | absent | unclear
    ink_mm2: float  # new ink in the stamp area
    scan_shows_red: bool  # a grey scan with enough contrast: a red stamp would show
    detail: str


def is_bilevel(gray: np.ndarray) -> bool:
    """Whether the page is a 1-bit scan (black and white only), from a sample of its pixels."""
    sample = gray[::7, ::7]
    return float(np.mean((sample > 24) & (sample < 232))) < GREY_SHARE_1BIT


def read_stamp(gray: np.ndarray, homography: np.ndarray, zone: Rect, reference: PageReference, levels: InkLevels,
               contrast: float, min_contrast: float, present_mm2: float, absent_mm2: float,
               streaked: bool = False) -> StampRead:
    """`streaked`: a scanner streak crosses the area, whose ink then says nothing either way."""
    s = PAGE_PX_PER_MM
    scan = upright_patch(gray, homography, zone, s)
    x0, y0 = int(np.floor(zone.x * s)), int(np.floor(zone.y * s))
    printed = reference.printed[y0:y0 + scan.shape[0], x0:x0 + scan.shape[1]]
    if printed.shape != scan.shape:
        printed = np.zeros(scan.shape, bool)
    ink = ink_mask(scan, faint_levels(levels), s, STRIKE_INK) & ~printed  # red ink is pale: from 60 %
    ink = cv2.morphologyEx(ink.astype(np.uint8), cv2.MORPH_OPEN, np.ones((2, 2), np.uint8)) > 0
    mm2 = round(float(np.count_nonzero(ink)) / (s * s), 1)
    shows = not is_bilevel(gray) and contrast >= min_contrast
    if streaked:
        return StampRead(STAMP_UNCLEAR, mm2, shows, "a scanner streak crosses the stamp area")
    _, _, w, h = cv2.boundingRect(ink.astype(np.uint8))
    if mm2 >= present_mm2 and min(w, h) / s < MIN_EXTENT_MM:
        return StampRead(STAMP_UNCLEAR, mm2, shows, f"{mm2:.0f} mm² of ink in the stamp area, but not the "
                         "shape of a round stamp")
    if mm2 >= present_mm2:
        return StampRead(STAMP_PRESENT, mm2, shows, f"{mm2:.0f} mm² of ink in the stamp area")
    if mm2 < absent_mm2 and shows:
        return StampRead(STAMP_ABSENT, mm2, shows, f"no stamp in its area ({mm2:.0f} mm² of ink, "
                         f"{present_mm2:.0f} needed)")
    why = ("a 1-bit scan cannot show a red stamp: scan election ballots in grey or colour" if not shows
           else f"{mm2:.0f} mm² of ink in the stamp area: too little for a stamp, too much for none")
    return StampRead(STAMP_UNCLEAR, mm2, shows, why)
