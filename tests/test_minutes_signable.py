"""Minutes a committee can sign (issue 11), read back as text with pypdf: a log head that `omr verify`
accepts, the QĐ 96 bands at every edge, "100,00" on one line, a reviewer's overvote counted as one,
and one set of minutes per ballot, each in its language."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from test_audit import omr
from test_reports import pdf_text
from test_review_app import build_review_db
from test_tally_support import decision, make_read, tally_of, template

from omr.audit.findings import AuditError
from omr.audit.verify import verify_database
from omr.count.tally import of_ballot, tally_reads
from omr.reports import MINUTES
from omr.reports.minutes import Committee, minutes_pdf
from omr.store.database import Store

HEAD_GROUPS = re.compile(r"((?:[0-9a-f]{8} ){7}[0-9a-f]{8})")


@pytest.fixture(scope="module")
def scanned(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real database from scanned PDFs holding two ballots (the seed's confidence vote and a
    choose-2-to-3 Vietnamese ballot)."""
    return build_review_db(tmp_path_factory.mktemp("minutes-signable"))


def _tally_cli(db: Path, out: Path, *more: str):
    return omr("tally", "--db", str(db), "--issued", "7", "--collected", "7", "-o", str(out), *more)


@pytest.mark.slow  # scans and tallies for real
def test_the_minutes_print_a_log_head_that_verifies(scanned: Path, tmp_path: Path) -> None:
    proc = _tally_cli(scanned, tmp_path, "--ballot", "tin-nhiem-cdyt-dong-nai-2023")
    assert proc.returncode in (0, 1), proc.stderr
    text = pdf_text((tmp_path / MINUTES).read_bytes())
    with Store(scanned) as store:
        head = store.log_head()
        eid, digest = head.id, head.hash
    printed = HEAD_GROUPS.search(text)
    assert printed, text[-800:]  # the whole head, readable, in the body
    assert printed.group(1).replace(" ", "") == digest
    assert f"(mục #{eid})" in text and "omr verify --db" in text
    footer = re.search(rf"nhật ký #{eid} ([0-9a-f]{{16}})", text).group(1)
    # what the minutes print verifies: the grouped head as typed, and the footer's 16 digits
    for head in (printed.group(1), footer, digest.upper()):
        assert verify_database(scanned, head).ok, head
    ok = omr("verify", "--db", str(scanned), "--head", printed.group(1))
    assert ok.returncode == 0 and "log intact" in ok.stdout
    assert omr("verify", "--db", str(scanned), "--head", footer).returncode == 0
    # a malformed head is an error in what was typed, never "tampering"
    for bad in ("xyz-not-hex", "2fbacf", "0" * 65):
        with pytest.raises(AuditError):
            verify_database(scanned, bad)
        proc = omr("verify", "--db", str(scanned), "--head", bad)
        assert proc.returncode == 2 and "BROKEN" not in proc.stdout + proc.stderr, bad
        assert "--head" in proc.stderr
    # a well-formed head that is not in the log: not verified (a rewritten log or another database)
    absent = omr("verify", "--db", str(scanned), "--head", "0" * 64)
    assert absent.returncode == 1 and "NOT VERIFIED" in absent.stdout and "BROKEN" not in absent.stdout


def test_the_bands_are_said_as_qd96_says_them_at_every_edge() -> None:
    """12 ballots collected: 6 low is exactly 1/2 (no band), 7 is over 1/2 and under 2/3, 8 is
    exactly 2/3, 12 is everyone (3 of 3 in the issue), 5 is under 1/2."""
    t = template("leaders")
    people = [p.id for p in t.contests[0].rows]
    names = {p.id: p.name for p in t.contests[0].rows}
    lows = dict(zip(people[:5], (6, 7, 8, 12, 5)))
    reads = []
    for i in range(12):
        votes = {pid: ["thap"] if i < n else ["cao"] for pid, n in lows.items()}
        reads.append(make_read(t, votes, source="lo.pdf", page=2 * i + 1))
        reads.append(make_read(t, {}, source="lo.pdf", page=2 * i + 2, template_page=2))
    result = tally_of(reads, issued=12, collected=12)
    assert not result.provisional
    text = pdf_text(minutes_pdf(result))
    p0, p1, p2, p3, p4 = (names[p] for p in people[:5])
    assert (f"Người có trên 1/2 đến dưới 2/3 số phiếu tín nhiệm thấp (so với tổng số phiếu thu về): {p1}. "
            f"Người có từ 2/3 trở lên số phiếu tín nhiệm thấp: {p2}, {p3}.") in text
    for name in (p0, p4):  # exactly half and under half: in no band
        sentence = text[text.index("Người có trên 1/2 đến dưới 2/3"):]
        assert name not in sentence[:sentence.index("Mức")]
    # the table: each person's low count and percentage, and the band in the note
    assert re.search(rf"{p0} .*? 6 50,00 ", text) and re.search(rf"{p1} .*? 7 58,33 Trên 1/2 đến dưới 2/3", text)
    assert re.search(rf"{p2} .*? 8 66,67 Từ 2/3 trở lên", text)
    assert re.search(rf"{p3} .*? 12 100,00 Từ 2/3 trở lên", text)
    assert "Người có trên 1/2 số phiếu tín nhiệm thấp: không có" not in text


def test_a_unanimous_result_prints_100_00_on_one_line() -> None:
    t = template("seed")
    reads = [make_read(t, {t.contests[0].rows[0].id: ["cao"]}, source="lo.pdf", page=i + 1) for i in range(3)]
    data = minutes_pdf(tally_of(reads, issued=3, collected=3))
    text = pdf_text(data)
    assert re.search(r"3 0 3 100,00 0 0,00 0 0,00", text), text[:1500]
    assert "100,0 0" not in text and not re.search(r"100,\s*\n\s*00", text)


def test_a_reviewers_overvote_is_counted_as_an_overvote() -> None:
    t = template("general")
    reads = [make_read(t, {"mayor": ["chen"], "council": ["ito"]}, source="tray.pdf", page=1),
             make_read(t, {"mayor": ["chen"], "council": ["ito"]}, marginal={"council": "baker"}, source="tray.pdf",
                       page=3)]
    reads += [make_read(t, {}, source="tray.pdf", page=p, template_page=2) for p in (2, 4)]
    said = decision(2, "invalid", row=("council", "council"), reason="overvote")
    result = tally_of(reads, said, issued=2, collected=2)
    council = next(c for c in result.contests if c.id == "council").rows[0]
    assert (council.invalid, council.overvotes) == (1, 1)
    assert council.invalid_detail == {"overvote": 1}
    text = pdf_text(minutes_pdf(result))
    assert "Overvotes (more marks than allowed: invalid) 1" in text
    # a free-text reason stays "declared invalid by the committee", not an overvote
    other = tally_of(reads, decision(2, "invalid", row=("council", "council"), reason="torn"), issued=2, collected=2)
    row = next(c for c in other.contests if c.id == "council").rows[0]
    assert (row.invalid, row.overvotes, row.invalid_detail) == (1, 0, {"decided-invalid": 1})


def test_one_set_of_minutes_per_ballot_each_in_its_language() -> None:
    seed, general = template("seed"), template("general")
    reads = [make_read(seed, {seed.contests[0].rows[0].id: ["cao"]}, source="vn.pdf", page=1),
             make_read(general, {"mayor": ["chen"], "council": ["ito"]}, source="en.pdf", page=1),
             make_read(general, {}, source="en.pdf", page=2, template_page=2)]
    mixed = tally_of(reads, issued=2, collected=2)
    with pytest.raises(ValueError, match="one ballot"):
        minutes_pdf(mixed)
    items = list(enumerate(reads, start=1))
    for ballot, lang, title, absent in (("tin-nhiem-cdyt-dong-nai-2023", "vi", "BIÊN BẢN KIỂM PHIẾU", "Mayor"),
                                        ("general-election-en", "en", "RECORD OF THE COUNT", "Nguyễn Hồng Quang")):
        own, failures = of_ballot(items, [], [seed, general], ballot)
        result = tally_reads(own, {}, [seed, general], failures=failures, issued=1, collected=1)
        assert result.language == lang and [t.id for t in result.templates] == [ballot]
        text = pdf_text(minutes_pdf(result))
        assert title in text and absent not in text


@pytest.mark.slow  # scans and tallies for real
def test_omr_tally_refuses_to_mix_ballots_and_writes_each_ballots_minutes(scanned: Path, tmp_path: Path) -> None:
    mixed = _tally_cli(scanned, tmp_path / "mixed")
    assert mixed.returncode == 2 and not (tmp_path / "mixed" / MINUTES).exists()
    assert "hoi-dong-thu" in mixed.stderr and "tin-nhiem-cdyt-dong-nai-2023" in mixed.stderr
    assert "--ballot" in mixed.stderr
    unknown = _tally_cli(scanned, tmp_path / "x", "--ballot", "no-such-ballot")
    assert unknown.returncode == 2 and "no-such-ballot" in unknown.stderr
    one = _tally_cli(scanned, tmp_path / "hd", "--ballot", "hoi-dong-thu", "--place", "Phòng họp số 2",
                     "--chair", "Nguyễn Văn Tâm", "--member", "Lê Thị Hoa", "--member", "Trần Văn Bình")
    assert one.returncode in (0, 1), one.stderr
    text = pdf_text((tmp_path / "hd" / MINUTES).read_bytes())
    assert "BIÊN BẢN KIỂM PHIẾU" in text and "HỘI ĐỒNG THỬ" in text and "Hội đồng" in text
    assert "Nguyễn Hồng Quang" not in text and "RECORD OF THE COUNT" not in text
    assert "tại Phòng họp số 2, Ban kiểm phiếu gồm: Nguyễn Văn Tâm (Trưởng ban), Lê Thị Hoa (thành viên)" in text


def test_each_decision_in_the_minutes_says_what_was_decided() -> None:
    t = template("seed")
    p = t.contests[0].rows[0].id
    reads = [make_read(t, {p: []}, source="lo.pdf", page=1, default=None),
             make_read(t, {p: ["cao", "thap"]}, source="lo.pdf", page=2),
             make_read(t, {p: ["cao"]}, source="lo.pdf", page=3)]
    result = tally_of(reads, decision(1, "accept", row=("tin-nhiem", p), reviewer="Lê Văn C"),
                      decision(2, "invalid", row=("tin-nhiem", p), reason="unclear-mark", reviewer="Lê Văn C"),
                      decision(3, "reject-sheet", reason="added-content", reviewer="Lê Văn C"),
                      issued=3, collected=3)
    text = pdf_text(minutes_pdf(result))
    assert "Nguyễn Hồng Quang: giữ kết quả máy đọc (không đánh dấu ô nào): không hợp lệ (Lê Văn C)" in text
    assert "Nguyễn Hồng Quang: không hợp lệ: không xác định được ý người bỏ phiếu (Lê Văn C)" in text
    assert "Loại tờ phiếu: ghi thêm tên hoặc nội dung khác (Lê Văn C)" in text
    assert "unclear-mark" not in text and "added-content" not in text  # never a code


def test_the_opening_and_a_signature_line_for_each_member() -> None:
    t = template("seed")
    reads = [make_read(t, {t.contests[0].rows[0].id: ["cao"]}, source="lo.pdf", page=i + 1) for i in range(2)]
    result = tally_of(reads, issued=2, collected=2)
    plain = pdf_text(minutes_pdf(result))  # nothing given: the template's place and date, the rest by hand
    assert "Hôm nay, ngày 29 tháng 6 năm 2023, tại Đồng Nai, Ban kiểm phiếu gồm: ....." in plain
    assert "4. ......" in plain
    given = Committee(place="Hội trường A", held="14 giờ, ngày 30 tháng 6 năm 2023", chair="Nguyễn Văn Tâm",
                      members=("Lê Thị Hoa", "Trần Văn Bình", "Phạm Minh Châu"))
    text = pdf_text(minutes_pdf(result, given))
    assert ("Hôm nay, 14 giờ, ngày 30 tháng 6 năm 2023, tại Hội trường A, Ban kiểm phiếu gồm: Nguyễn Văn Tâm "
            "(Trưởng ban), Lê Thị Hoa (thành viên), Trần Văn Bình (thành viên), Phạm Minh Châu (thành viên) đã tiến "
            "hành kiểm phiếu.") in text
    block = text[text.index("CÁC THÀNH VIÊN BAN KIỂM PHIẾU"):]
    for i, name in enumerate(given.members, start=1):
        assert re.search(rf"{i}\. \.+ {name}", block), (i, name)
    assert "4. ...." not in block and "Nguyễn Văn Tâm" in block
    # per person: ballots issued and collected beside valid and invalid
    assert re.search(r"Nguyễn Hồng Quang Hiệu trưởng Trường Cao đẳng Y tế Đồng Nai 2 2 2 0 2 100,00", text)
