"""Rows of the runs and decisions tables read back: the runs row by column name, a decision row into
a `Decision` (a sheet's tables are read back in :mod:`omr.store.sheets`)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from typing import Any

from omr.store.records import Decision

DECISION_COLUMNS = ("id, sheet_id, scope, contest_id, row_id, action, choices, reason, reviewer, note, "
                    "created_at, machine, supersedes")


def decision_from_row(row: Sequence[Any]) -> Decision:
    """A decision from its row, columns in the order of DECISION_COLUMNS."""
    (did, sid, scope, cid, rid, action, choices, reason, reviewer, note, created, machine, supersedes) = row
    return Decision(did, sid, scope, cid, rid, action, tuple(json.loads(choices)), reason, reviewer, note,
                    created, json.loads(machine), supersedes)


def run_row(conn: sqlite3.Connection, run_id: int) -> sqlite3.Row | None:
    """The runs row, its columns by name; None when there is no such run."""
    cur = conn.cursor()
    cur.row_factory = sqlite3.Row
    return cur.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
