"""Every status and reason code of the project, declared once, with its meaning and its words.

The reader, the store, the tally, the review screen, the reports and the command line all take
their codes from here, and decide by code, never by the wording of a message: rewording any text
below changes what people read, not what is counted.

Each reason has three texts in Vietnamese (``vi``) and English (``en``): a ``title`` (a heading on
the review screen), a ``phrase`` (inside a sentence of the minutes or a list) and an ``explain``
(what it means and what the reviewer is expected to do). Every string is NFC.
"""

from __future__ import annotations

from dataclasses import dataclass

LANGS = ("vi", "en")

# How one box was read
MARKED, MARGINAL, BLANK = "marked", "marginal", "blank"
MARK_STATES = (MARKED, MARGINAL, BLANK)
# How one row (a person, or a whole choose/yes-no contest) was read
VALID, INVALID, REVIEW = "valid", "invalid", "review"
ROW_STATUSES = (VALID, INVALID, REVIEW)
# How one sheet was read
SHEET_OK, SHEET_REVIEW, SHEET_REJECTED = "ok", "review", "rejected"
SHEET_STATUSES = (SHEET_OK, SHEET_REVIEW, SHEET_REJECTED)

# What becomes of a sheet in the count (the tally's verdict)
COUNTED, DUPLICATE, TEST = "counted", "duplicate", "test"
NOT_ISSUED, UNREADABLE, REJECTED_BY_REVIEWER, SET_ASIDE = "not-issued", "unreadable", "rejected-by-reviewer", \
    "set-aside"
OUTCOMES = (COUNTED, DUPLICATE, TEST, NOT_ISSUED, UNREADABLE, REJECTED_BY_REVIEWER, SET_ASIDE)
PENDING = "pending"  # a row or sheet that still awaits a person


@dataclass(frozen=True)
class Words:
    vi: str
    en: str

    def __call__(self, lang: str) -> str:
        return self.vi if lang == "vi" else self.en


@dataclass(frozen=True)
class ReasonCode:
    """A reason a row or sheet is not simply valid."""

    code: str
    scope: str  # "sheet" or "row": where the reader puts it
    title: Words
    phrase: Words
    explain: Words
    to_review: bool = False  # the reader sends the sheet to a person for it
    voids_row: bool = False  # the row is invalid by rule


def _r(code: str, scope: str, title: tuple[str, str], phrase: tuple[str, str], explain: tuple[str, str],
       *, to_review: bool = False, voids_row: bool = False) -> ReasonCode:
    return ReasonCode(code, scope, Words(*title), Words(*phrase), Words(*explain), to_review, voids_row)


_READER_REASONS = (
    _r("marginal-mark", "row", ("Dấu không rõ", "Unclear mark"),
       ("dấu mờ, máy không chắc chắn", "faint mark the machine is unsure of"),
       ("Một ô có vết mực quá nhẹ hoặc quá nhỏ để máy kết luận đã được đánh dấu hay chưa (khung cam). Hãy nhìn "
        "ảnh phóng to và chọn đúng ý người bỏ phiếu.",
        "A box holds too little ink for the machine to say whether it is marked (orange frame). Look at the "
        "zoomed image and record what the voter chose."), to_review=True),
    _r("no-mark", "row", ("Không đánh dấu ô nào", "No box marked"),
       ("không đánh dấu ô nào", "no box marked"),
       ("Dòng này không có ô nào được đánh dấu: theo Quy định 96, dòng này không hợp lệ. Hãy xác nhận, hoặc chọn "
        "ô nếu thật ra có dấu.",
        "No box of this row is marked: under the rules this row is invalid. Confirm it, or record the choice if "
        "there is a mark after all."), voids_row=True),
    _r("several-marks", "row", ("Đánh dấu nhiều ô", "Several boxes marked"),
       ("đánh dấu từ hai ô trở lên", "two or more boxes marked"),
       ("Dòng này có từ hai ô trở lên được đánh dấu: theo Quy định 96, dòng này không hợp lệ. Hãy xác nhận; nếu "
        "một dấu đã bị xoá rõ ràng thì chọn ô còn lại.",
        "Two or more boxes of this row are marked: under the rules this row is invalid. Confirm it; if one mark "
        "is clearly erased, record the other."), voids_row=True),
    _r("overvote", "row", ("Chọn quá số lượng", "Overvote"),
       ("chọn quá số lượng", "more marks than allowed"),
       ("Số ô được đánh dấu nhiều hơn số được phép chọn.", "More boxes are marked than the contest allows."),
       voids_row=True),
    _r("undervote", "row", ("Chọn chưa đủ số lượng", "Undervote"),
       ("chọn ít hơn số lượng tối thiểu", "fewer marks than required"),
       ("Số ô được đánh dấu ít hơn số bắt buộc phải chọn.", "Fewer boxes are marked than the contest requires."),
       voids_row=True),
    _r("mark-beside-box", "row", ("Dấu bên cạnh ô, không ở trong ô", "Mark next to the box, not inside it"),
       ("dấu bên cạnh ô, không ở trong ô", "mark next to the box, not inside it"),
       ("Có nét mực sát bên một ô (khoanh tròn quanh ô, đánh dấu ngay cạnh ô hoặc mũi tên chỉ vào ô) nhưng trong ô "
        "không có dấu. Hãy nhìn ảnh và ghi lại ý người bỏ phiếu.",
        "There is ink right next to a box (a ring round it, a mark beside it or an arrow to it) but none inside it. "
        "Look at the image and record what the voter meant."), to_review=True),
    _r("crossed-out-name", "row", ("Họ tên bị gạch xoá", "Name crossed out"),
       ("gạch xoá họ tên", "printed name crossed out"),
       ("Có nét gạch qua họ tên in sẵn: theo Quy định 96, dòng của người này không hợp lệ. Hãy nhìn ảnh phóng to "
        "để xác nhận.",
        "A line runs through the printed name: under the rules this person's row is invalid. Look at the zoomed "
        "image to confirm."), to_review=True, voids_row=True),
    _r("name-obscured", "sheet", ("Họ tên bị che hoặc bôi", "Name obscured"),
       ("họ tên bị che hoặc gạch mờ", "printed name covered or faintly crossed"),
       ("Có vệt rộng đè lên họ tên in sẵn (gạch bằng bút dạ, hoặc chỉ là nếp gấp, bóng mờ). Hãy xem và quyết định.",
        "A broad stroke covers the printed name (a felt-pen strike, or only a fold or shadow). Look and decide."),
       to_review=True),
    _r("extra-writing", "sheet", ("Có chữ viết thêm", "Writing on the sheet"),
       ("có viết thêm trên phiếu", "writing outside the boxes"),
       ("Có nét viết ngoài các ô (khung tím). Chữ ký được phép; ghi thêm tên hoặc nội dung khác thì Ban kiểm phiếu "
        "quyết định.",
        "There is writing outside the boxes (purple frame). A signature is allowed; added names or other content "
        "are for the committee to judge."), to_review=True),
    _r("writing-over-print", "sheet", ("Có nét viết đè lên chữ in", "Writing over the print"),
       ("nét viết đè lên chữ in", "writing over the print"),
       ("Có nét gạch hoặc viết đè lên chữ in sẵn (tên ứng cử viên, phương án, câu hỏi). Đó là nội dung viết thêm "
        "trên phiếu: Ban kiểm phiếu quyết định.",
        "A line or writing runs over printed text (a candidate's name, an option, a question). It is writing on "
        "the ballot: the committee decides."), to_review=True),
    _r("fold-over-boxes", "sheet", ("Nếp gấp đè lên ô", "Fold over boxes"),
       ("nếp gấp đè lên ô", "fold over boxes"),
       ("Bản quét đen trắng (1-bit) biến bóng của một nếp gấp thành vệt đen chạy qua các ô, nên điểm của các ô đó "
        "không đáng tin. Hãy nhìn ảnh hoặc quét lại ở chế độ xám.",
        "The black-and-white (1-bit) scan turned the shadow of a fold into a black bar across boxes, so their "
        "scores cannot be trusted. Look at the image, or rescan in grey."), to_review=True),
    _r("blank-sheet", "sheet", ("Phiếu trắng", "Blank sheet"),
       ("phiếu không đánh dấu", "nothing marked on the sheet"),
       ("Không có ô nào được đánh dấu và không có gì viết trên phiếu.",
        "No box is marked and nothing is written on the sheet."), to_review=True),
    _r("duplicate", "sheet", ("Có thể bị quét hai lần", "Possibly scanned twice"),
       ("có thể quét trùng", "possibly scanned twice"),
       ("Nét mực và mặt giấy của phiếu này giống một phiếu đã quét trước đó. So hai bản quét: nếu đúng là cùng "
        "một tờ phiếu, chỉ đếm một lần; nếu là hai phiếu khác nhau, đếm cả hai. Kết quả còn tạm tính cho đến khi "
        "quyết định.",
        "This sheet's ink and paper look like a sheet scanned earlier. Compare the two scans: if it is the same "
        "sheet, count it once; if they are two ballots, count both. The count stays provisional until then."),
       to_review=True),
    _r("streak-over-boxes", "sheet", ("Vệt máy quét đè lên ô", "Scanner streak over boxes"),
       ("vệt máy quét đi qua ô", "scanner streak across boxes"),
       ("Máy quét để lại một vệt đậm chạy qua các ô, nên điểm của các ô đó không đáng tin. Hãy nhìn ảnh và ghi "
        "lại lựa chọn.",
        "The scanner left a dark streak across boxes, so their scores cannot be trusted. Look at the image and "
        "record the choices."), to_review=True),
    _r("streak", "sheet", ("Vệt máy quét", "Scanner streak"), ("vệt máy quét", "scanner streak"),
       ("Máy quét để lại một vệt đậm (kính bẩn) nhưng không đè lên ô nào.",
        "The scanner left a dark streak (dirty glass) that crosses no box.")),
    _r("blurred", "sheet", ("Ảnh bị nhoè", "Blurred scan"), ("ảnh quét bị nhoè", "blurred scan"),
       ("Ảnh quét quá nhoè để tin kết quả máy đọc. Hãy so với phiếu giấy hoặc quét lại.",
        "The scan is too blurred to trust. Compare with the paper or scan it again."), to_review=True),
    _r("faint", "sheet", ("Ảnh quá nhạt", "Faint scan"), ("ảnh quét quá nhạt", "faint scan"),
       ("Ảnh quét quá nhạt để tin kết quả máy đọc. Hãy so với phiếu giấy hoặc quét lại.",
        "The scan is too faint to trust. Compare with the paper or scan it again."), to_review=True),
    _r("identified-by-print", "sheet", ("Không đọc được mã QR", "QR code unreadable"),
       ("không đọc được mã QR", "QR code unreadable"),
       ("Phiếu được nhận ra nhờ nội dung in, nhưng không kiểm tra được đây là phiếu chính thức do Ban kiểm phiếu "
        "phát ra. Hãy kiểm tra tờ phiếu giấy.",
        "The sheet was recognised by its print, but whether the committee issued it cannot be checked. Check the "
        "paper sheet."), to_review=True),
    _r("fiducial-missing", "sheet", ("Thiếu dấu định vị ở góc", "Corner mark missing"),
       ("thiếu một dấu định vị góc", "a corner marker missing"),
       ("Một dấu định vị ở góc phiếu bị che hoặc hỏng; phiếu vẫn được căn chỉnh bằng ba dấu còn lại.",
        "A corner mark is covered or damaged; the sheet was still aligned on the other three.")),
    _r("rejected", "sheet", ("Máy không đếm được phiếu này", "The machine cannot count this sheet"),
       ("không nhận dạng được", "not recognised"),
       ("Phiếu không nhận dạng được, không do Ban kiểm phiếu phát ra, hoặc không đọc được.",
        "The sheet could not be identified, was not issued by the committee, or could not be read.")),
)

# Cross-out election ballots (phiếu bầu, gạch tên): the reader's findings and the rules' verdicts.
# State: Luật Bầu cử ĐBQH và ĐB HĐND 2015, Điều 74 khoản 1; Party: Quy chế bầu cử trong Đảng (QĐ 190-QĐ/TW
# 2024, keeping QĐ 244-QĐ/TW 2014 Điều 17 on ballots). Each verdict's detail cites its rule.
_CROSSOUT_REASONS = (
    _r("strike-unclear", "row", ("Nét gạch không rõ", "Unclear strike"),
       ("nét gạch tên không rõ", "unclear strike through a name"),
       ("Có nét mực trên dòng tên này nhưng máy không chắc là gạch hết họ tên: gạch một phần, gạch dưới hoặc trên "
        "tên, nét nằm giữa hai dòng, khoanh tròn hoặc đánh dấu thay vì gạch. Hãy nhìn ảnh phóng to và ghi lại: "
        "tên bị gạch, hoặc không bị gạch.",
        "There is ink on this name's row but the machine is not sure it strikes out the whole name: part of it, a "
        "line under or over it, a stroke between two rows, a circle or a tick instead of a strike. Look at the "
        "zoomed image and record: struck out, or not struck out."), to_review=True),
    _r("strike-unclear-settled", "row", ("Nét gạch không rõ, không ảnh hưởng", "Unclear strike, no effect"),
       ("nét gạch không rõ nhưng không đổi kết quả", "unclear strike that changes nothing"),
       ("Nét gạch trên dòng này không rõ, nhưng dù đọc thế nào thì tờ phiếu vẫn không hợp lệ (lý do ghi bên "
        "cạnh): không cần quyết định.",
        "The strike on this row is unclear, but however it is read the ballot stays invalid (the reason is given "
        "next to it): nothing to decide.")),
    _r("too-many-left", "row", ("Để lại nhiều hơn số lượng được bầu", "More names left than seats"),
       ("để lại nhiều tên hơn số lượng được bầu", "more names left than the number to elect"),
       ("Số tên không bị gạch nhiều hơn số lượng được bầu ghi trên phiếu (kể cả phiếu không gạch tên nào): "
        "phiếu không hợp lệ (Luật Bầu cử Điều 74 khoản 1 điểm c; QĐ 244-QĐ/TW Điều 17).",
        "More names are left than the number to elect printed on the ballot (an untouched ballot too): the "
        "ballot is invalid (Election Law art. 74(1)(c); Party rules QĐ 244 art. 17)."), voids_row=True),
    _r("all-struck", "row", ("Gạch hết tên", "Every name struck"),
       ("gạch hết tên người ứng cử", "every candidate struck out"),
       ("Mọi tên trong danh sách đều bị gạch: phiếu không hợp lệ (Luật Bầu cử Điều 74 khoản 1 điểm d; trong Đảng, "
        "khi danh sách có số dư: QĐ 244-QĐ/TW Điều 17).",
        "Every name on the list is struck out: the ballot is invalid (Election Law art. 74(1)(d); in the Party, "
        "when the list has more candidates than seats: QĐ 244 art. 17)."), voids_row=True),
    _r("no-stamp", "row", ("Phiếu không có dấu", "Ballot without the stamp"),
       ("phiếu không có dấu của Tổ bầu cử", "no stamp of the election team"),
       ("Không thấy dấu của Tổ bầu cử ở góc trên bên trái: theo Luật Bầu cử Điều 74 khoản 1 điểm b, phiếu không "
        "hợp lệ. Nếu trên tờ phiếu giấy thật ra có dấu, hãy chọn \"phiếu hợp lệ\".",
        "No stamp of the election team in the top-left corner: under Election Law art. 74(1)(b) the ballot is "
        "invalid. If the paper ballot does bear the stamp, mark the sheet valid."), voids_row=True),
    _r("crossout-rule-review", "row", ("Quy chế yêu cầu xem xét", "The rules ask a person"),
       ("quy chế bầu cử yêu cầu Ban kiểm phiếu xem xét", "the election rules ask the committee to decide"),
       ("Phiếu để lại nhiều tên hơn số lượng được bầu (hoặc không gạch tên nào), và quy chế bầu cử của tổ chức "
        "giao cho Ban kiểm phiếu xem xét thay vì tự động coi là không hợp lệ. Hãy xem tờ phiếu: loại phiếu nếu "
        "không hợp lệ, hoặc chọn \"phiếu hợp lệ\" nếu quy chế cho phép.",
        "More names are left than the number to elect (or none struck), and the organisation's rules leave it "
        "to the committee instead of voiding it outright. Look at the ballot: reject it if it is invalid, or "
        "mark the sheet valid if the rules allow it."), to_review=True),
    _r("agree-no-vote", "row", ("Không tính phiếu cho người này", "No vote for this person"),
       ("đánh dấu cả hai ô hoặc không ô nào", "both boxes or neither marked"),
       ("Cả hai ô \"Đồng ý\" và \"Không đồng ý\" đều được đánh dấu, hoặc không ô nào: người này không được tính "
        "phiếu, tờ phiếu vẫn hợp lệ (QĐ 190-QĐ/TW Điều 30).",
        "Both \"Agree\" and \"Disagree\" are marked, or neither: this person gets no vote and the ballot stays "
        "valid (QĐ 190 art. 30).")),
    _r("stamp-absent", "sheet", ("Không thấy dấu", "No stamp seen"),
       ("không thấy dấu ở góc phiếu", "no stamp seen on the ballot"),
       ("Ảnh quét đủ rõ nhưng không thấy dấu ở góc trên bên trái. Nếu tờ phiếu giấy có dấu, chọn \"phiếu hợp "
        "lệ\"; nếu không có, loại phiếu (không hợp lệ).",
        "The scan is clear but shows no stamp in the top-left corner. If the paper ballot bears it, mark the "
        "sheet valid; if not, reject it (invalid)."), to_review=True),
    _r("stamp-unclear", "sheet", ("Không rõ có dấu hay không", "Stamp cannot be told"),
       ("không xác định được dấu", "stamp cannot be told from the scan"),
       ("Máy không xác định được có dấu hay không: dấu đỏ thành xám nhạt trên ảnh xám và có thể mất hẳn trên ảnh "
        "đen trắng (1-bit). Hãy xem tờ phiếu giấy: có dấu thì chọn \"phiếu hợp lệ\", không có thì loại phiếu. "
        "Nên quét phiếu bầu ở chế độ xám hoặc màu.",
        "The machine cannot tell whether the stamp is there: red ink is a pale grey on a grey scan and may vanish "
        "from a 1-bit one. Check the paper ballot: mark the sheet valid if it is stamped, reject it if not. Scan "
        "election ballots in grey or colour."), to_review=True),
)

# Codes the tally gives a row besides the reader's (a person's decision, a void ballot)
_TALLY_REASONS = (
    _r("decided-invalid", "row", ("Ban kiểm phiếu xác định không hợp lệ", "Declared invalid by the committee"),
       ("Ban kiểm phiếu xác định không hợp lệ", "declared invalid by the committee"),
       ("Người xem xét đã quyết định dòng này không hợp lệ.", "A reviewer decided this row is invalid."),
       voids_row=True),
    _r("ballot-page-missing", "row", ("Phiếu thiếu trang", "A page of the ballot missing"),
       ("thiếu một trang của phiếu", "a page of the ballot missing"),
       ("Danh sách của phiếu này in trên nhiều trang, nhưng không thấy các trang khác của phiếu liền bên nó, theo "
        "thứ tự trang, trong bản quét: chưa đếm được số tên để lại. Hãy quét lại cả tờ phiếu, hoặc loại phiếu "
        "(không hợp lệ) nếu thật sự thiếu trang.",
        "This ballot's list is printed on several pages, but a page was not found next to it, in page order, in "
        "the scan: the names left cannot be counted. Rescan the whole ballot, or reject it (invalid) if a page is "
        "truly missing."), to_review=True),
    _r("ballot-invalid", "row", ("Cả tờ phiếu không hợp lệ", "The whole ballot invalid"),
       ("cả tờ phiếu không hợp lệ", "the whole ballot invalid"),
       ("Tờ phiếu không hợp lệ, nên mọi dòng của nó không hợp lệ.",
        "The ballot is invalid, so every row on it is invalid."), voids_row=True),
)

REASONS: dict[str, ReasonCode] = {r.code: r for r in _READER_REASONS + _CROSSOUT_REASONS + _TALLY_REASONS}

# A crossed-out name is said of its row and, naming the row, of the sheet: both send it to a person
SHEET_REVIEW_CODES = frozenset({r.code for r in _READER_REASONS + _CROSSOUT_REASONS
                                if r.scope == "sheet" and r.to_review} | {"crossed-out-name"})
ROW_REVIEW_CODES = frozenset(r.code for r in _READER_REASONS + _CROSSOUT_REASONS if r.scope == "row" and r.to_review)
CROSSOUT_VERDICT_CODES = ("no-stamp", "too-many-left", "all-struck")  # the rules that void a cross-out ballot
ROW_INVALID_CODES = frozenset(r.code for r in REASONS.values() if r.voids_row)
RULE_INVALID_CODES = frozenset({"no-mark", "several-marks", "overvote", "undervote"})  # the contest rules' own


# Why a sheet was rejected by the reader: a typed kind, never read from the message
NOT_REGISTERED, NOT_IDENTIFIED, WRONG_PAGE = "not-registered", "not-identified", "wrong-page"
REJECTIONS: dict[str, Words] = {
    NOT_REGISTERED: Words("không tìm thấy các dấu định vị góc", "the corner marks could not be found"),
    NOT_IDENTIFIED: Words("không nhận ra mẫu phiếu", "the ballot design could not be identified"),
    NOT_ISSUED: Words("không do Ban kiểm phiếu phát ra", "not issued by the counting committee"),
    WRONG_PAGE: Words("mã QR không khớp với trang của mẫu phiếu", "the QR code does not match the template's pages"),
}
# A rejected sheet is out of the count as "not issued" (an invalid ballot) or "unreadable" (rescan)
REJECTION_OUTCOME = {NOT_REGISTERED: UNREADABLE, NOT_IDENTIFIED: UNREADABLE, NOT_ISSUED: NOT_ISSUED,
                     WRONG_PAGE: NOT_ISSUED}


# The verdict on a sheet in the minutes' list, and why it is out of the count
OUTCOME_WORDS: dict[str, Words] = {
    COUNTED: Words("Được kiểm", "Counted"),
    DUPLICATE: Words("Không tính lại", "Not counted again"),
    TEST: Words("Không tính", "Never counted"),
    NOT_ISSUED: Words("Không hợp lệ", "Invalid"),
    UNREADABLE: Words("Chưa kiểm được: cần quét lại", "Not counted yet: rescan"),
    REJECTED_BY_REVIEWER: Words("Không hợp lệ (Ban kiểm phiếu loại)", "Invalid (rejected by the committee)"),
    SET_ASIDE: Words("Để riêng: không phải phiếu", "Set aside: not a ballot"),
    PENDING: Words("Được kiểm, CHỜ XEM XÉT", "Counted, AWAITING REVIEW"),
    "reviewed": Words("Được kiểm (đã xem xét)", "Counted (reviewed)"),
}
OUTCOME_REASONS: dict[str, Words] = {
    DUPLICATE: Words("quét trùng", "scanned twice"),
    TEST: Words("phiếu thử (test deck)", "test-deck sheet"),
    NOT_ISSUED: Words("không do Ban kiểm phiếu phát ra", "not issued by the counting committee"),
    UNREADABLE: Words("máy không nhận dạng được trang này", "the machine could not recognise this page"),
    SET_ASIDE: Words("máy không nhận dạng được trang này", "the machine could not recognise this page"),
}


# What a reviewer may give as the reason a row is invalid, or a whole sheet rejected (stored as the code)
ROW_INVALID_CHOICES: dict[str, Words] = {
    "no-mark": Words("Không đánh dấu ô nào", "No box marked"),
    "several-marks": Words("Đánh dấu nhiều ô", "Several boxes marked"),
    "overvote": Words("Chọn quá số lượng", "Overvote"),
    "undervote": Words("Chọn chưa đủ số lượng", "Undervote"),
    "crossed-out-name": Words("Họ tên bị gạch xoá", "Name crossed out"),
    "unclear-mark": Words("Không xác định được ý người bỏ phiếu", "The voter's intent cannot be told"),
    "other": Words("Lý do khác (ghi trong phần ghi chú)", "Other (explained in the note)"),
}
SHEET_REJECT_CHOICES: dict[str, Words] = {
    "not-issued": Words("Không phải phiếu do Ban kiểm phiếu phát ra", "Not issued by the counting committee"),
    "duplicate": Words("Cùng một phiếu bị quét hai lần", "The same sheet scanned twice"),
    "added-content": Words("Ghi thêm tên hoặc nội dung khác", "Names or other content added"),
    "unreadable": Words("Phiếu rách, hỏng, không đọc được", "Torn, damaged or unreadable"),
    "test-sheet": Words("Phiếu thử, không phải phiếu bầu", "A test sheet, not a ballot"),
    "no-stamp": Words("Phiếu bầu không có dấu", "An election ballot without the stamp"),
    "other": Words("Lý do khác (ghi trong phần ghi chú)", "Other (explained in the note)"),
}
# A sheet a person rejects for one of these reasons is no ballot at all (a copy, a test sheet), as when
# the machine finds it, not an invalid ballot (which the reconciliation would count)
PERSON_REJECTION_OUTCOME = {"duplicate": DUPLICATE, "test-sheet": TEST}

# The reviewer's reasons as the minutes say them, inside a sentence
DECISION_PHRASES: dict[str, Words] = {
    "not-issued": Words("không do Ban kiểm phiếu phát ra", "not issued by the committee"),
    "duplicate": Words("cùng một tờ quét hai lần, chỉ đếm một lần", "the same sheet scanned twice, counted once"),
    "added-content": Words("ghi thêm tên hoặc nội dung khác", "names or other content added"),
    "unreadable": Words("phiếu rách, hỏng, không đọc được", "torn, damaged or unreadable"),
    "test-sheet": Words("phiếu thử, không phải phiếu bầu", "a test sheet, not a ballot"),
    "unclear-mark": Words("không xác định được ý người bỏ phiếu", "the voter's intent cannot be told"),
    "other": Words("lý do khác (xem ghi chú)", "other reason (see the note)"),
}


# What does not add up in the reconciliation (titles; the minutes word each one as a sentence)
ERROR, WARNING = "error", "warning"
DISCREPANCIES: dict[str, Words] = {
    "missing": Words("Thiếu phiếu so với số phiếu thu về", "Ballots missing"),
    "extra": Words("Thừa phiếu so với số phiếu thu về", "More sheets than ballots collected"),
    "incomplete-ballot": Words("Phiếu thiếu trang", "Ballot pages missing"),
    "ballot-page-missing": Words("Phiếu bầu thiếu trang, chưa kết luận được",
                                 "A ballot scanned without one of its pages"),
    "duplicate": Words("Phiếu bị quét hai lần (chỉ đếm một lần)", "Sheets scanned twice (counted once)"),
    "test-deck": Words("Có phiếu thử lẫn trong phiếu bầu", "Test-deck sheets among the ballots"),
    "not-issued": Words("Phiếu không do Ban kiểm phiếu phát ra", "Sheets not issued by the committee"),
    "unreadable": Words("Trang không đọc được", "Pages that could not be read"),
    "page-failure": Words("Tệp hoặc trang quét bị lỗi", "Files or pages that failed"),
    "collected-unknown": Words("Chưa nhập số phiếu thu về", "Ballots collected not given"),
    "collected-over-issued": Words("Số phiếu thu về nhiều hơn số phát ra", "More collected than issued"),
    "collected-over-present": Words("Số phiếu thu về nhiều hơn số người có mặt",
                                    "More collected than members present"),
    "issued-over-present": Words("Số phiếu phát ra nhiều hơn số người có mặt", "More issued than present"),
    "quorum": Words("Không đủ 2/3 số người được triệu tập có mặt", "Fewer than 2/3 of those convened present"),
    "scan-running": Words("Đang có lượt quét chưa xong", "A scan is still running"),
    "batch-mismatch": Words("Số phiếu của lô không khớp số đếm tay", "A batch does not match its hand count"),
    "batch-unlisted": Words("Lô chưa có số đếm tay", "A batch without a hand count"),
}


def reason_phrase(code: str, lang: str) -> str:
    """A reason in a sentence or list; a code from elsewhere (a test, a sheet outcome) as itself."""
    r = REASONS.get(code)
    if r is not None:
        return r.phrase(lang)
    if code in REJECTIONS:
        return REJECTIONS[code](lang)
    if code in OUTCOME_REASONS:
        return OUTCOME_REASONS[code](lang)
    return {"test": Words("phiếu thử", "test-deck sheet"), "review": Words("cần xem xét", "needs review")}.get(
        code, Words(code, code))(lang)


def decision_reason_words(code: str, lang: str) -> str:
    """A stored decision reason (a code from the reviewer's lists, or free text) in words."""
    for table in (ROW_INVALID_CHOICES, SHEET_REJECT_CHOICES):
        if code in table:
            return table[code](lang)
    if code in REASONS:
        return REASONS[code].title(lang)
    return code


def decision_reason_phrase(code: str, lang: str) -> str:
    """A reviewer's reason in a sentence of the minutes (free text as it was typed)."""
    words = DECISION_PHRASES.get(code)
    return words(lang) if words else reason_phrase(code, lang)
