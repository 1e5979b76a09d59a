"""One line that fingerprints all reads of a run: equal digests on two computers mean equal reads.

Paths differ between computers, so the digest covers what was read, not where the file was: each
sheet's image hash, template, page, status, reason codes and every box's score and state, sorted.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable

from omr.read.results import SheetRead


def read_key(read: SheetRead) -> str:
    """The canonical text of one read, without its path."""
    return json.dumps({
        "image": read.image_sha256, "template": read.fingerprint, "page": read.template_page,
        "test": read.test, "status": read.status, "reasons": sorted(r.code for r in read.reasons),
        "rotation": read.rotation,
        "rows": [[r.contest_id, r.row_id, r.status, sorted(x.code for x in r.reasons), list(r.choices),
                  [[m.option_id, m.score, m.state] for m in r.marks]] for r in read.rows],
    }, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def reads_digest(reads: Iterable[SheetRead]) -> str:
    return keys_digest(read_key(r) for r in reads)


def keys_digest(keys: Iterable[str]) -> str:
    """The digest of reads given by their read_key lines (in any order)."""
    return sorted_keys_digest(sorted(keys))


def sorted_keys_digest(lines: Iterable[str]) -> str:
    """keys_digest of lines already sorted by code point: as sorted() orders str, and as SQLite's BINARY
    collation orders their UTF-8 (omr scan sorts a large batch's lines there, on disk)."""
    h = hashlib.sha256()
    for line in lines:
        h.update(line.encode())
        h.update(b"\n")
    return h.hexdigest()
