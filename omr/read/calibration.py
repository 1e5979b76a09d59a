"""Calibration profiles: score bands and image-quality limits, kept with every run.

A profile is a small YAML file: the bundled ones are package data (`omr/read/profiles/`), and a
committee's own go in a `calibration/` folder of the working directory, which is searched first.
`derive_profile` proposes thresholds for one
scanner and pen from the scores of a real batch: blank boxes form a tight cluster near 0 and marked
boxes a wide one far above it; the bands are put in the gap, with a margin on each side.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from omr.read.interpret import Policy
from omr.read.marks import Thresholds

BUNDLED_PROFILES = Path(__file__).resolve().parent / "profiles"
USER_PROFILES = Path("calibration")  # relative to the working directory
KEYS = {"name", "description", "blank_below", "marked_at_least", "max_edge_width_mm", "min_contrast",
        "review_invalid_rows"}
# Cross-out ballots (optional: a profile written before them takes these defaults)
CROSSOUT_DEFAULTS = {"strike_struck_at": 0.7, "strike_clear_below": 0.12, "strike_ink_mm2": 0.08,
                     "strike_restored_mm2": 0.8, "strike_restored_bilevel_mm2": 0.5, "strike_min_seen": 0.75,
                     "strike_light_below": 0.4,
                     "strike_light_fold_below": 0.5, "strike_dotted_below": 0.3,
                     "stamp_present_mm2": 40.0, "stamp_absent_mm2": 6.0, "stamp_ring_share": 0.5}


class ProfileError(ValueError):
    pass


@dataclass(frozen=True)
class Profile:
    name: str
    description: str
    blank_below: float
    marked_at_least: float
    max_edge_width_mm: float  # blurrier than this: the sheet goes to review
    min_contrast: float  # paper white minus printed black, grey levels; fainter: review
    review_invalid_rows: bool
    # a name is struck when a stroke through its letters covers this share of one printed line's width,
    # not struck when less than strike_clear_below and less new ink than strike_ink_mm2 is in its cell,
    # unclear between (a person decides)
    strike_struck_at: float = CROSSOUT_DEFAULTS["strike_struck_at"]
    strike_clear_below: float = CROSSOUT_DEFAULTS["strike_clear_below"]
    strike_ink_mm2: float = CROSSOUT_DEFAULTS["strike_ink_mm2"]
    # a strike with this much ink off its line (dots, a tick, a circle: taken back?) is unclear; so is a name
    # the scan shows less than strike_min_seen of (scanner streaks across it)
    strike_restored_mm2: float = CROSSOUT_DEFAULTS["strike_restored_mm2"]
    # ... or this much on a 1-bit scan, whose threshold leaves a pen's sign a pixel or two wide
    strike_restored_bilevel_mm2: float = CROSSOUT_DEFAULTS["strike_restored_bilevel_mm2"]
    strike_min_seen: float = CROSSOUT_DEFAULTS["strike_min_seen"]
    # not struck also needs a light line (from 35 % of the darkness) across less than this share of the name
    strike_light_below: float = CROSSOUT_DEFAULTS["strike_light_below"]
    # ... or of this share where that line runs on past the name through the blank paper (a fold's shadow)
    strike_light_fold_below: float = CROSSOUT_DEFAULTS["strike_light_fold_below"]
    # ... and no line of specks (a thin pen's strike a 1-bit threshold broke up) across this share of it
    strike_dotted_below: float = CROSSOUT_DEFAULTS["strike_dotted_below"]
    # the stamp is present from this much new ink in its area, absent below stamp_absent_mm2 (and only on a
    # grey scan clear enough to show red ink), unclear otherwise
    stamp_present_mm2: float = CROSSOUT_DEFAULTS["stamp_present_mm2"]
    stamp_absent_mm2: float = CROSSOUT_DEFAULTS["stamp_absent_mm2"]
    # ... and "present" needs a round stamp's ring: ink on this share of a circle of the stamp's size
    stamp_ring_share: float = CROSSOUT_DEFAULTS["stamp_ring_share"]

    @property
    def thresholds(self) -> Thresholds:
        return Thresholds(self.blank_below, self.marked_at_least)

    @property
    def policy(self) -> Policy:
        return Policy(review_invalid_rows=self.review_invalid_rows)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def parse_profile(data: Any, source: str) -> Profile:
    if not isinstance(data, dict):
        raise ProfileError(f"{source}: expected a mapping of {sorted(KEYS)}")
    unknown = set(data) - KEYS - set(CROSSOUT_DEFAULTS)
    missing = KEYS - set(data) - {"description"}
    if unknown or missing:
        problems = ([f"unknown keys {sorted(unknown)}"] if unknown else []) + (
            [f"missing keys {sorted(missing)}"] if missing else [])
        raise ProfileError(f"{source}: " + "; ".join(problems))
    try:
        profile = Profile(str(data["name"]), str(data.get("description", "")), float(data["blank_below"]),
                          float(data["marked_at_least"]), float(data["max_edge_width_mm"]),
                          float(data["min_contrast"]), bool(data["review_invalid_rows"]),
                          **{k: float(data.get(k, v)) for k, v in CROSSOUT_DEFAULTS.items()})
    except (TypeError, ValueError) as exc:
        raise ProfileError(f"{source}: {exc}") from None
    if not 0.0 < profile.strike_clear_below < profile.strike_struck_at <= 1.0 or \
            not 0.0 < profile.stamp_absent_mm2 < profile.stamp_present_mm2:
        raise ProfileError(f"{source}: need 0 < strike_clear_below < strike_struck_at <= 1 and "
                           "0 < stamp_absent_mm2 < stamp_present_mm2")
    if not 0.0 < profile.blank_below <= profile.marked_at_least < 1.0:
        raise ProfileError(f"{source}: need 0 < blank_below <= marked_at_least < 1, got "
                           f"{profile.blank_below} and {profile.marked_at_least}")
    return profile


def load_profile(name_or_path: str = "default") -> Profile:
    """A profile by name (calibration/NAME.yaml in the working directory, else a bundled one) or by path."""
    path = Path(name_or_path)
    if not path.suffix:
        user = USER_PROFILES / f"{name_or_path}.yaml"
        path = user if user.is_file() else BUNDLED_PROFILES / f"{name_or_path}.yaml"
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        known = sorted({p.stem for d in (USER_PROFILES, BUNDLED_PROFILES) if d.is_dir() for p in d.glob("*.yaml")})
        raise ProfileError(f"{path}: no such calibration profile; known: {', '.join(known)}") from None
    except yaml.YAMLError as exc:
        raise ProfileError(f"{path}: not valid YAML: {exc}") from None
    return parse_profile(data, str(path))


@dataclass(frozen=True)
class Derivation:
    profile: Profile
    boxes: int
    blank_noise: float  # 99th percentile of the lower half of the scores
    typical_mark: float  # median score of the clearly marked boxes
    note: str


def derive_profile(scores: np.ndarray, name: str, base: Profile) -> Derivation:
    """Score bands for one scanner and pen, from the box scores of a batch it scanned.

    On a ballot at most half the boxes are marked, so the lower half of the scores shows the
    scanner's noise on blank boxes: the blank band ends at three times its 99th percentile (never
    below the base profile's). Clearly marked boxes (score 0.1 and more) show how much ink this pen
    puts in a box: the marked band starts at 15 % of their median, but never above the base profile's
    marked threshold (a 1 mm pencil line must still count, VVSG 2.0) and always at least twice the
    blank threshold, so that a marginal band remains for people to look at.
    """
    scores = np.sort(np.asarray(scores, dtype=np.float64))
    if scores.size < 20:
        raise ProfileError(f"only {scores.size} box scores: calibrate on a batch with at least 20 boxes")
    strong = scores[scores >= 0.1]
    if strong.size < 5:
        raise ProfileError(f"only {strong.size} clearly marked boxes: calibrate on a batch of marked ballots")
    noise = float(np.percentile(scores[: scores.size // 2], 99))
    typical_mark = float(np.median(strong))
    blank_below = round(max(base.blank_below, 3.0 * noise), 4)
    marked_at = round(max(2.0 * blank_below, min(base.marked_at_least, 0.15 * typical_mark)), 4)
    note = "ok"
    if marked_at > base.marked_at_least:
        note = "this scanner is noisy: blank boxes score high; check its settings (brightness, resolution)"
    profile = replace(base, name=name, description=f"derived from {scores.size} box scores",
                      blank_below=blank_below, marked_at_least=marked_at)
    return Derivation(profile, int(scores.size), round(noise, 4), round(typical_mark, 4), note)


def write_profile(profile: Profile, path: str | Path) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(yaml.safe_dump(profile.to_json(), allow_unicode=True, sort_keys=False), encoding="utf-8")
