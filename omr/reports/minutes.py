"""bien-ban-kiem-phieu.pdf: the minutes of the count, the document the counting committee signs.

Drawn with reportlab (platypus for the flow, reportlab.graphics for the chart) in the Be Vietnam
Pro fonts the ballots are printed in (embedded; no system font). Reproducible: the same tally gives
the same bytes (reportlab's invariant mode; the only time printed is the time of the data).

Contents, in order: the organisation's header and the title; PROVISIONAL, NOT RECONCILED and NO
QUORUM banners when they apply; I. the numbers (convened, present, issued, collected, valid,
invalid); II. the results per contest, for a confidence vote the table of Quy định 96-QĐ/TW (name,
position, then for each level the number of votes and the percentage of ballots collected) with the
bands on "tín nhiệm thấp"; III. the reconciliation and every discrepancy; IV. the invalid and reviewed
sheets (file and page, reasons, the committee's decisions: never a voter); V. a stacked bar per
person; then the signature block (Trưởng ban, thành viên). While anything awaits review every page
carries PROVISIONAL across it and in its footer, and the signature block says not to sign.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from xml.sax.saxutils import escape

from reportlab.graphics.charts.barcharts import HorizontalBarChart
from reportlab.graphics.shapes import Drawing, Line, Rect, String
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_JUSTIFY, TA_LEFT, TA_RIGHT
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    BaseDocTemplate,
    CondPageBreak,
    Frame,
    KeepTogether,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

from omr.ballot.fonts import register_fonts, ttfont
from omr.codes import COUNTED, DUPLICATE, ERROR, PENDING
from omr.count.tally import ContestResult, SheetOutcome, Tally
from omr.reports.batches import scans_folder
from omr.reports.text import (
    band_word,
    decision_reason_word,
    discrepancy_text,
    fmt_int,
    fmt_pct,
    nfc,
    outcome_reason,
    outcome_word,
    reason_word,
    words,
)


@dataclass(frozen=True)
class Committee:
    """Who counted, where and when, as the minutes' opening and signature block say it: given on
    the command line (`omr tally --place --held --chair --member`); the place and date default to
    the template's "place, date" line; nothing given leaves lines to fill in by hand."""

    place: str = ""
    held: str = ""  # the date (and time) as it is to be written, e.g. "ngày 29 tháng 6 năm 2023"
    chair: str = ""
    members: tuple[str, ...] = ()


PAGE_W, PAGE_H = 210 * mm, 297 * mm
MARGIN_X, MARGIN_TOP, MARGIN_BOTTOM = 15 * mm, 15 * mm, 20 * mm
BODY_W = PAGE_W - 2 * MARGIN_X
FAMILY = "BeVietnamPro"
RED = colors.HexColor("#b3261e")
ORANGE = colors.HexColor("#a15c00")
GRID = colors.HexColor("#555555")
HEAD_BG = colors.HexColor("#ececec")
# the three levels as the chart draws them (low first, from zero): distinct in grey print too
LEVEL_COLOURS = [colors.HexColor("#b3261e"), colors.HexColor("#7fa7d9"), colors.HexColor("#1f5f3a")]
INVALID_COLOUR = colors.HexColor("#bdbdbd")
PENDING_COLOUR = colors.HexColor("#f2d16b")


def _fonts() -> dict[str, str]:
    register_fonts()
    names = {style: ttfont(style).fontName for style in ("regular", "bold", "italic", "bolditalic")}
    pdfmetrics.registerFontFamily(FAMILY, normal=names["regular"], bold=names["bold"], italic=names["italic"],
                                  boldItalic=names["bolditalic"])
    return names


class _Styles:
    def __init__(self) -> None:
        f = _fonts()
        self.font, self.bold, self.italic = f["regular"], f["bold"], f["italic"]

        def style(name: str, **kw) -> ParagraphStyle:
            base = {"fontName": self.font, "fontSize": 10.5, "leading": 14}
            base.update(kw)
            return ParagraphStyle(name, **base)

        self.body = style("body", alignment=TA_JUSTIFY, spaceAfter=3)
        self.opening = style("opening", alignment=TA_LEFT, spaceAfter=3)
        self.small = style("small", fontSize=8.5, leading=11)
        self.note = style("note", fontSize=8.5, leading=11, fontName=self.italic, spaceBefore=2)
        self.head_left = style("head_left", fontSize=10, leading=13, alignment=TA_CENTER)
        self.head_right = style("head_right", fontSize=10, leading=13, alignment=TA_CENTER)
        self.title = style("title", fontName=self.bold, fontSize=15, leading=20, alignment=TA_CENTER, spaceBefore=8)
        self.subtitle = style("subtitle", fontSize=11, leading=15, alignment=TA_CENTER)
        self.section = style("section", fontName=self.bold, fontSize=11.5, leading=15, spaceBefore=9, spaceAfter=4)
        self.contest = style("contest", fontName=self.bold, fontSize=10.5, leading=14, spaceBefore=4, spaceAfter=3)
        self.cell = style("cell", fontSize=8.5, leading=10.5)
        self.cell_c = style("cell_c", fontSize=8.5, leading=10.5, alignment=TA_CENTER)
        self.cell_r = style("cell_r", fontSize=8.5, leading=10.5, alignment=TA_RIGHT)
        self.cell_h = style("cell_h", fontName=self.bold, fontSize=8, leading=10, alignment=TA_CENTER)
        self.banner = style("banner", fontName=self.bold, fontSize=11, leading=14, alignment=TA_CENTER)
        self.banner_detail = style("banner_detail", fontSize=9.5, leading=12.5, alignment=TA_CENTER)
        self.sign_head = style("sign_head", fontName=self.bold, fontSize=10.5, leading=14, alignment=TA_CENTER)
        self.sign_note = style("sign_note", fontName=self.italic, fontSize=9, leading=12, alignment=TA_CENTER)
        self.sign_line = style("sign_line", fontSize=10, leading=22, alignment=TA_LEFT)
        self.sign_name = style("sign_name", fontSize=10, leading=13, leftIndent=14, spaceAfter=4)
        self.anchor = style("anchor", fontSize=10, leading=14, alignment=TA_CENTER, spaceBefore=2, spaceAfter=2)
        self.bullet = style("bullet", fontSize=9.5, leading=12.5, leftIndent=10, firstLineIndent=-8, spaceAfter=1)


def _table_style(commands: list) -> TableStyle:
    """A table style in the document's font: reportlab draws even an empty cell's text in the
    table's font, which is an unembedded Helvetica unless told otherwise."""
    return TableStyle([("FONTNAME", (0, 0), (-1, -1), ttfont("regular").fontName)] + list(commands))


def _p(text: str, style: ParagraphStyle) -> Paragraph:
    return Paragraph(escape(nfc(text)), style)


def _pm(markup: str, style: ParagraphStyle) -> Paragraph:
    """A paragraph whose text already carries <b>/<i> markup (values escaped by the caller)."""
    return Paragraph(nfc(markup), style)


def _roman(n: int) -> str:
    return ["I", "II", "III", "IV", "V", "VI", "VII"][n - 1]


# --------------------------------------------------------------------------------------------------
# Pages: footer, page numbers and the PROVISIONAL watermark


def _canvas_class(tally: Tally, st: _Styles):
    w = words(tally.language)
    title = tally.templates[0].header.title if tally.templates else ""
    left = w["footer"] + (f" — {title}" if title else "")
    if tally.provisional:
        left = f"{w['watermark']} · {left}"
    data = ""
    if tally.as_of or tally.log_head:
        head = tally.log_head
        data = w["footer_data"].format(as_of=_as_of(tally), id=head.id if head else 0,
                                       hash=head.hash[:16] if head else "")

    class NumberedCanvas(Canvas):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._pages: list[dict] = []

        def showPage(self):  # noqa: N802 (reportlab's name)
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self):
            count = len(self._pages)
            for state in self._pages:
                self.__dict__.update(state)
                self._footer(count)
                Canvas.showPage(self)
            Canvas.save(self)

        def _footer(self, count: int) -> None:
            self.saveState()
            y = MARGIN_BOTTOM - 9 * mm
            self.setStrokeColor(GRID)
            self.setLineWidth(0.4)
            self.line(MARGIN_X, y + 4 * mm, PAGE_W - MARGIN_X, y + 4 * mm)
            self.setFillColor(RED if tally.provisional else colors.black)
            self.setFont(st.bold if tally.provisional else st.font, 8)
            self.drawString(MARGIN_X, y, nfc(left)[:110])
            self.setFillColor(colors.black)
            self.setFont(st.font, 8)
            self.drawRightString(PAGE_W - MARGIN_X, y, nfc(w["footer_page"].format(p=self._pageNumber, n=count)))
            if data:
                self.setFont(st.font, 6.5)
                self.setFillColor(colors.HexColor("#555555"))
                self.drawString(MARGIN_X, y - 3.5 * mm, nfc(data))
            self.restoreState()

    return NumberedCanvas


def _on_page(tally: Tally, st: _Styles):
    w = words(tally.language)

    def draw(canvas: Canvas, doc) -> None:
        if not tally.provisional:
            return
        canvas.saveState()
        canvas.setFillColor(RED)
        canvas.setFillAlpha(0.10)
        canvas.setFont(st.bold, 80 if tally.language == "vi" else 64)
        canvas.translate(PAGE_W / 2, PAGE_H / 2)
        canvas.rotate(52)
        canvas.drawCentredString(0, -25, nfc(w["watermark"]))
        canvas.restoreState()
        canvas.saveState()
        canvas.setFillColor(RED)
        canvas.setFont(st.bold, 9)
        canvas.drawRightString(PAGE_W - MARGIN_X, PAGE_H - 9 * mm, nfc(w["provisional"]))
        canvas.restoreState()

    return draw


# --------------------------------------------------------------------------------------------------
# Blocks


def _header(tally: Tally, st: _Styles) -> list:
    w = words(tally.language)
    out: list = []
    t = tally.templates[0] if tally.templates else None
    left_lines = list(t.header.left) if t else []
    right_lines = list(t.header.right) if t else []
    left = []
    for i, line in enumerate(left_lines):
        left.append(_pm(f"<b>{escape(line)}</b>" if i == len(left_lines) - 1 else escape(line), st.head_left))
    left.append(_pm(f"<b>{escape(w['committee'])}</b>", st.head_left))
    left.append(_p("*", st.head_left))
    right = [_pm(f"<b><u>{escape(line)}</u></b>" if i == len(right_lines) - 1 else f"<b>{escape(line)}</b>",
                 st.head_right) for i, line in enumerate(right_lines)]
    if t and t.header.place_date:
        right.append(Spacer(1, 3 * mm))
        right.append(_pm(f"<i>{escape(t.header.place_date)}</i>", st.head_right))
    table = Table([[left, right]], colWidths=[BODY_W * 0.48, BODY_W * 0.52])
    table.setStyle(_table_style([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0),
                               ("RIGHTPADDING", (0, 0), (-1, -1), 0)]))
    out.append(table)
    out.append(Spacer(1, 4 * mm))
    kinds = {c.kind for c in tally.contests}
    out.append(_p(w["title_election"] if kinds == {"crossout"} else w["title"], st.title))
    subtitle = w["subtitle_confidence"] if kinds == {"confidence"} else \
        w["subtitle_election"] if kinds == {"crossout"} else w["subtitle_other"]
    out.append(_pm(f"<b>{escape(subtitle)}</b>", st.subtitle))
    if t and t.header.subtitle:
        out.append(_pm(f"<i>{escape(t.header.subtitle)}</i>", st.subtitle))
    out.append(Spacer(1, 3 * mm))
    return out


def _banner(title: str, detail: str, colour, st: _Styles) -> Table:
    table = Table([[[_pm(f'<font color="{colour.hexval()}">{escape(title)}</font>', st.banner),
                     _p(detail, st.banner_detail)]]], colWidths=[BODY_W])
    table.setStyle(_table_style([("BOX", (0, 0), (-1, -1), 1.6, colour), ("TOPPADDING", (0, 0), (-1, -1), 5),
                               ("BOTTOMPADDING", (0, 0), (-1, -1), 6)]))
    return table


def _banners(tally: Tally, st: _Styles, reconciliation_section: int) -> list:
    w = words(tally.language)
    out: list = []
    r = tally.reconciliation
    if tally.provisional:
        out += [_banner(w["provisional"], w["provisional_detail"].format(n=fmt_int(len(tally.pending_sheets),
                                                                                    tally.language)), RED, st),
                Spacer(1, 2.5 * mm)]
    if r.quorum is not None and not r.quorum.met:
        out += [_banner(w["quorum_failed"], w["quorum_failed_detail"].format(
            present=fmt_int(r.quorum.present, tally.language), convened=fmt_int(r.quorum.convened, tally.language),
            required=fmt_int(r.quorum.required, tally.language)), RED, st), Spacer(1, 2.5 * mm)]
    if not r.reconciled:
        out += [_banner(w["not_reconciled"], w["not_reconciled_detail"].format(
            section=_roman(reconciliation_section)), ORANGE, st), Spacer(1, 2.5 * mm)]
    return out


def _numbers(tally: Tally, st: _Styles) -> list:
    w, lang = words(tally.language), tally.language
    r = tally.reconciliation
    rows: list[tuple[str, str]] = []

    def amount(n: int | None, unit: str) -> str:
        if n is None:
            return fmt_int(n, lang)
        word = w[unit]
        if lang == "en" and n == 1:
            word = word.rstrip("s") if unit == "ballots_unit" else "person"
        return f"{fmt_int(n, lang)} {word}"

    if r.quorum is not None:
        pct = fmt_pct(_share(r.quorum.present, r.quorum.convened), lang)
        rows.append((w["convened"], amount(r.quorum.convened, "people_unit")))
        verdict = (w["quorum_ok"] if r.quorum.met else w["quorum_bad"]).format(
            pct=pct, required=fmt_int(r.quorum.required, lang))
        rows.append((w["present"], f"{amount(r.quorum.present, 'people_unit')} ({verdict})"))
    rows.append((w["issued"], amount(r.issued, "ballots_unit")))
    rows.append((w["collected"], amount(r.collected, "ballots_unit")))
    not_issued = next((d.params.get("ballots", d.count) for d in r.discrepancies if d.code == "not-issued"), 0)
    if len(tally.elections) == 1:  # a cross-out ballot is valid or invalid as a whole (section II: why)
        e = tally.elections[0]
        valid = amount(e.valid, "ballots_unit")
        if e.pending:
            valid += " (" + w["e_pending"].format(n=fmt_int(e.pending, lang)).lstrip("; ") + ")"
        rows.append((w["valid_ballots"], valid))
        rows.append((w["invalid_ballots"], amount(e.invalid + not_issued, "ballots_unit")))
    else:
        rows += _ballot_numbers(tally, not_issued, amount)
    data = [[_p(f"{i}. {label}:", st.body), _pm(f"<b>{escape(value)}</b>", st.body)]
            for i, (label, value) in enumerate(rows, start=1)]
    table = Table(data, colWidths=[62 * mm, BODY_W - 62 * mm])
    table.setStyle(_table_style([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0),
                               ("TOPPADDING", (0, 0), (-1, -1), 0), ("BOTTOMPADDING", (0, 0), (-1, -1), 0)]))
    return [table]


def _ballot_numbers(tally: Tally, not_issued: int, amount) -> list[tuple[str, str]]:
    w, lang, r = words(tally.language), tally.language, tally.reconciliation
    rows = [(w["valid_ballots"], amount(r.ballots_counted, "ballots_unit"))]
    invalid = amount(r.invalid_ballots, "ballots_unit")
    parts = [text.format(n=fmt_int(n, lang)) for text, n in ((w["invalid_not_issued"], not_issued),
                                                              (w["invalid_rejected"], r.rejected_by_reviewer)) if n]
    if parts:
        invalid += " (" + "; ".join(parts) + ")"
    rows.append((w["invalid_ballots"], invalid))
    return rows


def _share(part: int, whole: int):
    from omr.count.tally import percent

    return percent(part, whole)


def _grid(table: Table, header_rows: int, extra: list | None = None) -> Table:
    table.hAlign = "LEFT"
    style = [("GRID", (0, 0), (-1, -1), 0.5, GRID), ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
             ("BACKGROUND", (0, 0), (-1, header_rows - 1), HEAD_BG), ("LEFTPADDING", (0, 0), (-1, -1), 3),
             ("RIGHTPADDING", (0, 0), (-1, -1), 3), ("TOPPADDING", (0, 0), (-1, -1), 2.5),
             ("BOTTOMPADDING", (0, 0), (-1, -1), 3)]
    table.setStyle(_table_style(style + (extra or [])))
    return table


def _confidence_table(tally: Tally, c: ContestResult, st: _Styles) -> list:
    w, lang = words(tally.language), tally.language
    levels = list(c.options)
    head1 = [_p(w["stt"], st.cell_h), _p(w["name_position"], st.cell_h), _p(w["issued_col"], st.cell_h),
             _p(w["collected_col"], st.cell_h), _p(w["valid"], st.cell_h), _p(w["invalid"], st.cell_h)]
    head2 = ["", "", "", "", "", ""]
    r = tally.reconciliation
    for _, label in levels:
        head1 += [_p(label, st.cell_h), ""]
        head2 += [_p(w["votes"], st.cell_h), _p(w["rate"], st.cell_h)]
    head1.append(_p(w["note"], st.cell_h))
    head2.append("")
    data = [head1, head2]
    extra = []
    for i, row in enumerate(c.rows, start=1):
        note_parts = []
        if row.band and row.band != "none":
            note_parts.append(f"<b>{escape(band_word(row.band, lang))}</b>")
            if row.band_settled is False:
                note_parts.append(escape(w["band_unsettled"]))
        elif row.band_settled is False:
            note_parts.append(escape(w["band_unsettled"]))
        if row.pending:
            note_parts.append(escape(w["pending_n"].format(n=fmt_int(row.pending, lang))))
        person = f"<b>{escape(row.name)}</b>" + (f"<br/>{escape(row.position)}" if row.position else "")
        line = [_p(str(i), st.cell_c), _pm(person, st.cell), _p(fmt_int(r.issued, lang), st.cell_r),
                _p(fmt_int(r.collected, lang), st.cell_r), _p(fmt_int(row.valid, lang), st.cell_r),
                _p(fmt_int(row.invalid, lang), st.cell_r)]
        for option_id, _ in levels:
            line += [_p(fmt_int(row.counts[option_id], lang), st.cell_r),
                     _p(fmt_pct(row.percent[option_id], lang), st.cell_r)]
        line.append(_pm("<br/>".join(note_parts), st.cell))
        data.append(line)
        if row.band in ("over_half", "two_thirds"):
            extra.append(("BACKGROUND", (-1, i + 1), (-1, i + 1), colors.HexColor("#fbe3e1")))
    n = len(levels)
    rate_w = max(12 * mm, _text_width(fmt_pct(100, lang), st.cell_r) + 3 * mm)  # "100,00" on one line
    widths = [8 * mm, 40 * mm - n * (rate_w - 12 * mm), 11 * mm, 11 * mm, 11 * mm, 12 * mm] + [10 * mm, rate_w] * n
    widths.append(BODY_W - sum(widths))
    first = 6  # columns before the levels, each spanning both header rows
    spans = [("SPAN", (k, 0), (k, 1)) for k in range(first)] + \
        [("SPAN", (first + 2 * j, 0), (first + 1 + 2 * j, 0)) for j in range(n)] + \
        [("SPAN", (first + 2 * n, 0), (first + 2 * n, 1))]
    table = Table(data, colWidths=widths, repeatRows=2)
    return [_grid(table, 2, spans + extra)]


def _text_width(text: str, style: ParagraphStyle) -> float:
    return pdfmetrics.stringWidth(text, style.fontName, style.fontSize)


def _choice_table(tally: Tally, c: ContestResult, st: _Styles) -> list:
    w, lang = words(tally.language), tally.language
    row = c.rows[0]
    data = [[_p(w["stt"], st.cell_h), _p(w["option"], st.cell_h), _p(w["votes"], st.cell_h),
             _p(w["rate"], st.cell_h)]]
    for i, (option_id, label) in enumerate(c.options, start=1):
        data.append([_p(str(i), st.cell_c), _p(label, st.cell), _p(fmt_int(row.counts[option_id], lang), st.cell_r),
                     _p(fmt_pct(row.percent[option_id], lang), st.cell_r)])
    lines = [(w["valid"], row.valid), (w["invalid"], row.invalid)]
    if c.kind == "choose":
        lines += [(w["overvotes"], row.overvotes or 0), (w["undervotes"], row.undervotes or 0)]
    if row.pending:
        lines.append((w["pending_n"].format(n="").rstrip(": "), row.pending))
    for label, value in lines:
        data.append(["", _p(label, st.cell), _p(fmt_int(value, lang), st.cell_r), ""])
    table = Table(data, colWidths=[10 * mm, 110 * mm, 25 * mm, 25 * mm], repeatRows=1)
    return [_grid(table, 1)]


def _results(tally: Tally, st: _Styles) -> list:
    w, lang = words(tally.language), tally.language
    out: list = []
    several = len(tally.contests) > 1
    out += _elections(tally, st)
    for c in tally.contests:
        if c.kind == "crossout":
            continue  # above, as the election's result
        if several or c.title:
            title = c.title or c.id
            out.append(_p(title, st.contest))
        if c.kind == "confidence":
            out += _confidence_table(tally, c, st)
        else:
            if c.kind == "choose":
                out.append(_p(w["choose_rule"].format(max=_max_marks(tally, c), n=len(c.options)), st.small))
            out += _choice_table(tally, c, st)
        base = fmt_int(c.base, lang)
        which = "base_collected" if c.base_is_collected else "base_read" if tally.reconciliation.collected is None \
            else "base_design"
        out.append(_p(w[which].format(n=base), st.note))
        if c.kind == "confidence":
            over = [r.name for r in c.rows if r.band == "over_half"]
            two = [r.name for r in c.rows if r.band == "two_thirds"]
            out.append(_p(w["bands_found"].format(over=", ".join(over) or w["nobody"],
                                                  two=", ".join(two) or w["nobody"]), st.note))
            out.append(_p(w["band_rule"], st.note))
        if any(r.pending for r in c.rows):
            out.append(_p(w["pending_rows"], st.note))
        out.append(Spacer(1, 2 * mm))
    return out


def _elections(tally: Tally, st: _Styles) -> list:
    """Cross-out elections: turnout, ballots, invalid by reason, votes in descending order with the
    percentage and who is elected, the piles by names left, complaints (filled in by hand)."""
    w, lang = words(tally.language), tally.language
    r = tally.reconciliation
    out: list = []
    for e in tally.elections:
        if e.voters is not None or e.voted is not None:
            turnout = "" if e.turnout_over_half is None else w["e_turnout_ok"] if e.turnout_over_half \
                else w["e_turnout_low"]
            out.append(_p(w["e_voters"].format(voters=fmt_int(e.voters, lang), voted=fmt_int(e.voted, lang),
                                               turnout=turnout), st.body))
        pending = w["e_pending"].format(n=fmt_int(e.pending, lang)) if e.pending else ""
        out.append(_p(w["e_ballots"].format(issued=fmt_int(r.issued, lang), collected=fmt_int(r.collected, lang),
                                            valid=fmt_int(e.valid, lang), invalid=fmt_int(e.invalid, lang),
                                            pending=pending), st.body))
        if e.invalid_by_reason:
            listed = "; ".join(f"{reason_word(code, lang)}: {fmt_int(n, lang)}"
                               for code, n in e.invalid_by_reason.items())
            out.append(_p(w["e_invalid_by"].format(list=listed), st.body))
        out.append(_p(w["e_seats"].format(k=fmt_int(e.seats, lang)), st.body))
        rate = w["e_rate_valid"] if e.of_valid else w["e_rate_base"].format(base=fmt_int(e.base, lang))
        data = [[_p(w["stt"], st.cell_h), _p(w["e_candidate"], st.cell_h), _p(w["e_born"], st.cell_h),
                 _p(w["e_votes"], st.cell_h), _p(rate, st.cell_h), _p(w["e_outcome"], st.cell_h)]]
        outcome_words = {"elected": w["e_elected"], "not-elected": w["e_not_elected"], "tie": w["e_tie"],
                         "undecided": w["e_undecided"]}
        extra = []
        for i, c in enumerate(e.candidates, start=1):
            name = f"{escape(c.honorific)} <b>{escape(c.name)}</b>" if c.honorific else f"<b>{escape(c.name)}</b>"
            born = "/".join(reversed(c.born.split("-"))) if c.born else ""
            note = f"<b>{escape(outcome_words[c.outcome])}</b>" if c.outcome in ("elected", "tie") \
                else escape(outcome_words[c.outcome])
            if c.note:
                note += f"<br/>{escape(c.note)}"
            data.append([_p(str(i), st.cell_c), _pm(name, st.cell), _p(born, st.cell_c),
                         _p(fmt_int(c.votes, lang), st.cell_r),
                         _p(fmt_pct(c.percent, lang) if e.base else "", st.cell_r), _pm(note, st.cell)])
            if c.outcome == "elected":
                extra.append(("BACKGROUND", (-1, i), (-1, i), colors.HexColor("#e3f2e1")))
            elif c.outcome == "tie":
                extra.append(("BACKGROUND", (-1, i), (-1, i), colors.HexColor("#fbe3e1")))
        widths = [10 * mm, 62 * mm, 24 * mm, 20 * mm, 26 * mm]
        widths.append(BODY_W - sum(widths))
        out.append(_grid(Table(data, colWidths=widths, repeatRows=1), 1, extra))
        if e.base is None:
            out.append(_p(w["e_no_base"], st.note))
        else:
            names = ", ".join(c.name for c in e.candidates if c.outcome == "elected") or w["nobody"]
            of = w["e_of_valid"] if e.of_valid else w["e_of_base"].format(base=fmt_int(e.base, lang))
            out.append(_p(w["e_elected_list"].format(of=of, names=names), st.body))
            out.append(_p(w["e_rule"].format(base=fmt_int(e.base, lang),
                                             tie=w["e_tie_state"] if e.tie_rule == "older" else w["e_tie_party"]),
                          st.note))
        if e.piles:
            piles = "; ".join(w["e_pile"].format(left=fmt_int(k, lang), n=fmt_int(n, lang)) for k, n in e.piles.items())
            out.append(_p(w["e_piles"].format(list=piles), st.body))
        if e.pending:
            out.append(_p(w["pending_rows"], st.note))
        out.append(_p(w["e_complaints"], st.body))
        out.append(_p(w["e_announce"], st.note))
        out.append(Spacer(1, 2 * mm))
    return out


def _max_marks(tally: Tally, c: ContestResult) -> int:
    for t in tally.templates:
        if t.id == c.template_id:
            for contest in t.contests:
                if contest.id == c.id:
                    return contest.max_marks
    return 1


def _reconciliation(tally: Tally, st: _Styles) -> list:
    w, lang = words(tally.language), tally.language
    r = tally.reconciliation
    items: list[tuple[str, str, bool]] = [(w["rec_sheets_read"], fmt_int(r.sheets_read, lang), True),
                                          ("— " + w["rec_counted"], fmt_int(r.valid_sheets, lang), False)]
    for label, value in ((w["rec_duplicates"], r.duplicates), (w["rec_test"], r.test_sheets),
                         (w["rec_not_issued"], r.not_issued), (w["rec_rejected"], r.rejected_by_reviewer),
                         (w["rec_unreadable"], r.unreadable), (w["rec_set_aside"], r.set_aside)):
        if value:
            items.append(("— " + label, fmt_int(value, lang), False))
    if r.page_failures:
        items.append((w["rec_failures"], fmt_int(r.page_failures, lang), True))
    if r.pending_review:
        items.append((w["rec_pending"], fmt_int(r.pending_review, lang), True))
    items.append((w["rec_accounted"], fmt_int(r.accounted, lang), True))
    items.append((w["rec_collected"], fmt_int(r.collected, lang), True))
    if r.collected is not None:
        diff = r.accounted - r.collected
        items.append((w["rec_difference"], ("+" if diff > 0 else "") + fmt_int(diff, lang) if diff else "0", True))
    data = [[_p(w["rec_item"], st.cell_h), _p(w["rec_value"], st.cell_h)]]
    for label, value, strong in items:
        data.append([_pm(f"<b>{escape(label)}</b>" if strong else escape(label), st.cell),
                     _pm(f"<b>{escape(value)}</b>" if strong else escape(value), st.cell_r)])
    out: list = [_grid(Table(data, colWidths=[120 * mm, 30 * mm], repeatRows=1), 1)]
    multi_page = [p for p in r.pages if p.pages > 1]
    if multi_page:
        items_text = "; ".join(w["rec_page_item"].format(p=p.page, n=fmt_int(p.counted + p.rejected, lang))
                               for p in multi_page)
        out.append(_p(w["rec_pages"].format(items=items_text), st.note))
    if r.batches:
        data = [[_p(w["batch"], st.cell_h), _p(w["batch_hand"], st.cell_h), _p(w["batch_found"], st.cell_h),
                 _p(w["rec_difference"], st.cell_h), _p(w["batch_sheets"], st.cell_h)]]
        for b in r.batches:
            diff = b.difference
            data.append([_p(b.name, st.cell), _p(fmt_int(b.hand_count, lang), st.cell_r),
                         _p(fmt_int(b.ballots, lang), st.cell_r),
                         _p("" if diff is None else (("+" if diff > 0 else "") + fmt_int(diff, lang)), st.cell_r),
                         _p(fmt_int(b.sheets, lang), st.cell_r)])
        out += [Spacer(1, 2 * mm), _grid(Table(data, colWidths=[60 * mm, 25 * mm, 30 * mm, 25 * mm, 25 * mm],
                                               repeatRows=1), 1)]
    out.append(Spacer(1, 2 * mm))
    if not r.discrepancies:
        out.append(_p(w["no_discrepancy"], st.body))
    for d in sorted(r.discrepancies, key=lambda d: d.severity != ERROR):
        colour = RED if d.severity == ERROR else ORANGE
        label = w["error"] if d.severity == ERROR else w["warning"]
        out.append(_pm(f'• <font color="{colour.hexval()}"><b>{escape(label)}:</b></font> '
                       f"{escape(discrepancy_text(d, lang))}", st.bullet))
    return out


def _decision_text(tally: Tally, sheet: SheetOutcome) -> str:
    """The committee's decisions on a sheet, each saying what was decided and what it made of the
    row ("Nguyễn Văn A: giữ kết quả máy đọc (không đánh dấu ô nào): không hợp lệ")."""
    lang = tally.language
    names = {(c.id, r.row_id): r.name for c in tally.contests for r in c.rows}
    rows = {(r.contest_id, r.row_id): r for r in sheet.rows}
    parts = []
    for d in sheet.decisions:
        if d.scope == "sheet":
            text = _sheet_decision_words(d, sheet, lang)
        else:
            who = names.get((d.contest_id, d.row_id), d.row_id or "")
            text = f"{who}: {_row_decision_words(tally, d, rows.get((d.contest_id, d.row_id)), lang)}"
        parts.append(f"{text} ({d.reviewer})")
    return "; ".join(parts)


def _sheet_decision_words(d, sheet: SheetOutcome, lang: str) -> str:
    w = words(lang)
    if d.action == "accept":
        return w["d_both_counted"] if any(r.code == "duplicate" for r in sheet.reasons) else w["d_sheet_accepted"]
    return w["d_sheet_rejected"] + (f": {decision_reason_word(d.reason, lang)}" if d.reason else "")


def _row_decision_words(tally: Tally, d, row, lang: str) -> str:
    """What a row decision decided, and the row's outcome when it is not simply the choice made."""
    w = words(lang)
    labels = {(c.id, o): label for c in tally.contests for o, label in c.options}

    def chosen(ids) -> str:
        return ", ".join(labels.get((d.contest_id, o), o) for o in ids) or w["none_marked"]

    if d.action == "invalid":
        return f"{w['d_invalid']}: {decision_reason_word(d.reason, lang)}" if d.reason else w["d_invalid"]
    ids = (row.machine_choices if row is not None else ()) if d.action == "accept" else d.choices
    what = f"{w['d_kept']} ({chosen(ids)})" if d.action == "accept" else f"{w['d_set']}: {chosen(ids)}"
    if row is not None and row.status == "invalid":
        why = ", ".join(reason_word(c, lang) for c in row.codes)
        what += f": {w['d_invalid']}" + (f" ({why})" if why and why != chosen(ids) else "")
    return what


def _reason_text(tally: Tally, sheet: SheetOutcome, folder: str) -> str:
    """Why a sheet is listed: the machine's reasons (sheet, then rows by person), in words."""
    lang = tally.language
    names = {(c.id, r.row_id): r.name for c in tally.contests for r in c.rows}
    found: list[str] = []
    if sheet.outcome != COUNTED:
        why = outcome_reason(sheet.outcome, lang)
        if sheet.outcome == DUPLICATE and sheet.note:
            why = f"{why}: {_note(sheet.note, lang, folder)}"
        if why:
            found.append(why)
    for r in sheet.reasons:
        if r.code not in ("rejected", "duplicate"):
            found.append(reason_word(r.code, lang))
    for row in sheet.rows:
        codes = row.machine_codes if row.machine_status != "valid" else ()
        if row.status == "invalid" and not codes:
            codes = row.codes
        shown = [reason_word(c, lang) for c in codes]
        if shown:
            found.append(f"{names.get((row.contest_id, row.row_id), row.row_id)}: {', '.join(dict.fromkeys(shown))}")
    return "; ".join(dict.fromkeys(found))


def _sheets(tally: Tally, st: _Styles) -> list:
    w, lang = words(tally.language), tally.language
    listed = list(tally.listed_sheets)
    if not listed:
        return [_p(w["no_sheets"], st.body)]
    folder = scans_folder(listed)
    out: list = []
    if folder:
        out.append(_p(w["folder"].format(folder=folder), st.small))
        out.append(Spacer(1, 1.5 * mm))
    data = [[_p(w["stt"], st.cell_h), _p(w["file"], st.cell_h), _p(w["page"], st.cell_h), _p(w["outcome"], st.cell_h),
             _p(w["reasons"], st.cell_h), _p(w["decision"], st.cell_h)]]
    extra = []
    for i, s in enumerate(listed, start=1):
        path = s.source.replace("\\", "/")
        if folder and path.startswith(folder + "/"):
            path = path[len(folder) + 1:]
        if s.outcome == COUNTED:
            outcome = outcome_word(PENDING if s.pending else "reviewed" if s.decisions else COUNTED, lang)
        else:
            outcome = outcome_word(s.outcome, lang)
        reasons = _reason_text(tally, s, folder)
        data.append([_p(str(i), st.cell_c), _p(path, st.cell), _p(str(s.page), st.cell_c),
                     _pm(f"<b>{escape(outcome)}</b>" if s.pending else escape(outcome), st.cell),
                     _p(reasons, st.cell), _p(_decision_text(tally, s), st.cell)])
        if s.pending:
            extra.append(("BACKGROUND", (3, i), (3, i), colors.HexColor("#fff3c4")))
    table = Table(data, colWidths=[8 * mm, 40 * mm, 11 * mm, 36 * mm, 47 * mm, BODY_W - 142 * mm], repeatRows=1)
    out.append(_grid(table, 1, extra))
    return out


def _note(note: str, lang: str, folder: str) -> str:
    """The reader's duplicate note ("the same sheet as X page N: ..."), short and in the language."""
    import re

    m = re.match(r"the same (?:sheet|image) as (.+) page (\d+)", note)
    if not m:
        return note
    path = m.group(1).replace("\\", "/")
    if folder and path.startswith(folder + "/"):
        path = path[len(folder) + 1:]
    return f"cùng một tờ với {path} trang {m.group(2)}" if lang == "vi" else f"the same sheet as {path} page " \
        f"{m.group(2)}"


# --------------------------------------------------------------------------------------------------
# The chart


def _chart(tally: Tally, c: ContestResult, st: _Styles) -> Drawing:
    """One stacked bar per person, as shares of the percentage base: "tín nhiệm thấp" first from zero
    (read it against the dashed 1/2 and 2/3 lines), then the other levels, invalid and pending."""
    w, lang = words(tally.language), tally.language
    rows = list(c.rows)
    n = max(1, len(rows))
    pitch = 5.2 * mm if n > 14 else 7.2 * mm if n > 6 else 9 * mm  # one person's band: 28 people fit a page
    bar_h = pitch * 0.68
    label_w, top, bottom = 50 * mm, 6 * mm, 16 * mm
    plot_w = BODY_W - label_w - 3 * mm
    plot_h = n * pitch
    d = Drawing(BODY_W, plot_h + top + bottom)
    d.initialFontName = st.font  # the renderer's starting font: Helvetica (unembedded) unless told
    chart = HorizontalBarChart()
    chart.x, chart.y, chart.width, chart.height = label_w, bottom, plot_w, plot_h
    options = list(c.options)
    names = dict(options)
    low = c.low_option or options[-1][0]
    order = [low] + [o for o, _ in reversed(options) if o != low]
    segments = [(names[o], [r.percent[o] for r in rows]) for o in order]
    segments.append((w["chart_invalid"], [_share(r.invalid, c.base) for r in rows]))
    pending = any(r.pending for r in rows)
    if pending:
        segments.append((w["chart_pending"], [_share(r.pending, c.base) for r in rows]))
    fills = [LEVEL_COLOURS[0]] + [LEVEL_COLOURS[1]] * (len(order) - 2) + [LEVEL_COLOURS[2]] + [INVALID_COLOUR] + \
        ([PENDING_COLOUR] if pending else [])
    if len(order) == 1:
        fills = [LEVEL_COLOURS[0], INVALID_COLOUR] + ([PENDING_COLOUR] if pending else [])
    chart.data = [[float(v) for v in values] for _, values in segments]
    chart.categoryAxis.categoryNames = [f"{i}. {r.name}" for i, r in enumerate(rows, start=1)]
    chart.categoryAxis.style = "stacked"
    chart.categoryAxis.reverseDirection = 1
    chart.categoryAxis.labels.fontName = st.font
    chart.categoryAxis.labels.fontSize = 7.5
    chart.categoryAxis.labels.boxAnchor = "e"
    chart.categoryAxis.labels.dx = -3
    chart.categoryAxis.strokeColor = GRID
    chart.valueAxis.valueMin, chart.valueAxis.valueMax, chart.valueAxis.valueStep = 0, 100, 10
    chart.valueAxis.labels.fontName = st.font
    chart.valueAxis.labels.fontSize = 7
    chart.valueAxis.labelTextFormat = "%d%%"
    chart.valueAxis.visibleGrid = 1
    chart.valueAxis.gridStrokeColor = colors.HexColor("#d9d9d9")
    chart.valueAxis.gridStrokeWidth = 0.3
    chart.barWidth = bar_h
    chart.groupSpacing = pitch - bar_h
    for i, colour in enumerate(fills):
        chart.bars[i].fillColor = colour
        chart.bars[i].strokeColor = colors.white
        chart.bars[i].strokeWidth = 0.4
    d.add(chart)
    # the percentage of each wide enough segment, written inside it (the numbers of the table)
    for i in range(len(rows)):
        y = chart.y + plot_h - (i + 0.5) * pitch - 2.3
        x0 = 0.0
        for k, (_, values) in enumerate(segments):
            v = float(values[i])
            if v >= 8:
                dark = fills[k] in (LEVEL_COLOURS[0], LEVEL_COLOURS[2])
                d.add(String(chart.x + plot_w * (x0 + v / 2) / 100, y, fmt_pct(values[i], lang), fontName=st.font,
                             fontSize=6.5, textAnchor="middle", fillColor=colors.white if dark else colors.black))
            x0 += v
    for fraction, label in ((0.5, "1/2"), (2 / 3, "2/3")):
        x = chart.x + plot_w * fraction
        d.add(Line(x, chart.y - 1, x, chart.y + plot_h + 2, strokeColor=colors.black, strokeWidth=0.8,
                   strokeDashArray=[3, 2]))
        d.add(String(x, chart.y + plot_h + 4, label, fontName=st.bold, fontSize=7.5, textAnchor="middle"))
    # the legend, one line under the axis
    x, y = label_w, 1.5 * mm
    for (name, _), colour in zip(segments, fills):
        d.add(Rect(x, y, 3 * mm, 3 * mm, fillColor=colour, strokeColor=GRID, strokeWidth=0.3))
        text = nfc(name)
        d.add(String(x + 4.2 * mm, y + 0.6 * mm, text, fontName=st.font, fontSize=7.5))
        x += 4.2 * mm + pdfmetrics.stringWidth(text, st.font, 7.5) + 6 * mm
    return d


def _charts(tally: Tally, st: _Styles) -> list:
    w = words(tally.language)
    out: list = []
    for c in tally.contests:
        if c.kind != "confidence":
            continue
        if len(tally.contests) > 1:
            out.append(_p(c.title or c.id, st.contest))
        out.append(_chart(tally, c, st))
        out.append(_p(w["chart_note"], st.note))
    return out


# --------------------------------------------------------------------------------------------------
# Signatures and the document


def _as_of(tally: Tally) -> str:
    return (tally.as_of or "—").replace("T", " ").split(".")[0].rstrip("Z") + (" UTC" if tally.as_of else "")


def head_groups(digest: str) -> str:
    """A log head as people copy it: groups of 8 hex digits (``omr verify --head`` ignores the spaces)."""
    return " ".join(digest[i:i + 8] for i in range(0, len(digest), 8))


def _anchor(tally: Tally, st: _Styles) -> list:
    """The whole log head in the body, readable, with how to check it: what the committee signs is
    anchored to the data (the footer's 16 digits are a prefix ``omr verify`` also accepts)."""
    if not tally.log_head:
        return []
    w = words(tally.language)
    eid, digest = tally.log_head.id, tally.log_head.hash
    return [Spacer(1, 2 * mm), _p(w["anchor"].format(as_of=_as_of(tally), id=eid), st.small),
            _pm(f'<font name="{st.bold}" size="10">{escape(head_groups(digest))}</font>', st.anchor),
            _p(w["anchor_check"], st.small)]


def _opening(tally: Tally, committee: Committee, st: _Styles) -> list:
    """'Hôm nay, ngày …, tại …, Ban kiểm phiếu gồm: … đã tiến hành kiểm phiếu.' from what was given,
    else the template's place and date, else dotted lines to fill in by hand."""
    w = words(tally.language)
    place, held = committee.place, committee.held
    line = tally.templates[0].header.place_date if tally.templates else ""
    if line and ", " in line and not (place and held):
        where, when = line.split(", ", 1)
        place, held = place or where, held or when
    people = ([f"{committee.chair} ({w['chair_role']})"] if committee.chair else []) + \
        [f"{m} ({w['member_role']})" for m in committee.members]
    return [_p(w["opening"].format(held=held or w["opening_blank_held"], place=place or w["opening_blank_place"],
                                   people=", ".join(people) or w["opening_blank_people"]), st.opening)]


def _signatures(tally: Tally, st: _Styles, committee: Committee = Committee()) -> list:
    """A signature line for each member given (their name under it), else four to fill in."""
    w = words(tally.language)
    dots = "......................................"
    lines = [_p(f"{i}. {dots}", st.sign_line) for i in range(1, 5)] if not committee.members else \
        [p for i, m in enumerate(committee.members, start=1)
         for p in (_p(f"{i}. {dots}", st.sign_line), _p(m, st.sign_name))]
    members = [_p(w["members"], st.sign_head), _p(w["sign"], st.sign_note), Spacer(1, 3 * mm)] + lines
    chair = [_p(w["chair"], st.sign_head), _p(w["sign"], st.sign_note), Spacer(1, 24 * mm),
             _p(dots, st.sign_head)] + ([_p(committee.chair, st.sign_head)] if committee.chair else [])
    block = Table([[members, chair]], colWidths=[BODY_W / 2, BODY_W / 2])
    block.setStyle(_table_style([("VALIGN", (0, 0), (-1, -1), "TOP")]))
    out = [Spacer(1, 4 * mm), _p(w["closing"], st.body), Spacer(1, 4 * mm)]
    if tally.provisional:
        out.append(_banner(w["watermark"], w["no_sign"], RED, st))
        out.append(Spacer(1, 3 * mm))
    out.append(block)
    return out


def minutes_pdf(tally: Tally, committee: Committee | None = None) -> bytes:
    """The minutes of one ballot (template): a tally mixing several is refused, since the committee
    signs each ballot's minutes, in its language, under its header."""
    if len({t.id for t in tally.templates}) > 1:
        raise ValueError("the minutes are for one ballot: this tally mixes "
                         + ", ".join(sorted({t.id for t in tally.templates}))
                         + "; tally each ballot on its own (`omr tally --ballot ID`)")
    st = _Styles()
    w = words(tally.language)
    buffer = io.BytesIO()
    title = nfc(f"{w['title']} — {tally.templates[0].header.title}" if tally.templates else w["title"])
    doc = BaseDocTemplate(buffer, pagesize=(PAGE_W, PAGE_H), leftMargin=MARGIN_X, rightMargin=MARGIN_X,
                          topMargin=MARGIN_TOP, bottomMargin=MARGIN_BOTTOM, title=title,
                          author=nfc(" — ".join(tally.templates[0].header.left)) if tally.templates else "",
                          subject=nfc(w["provisional"] if tally.provisional else w["subtitle_other"]),
                          creator="Ballot OMR", producer="Ballot OMR (reportlab)", invariant=1, pageCompression=1,
                          initialFontName=st.font, lang="vi" if tally.language == "vi" else "en")
    frame = Frame(MARGIN_X, MARGIN_BOTTOM, BODY_W, PAGE_H - MARGIN_TOP - MARGIN_BOTTOM, id="body", leftPadding=0,
                  rightPadding=0, topPadding=0, bottomPadding=0)
    doc.addPageTemplates([PageTemplate(id="page", frames=[frame], onPage=_on_page(tally, st))])
    has_chart = any(c.kind == "confidence" for c in tally.contests)
    story: list = []
    story += _header(tally, st)
    story += _banners(tally, st, 3)
    committee = committee or Committee()
    story += _opening(tally, committee, st)
    story.append(_p(w["intro"], st.body))
    story.append(_p(f"{_roman(1)}. {w['s_numbers']}", st.section))
    story += _numbers(tally, st)
    story.append(_p(f"{_roman(2)}. {w['s_results']}", st.section))
    story += _results(tally, st)
    story.append(CondPageBreak(60 * mm))
    reconciliation = _reconciliation(tally, st)
    story.append(KeepTogether([_p(f"{_roman(3)}. {w['s_reconciliation']}", st.section)] + reconciliation[:1]))
    story += reconciliation[1:]
    story += _anchor(tally, st)
    story.append(CondPageBreak(40 * mm))
    story.append(_p(f"{_roman(4)}. {w['s_sheets']}", st.section))
    story += _sheets(tally, st)
    ending = _signatures(tally, st, committee)
    if has_chart:  # the chart and the signatures on one page when they fit: never a page of signatures alone
        story.append(KeepTogether([_p(f"{_roman(5)}. {w['s_chart']}", st.section)] + _charts(tally, st) + ending))
    else:
        story.append(KeepTogether(ending))
    doc.build(story, canvasmaker=_canvas_class(tally, st))
    return buffer.getvalue()
