"""What every page's QR code carries: template fingerprint, page, official/test flag, optional serial.

Only characters of the QR alphanumeric mode are used (upper-case hex, digits, ':'), which keeps the
symbol at version 4 (33 modules) for a full SHA-256 fingerprint.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PREFIX = "BOMR1"
_PATTERN = re.compile(r"^BOMR1:([0-9A-F]{64}):(\d{1,3}):(\d{1,3}):([OT])(?::(\d{1,9}))?$")


@dataclass(frozen=True)
class SheetCode:
    fingerprint: str  # lower-case hex, as layout.fingerprint returns it
    page: int  # 1-based
    page_count: int
    test: bool  # a test-deck sheet: never counted
    serial: int | None = None  # only when the template asks for serial numbers


def encode_sheet_code(code: SheetCode) -> str:
    text = f"{PREFIX}:{code.fingerprint.upper()}:{code.page}:{code.page_count}:{'T' if code.test else 'O'}"
    return text if code.serial is None else f"{text}:{code.serial}"


def decode_sheet_code(text: str) -> SheetCode | None:
    """The sheet code in a QR text, or None when the text is not one of ours."""
    m = _PATTERN.match(text.strip())
    if not m:
        return None
    page, count = int(m.group(2)), int(m.group(3))
    if not 1 <= page <= count:
        return None
    serial = int(m.group(5)) if m.group(5) else None
    return SheetCode(m.group(1).lower(), page, count, m.group(4) == "T", serial)
