"""What `omr scan`, `omr tally` and `omr review` print for people: in the ballots' language (Vietnamese
when every ballot is; `omr review --lang` chooses), people named rather than their ids, reasons in words,
wrapped at 80 columns (never cut mid-word), the summary last. Pure functions returning lines; the
commands print them."""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Sequence

from omr.ballot.template import Template
from omr.count.tally import ERROR, Tally
from omr.read.results import SheetRead
from omr.reports.text import band_word, discrepancy_text, fmt_int, fmt_pct, reason_word

WIDTH = 80
NBSP = "\u00a0"

WORDS = {
    "vi": {
        "review": "CẦN XEM XÉT", "rejected": "BỊ LOẠI", "page": "trang",
        "marginal": "dấu mờ ở ô {options}",
        "run": "Lượt quét {run}: đã đọc {sheets} tờ từ {files} tệp: {ok} tờ đọc rõ, {review} tờ cần xem xét, "
               "{rejected} tờ bị loại",
        "run_test": "{n} tờ phiếu thử (để riêng, không đếm)",
        "run_skipped": "{n} tệp đã đọc ở lượt trước, bỏ qua",
        "run_failed": "{n} tệp hoặc trang không đọc được",
        "earlier": "{n} tờ trong các tệp đã đọc trước (xem trong omr review)",
        "awaiting": "{n} tờ đang chờ xem xét trong {db}: mở omr review --db {db}",
        "none_awaiting": "Không còn tờ nào chờ xem xét trong {db}.",
        "tally": "Kết quả kiểm phiếu {db} ({state}): thu về {collected} phiếu, máy đã kiểm {accounted} phiếu "
                 "({valid} hợp lệ, {invalid} không hợp lệ); đã quét {sheets} tờ",
        "provisional": "TẠM TÍNH", "final": "chính thức",
        "pending": "TẠM TÍNH: {n} tờ chờ xem xét, kết quả có thể thay đổi:",
        "more": "… và {n} tờ nữa",
        "quorum_ok": "Số người có mặt: {present}/{convened} (đủ 2/3)",
        "quorum_bad": "Số người có mặt: {present}/{convened} (KHÔNG đủ 2/3: cần {required})",
        "reconciled": "Đối chiếu số phiếu: khớp", "not_reconciled": "Đối chiếu số phiếu: CHƯA KHỚP",
        "error": "LỖI", "note": "lưu ý",
        "contest": "{title} (tỷ lệ trên {base} phiếu):",
        "election": "{title}: {valid} phiếu hợp lệ, {invalid} phiếu không hợp lệ{pending}; số lượng được bầu {k}:",
        "election_row": "{name}: {votes} phiếu{pct} — {outcome}",
        "outcomes": "trúng cử|không trúng cử|bằng phiếu, cần quyết định|chưa xác định (nhập --base)",
        "row": "{name}: hợp lệ {valid}, không hợp lệ {invalid}{pending}: {counts}{band}",
        "row_pending": ", chờ xem xét {n}",
        "may_change": " (có thể thay đổi)",
        "review_open": "Màn hình xem xét phiếu cho {db}: mở {url}",
        "review_lan": "Từ máy tính khác trong cùng mạng: {url}",
        "review_token": "Đang mở trên địa chỉ {host}: mọi yêu cầu đều cần mã truy cập {token} (các địa chỉ trên "
                        "đã kèm mã; chỉ đưa mã cho thành viên Ban kiểm phiếu).",
        "review_tls": "Kết nối được mã hoá (TLS) bằng chứng chỉ đã cho.",
        "review_plain": "Kết nối không được mã hoá: trên mạng dùng chung, người khác có thể đọc được mã truy cập và "
                        "ảnh phiếu. Hãy dùng mạng riêng, hoặc cho chứng chỉ và khoá (--tls-cert, --tls-key).",
        "review_local": "Chỉ máy tính này mới mở được màn hình xem xét (không nhận kết nối từ máy khác).",
        "review_stop": "Nhấn Ctrl+C để dừng; mọi quyết định đều đã được lưu.",
        "review_port": "lỗi: --port phải từ 0 đến 65535, không phải {port}",
        "review_tls_pair": "lỗi: hãy cho cả --tls-cert và --tls-key, hoặc không cho cả hai",
        "review_listen": "lỗi: không mở được {host}:{port}: {why}",
        "review_no_tls_file": "lỗi: không tìm thấy tệp {what} TLS {path}",
        "review_tls_what": "chứng chỉ|khoá",
    },
    "en": {
        "review": "REVIEW", "rejected": "REJECTED", "page": "page",
        "marginal": "faint mark in {options}",
        "run": "Run {run}: {sheets} sheet(s) read from {files} file(s): {ok} ok, {review} need review, "
               "{rejected} rejected",
        "run_test": "{n} test-deck sheet(s), kept apart from the count",
        "run_skipped": "{n} file(s) already read before, skipped",
        "run_failed": "{n} file(s) or page(s) could not be read",
        "earlier": "{n} sheet(s) in files read before (see them in omr review)",
        "awaiting": "{n} sheet(s) await review in {db}: open omr review --db {db}",
        "none_awaiting": "No sheet awaits review in {db}.",
        "tally": "Tally of {db} ({state}): {collected} ballot(s) collected, {accounted} accounted for by the scans "
                 "({valid} valid, {invalid} invalid); {sheets} sheet(s) scanned",
        "provisional": "PROVISIONAL", "final": "final",
        "pending": "PROVISIONAL: {n} sheet(s) await review; the results may change:",
        "more": "... and {n} more",
        "quorum_ok": "Quorum: {present} of {convened} present (at least two thirds)",
        "quorum_bad": "Quorum: {present} of {convened} present (FEWER than two thirds: {required} needed)",
        "reconciled": "reconciled: yes", "not_reconciled": "reconciled: NO",
        "error": "ERROR", "note": "note",
        "contest": "{title} (% of {base}):",
        "election": "{title}: {valid} valid ballot(s), {invalid} invalid{pending}; {k} to elect:",
        "election_row": "{name}: {votes} vote(s){pct} — {outcome}",
        "outcomes": "elected|not elected|tie, to be decided|not determined (give --base)",
        "row": "{name}: valid {valid}, invalid {invalid}{pending}: {counts}{band}",
        "row_pending": ", {n} pending",
        "may_change": " (may change)",
        "review_open": "Review screen for {db}: open {url}",
        "review_lan": "From another computer on this network: {url}",
        "review_token": "Bound to {host}: every request needs the access token {token} (the addresses above carry "
                        "it; share it only with the committee).",
        "review_tls": "The connection is encrypted (TLS) with the certificate given.",
        "review_plain": "The connection is not encrypted: on a shared network, the token and the ballot images can be "
                        "read by others. Use a private network, or give a certificate and key (--tls-cert, --tls-key).",
        "review_local": "Only this computer can connect (bound to the loopback interface).",
        "review_stop": "Stop with Ctrl+C; every decision is already saved.",
        "review_port": "error: --port must be from 0 to 65535, not {port}",
        "review_tls_pair": "error: give both --tls-cert and --tls-key, or neither",
        "review_listen": "error: cannot listen on {host}:{port}: {why}",
        "review_no_tls_file": "error: the TLS {what} {path} does not exist",
        "review_tls_what": "certificate|key",
    },
}


def language_of(templates: Iterable[Template]) -> str:
    """Vietnamese when every ballot is, else English (as the minutes choose)."""
    langs = {t.language for t in templates}
    return "vi" if langs == {"vi"} else "en"


def review_lines(db: str, url: str, host: str, token: str | None, lan_url: str | None, tls: bool,
                 lang: str) -> list[str]:
    """What `omr review` says at start: the address to open, who can connect, how to stop. Not wrapped:
    an address or a token is copied whole."""
    w = WORDS[lang]
    out = [w["review_open"].format(db=db, url=url)]
    if token:
        if lan_url:
            out.append(w["review_lan"].format(url=lan_url))
        out += [w["review_token"].format(host=host, token=token), w["review_tls" if tls else "review_plain"]]
    else:
        out.append(w["review_local"])
    return out + [w["review_stop"]]


def wrap(text: str, indent: int = 0, width: int = WIDTH) -> list[str]:
    """Lines of at most `width` columns, continued with 4 more spaces; words are never cut."""
    pad = " " * indent
    return textwrap.wrap(text, width=width, initial_indent=pad, subsequent_indent=pad + "    ",
                         break_long_words=False, break_on_hyphens=False) or [pad]


def _names(templates: Iterable[Template]) -> tuple[dict, dict]:
    """(contest id, row id) -> person or contest name; (contest id, option id) -> label."""
    rows, options = {}, {}
    for t in templates:
        for c in t.contests:
            rows.setdefault((c.id, c.id), c.title or c.id)
            for p in c.rows:
                rows.setdefault((c.id, p.id), p.name)
            for o in c.options:
                options.setdefault((c.id, o.id), o.label)
    return rows, options


def sheet_lines(read: SheetRead, templates: Sequence[Template], lang: str) -> list[str]:
    """Why a sheet was not read cleanly: its reasons in words, each row by its person's name."""
    w = WORDS[lang]
    rows, options = _names(templates)
    parts = [reason_word(read.rejection if r.code == "rejected" and read.rejection else r.code, lang)
             for r in read.reasons]
    for row in read.rows:
        if not row.reasons:
            continue
        found = [reason_word(r.code, lang) for r in row.reasons if r.code != "marginal-mark"]
        faint = [options.get((row.contest_id, m.option_id), m.option_id) for m in row.marks if m.state == "marginal"]
        if faint:
            found.append(w["marginal"].format(options=", ".join(faint)))
        name = rows.get((row.contest_id, row.row_id), f"{row.contest_id}/{row.row_id}")
        parts.append(f"{name}: {', '.join(dict.fromkeys(found))}")
    head = f"{w.get(read.status, read.status.upper())} {read.source} {w['page']} {read.page}:"
    head = head.replace(" ", NBSP)  # the status, file and page stay on the first line together
    return [line.replace(NBSP, " ") for line in wrap(f"{head} {'; '.join(dict.fromkeys(parts))}", indent=2)]


def scan_summary(run: int, counts: dict[str, int], lang: str) -> list[str]:
    w = WORDS[lang]
    text = w["run"].format(run=run, **{k: fmt_int(v, lang) for k, v in counts.items()})
    extra = [w[key].format(n=fmt_int(counts[name], lang)) for key, name in
             (("run_test", "test_sheets"), ("run_skipped", "skipped"), ("run_failed", "failed")) if counts[name]]
    return wrap("; ".join([text] + extra) + ".")


def _election_lines(tally: Tally, titles: dict[str, str]) -> list[str]:
    lang = tally.language
    w = WORDS[lang]
    words = dict(zip(("elected", "not-elected", "tie", "undecided"), w["outcomes"].split("|")))
    out: list[str] = []
    for e in tally.elections:
        pending = w["row_pending"].format(n=e.pending) if e.pending else ""
        out += wrap(w["election"].format(title=titles.get(e.template_id, e.contest_id), valid=fmt_int(e.valid, lang),
                                         invalid=fmt_int(e.invalid, lang), pending=pending, k=e.seats))
        for c in e.candidates:
            pct = f" ({fmt_pct(c.percent, lang)}%)" if e.base else ""
            out += wrap(w["election_row"].format(name=c.name, votes=fmt_int(c.votes, lang), pct=pct,
                                                 outcome=words[c.outcome]), indent=2)
    return out


def tally_lines(tally: Tally, db: str) -> list[str]:
    """The results, what awaits review and the reconciliation, then the one-line summary last."""
    lang = tally.language
    w = WORDS[lang]
    rows, _ = _names(tally.templates)
    out: list[str] = []
    titles = {t.id: t.header.title for t in tally.templates}
    for c in tally.contests:
        if c.kind == "crossout":
            continue  # below, as the election's result
        out += wrap(w["contest"].format(title=c.title or titles.get(c.template_id) or c.id, base=fmt_int(c.base, lang)))
        for row in c.rows:
            counts = ", ".join(f"{label} {fmt_int(row.counts[o], lang)} ({fmt_pct(row.percent[o], lang)}%)"
                               for o, label in c.options)
            band = band_word(row.band, lang)
            band = (f"; {band}" + (w["may_change"] if row.band_settled is False else "")) if band else ""
            pending = w["row_pending"].format(n=row.pending) if row.pending else ""
            out += wrap(w["row"].format(name=row.name, valid=row.valid, invalid=row.invalid, pending=pending,
                                        counts=counts, band=band), indent=2)
    out += _election_lines(tally, titles)
    if tally.provisional:
        out += wrap(w["pending"].format(n=len(tally.pending_sheets)))
        for s in tally.pending_sheets[:20]:
            what = [rows.get(tuple(p.split("/", 1)), p) if "/" in p else reason_word(p, lang) for p in s.pending]
            out += wrap(f"{s.source} {w['page']} {s.page}: {', '.join(what)}", indent=2)
        if len(tally.pending_sheets) > 20:
            out += wrap(w["more"].format(n=len(tally.pending_sheets) - 20), indent=2)
    r = tally.reconciliation
    if r.quorum is not None:
        out += wrap(w["quorum_ok" if r.quorum.met else "quorum_bad"].format(
            present=r.quorum.present, convened=r.quorum.convened, required=r.quorum.required))
    out += wrap(w["reconciled"] if r.reconciled else w["not_reconciled"])
    for d in r.discrepancies:
        out += wrap(f"{w['error'] if d.severity == ERROR else w['note']}: {discrepancy_text(d, lang)}", indent=2)
    out += wrap(w["tally"].format(db=db, state=w["provisional" if tally.provisional else "final"],
                                  collected=fmt_int(r.collected, lang), accounted=fmt_int(r.accounted, lang),
                                  valid=fmt_int(r.ballots_counted, lang), invalid=fmt_int(r.invalid_ballots, lang),
                                  sheets=fmt_int(r.sheets_read, lang)))
    return out
