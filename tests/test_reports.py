"""The reports of a tally, as files read back: the minutes' text (pypdf) and pages (PDFium), the
CVR against the NIST SP 1500-103 schema, results.csv against results.json, the Arlo manifest."""

from __future__ import annotations

import csv
import io
import json
import random
import re
import unicodedata
from pathlib import Path

import jsonschema
import pypdfium2 as pdfium
import pytest
from pypdf import PdfReader
from test_tally_support import decision, make_read, person, rejected_read, tally_of, template

from omr.ballot.layout import fingerprint
from omr.read.results import Reason
from omr.reports import MINUTES, REPORT_FILES, render_reports, write_reports
from omr.reports.arlo import MANIFEST_COLUMNS, manifest_csv
from omr.reports.cvr import cvr_id, cvr_report
from omr.reports.exports import results_csv
from omr.reports.text import fmt_int, fmt_pct
from omr.store.records import LogHead

SCHEMA = Path(__file__).resolve().parent / "data" / "nist-cvr-1500-103.schema.json"  # vendored: see data/README.md


def pdf_text(data: bytes) -> str:
    text = "\n".join(p.extract_text() or "" for p in PdfReader(io.BytesIO(data)).pages)
    return " ".join(unicodedata.normalize("NFC", text).split())


def committee_day(provisional: bool = False):
    """A confidence vote on one person: 7 collected, 4 "tín nhiệm thấp" (57,14 %), a ballot with two
    marks a person decided, a copy, a test sheet, a sheet not issued, an unreadable page."""
    t = template("seed")
    p = person(t)
    reads = [make_read(t, {p: [v]}, source="/srv/kiem-phieu/scans/lo-1.pdf", page=i + 1)
             for i, v in enumerate(["thap", "thap", "cao", "tin-nhiem"])]
    reads.append(make_read(t, {p: ["cao", "thap"]}, source="/srv/kiem-phieu/scans/lo-2.pdf", page=1))
    reads.append(make_read(t, {p: ["thap"]}, source="/srv/kiem-phieu/scans/lo-2.pdf", page=2,
                           reasons=[Reason("extra-writing", "writing below the table")]))
    reads.append(make_read(t, {p: ["thap"]}, source="/srv/kiem-phieu/scans/lo-2.pdf", page=3,
                           reasons=[Reason("duplicate", "the same sheet as /srv/kiem-phieu/scans/lo-1.pdf page 1: "
                                                        "scanned twice, counts once")]))
    reads.append(make_read(t, {p: ["cao"]}, source="/srv/kiem-phieu/scans/lo-2.pdf", page=4, test=True))
    reads.append(rejected_read("not-issued", source="/srv/kiem-phieu/scans/lo-2.pdf", page=5))
    reads.append(rejected_read("unreadable", source="/srv/kiem-phieu/scans/lo-2.pdf", page=6))
    decisions = [decision(5, "set", row=("tin-nhiem", p), choices=["thap"], reason="ô cao đã gạch bỏ",
                          reviewer="Nguyễn Văn Tâm", id=1),
                 # the machine only suspects a copy: a person confirms "the same sheet" (issue 10)
                 decision(7, "reject-sheet", reason="duplicate", reviewer="Nguyễn Văn Tâm", id=4)]
    if not provisional:
        decisions.append(decision(6, "accept", reviewer="Nguyễn Văn Tâm", id=2))
        decisions.append(decision(10, "reject-sheet", reason="mặt sau để trắng", reviewer="Nguyễn Văn Tâm", id=3))
    return tally_of(reads, *decisions, issued=8, collected=7, convened=9, present=8,
                    as_of="2023-06-29T10:41:07.000000Z", log_head=LogHead(57, "c0ffee" * 10 + "abcd"))


@pytest.fixture(scope="module")
def final_reports() -> dict[str, bytes]:
    return render_reports(committee_day())


@pytest.fixture(scope="module")
def provisional_reports() -> dict[str, bytes]:
    return render_reports(committee_day(provisional=True))


def test_the_minutes_say_the_count_in_vietnamese(final_reports: dict[str, bytes]) -> None:
    text = pdf_text(final_reports[MINUTES])
    for phrase in (
        "ĐẢNG BỘ TỈNH ĐỒNG NAI", "ĐẢNG BỘ TRƯỜNG CAO ĐẲNG Y TẾ ĐỒNG NAI", "BAN KIỂM PHIẾU", "ĐẢNG CỘNG SẢN VIỆT NAM",
        "Đồng Nai, ngày 29 tháng 6 năm 2023", "BIÊN BẢN KIỂM PHIẾU", "Kết quả lấy phiếu tín nhiệm",
        "Số người được triệu tập: 9 người", "Số người có mặt: 8 người (đạt 88,89%, đủ 2/3 số người được triệu tập)",
        "Số phiếu phát ra: 8 phiếu", "Số phiếu thu về: 7 phiếu", "Số phiếu hợp lệ: 6 phiếu",
        "Số phiếu không hợp lệ: 1 phiếu (không do Ban kiểm phiếu phát ra: 1)",
        "Họ và tên, chức vụ", "Phiếu phát ra", "Phiếu thu về", "Tín nhiệm cao", "Tín nhiệm thấp", "Số phiếu",
        "Tỷ lệ (%)",
        "Nguyễn Hồng Quang", "Hiệu trưởng Trường Cao đẳng Y tế Đồng Nai",
        "Trên 1/2 đến dưới 2/3 số phiếu tín nhiệm thấp", "tổng số phiếu thu về (7 phiếu)",
        "Người có trên 1/2 đến dưới 2/3 số phiếu tín nhiệm thấp (so với tổng số phiếu thu về): Nguyễn Hồng Quang.",
        "ĐỐI CHIẾU SỐ PHIẾU", "Số tờ phiếu đã quét", "Quét trùng (không tính lại)", "Phiếu thử (test deck, không tính)",
        "PHIẾU KHÔNG HỢP LỆ VÀ PHIẾU ĐÃ XEM XÉT", "Các tệp nằm trong thư mục: /srv/kiem-phieu/scans",
        "đánh dấu từ hai ô trở lên", "xác định: Tín nhiệm thấp (Nguyễn Văn Tâm)", "có viết thêm trên phiếu",
        "quét trùng: cùng một tờ với lo-1.pdf trang 1", "phiếu thử (test deck)", "không do Ban kiểm phiếu phát ra",
        "Để riêng: không phải phiếu", "Loại tờ phiếu: mặt sau để trắng",
        "BIỂU ĐỒ KẾT QUẢ", "TRƯỞNG BAN KIỂM PHIẾU", "CÁC THÀNH VIÊN BAN KIỂM PHIẾU", "(Ký, ghi rõ họ tên)",
        "Dữ liệu đến 2023-06-29 10:41:07 UTC", "nhật ký #57 c0ffeec0ffeec0ff",
    ):
        assert phrase in text, phrase
    # the table's numbers: 1 high (14,29 %), 1 confidence (14,29 %), 4 low (57,14 %) of 7 collected
    assert re.search(r"Nguyễn Hồng Quang Hiệu trưởng Trường Cao đẳng Y tế Đồng Nai 8 7 6 1 1 14,29 1 14,29 4 57,14",
                     text), text  # issued and collected per person (issue 11), then valid, invalid, the levels
    assert "57.14" not in text and "14.29" not in text  # a decimal comma, never a point
    assert "TẠM TÍNH" not in text and "SỐ LIỆU CHƯA KHỚP" not in text


def test_provisional_minutes_say_so_on_every_page(provisional_reports: dict[str, bytes]) -> None:
    data = provisional_reports[MINUTES]
    reader = PdfReader(io.BytesIO(data))
    assert len(reader.pages) >= 2
    for page in reader.pages:
        page_text = unicodedata.normalize("NFC", page.extract_text())
        assert "TẠM TÍNH" in page_text
    text = pdf_text(data)
    assert "TẠM TÍNH — CHƯA PHẢI KẾT QUẢ CHÍNH THỨC" in text
    assert "Còn 1 tờ phiếu chờ Ban kiểm phiếu xem xét" in text and "Được kiểm, CHỜ XEM XÉT" in text
    assert "Bản tạm tính: không ký" in text
    # the unreadable page is unresolved: the numbers do not reconcile, and the minutes say it
    assert "SỐ LIỆU CHƯA KHỚP" in text and "1 trang máy không đọc được" in text


def test_minutes_in_english_for_an_english_ballot() -> None:
    t = template("general")
    reads = [make_read(t, {"mayor": ["chen"], "council": ["ito", "baker"]}, source="tray-1.pdf", page=2 * i + 1)
             for i in range(2)]
    reads += [make_read(t, {"measure-a": ["yes"], "measure-b": ["no"]}, source="tray-1.pdf", page=2 * i + 2,
                        template_page=2) for i in range(2)]
    reads.append(make_read(t, {"mayor": ["smith"], "council": []}, source="tray-1.pdf", page=5))
    reads.append(make_read(t, {"measure-a": ["no"], "measure-b": ["yes", "no"]}, source="tray-1.pdf", page=6,
                           template_page=2))
    result = tally_of(reads, *[decision(i, "accept") for i in (5, 6)], issued=4, collected=3)
    assert result.language == "en" and not result.provisional and result.reconciliation.reconciled
    text = pdf_text(render_reports(result)[MINUTES])
    for phrase in ("RECORD OF THE COUNT", "RIVERSIDE COUNTY", "Ballots issued: 4 ballots", "Ballots collected: 3",
                   "Mayor", "David Chen 2 66.67", "John Smith 1 33.33", "Vote for up to 3 of 8",
                   "Measure A: Library Bond", "Yes 2 66.67", "Undervotes (fewer marks than allowed) 3",
                   "CHAIR OF THE COUNTING COMMITTEE", "The numbers reconcile"):
        assert phrase in text, phrase
    assert "66,67" not in text and "BIÊN BẢN" not in text


def test_minutes_pages_render_with_embedded_fonts_only(final_reports: dict[str, bytes]) -> None:
    doc = pdfium.PdfDocument(final_reports[MINUTES])
    try:
        assert len(doc) >= 2
        for i in range(len(doc)):
            w, h = doc.get_page_size(i)
            assert abs(w - 595.28) < 1 and abs(h - 841.89) < 1  # A4 portrait
            pixels = doc[i].render(scale=0.5, grayscale=True).to_numpy()
            assert pixels.min() < 64 and pixels.mean() > 180  # ink on white paper
    finally:
        doc.close()
    fonts = set()
    for page in PdfReader(io.BytesIO(final_reports[MINUTES])).pages:
        for font in (page["/Resources"].get("/Font") or {}).values():
            font = font.get_object()
            fonts.add(str(font["/BaseFont"]))
            holder = font["/DescendantFonts"][0].get_object() if "/DescendantFonts" in font else font
            descriptor = holder["/FontDescriptor"].get_object()
            assert "/FontFile2" in descriptor  # the TrueType program is in the file
    assert fonts and all("BeVietnamPro" in f for f in fonts), fonts  # no system or standard font


def test_reports_are_reproducible_byte_for_byte() -> None:
    assert render_reports(committee_day()) == render_reports(committee_day())


def test_write_reports_writes_every_file(tmp_path: Path) -> None:
    written = write_reports(committee_day(), tmp_path / "out")
    assert sorted(written) == sorted(REPORT_FILES)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(REPORT_FILES)  # no temporary left


# --------------------------------------------------------------------------------------------------
# CVR


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft4Validator:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    checker = jsonschema.Draft4Validator.FORMAT_CHECKER
    assert not checker.conforms("lo.pdf#page=1", "uri")  # formats checked strictly (rfc3987 installed)
    return jsonschema.Draft4Validator(schema, format_checker=checker)


@pytest.mark.parametrize("which", ["final", "provisional"])
def test_cvr_validates_against_the_nist_schema(which: str, final_reports, provisional_reports, validator) -> None:
    report = json.loads((final_reports if which == "final" else provisional_reports)["cvr.json"])
    errors = sorted(validator.iter_errors(report), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:5])


def test_cvr_schema_validation_can_fail(validator) -> None:
    report = cvr_report(committee_day())
    report["CVR"][0]["CVRSnapshot"][0]["Type"] = "machine"
    assert list(validator.iter_errors(report))


def test_cvr_records_original_interpreted_and_adjudicated_snapshots_with_scores_and_images() -> None:
    result = committee_day()
    report = cvr_report(result)
    assert report["Version"] == "1.0.0" and "adjudicated" in report["ReportType"]
    records = {r["UniqueId"]: r for r in report["CVR"]}
    counted = [s for s in result.sheets if s.outcome == "counted"]
    assert len(records) == len(counted) == 6
    decided = next(s for s in counted if s.rows[0].decision is not None)
    rec = records[cvr_id(decided.fingerprint, decided.image_sha256)]
    # the file (relative to the folder of the scans) and page; the pixel hash under its own name
    assert rec["BallotImage"] == [{"@type": "CVR.ImageData", "Location": "file:lo-2.pdf#page=1", "Hash": {
        "@type": "CVR.Hash", "Type": "other", "OtherType": "ballot-omr-pixels-sha-256", "Value": decided.image_sha256}}]
    assert (rec["BatchId"], rec["BatchSequenceId"], rec["BallotSheetId"]) == ("lo-2", 1, "1")
    original, interpreted, modified = rec["CVRSnapshot"]
    assert (original["Type"], interpreted["Type"], modified["Type"]) == ("original", "interpreted", "modified")
    assert rec["CurrentSnapshotId"] == modified["@id"]

    def positions(contest: dict) -> dict:
        return {s["ContestSelectionId"].rsplit("/", 1)[1]: s["SelectionPosition"][0]
                for s in contest["CVRContestSelection"]}

    (raw,) = original["CVRContest"]
    assert "Status" not in raw and "Overvotes" not in raw  # as captured: no rule applied yet
    assert {k: (v["MarkMetricValue"], v["HasIndication"], v["NumberVotes"], v["IsAllocable"])
            for k, v in positions(raw).items()} == {
        "cao": (["0.2100"], "yes", 1, "unknown"), "tin-nhiem": (["0.0020"], "no", 1, "unknown"),
        "thap": (["0.2100"], "yes", 1, "unknown")}
    (machine,) = interpreted["CVRContest"]  # two marks for one vote: the vote lost to Overvotes
    assert (machine["Status"], machine["Overvotes"], machine["Undervotes"]) == (["overvoted"], 1, 0)
    assert interpreted["Status"] == ["needs-adjudication"]
    assert {k: v["IsAllocable"] for k, v in positions(machine).items()} == {"cao": "no", "tin-nhiem": "no",
                                                                              "thap": "no"}
    (adjudicated,) = modified["CVRContest"]  # a person set "thap"
    assert (adjudicated["Overvotes"], adjudicated["Undervotes"], "Status" in adjudicated) == (0, 0, False)
    assert {k: (v["IsAllocable"], v["Status"]) for k, v in positions(adjudicated).items()} == {
        "cao": ("no", ["adjudicated"]), "tin-nhiem": ("no", ["adjudicated"]), "thap": ("yes", ["adjudicated"])}
    assert modified["Annotation"][0]["AdjudicatorName"] == ["Nguyễn Văn Tâm"]
    plain = next(s for s in counted if not s.decisions and s.machine_status == "ok")
    snapshots = records[cvr_id(plain.fingerprint, plain.image_sha256)]["CVRSnapshot"]
    assert [s["Type"] for s in snapshots] == ["original", "interpreted"]


def test_cvr_ids_are_stable_and_reveal_nothing_of_the_scan_order() -> None:
    t = template("seed")
    p = person(t)
    reads = [make_read(t, {p: [random.Random(i).choice(["cao", "thap"])]}, source="scans/lo.pdf", page=i + 1)
             for i in range(12)]
    first = cvr_report(tally_of(reads, collected=12))
    shuffled = reads[:]
    random.Random(3).shuffle(shuffled)
    renamed = [r.__class__(**{**r.__dict__, "source": f"other/{i}.png", "page": 1}) for i, r in enumerate(shuffled)]
    second = cvr_report(tally_of(renamed, collected=12))
    ids = [r["UniqueId"] for r in first["CVR"]]
    assert ids == [r["UniqueId"] for r in second["CVR"]] == sorted(ids)  # same ids, sorted by id, whatever order
    scan_order = [cvr_id(fingerprint(t), r.image_sha256) for r in reads]
    assert ids != scan_order and sorted(scan_order) == ids
    # where each sheet is (batch, card number, file and page) is in the record on purpose, for audits;
    # the id and the order of the records say nothing of it
    by_id = {r["UniqueId"]: r for r in first["CVR"]}
    places = [(by_id[i]["BatchId"], by_id[i]["BatchSequenceId"], by_id[i]["BallotImage"][0]["Location"])
              for i in scan_order]
    assert places == [("lo", n, f"file:lo.pdf#page={n}") for n in range(1, 13)]


def test_provisional_cvr_marks_what_awaits_review(provisional_reports) -> None:
    report = json.loads(provisional_reports["cvr.json"])
    assert report["Notes"].startswith("PROVISIONAL")
    current = [next(s for s in r["CVRSnapshot"] if s["@id"] == r["CurrentSnapshotId"]) for r in report["CVR"]]
    assert sum(s.get("Status") == ["needs-adjudication"] for s in current) == 1


# --------------------------------------------------------------------------------------------------
# results.csv, results.json, manifest.csv


def test_results_csv_holds_the_numbers_of_results_json(final_reports) -> None:
    data = json.loads(final_reports["results.json"])
    assert final_reports["results.csv"].startswith(b"\xef\xbb\xbf")  # the BOM Excel needs to read UTF-8
    rows = list(csv.DictReader(io.StringIO(final_reports["results.csv"].decode("utf-8-sig"))))
    assert len(rows) == sum(len(c["rows"]) * len(c["options"]) for c in data["contests"])
    for line in rows:
        contest = next(c for c in data["contests"] if c["id"] == line["contest"])
        row = next(r for r in contest["rows"] if r["id"] == line["row"])
        assert int(line["count"]) == row["counts"][line["option"]]
        assert float(line["percent"]) == row["percent"][line["option"]]
        assert (int(line["valid"]), int(line["invalid"]), line["band"]) == (row["valid"], row["invalid"], row["band"])
        assert line["provisional"] == "false"
    thap = next(r for r in rows if r["option"] == "thap")
    assert (thap["count"], thap["percent"], thap["percent_base"], thap["band"]) == ("4", "57.14", "7", "over_half")


def test_provisional_is_in_every_export(provisional_reports, final_reports) -> None:
    assert json.loads(provisional_reports["results.json"])["provisional"] is True
    assert all(r["provisional"] == "true" for r in csv.DictReader(
        io.StringIO(provisional_reports["results.csv"].decode("utf-8-sig"))))
    assert "PROVISIONAL" in json.loads(provisional_reports["cvr.json"])["Notes"]
    # the manifest lists the cards in the box, whatever review is pending: importable as it is (the
    # unreadable page is a card until a person sets it aside)
    assert list(csv.reader(io.StringIO(provisional_reports["manifest.csv"].decode("utf-8-sig")))) == [
        list(MANIFEST_COLUMNS), ["scans", "ballot-omr", "lo-1", "4"], ["scans", "ballot-omr", "lo-2", "4"]]
    # the sheet awaiting a person is written so that Arlo refuses to read it as votes
    lines = provisional_reports["cvr-dominion.csv"].decode("utf-8-sig").splitlines()
    assert [line.split(",", 3)[2:] for line in lines if "pending-review" in line] == [
        ["lo-2", "2,ballot-omr-lo-2-2,tin-nhiem-cdyt-dong-nai-2023,pending-review,pending-review,pending-review"]]


def test_manifest_has_arlos_columns_and_one_line_per_batch(final_reports) -> None:
    text = final_reports["manifest.csv"].decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert tuple(rows[0]) == MANIFEST_COLUMNS
    # lo-1: 4 ballots; lo-2: the decided ballot, the one with writing and the sheet not issued (the copy,
    # the test sheet and the page set aside are not ballots)
    assert rows[1:] == [["scans", "ballot-omr", "lo-1", "4"], ["scans", "ballot-omr", "lo-2", "3"]]
    assert all(cell for row in rows for cell in row) and "total" not in text.lower()


def test_manifest_batch_names_stay_unique_across_folders() -> None:
    t = template("seed")
    reads = [make_read(t, source="box-1/lo.pdf", page=1), make_read(t, source="box-2/lo.pdf", page=1),
             make_read(t, source="box-2/lo.pdf", page=2)]
    rows = list(csv.reader(io.StringIO(manifest_csv(tally_of(reads, collected=3)))))
    assert rows[1:] == [["box-1", "ballot-omr", "box-1/lo", "1"], ["box-2", "ballot-omr", "box-2/lo", "2"]]
    assert "provisional" not in results_csv(tally_of(reads, collected=3)).splitlines()[1]


@pytest.mark.parametrize(("value", "vi", "en"), [("66.67", "66,67", "66.67"), ("1234.5", "1.234,50", "1,234.50"),
                                                  ("0", "0,00", "0.00"), (65.63, "65,63", "65.63")])
def test_number_formats(value, vi: str, en: str) -> None:
    from decimal import Decimal

    number = Decimal(value) if isinstance(value, str) else value
    assert fmt_pct(number, "vi") == vi and fmt_pct(number, "en") == en
    assert fmt_int(12345, "vi") == "12.345" and fmt_int(12345, "en") == "12,345"
