"""The ballot cards of a tally, by batch, in the order they were scanned.

One numbering shared by the ballot manifest, the Dominion CVR file and ``cvr.json``, so that an
auditor who draws "card 7 of batch lo-2" finds the same sheet in every file and in the box:

- a **batch** is one scanned file (its name without the extension; ``folder/name`` when two folders
  hold a file of that name, the path under the folder of the scans when even that is ambiguous),
  its **container** the folder it was in, its **tabulator** the tool;
- a **ballot card** is a physical sheet in the pile: every sheet read from the file except another
  image of a card already listed (a duplicate), a test-deck sheet (taken out of the ballots) and a
  page a person set aside as no ballot (e.g. the blank back of a duplex scan). Counted sheets,
  sheets a person rejected, sheets the committee did not issue and unreadable pages are cards: they
  are in the box whatever review decides about their votes. A ballot printed on both sides of its
  sheets (its template says ``duplex: true``) has two pages on a card: pages 1 and 2 of one ballot,
  scanned one after the other (in either order), are the two sides of one card, as are 3 and 4;
- a card's **record** number is its place in its batch (1, 2, ...), in page order;
- the sheets of one multi-page ballot share a **ballot id**: its printed serial number when the
  template prints one, else the sheets that follow each other in a file, page 1 first.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass

from omr.ballot.layout import fingerprint
from omr.count.tally import COUNTED, NOT_ISSUED, REJECTED_BY_REVIEWER, UNREADABLE, SheetOutcome, Tally

TABULATOR = "ballot-omr"  # the scanning tool: the store records no scanner of its own
CARD_OUTCOMES = (COUNTED, REJECTED_BY_REVIEWER, NOT_ISSUED, UNREADABLE)


@dataclass(frozen=True)
class Batch:
    container: str
    tabulator: str
    name: str
    cards: tuple[tuple[SheetOutcome, ...], ...]  # in page order: record number = index + 1; each its sides


def _unique_names(keys: list[tuple[str, str]], folder: str) -> dict[tuple[str, str], str]:
    """(parent folder, file stem) -> a batch name: the stem, else "container/stem", else the file's
    path under the folder of the scans (two folders of the same name in different places)."""
    def tries(parent: str, stem: str) -> list[str]:
        relative = parent[len(folder):].lstrip("/") if folder and parent.startswith(folder) else parent
        return [stem, f"{posixpath.basename(parent) or '-'}/{stem}", posixpath.join(relative, stem)]

    names: dict[tuple[str, str], str] = {}
    for level in range(3):
        counts: dict[str, int] = {}
        for key in keys:
            name = tries(*key)[level]
            counts[name] = counts.get(name, 0) + 1
        for key in keys:
            if key not in names and (counts[tries(*key)[level]] == 1 or level == 2):
                names[key] = tries(*key)[level]
    return names


def ballot_batches(tally: Tally) -> list[Batch]:
    """The batches holding at least one card, sorted by (container, name)."""
    groups: dict[tuple[str, str], list[SheetOutcome]] = {}
    for s in tally.sheets:  # in (file, page) order
        parent = posixpath.dirname(s.source.replace("\\", "/"))
        groups.setdefault((parent, s.batch), []).append(s)
    names = _unique_names(list(groups), scans_folder(list(tally.sheets)))
    duplex = {fingerprint(t) for t in tally.templates if t.duplex}
    batches = []
    for (parent, stem), sheets in groups.items():
        cards = _cards([s for s in sheets if s.outcome in CARD_OUTCOMES], duplex)
        if cards:
            batches.append(Batch(posixpath.basename(parent) or "-", TABULATOR, names[(parent, stem)], cards))
    return sorted(batches, key=lambda b: (b.container, b.name))


def _cards(sheets: list[SheetOutcome], duplex: set[str]) -> tuple[tuple[SheetOutcome, ...], ...]:
    """The cards of one batch's sheets (in page order), each its sides: a sheet of a template printed on
    both sides (`duplex`: fingerprints) is the other side of the card before it when that card holds one
    sheet, of the same ballot design, from the page just before in the same file, and the two are pages
    2k-1 and 2k of the ballot (a card's front and back, in either order)."""
    cards: list[tuple[SheetOutcome, ...]] = []
    for s in sheets:
        if cards and len(cards[-1]) == 1 and s.fingerprint in duplex:
            (front,) = cards[-1]
            pages = sorted((front.template_page or 0, s.template_page or 0))
            if (front.fingerprint == s.fingerprint and front.source == s.source and s.page == front.page + 1
                    and pages[0] % 2 == 1 and pages[1] == pages[0] + 1):
                cards[-1] = (front, s)
                continue
        cards.append((s,))
    return tuple(cards)


def card_places(batches: list[Batch]) -> dict[tuple[str, int], tuple[Batch, int]]:
    """(file, page) -> (its batch, its record number in the batch): both sides of a card have its number."""
    return {(s.source, s.page): (b, i) for b in batches for i, card in enumerate(b.cards, start=1) for s in card}


def ballot_ids(batches: list[Batch]) -> dict[tuple[str, int], str]:
    """(file, page) -> the id of the ballot the card belongs to (see the module docstring)."""
    out: dict[tuple[str, int], str] = {}
    for b in batches:
        current: tuple[str | None, int, str] | None = None  # (fingerprint, last page, ballot id)
        for i, card in enumerate(b.cards, start=1):
            s = card[0]  # a card's sides are pages of one ballot: they share its id
            if s.serial is not None and s.template_id:
                out.update({(side.source, side.page): f"{s.template_id}/serial-{s.serial}" for side in card})
                current = None
                continue
            pages = [side.template_page or 1 for side in card]
            if current is None or current[0] != s.fingerprint or min(pages) <= current[1] or s.fingerprint is None:
                current = (s.fingerprint, max(pages), f"{b.name}/{i}")
            else:
                current = (current[0], max(pages), current[2])
            out.update({(side.source, side.page): current[2] for side in card})
    return out


def scans_folder(sheets: list[SheetOutcome]) -> str:
    """The deepest folder holding every given sheet's file ("" when they share none): the minutes name
    files under it, the CVR locates images relative to it."""
    folders = [posixpath.dirname(s.source.replace("\\", "/")) for s in sheets]
    if not folders or not all(folders) or len({f.startswith("/") for f in folders}) != 1:
        return ""
    return posixpath.commonpath(folders)
