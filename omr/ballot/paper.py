"""Paper sizes the ballots are printed on, in mm (width, height, portrait): the template checks a
ballot's paper against them and the layout draws on them."""

from __future__ import annotations

PAPER_SIZES_MM: dict[str, tuple[float, float]] = {"A4": (210.0, 297.0), "Letter": (215.9, 279.4),
                                              "A5": (148.0, 210.0)}  # A5 portrait: the state election ballot
