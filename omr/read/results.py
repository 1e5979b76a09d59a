"""Typed reads passed between the recognition stages, the store and the outputs.

Every number that led to a decision is kept (scores, thresholds, registration quality), so a
reviewer or an auditor can see why a mark was read as it was.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from omr.codes import (  # noqa: F401  (re-exported: the read's own vocabulary)
    BLANK,
    INVALID,
    MARGINAL,
    MARKED,
    NOT_IDENTIFIED,
    NOT_ISSUED,
    NOT_REGISTERED,
    REVIEW,
    SHEET_OK,
    SHEET_REJECTED,
    SHEET_REVIEW,
    VALID,
    WRONG_PAGE,
)


@dataclass(frozen=True)
class Reason:
    """Why a row or a sheet is not simply valid. `code` is stable (filters, tallies); `detail` is
    for people and names the box, cell or place concerned."""

    code: str
    detail: str = ""
    where: tuple[float, float, float, float] | None = None  # x, y, w, h in page mm: what to zoom on

    def __str__(self) -> str:
        return f"{self.code}: {self.detail}" if self.detail else self.code


@dataclass(frozen=True)
class MarkRead:
    contest_id: str
    row_id: str
    option_id: str
    score: float  # share of the box interior covered by new ink, 0..1, rounded to 4 decimals
    state: str  # marked | marginal | blank
    dx_mm: float = 0.0  # where the printed box was found, relative to the layout
    dy_mm: float = 0.0


@dataclass(frozen=True)
class RowRead:
    contest_id: str
    row_id: str
    status: str  # valid | invalid | review
    reasons: tuple[Reason, ...]
    choices: tuple[str, ...]  # option ids read as marked
    marks: tuple[MarkRead, ...]


@dataclass(frozen=True)
class Registration:
    """How well the sheet was located on the scan."""

    rotation: int  # 0, 90, 180 or 270: how the sheet lay on the scanner, clockwise
    fiducials_found: int  # of 4
    residual_mm: float  # mean distance of the found fiducial corners to the fitted transform
    px_per_mm: float
    homography: tuple[float, ...]  # 3x3 row-major, page mm -> image pixels


@dataclass(frozen=True)
class SheetRead:
    source: str  # the file path as given
    page: int  # 1-based within the file
    status: str  # ok | review | rejected
    reasons: tuple[Reason, ...]
    image_sha256: str  # of the decoded page pixels
    template_id: str | None = None
    fingerprint: str | None = None
    template_page: int | None = None  # 1-based page of the template
    test: bool = False  # a test-deck sheet: kept apart from the count
    serial: int | None = None
    registration: Registration | None = None
    rows: tuple[RowRead, ...] = ()
    metrics: dict[str, float] = field(default_factory=dict)  # image quality numbers behind reasons
    signature: bytes = b""  # compact descriptor of the voter's ink: finds the same sheet scanned twice

    @property
    def rotation(self) -> int | None:
        return self.registration.rotation if self.registration else None

    @property
    def rejection(self) -> str | None:
        """Why the reader rejected the sheet (omr.codes.REJECTIONS), from what it established:
        no page frame found, no template recognised, a QR of ours the committee did not issue (an
        unknown fingerprint), or a QR whose page or paper does not match its template."""
        if self.status != SHEET_REJECTED:
            return None
        if self.fingerprint is None:
            return NOT_REGISTERED if self.registration is None else NOT_IDENTIFIED
        return NOT_ISSUED if self.template_id is None else WRONG_PAGE

    def to_json(self) -> dict[str, Any]:
        """The `--json` shape documented in the README; keep these names."""
        contests: dict[str, list[RowRead]] = {}
        for row in self.rows:
            contests.setdefault(row.contest_id, []).append(row)
        return {
            "source": self.source,
            "page": self.page,
            "status": self.status,
            "reasons": [str(r) for r in self.reasons],
            "rotation": self.rotation,
            "template": self.template_id,
            "template_page": self.template_page,
            "fingerprint": self.fingerprint,
            "test": self.test,
            "image_sha256": self.image_sha256,
            "registration": None if self.registration is None else {
                "fiducials_found": self.registration.fiducials_found,
                "residual_mm": self.registration.residual_mm,
                "px_per_mm": self.registration.px_per_mm,
            },
            "metrics": dict(sorted(self.metrics.items())),
            "contests": [
                {"id": cid, "rows": [
                    {"id": r.row_id, "status": r.status, "reasons": [str(x) for x in r.reasons],
                     "choices": list(r.choices),
                     "marks": [{"option": m.option_id, "score": m.score, "state": m.state} for m in r.marks]}
                    for r in rows]}
                for cid, rows in contests.items()
            ],
        }
