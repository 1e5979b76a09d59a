"""The fonts ballots are printed in, shipped inside a PyPI package (no system font needed).

Be Vietnam Pro (SIL Open Font Licence) was designed for Vietnamese and covers every diacritic.
The layout measures text with the same files the generator embeds, so a name that fits the
layout fits the paper.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from reportlab.lib.utils import simpleSplit
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

FONT_FILES = {
    "regular": "BeVietnamPro-Regular.ttf",
    "bold": "BeVietnamPro-Bold.ttf",
    "italic": "BeVietnamPro-Italic.ttf",
    "bolditalic": "BeVietnamPro-BoldItalic.ttf",
}
PT_TO_MM = 25.4 / 72.0


def font_dir() -> Path:
    import fontpkg_be_vietnam_pro

    return Path(fontpkg_be_vietnam_pro.__file__).parent / "files"


@cache
def ttfont(style: str) -> TTFont:
    """The reportlab font object for a style; its name is what the generator registers."""
    return TTFont(f"BeVietnamPro-{style}", str(font_dir() / FONT_FILES[style]))


def text_width_mm(text: str, style: str, size_pt: float) -> float:
    return ttfont(style).stringWidth(text, size_pt) * PT_TO_MM


def register_fonts() -> None:
    """Make every style known to reportlab by name (the generator, the minutes and wrapping use it)."""
    for style in FONT_FILES:
        font = ttfont(style)
        if font.fontName not in pdfmetrics.getRegisteredFontNames():
            pdfmetrics.registerFont(font)


def wrap_text(text: str, style: str, size_pt: float, width_mm: float) -> list[str]:
    """Greedy word wrap (reportlab's simpleSplit); a single word wider than the width stays on its
    own (over-long) line."""
    register_fonts()
    return simpleSplit(text, ttfont(style).fontName, size_pt, width_mm / PT_TO_MM)
