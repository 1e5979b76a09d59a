"""Accuracy: simulated ballots of every degradation profile, read by `omr scan`, checked box by box.

    python benchmarks/accuracy.py                      # 2,000 sheets of each profile
    python benchmarks/accuracy.py --sheets 200 --profile phone,1bit --jobs 2
    python benchmarks/accuracy.py --crossout 300       # and 300 cross-out election ballots a profile

Cross-out election ballots (both bundled ones, state A5 and party A4) get their own section: each
name's truth (struck, not struck, unclear) against its read, flips (struck read not struck or the
reverse), unclear names that passed without a person (each of them and each flip nobody is asked
about listed by file, page, ballot and name), stamps, the plain sheets sent to review, and the reading
speed. Its default seed (2026) is not one the thresholds were set on.

For each profile it makes N marked and degraded pages (all bundled templates in turn), packs them as
scanners do, reads them with the real batch runner into a real SQLite file, and compares every box
with what was drawn. A flip is a marked box read blank or a blank box read marked; "unreviewed" flips
are those on sheets the machine passed as ok: that number must be 0.

Then, per grey profile, the doubts that must reach a person (issue 10): light pencil (grey 190-210,
0.3-0.6 mm) read marginal or marked ("pencil recall"), a ring round an empty box or a mark just
outside it sending its row to review, a line through a printed text of a choose/yes-no contest
sending the sheet to review; and plain sheets (one clear mark a row, nothing else) sent to review.
Last, the duplicate check on single-mark 3-box ballots: re-scans found, different voters never taken
for one sheet (all pairs within a box, and through the index), and its cost per sheet; with
`--dup-ballot crossout` on the party's cross-out ballot instead, whose sheets the check tells apart by
the stamp (a strike hides in the letters it crosses), all pairs compared.

    python benchmarks/accuracy.py --sheets 0 --doubt 40 --duplicates 1000 --profile office-scanner
    python benchmarks/accuracy.py --sheets 0 --doubt 0 --duplicates 400 --rescans 100 --dup-ballot crossout
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import ballot_sim.simulate as S  # noqa: E402
from omr.ballot.template import load_template  # noqa: E402
from omr.read import duplicates as D  # noqa: E402
from omr.read.calibration import load_profile  # noqa: E402
from omr.scan.batch import ScanOptions, scan  # noqa: E402
from omr.store.database import Store  # noqa: E402

CHUNK = 50  # pages a file
ALL_TEMPLATES = sorted((ROOT / "ballot_templates").glob("*.yaml"))
CROSSOUT = [p for p in ALL_TEMPLATES if any(c.kind == "crossout" for c in load_template(p).contests)]
TEMPLATES = [p for p in ALL_TEMPLATES if p not in CROSSOUT]  # the box section: the ballots with boxes


def _make_chunk(job: tuple[str, int, int, int, str]) -> list[S.ExpectedPage]:
    """Pages [first, first+count) of a profile's set, written to one file (or loose photos)."""
    folder, seed, first, count, profile = job
    sim = S.Simulator([load_template(p) for p in TEMPLATES], seed)
    pages = list(sim.pages(count, (profile,), start=first))[:count]
    return _write(pages, profile, folder, first, "batch")


def _write(pages: list, profile: str, folder: Path, first: int, name: str) -> list:
    """Pages as a scanner or a phone leaves them: phones send loose JPEG photos, scanners one PDF."""
    if profile == "phone":
        records = []
        for i, page in enumerate(pages):
            recs, _ = S.write_pages([page], folder, f"photo-{first + i:06d}.jpg", "jpeg")
            records += recs
        return records
    records, _ = S.write_pages(pages, folder, f"{name}-{first:06d}.pdf", "pdf")
    return records


def run_profile(profile: str, sheets: int, jobs: int, seed: int, workdir: Path) -> dict:
    folder = workdir / profile
    folder.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    # ballot indices far apart per chunk: the chunks never share a ballot
    jobs_list = [(str(folder), seed, first * 10, min(CHUNK, sheets - first), profile)
                 for first in range(0, sheets, CHUNK)]
    with multiprocessing.get_context("fork").Pool(jobs) as pool:
        expected = S.ExpectedSet(seed, generator={"benchmark": "accuracy", "profile": profile})
        for records in pool.imap(_make_chunk, jobs_list):
            expected.pages.extend(records)
    expected.save(folder / "expected.json")
    made = time.perf_counter()
    templates = [load_template(p) for p in TEMPLATES]
    options = ScanOptions(tuple(templates), tuple(str(p) for p in TEMPLATES), load_profile(), jobs=jobs)
    with Store(workdir / f"{profile}.sqlite") as store:
        summary = scan([str(folder)], store, options)
    read = time.perf_counter()
    check = S.check_reads(expected, [r.to_json() for r in summary.reads])
    result = check.summary()
    result["flips_unreviewed"] = sum(p.flips for p in check.pages if p.status == "ok")
    result.update(profile=profile, seconds_make=round(made - started, 1), seconds_read=round(read - made, 1),
                  input_failures=summary.page_failures + summary.files_failed)
    return result


CLEAR_KINDS = {"x", "tick", "fill", "hatch", "scribble", "slash", "circle", "overflow"}
GREY_PROFILES = ("office-scanner", "phone", "faint", "rough")
PAIR_BALLOTS = 1500
_READER: dict = {}


def _reader():
    """The templates, the template book and the profile, once per process."""
    if not _READER:
        from omr.read.pipeline import TemplateBook

        templates = [load_template(p) for p in TEMPLATES]
        crossout = [load_template(p) for p in CROSSOUT]
        _READER.update(templates=templates, crossout=crossout, profile=load_profile(),
                       book=TemplateBook.from_templates(templates), crossout_book=TemplateBook.from_templates(crossout))
    return _READER


def _read(page: S.SimulatedPage, book: str = "book"):
    from omr.read.pipeline import read_sheet

    r = _reader()
    return read_sheet(page.scan.pixels, "sim", 1, r[book], r["profile"])


def _doubt_job(job: tuple[str, int, int, str]) -> dict[str, int]:
    """One ballot of a doubt set: what was drawn against what the reader said."""
    what, seed, index, profile = job
    r = _reader()
    sim = S.Simulator(r["templates"], seed)
    template = r["templates"][index % len(r["templates"])]
    if what == "pencil":
        pages = sim.ballot(index, template, profile, behaviours=("normal",), kinds=["faint_pencil"] * 200)
    elif what == "beside":
        kinds = ["beside" if k % 2 else "circle_around" for k in range(200)]
        pages = sim.ballot(index, template, profile, behaviours=("normal",), kinds=kinds)
    elif what == "struck":
        pages = sim.ballot(index, template, profile, behaviours=("normal", "struck_text"))
    else:  # plain: one clear mark a row, nothing else
        pages = sim.ballot(index, template, profile, behaviours=("normal",))
    out: dict[str, int] = {}

    def add(key: str, n: int = 1) -> None:
        out[key] = out.get(key, 0) + n

    for page in pages:
        read = _read(page)
        states = {(row.contest_id, row.row_id, m.option_id): m.state for row in read.rows for m in row.marks}
        flagged = {(row.contest_id, row.row_id) for row in read.rows
                   if any(x.code == "mark-beside-box" for x in row.reasons)}
        check = S.check_page(page.expected, read.to_json())
        add("flips", check.flips)
        add("rejected", read.status == "rejected")
        for b in page.expected.boxes:
            state = states.get((b.contest, b.row, b.option))
            if what == "pencil" and b.kind == "faint_pencil" and b.expected == "marked" and state is not None:
                add("pencil")
                add("pencil_seen", state in ("marginal", "marked"))
            if what == "beside" and b.kind in ("beside", "circle_around") and state is not None:
                add("beside")
                add("beside_seen", (b.contest, b.row) in flagged)
            if what == "plain" and b.kind == "none" and state is not None:
                add("clear_empty")
                add("clear_empty_marginal", state == "marginal")
        if what == "struck" and page.marked.plan.struck_texts:
            add("struck")
            add("struck_seen", any(x.code in ("writing-over-print", "extra-writing") for x in read.reasons))
        kinds = {m.kind for m in page.marked.plan.marks}
        if what == "plain" and kinds <= CLEAR_KINDS and read.status != "rejected":
            add("plain")
            add("plain_review", read.status == "review")
    return out


def run_doubts(profile: str, ballots: int, jobs: int, seed: int) -> dict[str, int]:
    totals: dict[str, int] = {}
    work = [(what, seed + k, i, profile) for k, what in enumerate(("pencil", "beside", "struck", "plain"))
            for i in range(ballots)]
    with multiprocessing.get_context("fork").Pool(jobs) as pool:
        for out in pool.imap_unordered(_doubt_job, work, chunksize=4):
            for key, n in out.items():
                totals[key] = totals.get(key, 0) + n
    return totals


def _rate(n: int, d: int) -> str:
    return f"{n}/{d}" if d else "-"


def _dup_job(job: tuple[int, int, str, bool, str]) -> tuple[int, bytes, bytes]:
    """A single-mark 3-box ballot (the seed ballot: one person, three boxes; an X by its own voter), or
    with `ballot` "crossout" the party's cross-out ballot (names struck by its own voter, stamped by hand),
    and, when asked, the same sheet through the scanner again: their signatures."""
    seed, index, profile, rescan, ballot = job
    r = _reader()
    if ballot == "crossout":
        party = next(t for t in r["crossout"] if t.id.startswith("bau-bch-cdyt"))
        sim = S.Simulator([party], seed)
        page = sim.ballot(index, party, profile, behaviours=("normal",))[0]
    else:
        seed_template = next(t for t in r["templates"] if t.id.startswith("tin-nhiem-cdyt"))
        sim = S.Simulator(r["templates"], seed)
        page = sim.ballot(index, seed_template, profile, behaviours=("normal",), kinds=["x"])[0]
    book = "crossout_book" if ballot == "crossout" else "book"
    again = _read(sim.rescan(page, profile, index), book).signature if rescan else b""
    return index, _read(page, book).signature, again


def run_duplicates(profile: str, ballots: int, rescans: int, jobs: int, seed: int, ballot: str = "seed") -> dict:
    work = [(seed, i, profile, i < rescans, ballot) for i in range(ballots)]
    with multiprocessing.get_context("fork").Pool(jobs) as pool:
        reads = sorted(pool.imap_unordered(_dup_job, work, chunksize=8))
    index = D.DuplicateIndex()
    held: dict[int, bytes] = {}  # the signatures, as the database would give them back
    false = found = 0
    took: list[float] = []  # seconds to look a sheet up and add it, with the index holding the sheets before it
    for i, sig, _ in reads:
        if sig:
            t0 = time.perf_counter()
            hit = index.find(("seed", 1), sig, held.__getitem__)
            held[i] = sig
            index.add(("seed", 1), sig, i)
            took.append(time.perf_counter() - t0)
            false += hit is not None
    # the cost per sheet once the index holds n sheets: the mean over the last tenth before n
    cost = {n: sum(took[n - n // 10:n]) / (n // 10) * 1000 for n in (100, 1000, 10000, 100000) if n <= len(took)}
    lookups_before = index.comparisons
    for i, _, again in reads:
        if again:
            hit = index.find(("seed", 1), again, held.__getitem__)
            found += hit is not None and hit[0] == i
    per_lookup = (index.comparisons - lookups_before) / max(1, rescans)
    # every pair of different voters who marked the same box, compared in full (not only the index's),
    # among the first PAIR_BALLOTS ballots (all pairs of 10,000 would take hours)
    sigs = [D.decode(sig) for _, sig, _ in reads[:PAIR_BALLOTS] if sig]
    by_box: dict[tuple, list] = {}
    for sig in sigs:
        if sig is not None and sig.boxes:
            by_box.setdefault(sig.boxes, []).append(sig)
    pairs = pair_false = 0
    top = -1.0
    for group in by_box.values():
        for a in range(len(group)):
            for b in range(a + 1, len(group)):
                c = D.compare(group[a], group[b])
                pairs += 1
                pair_false += D.same_sheet(c)
                top = max(top, c.ink)
    return {"ballots": len(reads), "rescans": rescans, "found": found, "false_index": false, "pairs": pairs,
            "pair_ballots": min(len(reads), PAIR_BALLOTS),
            "false_pairs": pair_false, "max_ink": round(top, 3), "cost_ms": cost,
            "comparisons_per_lookup": round(per_lookup, 1)}
CROSSOUT_BEHAVIOURS = (("normal",), ("normal",), ("normal",), ("normal",), ("normal",), ("normal",),
                       ("normal", "strike_unclear"), ("normal", "strike_unclear"), ("normal", "no_stamp"),
                       ("too_many_left",), ("strike_all",), ("untouched",), ("normal", "signature"))


def _make_crossout_chunk(job: tuple[str, int, int, int, str]) -> list[S.ExpectedPage]:
    folder, seed, first, count, profile = job
    templates = [load_template(p) for p in CROSSOUT]
    sim = S.Simulator(templates, seed)
    pages = []
    for index in range(first, first + count):
        behaviours = CROSSOUT_BEHAVIOURS[index % len(CROSSOUT_BEHAVIOURS)]
        pages += sim.ballot(index, templates[index % len(templates)], profile, behaviours=behaviours)
    return _write(pages, profile, folder, first, "ballots")


def run_crossout(profile: str, sheets: int, jobs: int, seed: int, workdir: Path) -> dict:
    """One profile's cross-out ballots, read by the batch runner into SQLite, name by name."""
    folder = workdir / f"crossout-{profile}"
    folder.mkdir(parents=True, exist_ok=True)
    jobs_list = [(str(folder), seed, first, min(CHUNK, sheets - first), profile) for first in range(0, sheets, CHUNK)]
    expected = S.ExpectedSet(seed, generator={"benchmark": "accuracy-crossout", "profile": profile})
    with multiprocessing.get_context("fork").Pool(jobs) as pool:
        for records in pool.imap(_make_crossout_chunk, jobs_list):
            expected.pages.extend(records)
    templates = [load_template(p) for p in CROSSOUT]
    options = ScanOptions(tuple(templates), tuple(str(p) for p in CROSSOUT), load_profile(), jobs=jobs)
    started = time.perf_counter()
    with Store(workdir / f"crossout-{profile}.sqlite") as store:
        summary = scan([str(folder)], store, options)
    seconds = time.perf_counter() - started
    reads = {(r.source.rsplit("/", 1)[-1], r.page): r for r in summary.reads}
    check = S.check_reads(expected, [r.to_json() for r in summary.reads])
    names = {"struck": [0, 0], "not": [0, 0], "unclear": [0, 0]}  # [right, all]
    out = dict(flips=0, flips_unreviewed=0, unclear_passed=0, stamp_missing=0, stamp_missing_present=0,
               stamp_missing_valid=0, stamp_present_as_absent=0, plain=0, plain_review=0, rejected=0,
               stamp_unseen=0, stamp_unseen_review=0, ink_lost=0)
    why: dict[str, int] = {}  # reason code -> plain sheets sent to review with it
    passed: dict[str, int] = {}  # unclear strike kind -> names read struck or not struck
    silent: list[str] = []  # where each unreviewed flip and each unclear name passed is, to look at it
    plain_cases: list[str] = []  # each plain sheet sent to review: what the person is asked
    for page in check.pages:
        e = page.expected
        if page.status == "rejected" or page.status is None:
            out["rejected"] += 1
            continue
        read = reads.get((e.file.rsplit("/", 1)[-1], e.page))
        asked = {row.row_id for row in read.rows if row.status == "review"} if read else set()
        for box in e.boxes:
            if box.option != "struck":
                continue
            state = page.states.get((box.contest, box.row, box.option))
            cls = {"marked": "struck", "blank": "not"}.get(box.expected, "unclear")
            right = {"struck": "marked", "not": "blank", "unclear": "marginal"}[cls] == state
            names[cls][0] += right
            names[cls][1] += 1
            where = f"{e.file} p{e.page} (ballot {e.ballot}) {box.row}: {box.kind} read {state or 'nothing'}"
            if box.is_flip(state or ""):
                out["flips"] += 1
                out["flips_unreviewed"] += box.row not in asked  # nobody is asked about this name
                if box.row not in asked:
                    silent.append("flip " + where)
            if cls == "unclear" and "ink_lost" in box.flags:  # the 1-bit scan lost the stroke: nobody can see it
                out["ink_lost"] += 1
            elif cls == "unclear" and state != "marginal":  # read struck or not struck: no person asked
                out["unclear_passed"] += 1
                kind = box.kind if box.kind != "none" else "between (row below)"
                passed[kind] = passed.get(kind, 0) + 1
                silent.append("unclear passed " + where)
        codes = {r.code for r in read.reasons} if read else set()
        if e.stamp == "absent":
            out["stamp_missing"] += 1
            out["stamp_missing_present"] += not codes & {"stamp-absent", "stamp-unclear"}
            out["stamp_missing_valid"] += read is not None and read.status == "ok" and any(
                r.status == "valid" for r in read.rows)
        if e.stamp == "present" and "stamp-absent" in codes:
            out["stamp_present_as_absent"] += 1
        clear = e.verdict == "valid" and e.stamp == "present" and not e.review_required and all(
            b.expected != "ambiguous" for b in e.boxes)
        if clear and "stamp_unseen" in e.flags:  # clear strikes, but the 1-bit scan lost the stamp: review is right
            out["stamp_unseen"] += 1
            out["stamp_unseen_review"] += page.status != "ok"
        elif clear:
            out["plain"] += 1
            out["plain_review"] += page.status != "ok"
            if page.status != "ok" and read is not None:  # why: the sheet's and its rows' reason codes
                for code in sorted({x.code for x in read.reasons} | {x.code for row in read.rows for x in row.reasons}):
                    why[code] = why.get(code, 0) + 1
                truth = {b.row: b.kind for b in e.boxes if b.option == "struck"}
                asking = [(x, f" ({truth.get(row.row_id, '?')})") for row in read.rows for x in row.reasons
                          if row.status == "review"] + [(x, "") for x in read.reasons]
                for x, kind in asking:  # what the person is asked, and what the name truly holds
                    plain_cases.append(f"plain→rev {e.file} p{e.page} (ballot {e.ballot}){kind} {x.code}: {x.detail}")
    for cls, (right, total) in names.items():
        out[f"{cls}_right"], out[f"{cls}_all"] = right, total
    out.update(profile=profile, plain_why=why, unclear_why=passed, silent=silent, plain_cases=plain_cases,
               sheets=len(check.pages),
               ms_per_sheet=round(1000 * seconds / max(len(check.pages), 1)))
    return out


SILENT_SHOWN = 10  # silent cases, and plain sheets sent to review, listed under a profile's line


def crossout_section(profiles: tuple[str, ...], sheets: int, jobs: int, seed: int, work: Path) -> int:
    print(f"\ncross-out ballots ({', '.join(p.stem for p in CROSSOUT)}; seed {seed}): names read right, by truth")
    print(f"{'profile':15} {'sheets':>6} {'struck':>9} {'not struck':>10} {'unclear':>8} {'flips':>5} {'unrev.':>6} "
          f"{'uncl.pass':>9} {'no stamp':>8} {'→present':>8} {'→valid':>6} {'stamp→abs':>9} {'plain→rev':>10} "
          f"{'%':>5} {'lost→rev':>8} {'ms/sheet':>8}")
    bad = 0
    for profile in profiles:
        r = run_crossout(profile, sheets, jobs, seed, work)

        def share(cls: str, r: dict = r) -> str:
            return f"{r[cls + '_right']}/{r[cls + '_all']}"

        plain = f"{r['plain_review']}/{r['plain']}"
        print(f"{profile:15} {r['sheets']:6d} {share('struck'):>9} {share('not'):>10} {share('unclear'):>8} "
              f"{r['flips']:5d} {r['flips_unreviewed']:6d} {r['unclear_passed']:9d} {r['stamp_missing']:8d} "
              f"{r['stamp_missing_present']:8d} {r['stamp_missing_valid']:6d} {r['stamp_present_as_absent']:9d} "
              f"{plain:>10} {r['plain_review'] / max(r['plain'], 1):5.1%} "
              f"{r['stamp_unseen_review']:>3d}/{r['stamp_unseen']:<4d} {r['ms_per_sheet']:8d}", flush=True)
        if r["plain_why"]:
            print(f"{'':15} plain→rev because: " + ", ".join(f"{c} {n}" for c, n in sorted(r["plain_why"].items())))
        if r["unclear_why"]:
            print(f"{'':15} unclear passed: " + ", ".join(f"{c} {n}" for c, n in sorted(r["unclear_why"].items())))
        for cases in (r["silent"], r["plain_cases"]):  # the simulated scans are kept with --keep
            for case in cases[:SILENT_SHOWN]:
                print(f"{'':15} {case}")
            if len(cases) > SILENT_SHOWN:
                print(f"{'':15} ... and {len(cases) - SILENT_SHOWN} more")
        if r["ink_lost"]:
            print(f"{'':15} strokes the 1-bit threshold dropped or the print hides (not counted above: the scan "
                  f"shows less than half of their pixels, or changes under 1 mm2): {r['ink_lost']}")
        bad += r["flips_unreviewed"] + r["stamp_missing_valid"] + r["stamp_missing_present"] + r["unclear_passed"]
    print("flips: struck read not struck or the reverse (unrev.: on a name no person is asked about); uncl.pass: "
          "unclear names read struck or not struck (no person asked); no stamp: sheets pressed without the stamp, "
          "→present: read as stamped, →valid: passed with valid votes; stamp→abs: stamped sheets read 'absent'; "
          "plain→rev: sheets with clear strikes and a stamp the scan shows, sent to review; lost→rev: clear "
          "sheets whose stamp the 1-bit scan dropped, sent to review (right: nobody can tell from the scan)")
    return bad


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sheets", type=int, default=2000, help="pages per profile (default 2000)")
    ap.add_argument("--profile", default="all", help=f"all, or some of: {', '.join(S.PROFILE_NAMES)}")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--keep", type=Path, help="keep the simulated scans and databases in this folder")
    ap.add_argument("--doubt", type=int, default=20, help="ballots per doubt set and grey profile (0: none)")
    ap.add_argument("--duplicates", type=int, default=1000, help="single-mark 3-box ballots per profile (0: none)")
    ap.add_argument("--rescans", type=int, default=100, help="of which re-fed through the scanner")
    ap.add_argument("--dup-profile", default="office-scanner,phone,faint,1bit")
    ap.add_argument("--dup-ballot", choices=("seed", "crossout"), default="seed",
                    help="the duplicate check on the seed ballot (an X in one of 3 boxes) or on the party's "
                         "cross-out ballot (told apart by the stamp pressed by hand and the paper)")
    ap.add_argument("--crossout", type=int, default=0, metavar="N",
                    help="also N cross-out election ballots a profile (0: none); with --sheets 0, only them")
    args = ap.parse_args(argv)
    profiles = S.PROFILE_NAMES if args.profile == "all" else tuple(args.profile.split(","))
    work = args.keep or Path(tempfile.mkdtemp(prefix="omr-accuracy-"))
    status = 0
    if args.doubt:
        print(f"doubts ({args.doubt} ballots per set and profile, seed {args.seed}):")
        print(f"{'profile':15} {'flips':>5} {'pencil seen':>12} {'beside/ring rows':>16} {'over print':>10} "
              f"{'plain review':>12} {'empty marginal':>14} {'rejected':>8}")
        for profile in [p for p in profiles if p in GREY_PROFILES]:
            t = run_doubts(profile, args.doubt, args.jobs, args.seed)
            g = t.get
            empty_rate = g("clear_empty_marginal", 0) / max(1, g("clear_empty", 0))
            print(f"{profile:15} {g('flips', 0):5d} {_rate(g('pencil_seen', 0), g('pencil', 0)):>12} "
                  f"{_rate(g('beside_seen', 0), g('beside', 0)):>16} {_rate(g('struck_seen', 0), g('struck', 0)):>10} "
                  f"{_rate(g('plain_review', 0), g('plain', 0)):>12} {empty_rate:>13.2%} {g('rejected', 0):8d}",
                  flush=True)
            status |= bool(g("flips", 0))
    if args.duplicates:
        what = "cross-out ballots, each struck by its own voter and stamped by hand" if args.dup_ballot == "crossout" \
            else "single-mark 3-box ballots, each X by its own voter"
        pairs = "stamped pairs" if args.dup_ballot == "crossout" else "same-box pairs"
        print(f"duplicates: {what}; the first {args.rescans} re-fed")
        for profile in args.dup_profile.split(","):
            d = run_duplicates(profile, args.duplicates, min(args.rescans, args.duplicates), args.jobs, args.seed,
                               args.dup_ballot)
            cost = ", ".join(f"{ms:.3f} ms/sheet at {n}" for n, ms in d["cost_ms"].items())
            print(f"{profile:15} rescans found {d['found']}/{d['rescans']}; false: {d['false_index']} through the "
                  f"index, {d['false_pairs']} of {d['pairs']} {pairs} of the first {d['pair_ballots']} ballots "
                  f"compared in full (ink likeness at "
                  f"most {d['max_ink']}); {d['comparisons_per_lookup']} comparisons a look-up; {cost}", flush=True)
            status |= bool(d["false_index"] or d["false_pairs"])
    if not args.sheets:
        crossout_bad = crossout_section(profiles, args.crossout, args.jobs, args.seed, work) if args.crossout else 0
        return 1 if status or crossout_bad else 0
    header = (f"{'profile':15} {'sheets':>6} {'boxes':>7} {'flips':>5} {'unrev.':>6} {'dup.':>4} {'marginal':>8} "
              f"{'review':>6} {'reject':>6} {'rows≠':>5} {'sheets≠':>7} {'make s':>7} {'read s':>7}")
    print(header)
    totals: dict[str, float] = dict.fromkeys(("pages_read", "boxes_read", "flips", "flips_unreviewed", "sheets_review",
                                             "sheets_rejected", "seconds_read", "missing_pages", "input_failures"), 0)
    for profile in profiles if args.sheets else ():
        r = run_profile(profile, args.sheets, args.jobs, args.seed, work)
        print(f"{profile:15} {r['pages_read']:6d} {r['boxes_read']:7d} {r['flips']:5d} {r['flips_unreviewed']:6d} "
              f"{r['duplicate_flips']:4d} {r['marginal_rate']:8.2%} {r['sheets_review']:6d} {r['sheets_rejected']:6d} "
              f"{r['rows_wrong']:5d} {r['sheets_wrong']:7d} {r['seconds_make']:7.1f} {r['seconds_read']:7.1f}",
              flush=True)
        for key in ("pages_read", "boxes_read", "flips", "flips_unreviewed", "sheets_review", "sheets_rejected",
                    "seconds_read", "missing_pages", "input_failures"):
            totals[key] = totals.get(key, 0) + r[key]
    print(f"total: {totals['pages_read']:.0f} sheets, {totals['boxes_read']:.0f} boxes, flips {totals['flips']:.0f} "
          f"(unreviewed {totals['flips_unreviewed']:.0f}), review {totals['sheets_review']:.0f}, rejected "
          f"{totals['sheets_rejected']:.0f}, pages missing {totals['missing_pages']:.0f}, read in "
          f"{totals['seconds_read']:.0f} s ({args.jobs} jobs); work folder {work}")
    crossout_bad = crossout_section(profiles, args.crossout, args.jobs, args.seed, work) if args.crossout else 0
    return 1 if totals["flips_unreviewed"] or totals["missing_pages"] or status or crossout_bad else 0


if __name__ == "__main__":
    sys.exit(main())
