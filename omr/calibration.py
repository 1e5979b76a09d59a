"""Calibration profiles: score bands and image-quality limits, kept with every run.

A profile is a small YAML file in `calibration/`. `derive_profile` proposes thresholds for one
scanner and pen from the scores of a real batch: blank boxes form a tight cluster near 0 and marked
boxes a wide one far above it; the bands are put in the gap, with a margin on each side.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from omr.interpret import Policy
from omr.marks import Thresholds

PROFILE_DIR = Path(__file__).resolve().parent.parent / "calibration"
KEYS = {"name", "description", "blank_below", "marked_at_least", "max_edge_width_mm", "min_contrast",
        "review_invalid_rows"}


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
    unknown = set(data) - KEYS
    missing = KEYS - set(data) - {"description"}
    if unknown or missing:
        problems = ([f"unknown keys {sorted(unknown)}"] if unknown else []) + (
            [f"missing keys {sorted(missing)}"] if missing else [])
        raise ProfileError(f"{source}: " + "; ".join(problems))
    try:
        profile = Profile(str(data["name"]), str(data.get("description", "")), float(data["blank_below"]),
                          float(data["marked_at_least"]), float(data["max_edge_width_mm"]),
                          float(data["min_contrast"]), bool(data["review_invalid_rows"]))
    except (TypeError, ValueError) as exc:
        raise ProfileError(f"{source}: {exc}") from None
    if not 0.0 < profile.blank_below <= profile.marked_at_least < 1.0:
        raise ProfileError(f"{source}: need 0 < blank_below <= marked_at_least < 1, got "
                           f"{profile.blank_below} and {profile.marked_at_least}")
    return profile


def load_profile(name_or_path: str = "default") -> Profile:
    """A profile by name (calibration/NAME.yaml) or by path."""
    path = Path(name_or_path)
    if not path.suffix:
        path = PROFILE_DIR / f"{name_or_path}.yaml"
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        known = sorted(p.stem for p in PROFILE_DIR.glob("*.yaml"))
        raise ProfileError(f"{path}: no such calibration profile; known: {', '.join(known)}") from None
    except yaml.YAMLError as exc:
        raise ProfileError(f"{path}: not valid YAML: {exc}") from None
    return parse_profile(data, str(path))


@dataclass(frozen=True)
class Derivation:
    profile: Profile
    boxes: int
    blank_cluster_p99: float
    marked_cluster_p01: float
    gap: float
    note: str


def derive_profile(scores: np.ndarray, name: str, base: Profile) -> Derivation:
    """Thresholds in the widest gap between the blank and marked clusters of a batch's box scores.

    The blank band ends at twice the 99.9th percentile of the blank cluster (noise grows with the
    scanner), and the marked band starts at the larger of half the marked cluster's 1st percentile
    and 2.5x the blank threshold; never looser than the base profile's marked threshold allows for a
    1 mm pencil line (VVSG 2.0), which is why the marked threshold is capped at the base's.
    """
    scores = np.sort(np.asarray(scores, dtype=np.float64))
    if scores.size < 20:
        raise ProfileError(f"only {scores.size} box scores: calibrate on a batch with at least 20 boxes")
    # Split the clusters at the largest gap between consecutive scores above the base blank threshold.
    gaps = np.diff(scores)
    candidates = np.nonzero(scores[:-1] >= 0.0)[0]
    split = int(candidates[np.argmax(gaps[candidates])]) + 1
    blank, marked = scores[:split], scores[split:]
    if marked.size == 0 or blank.size == 0:
        raise ProfileError("the batch has no marked boxes (or no blank ones): nothing to calibrate on")
    blank_p = float(np.percentile(blank, 99.9))
    marked_p = float(np.percentile(marked, 1))
    blank_below = round(max(0.01, min(2.0 * blank_p + 0.005, base.blank_below * 2)), 3)
    marked_at = round(min(base.marked_at_least, max(0.5 * marked_p, 2.5 * blank_below)), 3)
    note = "ok"
    if marked_at <= blank_below:
        marked_at = round(blank_below * 1.5, 3)
        note = "the clusters overlap: keep the default profile and review this scanner's settings"
    profile = Profile(name, f"derived from {scores.size} boxes", blank_below, marked_at, base.max_edge_width_mm,
                      base.min_contrast, base.review_invalid_rows)
    return Derivation(profile, int(scores.size), round(blank_p, 4), round(marked_p, 4),
                      round(float(marked.min() - blank.max()), 4), note)


def write_profile(profile: Profile, path: str | Path) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(yaml.safe_dump(profile.to_json(), allow_unicode=True, sort_keys=False), encoding="utf-8")
