"""The audit report as PDF: the verdict, what was compared, every difference, the totals side by side.

Drawn with reportlab in Be Vietnam Pro (the ballots' font, from its PyPI package: every Vietnamese
name prints as written; no system font). All text is normalised to NFC before it is drawn.
"""

from __future__ import annotations

import os
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import registerFontFamily
from reportlab.platypus import KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from omr.audit.findings import ERROR, KINDS, MARGINAL_CHANGE, MINOR, AuditReport, Difference
from omr.ballot.fonts import register_fonts, ttfont

RED = colors.HexColor("#b00020")
GREEN = colors.HexColor("#1b6e20")
ORANGE = colors.HexColor("#b35900")
GREY = colors.HexColor("#666666")
LIGHT = colors.HexColor("#eeeeee")
TINTS = {ERROR: colors.HexColor("#fde7ea"), MARGINAL_CHANGE: colors.HexColor("#fff1e0"), MINOR: colors.white}
MAX_ROWS = 400  # differences listed per severity; the JSON has them all

KIND_WORDS = {
    "integrity": "database edited", "archive-input": "archive path", "file-missing": "file missing",
    "file-altered": "file altered", "file-extra": "file extra", "sheet-missing": "sheet gone",
    "sheet-extra": "sheet new", "sheet-identity": "sheet identity", "sheet-status": "sheet status",
    "row-missing": "row gone", "row-extra": "row new", "row-status": "row status", "row-choices": "row choices",
    "box-missing": "box gone", "box-extra": "box new", "vote-flip": "VOTE FLIP", "total": "total",
    "marginal": "marginal", "sheet-reasons": "sheet reasons", "row-reasons": "row reasons", "score": "score",
    "numbers": "measures",
}


def _shortener(report: AuditReport) -> tuple[str, Any]:
    """(the archive's folder, path -> path relative to it when inside it): the report's tables name
    the archived files as the auditor sees them in the archive, not by long absolute paths."""
    folders = [os.path.abspath(a if os.path.isdir(a) else os.path.dirname(a) or ".") for a in report.archive]
    try:
        root = os.path.commonpath(folders) if folders else ""
    except ValueError:  # different drives
        root = ""

    def short(path: str | None) -> str | None:
        if not path or not root:
            return path
        full = os.path.abspath(path)
        return os.path.relpath(full, root) if full.startswith(root + os.sep) else path

    return root, short


def _t(value: Any) -> str:
    return escape(unicodedata.normalize("NFC", "" if value is None else str(value)))


class _Styles:
    def __init__(self) -> None:
        register_fonts()
        regular, bold = ttfont("regular").fontName, ttfont("bold").fontName
        registerFontFamily(regular, normal=regular, bold=bold, italic=ttfont("italic").fontName,
                           boldItalic=ttfont("bolditalic").fontName)
        self.body = ParagraphStyle("body", fontName=regular, fontSize=8.5, leading=11)
        self.small = ParagraphStyle("small", parent=self.body, fontSize=7, leading=8.6)
        self.cell = ParagraphStyle("cell", parent=self.body, fontSize=7, leading=8.4)
        self.h1 = ParagraphStyle("h1", parent=self.body, fontName=bold, fontSize=15, leading=19, spaceAfter=2 * mm)
        self.h2 = ParagraphStyle("h2", parent=self.body, fontName=bold, fontSize=10.5, leading=13,
                                 spaceBefore=4 * mm, spaceAfter=1.5 * mm)
        self.verdict = ParagraphStyle("verdict", parent=self.body, fontName=bold, fontSize=11, leading=14,
                                      textColor=colors.white)
        self.regular, self.bold = regular, bold


def _table(data: list[list[Any]], widths: Sequence[float], styles: _Styles, extra: Sequence[tuple] = (),
           header: bool = True) -> Table:
    cells = [[c if not isinstance(c, str) else Paragraph(c, styles.cell) for c in row] for row in data]
    table = Table(cells, colWidths=[w * mm for w in widths], repeatRows=1 if header else 0)
    style = [("VALIGN", (0, 0), (-1, -1), "TOP"), ("GRID", (0, 0), (-1, -1), 0.25, colors.HexColor("#bbbbbb")),
             ("LEFTPADDING", (0, 0), (-1, -1), 2), ("RIGHTPADDING", (0, 0), (-1, -1), 2),
             ("TOPPADDING", (0, 0), (-1, -1), 1.2), ("BOTTOMPADDING", (0, 0), (-1, -1), 1.2)]
    if header:
        style.append(("BACKGROUND", (0, 0), (-1, 0), LIGHT))
    table.setStyle(TableStyle(style + list(extra)))
    return table


def _verdict(report: AuditReport, s: _Styles) -> Table:
    if report.passed:
        text = (f"PASSED — re-reading the archived scans gives exactly the reads the database holds "
                f"({report.sheets_after} sheet(s), {len(report.files)} file(s))"
                + ("; the totals agree" if report.totals_before is not None else ""))
        colour = GREEN
    else:
        n = {sev: len(report.by_severity(sev)) for sev in (ERROR, MARGINAL_CHANGE, MINOR)}
        text = (f"FAILED — {len(report.differences)} difference(s): {n[ERROR]} error(s), "
                f"{n[MARGINAL_CHANGE]} change(s) to or from marginal, {n[MINOR]} minor")
        colour = RED
    table = Table([[Paragraph(_t(text), s.verdict)]], colWidths=[180 * mm])
    table.setStyle(TableStyle([("BACKGROUND", (0, 0), (-1, -1), colour), ("LEFTPADDING", (0, 0), (-1, -1), 6),
                               ("TOPPADDING", (0, 0), (-1, -1), 5), ("BOTTOMPADDING", (0, 0), (-1, -1), 6)]))
    return table


def _facts(report: AuditReport, s: _Styles) -> Table:
    env = report.environment
    head = "(empty)" if report.log_head is None else f"entry {report.log_head.id}: {report.log_head.hash}"
    integrity = "intact: every run, read and decision matches its hash-chained log entry" if not report.integrity \
        else f"<font color='#b00020'><b>BROKEN</b></font>: {len(report.integrity)} problem(s); first: " \
             f"{_t(report.integrity[0].message)}"
    fc = report.file_counts()
    rows = [
        ["Database", f"{_t(report.database)}<br/>file SHA-256 {report.database_sha256}"],
        ["Log head", _t(head)],
        ["Database log", integrity],
        ["Archive", _t(", ".join(report.archive)) + (f"<br/>files below are named from {_t(_shortener(report)[0])}"
                                                     if _shortener(report)[0] else "")],
        ["Files", f"{sum(fc[k] for k in ('same', 'altered', 'missing'))} recorded, "
                  f"{sum(fc[k] for k in ('same', 'altered', 'extra', 'copy'))} archived: {fc['same']} identical, "
                  f"{fc['missing']} missing, {fc['altered']} altered, {fc['extra']} extra"
                  + (f", {fc['copy']} copies of another archived file" if fc["copy"] else "")],
        ["Sheets", f"{report.sheets_before} in the database, {report.sheets_after} re-read, "
                   f"{report.sheets_compared} compared page by page"],
        ["Reads digest", f"database {report.digest_before}<br/>re-run {report.digest_after} "
                         + ("(equal)" if report.digest_before == report.digest_after else
                            "<font color='#b00020'><b>(differ)</b></font>")],
        ["Audited", f"{_t(report.started_at)} to {_t(report.finished_at)}, Ballot OMR {_t(env.get('tool'))}, Python "
                    f"{_t(env.get('python'))}, {_t(env.get('platform'))}"],
    ]
    return _table(rows, (28, 152), s, [("FONTNAME", (0, 0), (0, -1), s.bold)], header=False)


def _runs(report: AuditReport, s: _Styles) -> list[Any]:
    out: list[Any] = [Paragraph("Runs re-read, with the settings they recorded", s.h2)]
    data = [["Run", "Started", "Files", "Calibration used (thresholds)", "Templates (fingerprint matches the run)"]]
    checks = {}
    for c in report.templates:
        checks.setdefault(c.run, []).append(c)
    for run in report.runs:
        cal = run["calibration_used"]
        rec = run["calibration_recorded"]
        same = all(rec.get(k) == cal.get(k) for k in cal if k != "description")
        templates = "<br/>".join(f"{_t(c.id)} {c.fingerprint[:16]}… "
                                 + ("<font color='#1b6e20'>match</font>" if c.status == "match" else
                                    "<font color='#b00020'>MISSING</font>") + f" — {_t(c.used_path or c.note)}"
                                 for c in checks.get(run["id"], []))
        data.append([str(run["id"]), _t(run["started_at"][:19].replace("T", " ")), str(run["files_reread"]),
                     f"{_t(cal.get('name'))}: blank below {cal.get('blank_below')}, marked from "
                     f"{cal.get('marked_at_least')}, edges ≤ {cal.get('max_edge_width_mm')} mm, contrast ≥ "
                     f"{cal.get('min_contrast')}" + ("" if same else
                                                   f"<br/><font color='#b00020'>recorded: {_t(rec.get('name'))}, "
                                                   f"blank below {rec.get('blank_below')}, marked from "
                                                   f"{rec.get('marked_at_least')}</font>"),
                     templates])
    out.append(_table(data, (10, 24, 10, 56, 80), s))
    if report.notes:
        out.append(Paragraph("Warnings (settings that differ; not differences of the reads)", s.h2))
        out += [Paragraph(f"• <b>{_t(n.topic)}</b>: {_t(n.message)}", s.small) for n in report.notes]
    return out


def _files(report: AuditReport, s: _Styles) -> list[Any]:
    out: list[Any] = [Paragraph("Files, by SHA-256", s.h2)]
    data = [["Status", "Archived file", "Recorded as", "SHA-256 recorded / archived", "Sheets"]]
    extra = []
    _, short = _shortener(report)
    for i, f in enumerate(report.files, start=1):
        status = f.status if f.status in ("same", "copy") else f"<b>{f.status.upper()}</b>"
        hashes = " / ".join(h[:16] + "…" for h in (f.sha256_before, f.sha256_after) if h) \
            if f.sha256_before != f.sha256_after else (f.sha256_before or "")[:16] + "…"
        data.append([status, _t(short(f.path) or "—"), _t(f.recorded_path or "—"), hashes,
                     f"{f.sheets_before} / {f.sheets_after}"])
        if f.status not in ("same", "copy"):
            extra.append(("BACKGROUND", (0, i), (-1, i), TINTS[ERROR]))
    out.append(_table(data, (15, 57, 57, 38, 13), s, extra))
    return out


def _differences(report: AuditReport, s: _Styles) -> list[Any]:
    titles = {ERROR: "Errors: what the count or the evidence depends on",
              MARGINAL_CHANGE: "Changes to or from marginal (listed apart: the sheet goes to a person either way)",
              MINOR: "Minor: numbers that moved without changing a state or a status"}
    out: list[Any] = [Paragraph("Differences between the database and the re-read", s.h2)]
    if not report.differences:
        out.append(Paragraph("None: every archived file, sheet, row and box reads exactly as the database holds it.",
                             s.body))
        return out
    _, short = _shortener(report)
    for severity in (ERROR, MARGINAL_CHANGE, MINOR):
        items: list[Difference] = sorted(report.by_severity(severity), key=lambda d: list(KINDS).index(d.kind))
        if not items:
            continue
        out.append(Paragraph(f"{titles[severity]}: {len(items)}", s.body))
        data = [["What", "Where", "Database", "Re-read", "Detail"]]
        for d in items[:MAX_ROWS]:
            what = KIND_WORDS.get(d.kind, d.kind)
            where = d.where.replace(d.file, short(d.file), 1) if d.file else d.where
            data.append([f"<b>{_t(what)}</b>" if severity == ERROR else _t(what), _t(where), _t(d.before or ""),
                         _t(d.after or ""), _t(d.detail)])
        out.append(_table(data, (20, 46, 29, 29, 56), s, [("BACKGROUND", (0, 1), (-1, -1), TINTS[severity])]))
        if len(items) > MAX_ROWS:
            out.append(Paragraph(f"… and {len(items) - MAX_ROWS} more (all in the JSON report)", s.small))
        out.append(Spacer(1, 2 * mm))
    return out


def _cell(b: Any, a: Any) -> tuple[str, bool]:
    if b == a:
        return _t("—" if b is None else b), False
    return f"<font color='#b00020'><b>{_t(b)} ≠ {_t(a)}</b></font>", True


RECONCILIATION = (("sheets_read", "sheets read"), ("ballots_counted", "ballots counted"),
                  ("invalid_ballots", "invalid ballots"), ("duplicates", "duplicates"), ("test_sheets", "test sheets"),
                  ("rejected", "rejected"), ("pending_review", "awaiting review"))


def _totals(report: AuditReport, s: _Styles) -> list[Any]:
    out: list[Any] = [Paragraph("Totals, human decisions applied to both", s.h2)]
    before, after = report.totals_before, report.totals_after
    if before is None or after is None:
        note = next((n.message for n in report.notes if n.topic == "totals"), "not computed")
        out.append(Paragraph(_t(f"Totals: {note}."), s.body))
        return out
    out.append(Paragraph("One number where the database and the re-read agree; <font color='#b00020'>database ≠ "
                         "re-read</font> where they differ.", s.small))
    rb, ra = before.get("reconciliation") or {}, after.get("reconciliation") or {}
    cells = [_cell(rb.get(k), ra.get(k)) for k, _ in RECONCILIATION]
    out.append(_table([[label for _, label in RECONCILIATION], [c for c, _ in cells]], [180 / len(cells)] * len(cells),
                      s, [("BACKGROUND", (j, 1), (j, 1), TINTS[ERROR]) for j, (_, red) in enumerate(cells) if red]))
    out.append(Spacer(1, 2 * mm))
    after_rows = {(c.get("template"), c.get("id"), r.get("id")): r for c in after.get("contests", [])
                  for r in c.get("rows", [])}
    for contest in before.get("contests", []):
        rows = contest.get("rows", [])
        options = list(dict.fromkeys(o for r in rows for o in (r.get("counts") or {})))
        fields = [f for f in ("valid", "invalid", "pending") if any(f in r for r in rows)]
        bands = ["band"] if any(r.get("band") for r in rows) else []
        data = [["Row"] + fields + options + bands]
        extra = []
        for i, row in enumerate(rows, start=1):
            other = after_rows.get((contest.get("template"), contest.get("id"), row.get("id")), {})
            pairs = ([(row.get(f), other.get(f)) for f in fields]
                     + [((row.get("counts") or {}).get(o), (other.get("counts") or {}).get(o)) for o in options]
                     + [(row.get("band"), other.get("band")) for _ in bands])
            line = [_t(row.get("name") or row.get("id"))]
            for j, (b, a) in enumerate(pairs, start=1):
                text, red = _cell(b, a)
                line.append(text)
                if red:
                    extra.append(("BACKGROUND", (j, i), (j, i), TINTS[ERROR]))
            data.append(line)
        cols = max(1, len(data[0]) - 1)
        title = Paragraph(f"<b>{_t(contest.get('title') or contest.get('id'))}</b> — {_t(contest.get('kind', ''))}, "
                          f"template {_t(contest.get('template'))}", s.body)
        out.append(KeepTogether([title, _table(data, [56] + [124 / cols] * cols, s, extra)]))
        out.append(Spacer(1, 2 * mm))
    return out


def write_audit_pdf(report: AuditReport, path: str | Path) -> None:
    """Write the report as an A4 PDF."""
    s = _Styles()
    head = "" if report.log_head is None else f"log head {report.log_head.hash[:16]}…"

    def footer(canvas: Any, doc: Any) -> None:
        canvas.saveState()
        canvas.setFont(s.regular, 7)
        canvas.setFillColor(GREY)
        canvas.drawString(15 * mm, 8 * mm, unicodedata.normalize(
            "NFC", f"Ballot OMR audit of {Path(report.database).name}, {head}, {report.finished_at}"))
        canvas.drawRightString(195 * mm, 8 * mm, f"page {doc.page}")
        canvas.restoreState()

    doc = SimpleDocTemplate(str(path), pagesize=A4, leftMargin=15 * mm, rightMargin=15 * mm, topMargin=14 * mm,
                            bottomMargin=14 * mm, title="Ballot OMR audit report", author="Ballot OMR",
                            creator="Ballot OMR", initialFontName=s.regular)
    story: list[Any] = [Paragraph("Audit report: the archived scans read again", s.h1),
                        Paragraph("Every archived file was read again from scratch with the templates, calibration "
                                  "thresholds and options the original runs recorded, and compared with the results "
                                  "database: files by SHA-256, every sheet, row and box, and the totals.", s.body),
                        Spacer(1, 3 * mm), _verdict(report, s), Spacer(1, 3 * mm), _facts(report, s)]
    story += _runs(report, s)
    story += _differences(report, s)
    story += _totals(report, s)
    story += _files(report, s)
    doc.build(story, onFirstPage=footer, onLaterPages=footer)
