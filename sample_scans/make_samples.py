"""Make the bundled sample scans (or larger simulated sets) with their expected reads.

    python3 sample_scans/make_samples.py                      # the small set in sample_scans/
    python3 sample_scans/make_samples.py --out /tmp/set --sheets 2000 --profile phone
    python3 sample_scans/make_samples.py --out /tmp/set --sheets 500 --profile all --format tiff

The bundled set is fully determined by --seed (default 96): running the script again rewrites the
same bytes. Every page's expected read is in expected.json (see ballot_sim.simulate.ExpectedSet).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT) not in sys.path:  # run from a checkout without installing
    sys.path.insert(0, str(ROOT))

from ballot_sim import simulate as S  # noqa: E402
from omr.ballot.template import Template, load_template  # noqa: E402

TEMPLATE_FILES = ("tin-nhiem-cdyt-dong-nai-2023.yaml", "tin-nhiem-28-lanh-dao.yaml", "general-election-en.yaml")
CROSSOUT_FILES = ("bau-cu-hdnd-phuong-a5.yaml", "bau-bch-cdyt-dong-nai-2025.yaml")  # cross-out election ballots
CROSSOUT_INDEX = 5001  # their ballots' indexes: apart from the others, whose bytes stay as they were
ALL_KINDS = tuple(k for k in S.MARK_KINDS if k not in ("none", "printed"))
ALL_BEHAVIOURS = tuple(b for b in S.BEHAVIOURS if b != "normal")


def load_templates(folder: Path = ROOT / "ballot_templates", names: tuple[str, ...] = TEMPLATE_FILES
                   ) -> list[Template]:
    return [load_template(folder / name) for name in names]


class Batch:
    """Pages going into one file, written in order."""

    def __init__(self, name: str, fmt: str):
        self.name = name
        self.fmt = fmt
        self.pages: list[S.SimulatedPage] = []

    def add(self, pages: list[S.SimulatedPage]) -> list[S.SimulatedPage]:
        self.pages.extend(pages)
        return pages


def bundled_set(sim: S.Simulator) -> list[Batch]:
    """The small bundled set: every mark kind, behaviour, degradation and packing at least once."""
    cdyt, t28, gen = sim.templates
    index = iter(range(1, 10_000))
    batches: list[Batch] = []

    def ballot(batch: Batch, template: Template, profile: str, behaviours: list[str] | None = None,
               kinds: tuple[str, ...] | None = None, **kw: Any) -> list[S.SimulatedPage]:
        return batch.add(sim.ballot(next(index), template, profile, behaviours, kinds, **kw))

    # 1. office scanner, grey JPEG at 150 dpi, "medium" quality (some pale, some pristine)
    b1 = Batch("batch-01-office-grey-150dpi.pdf", "pdf")
    batches.append(b1)
    grey = {"dpi": 150.0}
    medium = {"pack_quality": 60}
    ballot(b1, t28, "office-scanner", ["normal"], ALL_KINDS + ALL_KINDS, **grey, overrides=medium)
    ballot(b1, cdyt, "office-scanner", ["normal", "signature"], ("x",), **grey, overrides=medium)
    ballot(b1, gen, "office-scanner", ["normal"], ("fill", "x", "tick", "fill", "x", "x"), **grey, overrides=medium)
    ballot(b1, cdyt, "clean", ["normal"], ("tick",), **grey, overrides=medium)
    ballot(b1, t28, "office-scanner", ["normal", "crossed_name", "no_mark"], **grey,
           overrides={**medium, "rotation": 180})
    ballot(b1, cdyt, "office-scanner", ["blank"], **grey, overrides=medium)
    ballot(b1, gen, "office-scanner", ["overvote"], **grey, overrides={**medium, "rotation": 90})
    ballot(b1, cdyt, "faint", ["normal", "stray"], ("circle",), **grey, overrides=medium)
    ballot(b1, cdyt, "faint", ["normal"], ("pencil",), **grey, overrides=medium)
    ballot(b1, gen, "office-scanner", ["normal", "note", "signature"], **grey, overrides=medium)
    ballot(b1, cdyt, "office-scanner", ["normal", "damaged_fiducial"], **grey, overrides=medium)
    ballot(b1, gen, "office-scanner", ["undervote", "added_name"], **grey, overrides={**medium, "rotation": 270})
    folded = ballot(b1, cdyt, "office-scanner", ["normal"], ("hatch",), **grey,
                    overrides={**medium, "folds": S.random_folds(sim.rng(0, 1), (210.0, 297.0), 2, (0.2, 0.3))})
    ballot(b1, cdyt, "office-scanner", ["normal", "stray", "signature"], ("scribble",), **grey, overrides=medium)
    ballot(b1, cdyt, "clean", ["normal"], ("circle",), **grey, overrides=medium)
    ballot(b1, cdyt, "office-scanner", ["normal"], ("overflow",), **grey, overrides=medium)
    ballot(b1, cdyt, "faint", ["normal", "crossed_name"], ("x",), **grey, overrides=medium)
    ballot(b1, cdyt, "office-scanner", ["normal", "no_mark"], **grey, overrides=medium)
    b1.add([sim.rescan(folded[0], "office-scanner", 1)])  # the same sheet twice in one batch

    # 2. 1-bit G4 at 200 dpi: fixed and adaptive thresholds, fax streaks
    b2 = Batch("batch-02-1bit-200dpi.pdf", "pdf")
    batches.append(b2)
    bw = {"dpi": 200.0}
    fixed = {"threshold": ("fixed", 140.0, 0.0)}
    adaptive = {"threshold": ("adaptive", 5.0, 15.0)}
    ballot(b2, t28, "1bit", ["normal"], ALL_KINDS + ALL_KINDS, **bw, overrides=fixed)
    ballot(b2, t28, "1bit", ["normal"], ALL_KINDS[::-1] + ALL_KINDS, **bw, overrides=adaptive)
    for i, behaviour in enumerate(ALL_BEHAVIOURS):
        ballot(b2, (cdyt, gen, t28)[i % 3] if behaviour != "crossed_name" else cdyt, "1bit", ["normal", behaviour]
               if behaviour != "blank" else ["blank"], **bw, overrides=(fixed, adaptive)[i % 2])
    streaked = ballot(b2, cdyt, "fax-streak", ["normal"], ("x",), **bw, overrides=fixed)
    ballot(b2, gen, "fax-streak", None, **bw, overrides=fixed)
    ballot(b2, t28, "fax-streak", ["normal", "signature"], **bw, overrides={**fixed, "rotation": 180})
    ballot(b2, cdyt, "1bit", ["normal"], ("dot",), **bw, overrides={**fixed, "rotation": 90})
    ballot(b2, cdyt, "1bit", ["normal"], ("erasure",), **bw, overrides=adaptive)
    b2.add([sim.rescan(streaked[0], "1bit", 2)])

    # 3. a feeder batch: rough and streaked, grey and 1-bit mixed, test-deck sheets and a sheet of
    #    an unknown template, and a sheet already in batch 1 scanned again
    b3 = Batch("batch-03-feeder-mixed.pdf", "pdf")
    batches.append(b3)
    ballot(b3, gen, "rough", None, overrides={"threshold": ("adaptive", 6.0, 18.0), "recompress": None})
    ballot(b3, cdyt, "rough", ["normal"], ("x",), dpi=200.0, overrides={"threshold": ("adaptive", 6.0, 18.0),
                                                                       "recompress": None, "rotation": 180})
    ballot(b3, cdyt, "rough", ["normal", "signature"], ("scribble",), dpi=150.0)
    ballot(b3, t28, "fax-streak", ["normal", "stray"], dpi=200.0, overrides=fixed)
    ballot(b3, cdyt, "1bit", None, kind="test", dpi=200.0, overrides=fixed)
    ballot(b3, gen, "1bit", None, kind="test", dpi=200.0, overrides=fixed)
    ballot(b3, cdyt, "1bit", ["normal"], kind="foreign", dpi=200.0, overrides=fixed)
    ballot(b3, t28, "1bit", ["normal", "overvote", "no_mark"], dpi=200.0, overrides={**adaptive, "rotation": 270})
    ballot(b3, cdyt, "fax-streak", ["normal"], ("slash",), dpi=200.0, overrides={"threshold": None})
    ballot(b3, t28, "1bit", ["normal", "damaged_fiducial", "signature"], dpi=200.0, overrides=fixed)
    ballot(b3, gen, "1bit", ["normal", "stray"], dpi=200.0, overrides=adaptive)
    b3.add([sim.rescan(b1.pages[1], "1bit", 3)])  # a sheet of batch 1 scanned again, into another file
    for i in range(5):
        ballot(b3, (cdyt, gen)[i % 2], "1bit", None, dpi=200.0, overrides=(fixed, adaptive)[i % 2])

    # 4. multi-page TIFFs: 1-bit G4 at 300 dpi, grey JPEG-in-TIFF at 150 dpi
    b4 = Batch("scans-g4-300dpi.tif", "tiff-g4")
    batches.append(b4)
    ballot(b4, t28, "1bit", ["normal", "signature"], dpi=300.0, overrides=fixed)
    ballot(b4, gen, "1bit", ["normal"], dpi=300.0, overrides=adaptive)
    ballot(b4, cdyt, "1bit", ["normal"], ("pencil",), dpi=300.0, overrides=fixed)
    ballot(b4, cdyt, "1bit", ["normal"], ("fill",), dpi=300.0, overrides=adaptive)
    b5 = Batch("scans-grey-150dpi.tif", "tiff-jpeg")
    batches.append(b5)
    ballot(b5, cdyt, "office-scanner", ["normal"], ("tick",), dpi=150.0, overrides={"rotation": 0})
    ballot(b5, cdyt, "faint", ["normal", "signature"], ("x",), dpi=150.0, overrides={"rotation": 180})

    # 5. loose files: phone photos (JPEG) and one PNG
    for i, (tmpl, beh, kinds, rot) in enumerate([(cdyt, ["normal"], ("x",), 0), (t28, ["normal", "signature"], None, 0),
                                                  (cdyt, ["normal", "note"], ("tick",), 90)], start=1):
        pages = sim.ballot(next(index), tmpl, "phone", beh, kinds, pages=[1], overrides={"rotation": rot})
        batches.append(Batch(f"phone-{i:02d}.jpg", "jpeg"))
        batches[-1].add(pages)
    pages = sim.ballot(next(index), cdyt, "clean", ["normal"], ("x",), dpi=200.0,
                       overrides={"threshold": ("fixed", 128.0, 0.0)})
    batches.append(Batch("scan-clean-1bit.png", "png"))
    batches[-1].add(pages)
    return batches


def crossout_set(sim: S.Simulator) -> list[Batch]:
    """Cross-out election ballots of both bundled templates in one feeder batch, grey as election ballots
    should be scanned (the stamp is red): clear strikes of every kind, and the hard ones: an unclear
    stroke, a ballot without the stamp, more names left than seats, every name struck, an untouched
    ballot, and a 1-bit page whose stamp cannot be seen. Their own simulator and ballot indexes, so the
    other samples keep their bytes."""
    state, party = sim.templates
    index = iter(range(CROSSOUT_INDEX, CROSSOUT_INDEX + 1000))
    b = Batch("batch-04-bau-cu-grey-150dpi.pdf", "pdf")
    grey = {"dpi": 150.0}
    medium = {"pack_quality": 60}

    def ballot(template: Template, profile: str, behaviours: list[str], kinds: tuple[str, ...] | None = None,
               **kw: Any) -> None:
        b.add(sim.ballot(next(index), template, profile, behaviours, kinds, **kw))

    ballot(state, "office-scanner", ["normal"], ("line", "none", "slanted", "none", "none"), **grey, overrides=medium)
    ballot(state, "office-scanner", ["normal"], ("none", "wavy", "none", "double", "none"), **grey,
           overrides={**medium, "rotation": 180})
    ballot(state, "office-scanner", ["normal"], ("none", "partial", "line", "none", "none"), **grey, overrides=medium)
    ballot(state, "office-scanner", ["normal", "no_stamp"], ("overshoot", "none", "none", "most", "none"), **grey,
           overrides=medium)
    ballot(state, "office-scanner", ["normal", "too_many_left"], **grey, overrides=medium)
    ballot(state, "1bit", ["normal"], ("none", "none", "line", "line", "none"), dpi=200.0,
           overrides={"threshold": ("adaptive", 5.0, 12.0)})
    ballot(party, "office-scanner", ["normal"], ("none",) * 4 + ("line",) + ("none",) * 3 + ("slanted",), **grey,
           overrides=medium)
    ballot(party, "office-scanner", ["normal"], ("double", "none", "none", "none", "none", "none", "none", "under",
                                                 "none"), **grey, overrides=medium)
    ballot(party, "office-scanner", ["normal", "no_stamp"], **grey, overrides=medium)
    ballot(party, "office-scanner", ["normal", "strike_all"], **grey, overrides={**medium, "rotation": 180})
    ballot(party, "office-scanner", ["normal", "untouched"], **grey, overrides=medium)
    return [b]


def bulk_set(sim: S.Simulator, sheets: int, profiles: tuple[str, ...], fmt: str, per_file: int,
             dpi: float | None) -> list[Batch]:
    """``sheets`` pages cycling through templates and profiles, packed ``per_file`` pages a file."""
    batches: list[Batch] = []
    open_batches: dict[tuple[str, float], Batch] = {}  # one file being filled per encoding (and dpi: TIFF)
    made = 0
    index = 0
    ext = {"pdf": "pdf", "tiff": "tif", "jpeg": "jpg", "png": "png"}[fmt]
    while made < sheets:
        template = sim.templates[index % len(sim.templates)]
        profile = profiles[(index // len(sim.templates)) % len(profiles)]
        for page in sim.ballot(index, template, profile, dpi=dpi):
            if made >= sheets:
                break
            if fmt in ("jpeg", "png") or profile == "phone":  # phones send loose photos
                name = f"sheet-{made + 1:05d}.{'png' if fmt == 'png' else 'jpg'}"
                batches.append(Batch(name, "png" if fmt == "png" else "jpeg"))
                batches[-1].add([page])
            else:
                tfmt = "pdf" if fmt == "pdf" else ("tiff-g4" if page.scan.bilevel else "tiff-jpeg")
                key = (tfmt, page.scan.dpi if fmt == "tiff" else 0.0)
                current = open_batches.get(key)
                if current is None or len(current.pages) >= per_file:
                    n = sum(1 for b in batches if b.fmt == tfmt) + 1
                    suffix = "" if fmt == "pdf" else f"-{'g4' if tfmt == 'tiff-g4' else 'grey'}-{page.scan.dpi:.0f}dpi"
                    current = open_batches[key] = Batch(f"batch-{n:04d}{suffix}.{ext}", tfmt)
                    batches.append(current)
                current.add([page])
            made += 1
        index += 1
    return batches


def write_set(batches: list[Batch], out: Path, seed: int, generator: dict[str, Any]) -> S.ExpectedSet:
    out.mkdir(parents=True, exist_ok=True)
    exp = S.ExpectedSet(seed, generator=generator)
    for b in batches:
        records, entry = S.write_pages(b.pages, out, b.name, b.fmt)
        exp.pages.extend(records)
        exp.files.append(entry)
    # a duplicate's record names the first scan by id; it was known before packing
    exp.save(out / "expected.json")
    return exp


def coverage(exp: S.ExpectedSet) -> dict[str, Any]:
    kinds: dict[str, int] = {}
    flags: dict[str, int] = {}
    behaviours: dict[str, int] = {}
    profiles: dict[str, int] = {}
    rotations: dict[str, int] = {}
    dpis: dict[str, int] = {}
    thresholds: dict[str, int] = {}
    for p in exp.pages:
        for b in p.boxes:
            kinds[b.kind] = kinds.get(b.kind, 0) + 1
        for f in p.flags:
            flags[f] = flags.get(f, 0) + 1
        for b in p.behaviours:
            behaviours[b] = behaviours.get(b, 0) + 1
        profiles[p.profile] = profiles.get(p.profile, 0) + 1
        rotations[str(p.rotation)] = rotations.get(str(p.rotation), 0) + 1
        dpis[str(int(p.dpi))] = dpis.get(str(int(p.dpi)), 0) + 1
        th = p.scan.get("threshold")
        key = th[0] if th else "grey"
        thresholds[key] = thresholds.get(key, 0) + 1
    return {"kinds": kinds, "flags": flags, "behaviours": behaviours, "profiles": profiles,
            "rotations": rotations, "dpi": dpis, "pixels": thresholds}


def write_readme(exp: S.ExpectedSet, out: Path) -> None:
    cov = coverage(exp)
    lines = [
        "# Sample scans",
        "",
        "Simulated scans of the bundled ballot templates, hand-marked and degraded like real scanners",
        "and phones, with the reads a correct reader must give. Made by `make_samples.py` in this",
        f"folder (seed {exp.seed}; running it again rewrites the same bytes); the simulator is",
        "`ballot_sim/simulate.py`. `expected.json` lists every page: file, page, template, rotation, test",
        "flag, each box's expected class (`marked`: read marked or marginal; `blank`: read blank or",
        "marginal; `ambiguous`: any, but two scans of one sheet must not read marked and blank) and",
        "mark kind, each row's acceptable statuses, and the sheet's flags and acceptable statuses.",
        "",
        "| file | pages | encodings | bytes |",
        "|---|---|---|---|",
    ]
    for f in exp.files:
        lines.append(f"| {f['path']} | {f['pages']} | {', '.join(f['encodings'])} | {f['bytes']:,} |")
    lines += ["", "Coverage (pages or boxes):", ""]
    for k, v in cov.items():
        lines.append(f"- {k}: " + ", ".join(f"{a} {b}" for a, b in sorted(v.items())))
    lines.append("")
    (out / "README.md").write_text("\n".join(lines), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=HERE, help="folder to write (default: sample_scans/)")
    ap.add_argument("--seed", type=int, default=S.DEFAULT_SEED)
    ap.add_argument("--sheets", type=int, default=None,
                    help="make this many simulated pages instead of the bundled set")
    ap.add_argument("--profile", default="all", help=f"one of {', '.join(S.PROFILE_NAMES)} or 'all' "
                                                     "(--sheets only; comma-separated for several)")
    ap.add_argument("--format", default="pdf", choices=["pdf", "tiff", "jpeg", "png"], help="--sheets only")
    ap.add_argument("--per-file", type=int, default=50, help="pages per PDF/TIFF (--sheets only)")
    ap.add_argument("--dpi", type=float, default=None, help="force a resolution (--sheets only)")
    args = ap.parse_args(argv)
    templates = load_templates()
    sim = S.Simulator(templates, args.seed)
    started = time.perf_counter()
    if args.sheets is None:
        old = args.out / "expected.json"
        if old.exists():  # files of an earlier bundled set that this one no longer has
            try:
                for f in S.ExpectedSet.load(old).files:
                    (args.out / f["path"]).unlink(missing_ok=True)
            except (ValueError, KeyError):
                pass
        batches = bundled_set(sim) + crossout_set(S.Simulator(load_templates(names=CROSSOUT_FILES), args.seed))
        generator = {"script": "sample_scans/make_samples.py", "set": "bundled"}
    else:
        profiles = S.PROFILE_NAMES if args.profile == "all" else tuple(args.profile.split(","))
        for p in profiles:
            if p not in S.PROFILES:
                ap.error(f"unknown profile {p!r}; known: {', '.join(S.PROFILE_NAMES)}")
        batches = bulk_set(sim, args.sheets, profiles, args.format, args.per_file, args.dpi)
        generator = {"script": "sample_scans/make_samples.py", "set": "bulk", "sheets": args.sheets,
                     "profiles": list(profiles), "format": args.format, "per_file": args.per_file, "dpi": args.dpi}
    made = time.perf_counter()
    exp = write_set(batches, args.out, args.seed, generator)
    if args.sheets is None:
        write_readme(exp, args.out)
    done = time.perf_counter()
    total = sum(f["bytes"] for f in exp.files)
    n = len(exp.pages)
    print(f"{n} pages in {len(exp.files)} files, {total / 1e6:.1f} MB, in {args.out}: "
          f"{(made - started) / n * 1000:.0f} ms/page simulating, {(done - made) / n * 1000:.0f} ms/page packing")
    return 0


if __name__ == "__main__":
    sys.exit(main())
