"""A sheet read in and out of its tables: ``sheets`` with its ``sheet_reasons``, ``rows``,
``row_reasons`` and ``marks``, every number kept, so the read comes back equal to what was stored."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from typing import Any

from omr.read.results import MarkRead, Reason, Registration, RowRead, SheetRead
from omr.store.chain import canonical_json
from omr.store.records import StoredSheet


def _where_values(reason: Reason) -> tuple[float | None, ...]:
    return (None,) * 4 if reason.where is None else tuple(float(v) for v in reason.where)


def _reason(code: str, detail: str, x: float | None, y: float | None, w: float | None, h: float | None) -> Reason:
    return Reason(code, detail, None if x is None else (x, y, w, h))


def insert_sheet(conn: sqlite3.Connection, run_id: int, sha256: str, read: SheetRead) -> int:
    """Write a checked read into the sheet tables (inside the caller's transaction); returns its id."""
    reg = read.registration
    cur = conn.execute(
        "INSERT INTO sheets (source_sha256, page, run_id, path, image_sha256, template_id, fingerprint, "
        "template_page, test, serial, status, rotation, fiducials_found, residual_mm, px_per_mm, homography, "
        "metrics, signature) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (sha256, int(read.page), run_id, str(read.source), str(read.image_sha256), read.template_id,
         read.fingerprint, None if read.template_page is None else int(read.template_page),
         int(bool(read.test)), None if read.serial is None else int(read.serial), read.status,
         None if reg is None else int(reg.rotation),
         None if reg is None else int(reg.fiducials_found),
         None if reg is None else float(reg.residual_mm),
         None if reg is None else float(reg.px_per_mm),
         None if reg is None else canonical_json([float(h) for h in reg.homography]),
         canonical_json(read.metrics, "metrics"), bytes(read.signature)))
    sheet_id = int(cur.lastrowid)
    conn.executemany(
        "INSERT INTO sheet_reasons (sheet_id, ordinal, code, detail, where_x_mm, where_y_mm, where_w_mm, "
        "where_h_mm) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [(sheet_id, i, r.code, r.detail, *_where_values(r)) for i, r in enumerate(read.reasons)])
    # every row, then their reasons and marks, each table in one statement (three a row cost ~1 ms a sheet of
    # the 28-leader ballot's 42 rows); each table's rows go in in the same order as row by row
    keys = [(sheet_id, row.contest_id, row.row_id) for row in read.rows]
    conn.executemany(
        "INSERT INTO rows (sheet_id, contest_id, row_id, ordinal, status, choices) VALUES (?, ?, ?, ?, ?, ?)",
        [(*key, ordinal, row.status, canonical_json(list(row.choices)))
         for ordinal, (key, row) in enumerate(zip(keys, read.rows))])
    conn.executemany(
        "INSERT INTO row_reasons (sheet_id, contest_id, row_id, ordinal, code, detail, where_x_mm, where_y_mm, "
        "where_w_mm, where_h_mm) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [(*key, i, r.code, r.detail, *_where_values(r)) for key, row in zip(keys, read.rows)
         for i, r in enumerate(row.reasons)])
    conn.executemany(
        "INSERT INTO marks (sheet_id, contest_id, row_id, option_id, ordinal, score, state, dx_mm, dy_mm) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [(*key, m.option_id, i, float(m.score), m.state, float(m.dx_mm), float(m.dy_mm))
         for key, row in zip(keys, read.rows) for i, m in enumerate(row.marks)])
    return sheet_id



def load_sheets(conn: sqlite3.Connection, where: str = "1", params: Sequence[Any] = ()) -> list[StoredSheet]:
    """Sheets matching `where` (over sheets s JOIN sources src), rebuilt as SheetReads, in the
    order of (first path, page)."""
    base = f"FROM sheets s JOIN sources src ON src.sha256 = s.source_sha256 WHERE {where}"
    ids = f"SELECT s.id {base}"
    reasons: dict[int, list[Reason]] = {}
    for sid, *reason in conn.execute(
            "SELECT sheet_id, code, detail, where_x_mm, where_y_mm, where_w_mm, where_h_mm FROM sheet_reasons "
            f"WHERE sheet_id IN ({ids}) ORDER BY sheet_id, ordinal", params):
        reasons.setdefault(sid, []).append(_reason(*reason))
    row_reasons: dict[tuple[int, str, str], list[Reason]] = {}
    for sid, cid, rid, *reason in conn.execute(
            "SELECT sheet_id, contest_id, row_id, code, detail, where_x_mm, where_y_mm, where_w_mm, where_h_mm "
            f"FROM row_reasons WHERE sheet_id IN ({ids}) ORDER BY sheet_id, contest_id, row_id, ordinal", params):
        row_reasons.setdefault((sid, cid, rid), []).append(_reason(*reason))
    marks: dict[tuple[int, str, str], list[MarkRead]] = {}
    for sid, cid, rid, oid, score, state, dx, dy in conn.execute(
            "SELECT sheet_id, contest_id, row_id, option_id, score, state, dx_mm, dy_mm FROM marks "
            f"WHERE sheet_id IN ({ids}) ORDER BY sheet_id, contest_id, row_id, ordinal", params):
        marks.setdefault((sid, cid, rid), []).append(MarkRead(cid, rid, oid, score, state, dx, dy))
    rows: dict[int, list[RowRead]] = {}
    for sid, cid, rid, status, choices in conn.execute(
            f"SELECT sheet_id, contest_id, row_id, status, choices FROM rows WHERE sheet_id IN ({ids}) "
            "ORDER BY sheet_id, ordinal", params):
        key = (sid, cid, rid)
        rows.setdefault(sid, []).append(RowRead(cid, rid, status, tuple(row_reasons.get(key, ())),
                                                tuple(json.loads(choices)), tuple(marks.get(key, ()))))
    out: list[StoredSheet] = []
    for (sid, sha, page, run_id, path, first_path, image_sha, template_id, fp, tpage, test, serial, status,
         rotation, fiducials, residual, px_mm, homography, metrics, signature) in conn.execute(
            "SELECT s.id, s.source_sha256, s.page, s.run_id, s.path, src.first_path, s.image_sha256, "
            "s.template_id, s.fingerprint, s.template_page, s.test, s.serial, s.status, s.rotation, "
            "s.fiducials_found, s.residual_mm, s.px_per_mm, s.homography, s.metrics, s.signature "
            f"{base} ORDER BY src.first_path, s.page, s.source_sha256", params):
        registration = None
        if rotation is not None:
            registration = Registration(rotation, fiducials, residual, px_mm,
                                        tuple(float(h) for h in json.loads(homography)))
        read = SheetRead(
            source=path, page=page, status=status, reasons=tuple(reasons.get(sid, ())), image_sha256=image_sha,
            template_id=template_id, fingerprint=fp, template_page=tpage, test=bool(test), serial=serial,
            registration=registration, rows=tuple(rows.get(sid, ())), metrics=json.loads(metrics),
            signature=bytes(signature))
        out.append(StoredSheet(sid, sha, run_id, first_path, read))
    return out
