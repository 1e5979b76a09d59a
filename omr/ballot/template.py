"""Ballot templates: YAML -> typed, validated :class:`Template`.

A template is written by a clerk, so every error names the file, the line, the field, what is
wrong and what is allowed. All text is normalised to NFC: decomposed Vietnamese input would
misplace accents in the printed PDF and change the fingerprint of an otherwise equal template.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from omr.ballot.layout import fit_problems
from omr.ballot.paper import PAPER_SIZES_MM
from omr.ballot.regimes import REGIMES, CrossoutRules, override_problems, rules_for

CONFIDENCE_LEVELS_VI: tuple[tuple[str, str], ...] = (
    ("cao", "Tín nhiệm cao"),
    ("tin-nhiem", "Tín nhiệm"),
    ("thap", "Tín nhiệm thấp"),
)
CONFIDENCE_LEVELS_EN: tuple[tuple[str, str], ...] = (
    ("cao", "High confidence"),
    ("tin-nhiem", "Confidence"),
    ("thap", "Low confidence"),
)
LANGUAGES = ("vi", "en")
CONTEST_KINDS = ("confidence", "choose", "yesno", "crossout")
CROSSOUT_STYLES = ("strike", "agree")  # strike names out | "Đồng ý / Không đồng ý" boxes (Party list, no surplus)
HONORIFICS = ("Ông", "Bà", "Mr", "Ms", "Mrs")
STRUCK = "struck"  # the one "option" of a struck-out name: read as marked when the name is struck out
AGREE_OPTIONS_VI: tuple[tuple[str, str], ...] = (("dong-y", "Đồng ý"), ("khong-dong-y", "Không đồng ý"))
AGREE_OPTIONS_EN: tuple[tuple[str, str], ...] = (("dong-y", "Agree"), ("khong-dong-y", "Disagree"))
STRIKE_OPTION = {"vi": "Gạch tên", "en": "Struck out"}
ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")


class TemplateError(ValueError):
    """All problems found in one template file, each on its own line."""

    def __init__(self, source: str, problems: list[str]):
        self.source = source
        self.problems = problems
        super().__init__(f"{source}: {len(problems)} problem(s) in the ballot template:\n"
                         + "\n".join(f"  - {p}" for p in problems))


@dataclass(frozen=True)
class Option:
    id: str
    label: str


@dataclass(frozen=True)
class Person:
    """One row of a confidence contest."""

    id: str
    name: str
    position: str


@dataclass(frozen=True)
class Candidate:
    """One name on a cross-out election ballot."""

    id: str
    name: str
    honorific: str = ""  # "Ông" / "Bà", printed before the name
    born: str = ""  # ISO date (YYYY-MM-DD): printed, and breaks ties by age under state rules
    other: str = ""  # a second, smaller line (another name, a position)


@dataclass(frozen=True)
class Contest:
    id: str
    kind: str  # confidence | choose | yesno
    title: str
    instructions: str
    options: tuple[Option, ...]  # levels for confidence, choices for choose, yes/no for yesno
    rows: tuple[Person, ...] = ()  # confidence only
    min_marks: int = 1
    max_marks: int = 1
    candidates: tuple[Candidate, ...] = ()  # crossout only
    seats: int = 0  # crossout: the number to elect, K ("Số lượng được bầu")
    regime: str = ""  # crossout: state | party
    style: str = ""  # crossout: strike | agree
    numbered: bool = True  # crossout: print the STT column
    rules: tuple[tuple[str, str], ...] = ()  # crossout: the template's overrides of its regime's rules

    @property
    def crossout_rules(self) -> CrossoutRules:
        """The rules that judge a cross-out ballot: its regime's (omr.ballot.regimes), with the overrides."""
        return rules_for(self.regime, self.rules)

    @property
    def row_ids(self) -> tuple[str, ...]:
        """Rows a sheet is judged on: people for confidence, candidates for crossout, the contest
        itself otherwise."""
        if self.kind == "crossout":
            return tuple(c.id for c in self.candidates)
        return tuple(p.id for p in self.rows) if self.kind == "confidence" else (self.id,)


@dataclass(frozen=True)
class Header:
    left: tuple[str, ...]  # issuing organisation, top to bottom
    right: tuple[str, ...]  # e.g. "ĐẢNG CỘNG SẢN VIỆT NAM"
    place_date: str
    title: str
    subtitle: str
    instructions: str


@dataclass(frozen=True)
class Template:
    id: str
    language: str
    paper: str
    header: Header
    contests: tuple[Contest, ...]
    serial_numbers: bool = False
    source: str = field(default="", compare=False)
    warnings: tuple[str, ...] = field(default=(), compare=False)  # not errors: e.g. names not in alphabetical order
    # a ballot of several pages printed on both sides of its sheets: pages 1-2 are one card, 3-4 the next
    # (the Arlo manifest counts cards); how the ballot is printed, not what: not in the fingerprint
    duplex: bool = False

    @property
    def paper_size_mm(self) -> tuple[float, float]:
        return PAPER_SIZES_MM[self.paper]

    def canonical(self) -> dict[str, Any]:
        """Plain data with every default filled in: the input of the fingerprint."""
        return {
            "id": self.id,
            "language": self.language,
            "paper": self.paper,
            "serial_numbers": self.serial_numbers,
            "header": {
                "left": list(self.header.left), "right": list(self.header.right),
                "place_date": self.header.place_date, "title": self.header.title,
                "subtitle": self.header.subtitle, "instructions": self.header.instructions,
            },
            "contests": [
                {
                    "id": c.id, "kind": c.kind, "title": c.title, "instructions": c.instructions,
                    "min": c.min_marks, "max": c.max_marks,
                    "options": [{"id": o.id, "label": o.label} for o in c.options],
                    "rows": [{"id": p.id, "name": p.name, "position": p.position} for p in c.rows],
                    **(_crossout_canonical(c) if c.kind == "crossout" else {}),
                }
                for c in self.contests
            ],
        }


def _crossout_canonical(c: Contest) -> dict[str, Any]:
    """The cross-out fields, only for cross-out contests: other templates keep their fingerprint."""
    return {"seats": c.seats, "regime": c.regime, "style": c.style, "numbered": c.numbered,
            "candidates": [{"id": p.id, "name": p.name, "honorific": p.honorific, "born": p.born,
                            "other": p.other} for p in c.candidates],
            **({"rules": dict(c.rules)} if c.rules else {})}


# --- Vietnamese alphabetical order (state rule: given name, then surname, then middle name) ---

_VI_LETTERS = "aăâbcdđeêghiklmnoôơpqrstuưvxy"
_TONES = {"\u0300": 1, "\u0309": 2, "\u0303": 3, "\u0301": 4, "\u0323": 5}  # huyền hỏi ngã sắc nặng


def _word_key(word: str) -> tuple:
    """A word's place in the Vietnamese alphabet: letters first (ă after a, đ after d, ...), tones second."""
    letters: list[int] = []
    tones: list[int] = []
    for ch in word.lower():
        parts = unicodedata.normalize("NFD", ch)
        tone = next((_TONES[m] for m in parts if m in _TONES), 0)
        base = unicodedata.normalize("NFC", "".join(m for m in parts if m not in _TONES))
        letters.append(_VI_LETTERS.index(base) if base in _VI_LETTERS else 100 + ord(base[0]))
        tones.append(tone)
    return (tuple(letters), tuple(tones))


def name_order_key(name: str) -> tuple:
    """Given name (the last word), then surname (the first), then the middle names."""
    words = name.split()
    if not words:
        return ()
    return (_word_key(words[-1]), _word_key(words[0]), tuple(_word_key(w) for w in words[1:-1]))


def order_warnings(c: Contest) -> list[str]:
    """Where a list is not in the state rule's alphabetical order (a warning: Party lists may differ)."""
    out = []
    for a, b in zip(c.candidates, c.candidates[1:]):
        if name_order_key(b.name) < name_order_key(a.name):
            out.append(f"contest '{c.id}': '{b.name}' comes before '{a.name}' in alphabetical order by given "
                       "name, then surname, then middle name (Luật Bầu cử: the list is printed in that order)")
    return out


# --- YAML with line numbers -------------------------------------------------------------------

Path_ = tuple[Any, ...]


def _plain(node: yaml.Node, path: Path_, lines: dict[Path_, int], problems: list[str],
           source: str) -> Any:
    """Turn a composed YAML node into plain data, remembering each value's line."""
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value)
            if key in out:
                problems.append(f"{source}:{key_node.start_mark.line + 1}: "
                                f"{_dotted(path + (key,))}: the key is given twice")
            out[key] = _plain(value_node, path + (key,), lines, problems, source)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_plain(v, path + (i,), lines, problems, source) for i, v in enumerate(node.value)]
    if node.tag in _KEEP_AS_WRITTEN and not (node.tag == _BOOL and node.value.lower() in ("true", "false")):
        # YAML 1.1 reads yes/no/on/off as booleans and 2023-06-29 as a date: `{id: no, label: No}` and
        # `place_date: 2023-06-29` mean the text as written (as in YAML 1.2); true/false stay booleans
        return node.value
    return yaml.constructor.SafeConstructor().construct_object(node)


_BOOL = "tag:yaml.org,2002:bool"
_KEEP_AS_WRITTEN = (_BOOL, "tag:yaml.org,2002:timestamp")


def _dotted(path: Path_) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


class _Checker:
    """Collects every problem instead of stopping at the first one."""

    def __init__(self, source: str, lines: dict[Path_, int]):
        self.source = source
        self.lines = lines
        self.problems: list[str] = []
        self.missing: set[Path_] = set()  # required fields already reported missing
        self.not_mappings: set[Path_] = set()  # values already reported as not a mapping

    def fail(self, path: Path_, message: str) -> None:
        # one message per cause: nothing more about a missing field, or inside a value that is not a mapping
        if any(path[:cut] in self.missing for cut in range(1, len(path) + 1)) or any(
                path[:cut] in self.not_mappings for cut in range(len(path))):
            return
        line = None
        for cut in range(len(path), -1, -1):
            line = self.lines.get(path[:cut])
            if line is not None:
                break
        where = f"{self.source}:{line}" if line else self.source
        self.problems.append(f"{where}: {_dotted(path)}: {message}")

    def mapping(self, value: Any, path: Path_, required: set[str], optional: set[str]) -> dict:
        if not isinstance(value, dict):
            self.fail(path, f"expected a mapping with the keys {sorted(required | optional)}")
            self.not_mappings.add(path)
            return {}
        for key in value:
            if key not in required | optional:
                self.fail(path + (key,), f"unknown key '{key}'; allowed here: "
                          + ", ".join(sorted(required | optional)))
        for key in sorted(required - set(value)):
            self.fail(path, f"missing required field '{key}'")
            self.missing.add(path + (key,))
        return value

    def text(self, value: Any, path: Path_, default: str | None = None, max_len: int = 400) -> str:
        if value is None and default is not None:
            return default
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str):
            self.fail(path, "expected text")
            return ""
        text = unicodedata.normalize("NFC", " ".join(value.split()))
        if len(text) > max_len:
            self.fail(path, f"text is {len(text)} characters long; at most {max_len} allowed")
        return text

    def text_list(self, value: Any, path: Path_) -> tuple[str, ...]:
        if value is None:
            return ()
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            self.fail(path, "expected a list of lines of text")
            return ()
        return tuple(self.text(v, path + (i,), max_len=80) for i, v in enumerate(value))

    def ident(self, value: Any, path: Path_, seen: set[str]) -> str:
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str) or not ID_PATTERN.match(value):
            self.fail(path, f"invalid id {value!r}: use 1-40 lowercase letters, digits, '-' or '_', "
                      "starting with a letter or digit")
            return str(value)
        if value in seen:
            self.fail(path, f"duplicate id '{value}': ids must be unique within their list")
        seen.add(value)
        return value

    def integer(self, value: Any, path: Path_, default: int, low: int, high: int) -> int:
        if value is None:
            return default
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            self.fail(path, f"expected a whole number from {low} to {high}, got {value!r}")
            return default
        return value


def _contest(ck: _Checker, raw: Any, path: Path_, language: str, seen: set[str]) -> Contest | None:
    kind = raw.get("kind") if isinstance(raw, dict) else None
    if kind not in CONTEST_KINDS:
        ck.fail(path + ("kind",), f"unknown contest kind {kind!r}; allowed: {', '.join(CONTEST_KINDS)}")
        return None
    common = {"id", "kind", "title"}
    extra = {"confidence": ({"rows"}, {"levels", "instructions"}),
             "choose": ({"options"}, {"min", "max", "instructions"}),
             "yesno": (set(), {"options", "instructions"}),
             "crossout": ({"candidates", "seats", "regime"}, {"style", "numbered", "instructions", "rules"})}[kind]
    raw = ck.mapping(raw, path, common | extra[0], extra[1])
    cid = ck.ident(raw.get("id"), path + ("id",), seen)
    title = ck.text(raw.get("title"), path + ("title",), max_len=200)
    instructions = ck.text(raw.get("instructions"), path + ("instructions",), default="")

    def options(key: str, defaults: tuple[tuple[str, str], ...]) -> tuple[Option, ...]:
        items = raw.get(key)
        if items is None:
            return tuple(Option(i, label) for i, label in defaults)
        if not isinstance(items, list) or not items:
            ck.fail(path + (key,), "expected a non-empty list of {id, label}")
            return ()
        ids: set[str] = set()
        out = []
        for i, item in enumerate(items):
            m = ck.mapping(item, path + (key, i), {"id", "label"}, set())
            out.append(Option(ck.ident(m.get("id"), path + (key, i, "id"), ids),
                              ck.text(m.get("label"), path + (key, i, "label"), max_len=120)))
        return tuple(out)

    if kind == "crossout":
        return _crossout(ck, raw, path, language, cid, title, instructions)
    if kind == "confidence":
        levels = options("levels", CONFIDENCE_LEVELS_VI if language == "vi" else CONFIDENCE_LEVELS_EN)
        rows_raw = raw.get("rows")
        rows: list[Person] = []
        if not isinstance(rows_raw, list) or not rows_raw:
            if "rows" in raw:
                ck.fail(path + ("rows",), "the contest is empty: list at least one person "
                        "(id, name, position)")
        else:
            ids: set[str] = set()
            for i, r in enumerate(rows_raw):
                m = ck.mapping(r, path + ("rows", i), {"id", "name"}, {"position"})
                rows.append(Person(ck.ident(m.get("id"), path + ("rows", i, "id"), ids),
                                   ck.text(m.get("name"), path + ("rows", i, "name"), max_len=80),
                                   ck.text(m.get("position"), path + ("rows", i, "position"),
                                           default="", max_len=160)))
        return Contest(cid, kind, title, instructions, levels, tuple(rows), 1, 1)
    if kind == "choose":
        if raw.get("options") == []:
            ck.fail(path + ("options",), "the contest is empty: list at least one option {id, label}")
            opts: tuple[Option, ...] = ()
        else:
            opts = options("options", ())
        hi = len(opts) or 999  # no options: already reported, do not also blame min/max
        max_marks = ck.integer(raw.get("max"), path + ("max",), 1, 1, hi)
        min_marks = ck.integer(raw.get("min"), path + ("min",), 0, 0, hi)
        if min_marks > max_marks:
            ck.fail(path + ("min",), f"min ({min_marks}) is larger than max ({max_marks})")
        return Contest(cid, kind, title, instructions, opts, (), min_marks, max_marks)
    yes_no = (("yes", "Đồng ý"), ("no", "Không đồng ý")) if language == "vi" else (("yes", "Yes"), ("no", "No"))
    opts = options("options", yes_no)
    if len(opts) != 2:
        ck.fail(path + ("options",), f"a yes/no question has exactly 2 options, got {len(opts)}")
    return Contest(cid, kind, title, instructions, opts, (), 1, 1)


def _crossout(ck: _Checker, raw: dict, path: Path_, language: str, cid: str, title: str,
              instructions: str) -> Contest:
    regime = raw.get("regime")
    if regime not in REGIMES:
        ck.fail(path + ("regime",), f"unknown regime {regime!r}; allowed: {', '.join(REGIMES)}")
    style = raw.get("style", "strike")
    if style not in CROSSOUT_STYLES:
        ck.fail(path + ("style",), f"unknown style {style!r}; allowed: {', '.join(CROSSOUT_STYLES)}")
    rules, rule_problems = override_problems(raw.get("rules"))
    for key, message in rule_problems:
        ck.fail(path + (("rules", key) if key is not None else ("rules",)), message)
    numbered = raw.get("numbered", True)
    if not isinstance(numbered, bool):
        ck.fail(path + ("numbered",), "expected true or false")
        numbered = True
    people: list[Candidate] = []
    items = raw.get("candidates")
    if not isinstance(items, list) or not items:
        if "candidates" in raw:
            ck.fail(path + ("candidates",), "expected a non-empty list of candidates (id, name)")
    else:
        ids: set[str] = set()
        for i, item in enumerate(items):
            p = path + ("candidates", i)
            m = ck.mapping(item, p, {"id", "name"}, {"honorific", "born", "other"})
            honorific = ck.text(m.get("honorific"), p + ("honorific",), default="", max_len=10)
            if honorific and honorific not in HONORIFICS:
                ck.fail(p + ("honorific",), f"unknown honorific {honorific!r}; allowed: {', '.join(HONORIFICS)}")
            born = ck.text(m.get("born"), p + ("born",), default="", max_len=10)
            if born and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", born):
                ck.fail(p + ("born",), f"date of birth {born!r}: write it as YYYY-MM-DD (e.g. 1975-03-02)")
            people.append(Candidate(ck.ident(m.get("id"), p + ("id",), ids),
                                    ck.text(m.get("name"), p + ("name",), max_len=80), honorific, born,
                                    ck.text(m.get("other"), p + ("other",), default="", max_len=120)))
    seats = ck.integer(raw.get("seats"), path + ("seats",), 1, 1, max(len(people), 1))
    if style == "strike" and people and seats >= len(people) and regime == "state":
        ck.fail(path + ("seats",), f"{seats} seats for {len(people)} candidates: a state election lists more "
                "candidates than seats (Luật Bầu cử); a Party list without surplus uses style: agree")
    labels = AGREE_OPTIONS_VI if language == "vi" else AGREE_OPTIONS_EN
    opts = (tuple(Option(i, label) for i, label in labels) if style == "agree"
            else (Option(STRUCK, STRIKE_OPTION[language]),))
    return Contest(cid, "crossout", title, instructions, opts, (), 0, seats, tuple(people), seats,
                   regime if regime in REGIMES else "state", style if style in CROSSOUT_STYLES else "strike",
                   numbered, rules)


@functools.lru_cache(maxsize=16)
def parse_template(text: str, source: str = "<template>") -> Template:
    """Validate YAML text into a Template; raise TemplateError listing every problem. The same text from
    the same source gives the same (immutable) Template, kept: a scan reads each template given twice (to
    read the sheets, and to count what awaits review), 10-35 ms each (the 28-leader one) in PyYAML."""
    problems: list[str] = []
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark else source
        raise TemplateError(source, [f"{where}: not valid YAML: {getattr(exc, 'problem', exc)}"]) from None
    if node is None:
        raise TemplateError(source, [f"{source}: the file is empty"])
    lines: dict[Path_, int] = {}
    raw = _plain(node, (), lines, problems, source)
    ck = _Checker(source, lines)
    ck.problems.extend(problems)
    top = ck.mapping(raw, (), {"id", "header", "contests"}, {"language", "paper", "serial_numbers", "duplex"})
    tid = ck.ident(top.get("id"), ("id",), set())
    language = top.get("language", "vi")
    if language not in LANGUAGES:
        ck.fail(("language",), f"unknown language {language!r}; allowed: {', '.join(LANGUAGES)}")
        language = "vi"
    paper = top.get("paper", "A4")
    if paper not in PAPER_SIZES_MM:
        ck.fail(("paper",), f"invalid paper size {paper!r}; allowed: {', '.join(PAPER_SIZES_MM)}")
        paper = "A4"
    serial = top.get("serial_numbers", False)
    if not isinstance(serial, bool):
        ck.fail(("serial_numbers",), "expected true or false")
        serial = False
    duplex = top.get("duplex", False)
    if not isinstance(duplex, bool):
        ck.fail(("duplex",), "expected true or false")
        duplex = False
    h = ck.mapping(top.get("header", {}), ("header",), {"title"},
                   {"left", "right", "place_date", "subtitle", "instructions"})
    header = Header(
        left=ck.text_list(h.get("left"), ("header", "left")),
        right=ck.text_list(h.get("right"), ("header", "right")),
        place_date=ck.text(h.get("place_date"), ("header", "place_date"), default="", max_len=120),
        title=ck.text(h.get("title"), ("header", "title"), max_len=120),
        subtitle=ck.text(h.get("subtitle"), ("header", "subtitle"), default="", max_len=300),
        instructions=ck.text(h.get("instructions"), ("header", "instructions"), default="", max_len=600),
    )
    contests_raw = top.get("contests")
    contests: list[Contest] = []
    if "contests" in top and (not isinstance(contests_raw, list) or not contests_raw):
        ck.fail(("contests",), "expected a non-empty list of contests")
    elif isinstance(contests_raw, list):
        seen: set[str] = set()
        for i, c in enumerate(contests_raw):
            contest = _contest(ck, c, ("contests", i), language, seen)
            if contest is not None:
                contests.append(contest)
    if ck.problems:
        raise TemplateError(source, ck.problems)
    warnings = tuple(w for c in contests if c.kind == "crossout" for w in order_warnings(c))
    template = Template(tid, language, paper, header, tuple(contests), serial, source, warnings, duplex=duplex)
    # Text that does not fit its printed cell is a layout question; ask the layout now so that
    # `omr validate` reports it with the other problems.
    too_long = fit_problems(template, lambda path: lines.get(path))
    if too_long:
        raise TemplateError(source, [f"{source}:{line}: {msg}" if line else f"{source}: {msg}"
                                     for line, msg in too_long])
    return template


def load_template(path: str | Path) -> Template:
    """Read and validate a template file."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TemplateError(str(p), [f"{p}: no such file"]) from None
    except UnicodeDecodeError as exc:
        raise TemplateError(str(p), [f"{p}: not UTF-8 text (byte {exc.start})"]) from None
    return parse_template(text, str(p))
