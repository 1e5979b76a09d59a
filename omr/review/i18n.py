"""Words of the review screen in Vietnamese and English: labels, and every reason code in plain words.

A reason code (``Reason.code``) is stable; what it means to a committee member, and what they are
expected to do about it, is written here once per language. Unknown codes are shown as they are.
"""

from __future__ import annotations

LANGS = ("vi", "en")

MESSAGES: dict[str, dict[str, str]] = {
    "app_title": {"vi": "Xem xét phiếu", "en": "Ballot review"},
    "app_subtitle": {"vi": "Ban kiểm phiếu — những phiếu máy chưa quyết định được",
                     "en": "Counting committee — the sheets the machine could not decide"},
    "nav_queue": {"vi": "Danh sách chờ", "en": "Review queue"},
    "nav_results": {"vi": "Kết quả", "en": "Results"},
    "lang_switch": {"vi": "English", "en": "Tiếng Việt"},
    "awaiting": {"vi": "Chờ xem xét", "en": "Awaiting review"},
    "decided": {"vi": "Đã xem xét xong", "en": "Reviewed"},
    "all_flagged": {"vi": "Tất cả phiếu cần xem xét", "en": "All flagged sheets"},
    "sheets_read": {"vi": "Số phiếu máy đã đọc", "en": "Sheets read by the machine"},
    "sheets_ok": {"vi": "Phiếu máy đọc được hoàn toàn", "en": "Sheets read without doubt"},
    "start_review": {"vi": "Bắt đầu xem xét", "en": "Start reviewing"},
    "continue_review": {"vi": "Xem phiếu tiếp theo đang chờ", "en": "Next sheet awaiting review"},
    "nothing_awaiting": {"vi": "Không còn phiếu nào chờ xem xét.", "en": "No sheet awaits review."},
    "filter_reason": {"vi": "Lọc theo lý do", "en": "Filter by reason"},
    "filter_all": {"vi": "Mọi lý do", "en": "All reasons"},
    "show": {"vi": "Hiển thị", "en": "Show"},
    "col_sheet": {"vi": "Phiếu", "en": "Sheet"},
    "col_file": {"vi": "Tệp quét, trang", "en": "Scan file, page"},
    "col_reasons": {"vi": "Lý do", "en": "Reasons"},
    "col_state": {"vi": "Tình trạng", "en": "State"},
    "open": {"vi": "Mở", "en": "Open"},
    "page_n": {"vi": "trang {n}", "en": "page {n}"},
    "state_awaiting": {"vi": "Chờ xem xét", "en": "Awaiting"},
    "state_decided": {"vi": "Đã xem xét", "en": "Reviewed"},
    "state_rejected": {"vi": "Đã loại", "en": "Rejected"},
    "test_sheet": {"vi": "PHIẾU THỬ (không đếm)", "en": "TEST SHEET (not counted)"},
    "no_sheets_match": {"vi": "Không có phiếu nào khớp bộ lọc này.", "en": "No sheet matches this filter."},
    # sheet screen
    "sheet_of": {"vi": "Phiếu {i} / {n}", "en": "Sheet {i} of {n}"},
    "prev": {"vi": "Phiếu trước", "en": "Previous"},
    "next": {"vi": "Phiếu sau", "en": "Next"},
    "back_to_queue": {"vi": "Về danh sách", "en": "Back to the queue"},
    "view_registered": {"vi": "Ảnh phiếu (đã căn chỉnh, có chấm điểm)", "en": "Sheet (aligned, with scores)"},
    "view_original": {"vi": "Bản quét gốc", "en": "Original scan"},
    "open_full": {"vi": "Mở ảnh cỡ lớn", "en": "Open full size"},
    "legend": {"vi": "Khung xanh: ô đã đánh dấu · khung cam: dấu không rõ · khung xám: ô trống · "
                     "khung tím: chỗ máy phát hiện · số: tỉ lệ mực trong ô",
               "en": "Green: marked box · orange: unclear mark · grey: empty box · purple: what the machine "
                     "found · number: share of the box covered by ink"},
    "no_image": {"vi": "Không có ảnh phiếu: {why}", "en": "No sheet image: {why}"},
    "reviewer": {"vi": "Họ tên người xem xét (bắt buộc)", "en": "Reviewer's name (required)"},
    "reviewer_ph": {"vi": "Ví dụ: Nguyễn Văn A", "en": "e.g. Jane Smith"},
    "note": {"vi": "Ghi chú (không bắt buộc)", "en": "Note (optional)"},
    "reviewer_missing": {"vi": "Hãy nhập họ tên người xem xét trước khi quyết định.",
                         "en": "Enter the reviewer's name before deciding."},
    "why_review": {"vi": "Vì sao cần xem xét", "en": "Why a person must look"},
    "zoom": {"vi": "Phóng to chỗ cần xem", "en": "Zoom on the place concerned"},
    "technical": {"vi": "Chi tiết của máy", "en": "Machine detail"},
    "whole_sheet": {"vi": "Cả phiếu", "en": "Whole sheet"},
    "sheet_decision": {"vi": "Quyết định cho cả phiếu", "en": "Decision on the whole sheet"},
    "accept_sheet": {"vi": "Phiếu hợp lệ — tiếp tục đếm", "en": "Valid ballot — keep counting it"},
    "accept_sheet_help": {"vi": "Những điểm nêu trên không làm phiếu mất hiệu lực (ví dụ: chữ ký được phép). "
                                "Các dòng máy đã đọc là không hợp lệ được giữ như máy đọc, trừ dòng bạn quyết định "
                                "riêng; dấu không rõ vẫn phải quyết định từng dòng.",
                          "en": "The findings above do not void the ballot (a signature, for example, is allowed). "
                                "Rows the machine read as invalid stay as read unless you decide them one by one; "
                                "unclear marks must still be decided row by row."},
    "kept_by_sheet": {"vi": "Giữ kết quả máy đọc (khi chấp nhận cả phiếu)",
                      "en": "Machine read kept (the sheet was accepted)"},
    "reject_sheet": {"vi": "Loại cả phiếu (không hợp lệ)", "en": "Reject the whole sheet (not a valid ballot)"},
    "reject_reason": {"vi": "Lý do loại phiếu", "en": "Why the sheet is rejected"},
    "confirm_reject": {"vi": "Xác nhận loại phiếu", "en": "Confirm: not a valid ballot"},
    "rejected_machine": {"vi": "Máy không thể đếm phiếu này. Hãy xác nhận loại; nếu phiếu giấy là phiếu hợp lệ, "
                               "hãy quét lại phiếu đó.",
                         "en": "The machine cannot count this sheet. Confirm the rejection; if the paper ballot "
                               "is valid, scan it again."},
    "rows_to_decide": {"vi": "Các dòng cần quyết định", "en": "Rows to decide"},
    "other_rows": {"vi": "Các dòng khác (máy đọc hợp lệ): {n}", "en": "Other rows (read as valid): {n}"},
    "machine_read": {"vi": "Máy đọc", "en": "Machine read"},
    "nothing_marked": {"vi": "không có ô nào được đánh dấu", "en": "no box marked"},
    "accept_row": {"vi": "Giữ kết quả máy đọc", "en": "Keep the machine read"},
    "set_row": {"vi": "Người bỏ phiếu đã chọn:", "en": "The voter chose:"},
    "save_choice": {"vi": "Lưu lựa chọn đã đánh dấu", "en": "Save the ticked choices"},
    "invalid_row": {"vi": "Dòng này không hợp lệ", "en": "This row is invalid"},
    "invalid_reason": {"vi": "Lý do không hợp lệ", "en": "Why it is invalid"},
    "decision_now": {"vi": "Quyết định hiện tại", "en": "Decision in force"},
    "no_decision": {"vi": "Chưa quyết định", "en": "Not decided yet"},
    "revise": {"vi": "Có thể sửa bằng cách chọn lại bên dưới.", "en": "Choose again below to revise it."},
    "history": {"vi": "Lịch sử quyết định của phiếu này", "en": "Decision history of this sheet"},
    "history_none": {"vi": "Chưa có quyết định nào. Kết quả máy đọc được giữ nguyên, không bao giờ bị ghi đè.",
                     "en": "No decision yet. The machine read is kept as it is and never overwritten."},
    "h_when": {"vi": "Lúc", "en": "When"},
    "h_who": {"vi": "Người xem xét", "en": "Reviewer"},
    "h_what": {"vi": "Dòng / phiếu", "en": "Row / sheet"},
    "h_decision": {"vi": "Quyết định", "en": "Decision"},
    "h_machine": {"vi": "Máy đã đọc", "en": "Machine read"},
    "h_note": {"vi": "Ghi chú", "en": "Note"},
    "superseded": {"vi": "đã được sửa", "en": "revised later"},
    "saved": {"vi": "Đã lưu quyết định.", "en": "Decision saved."},
    "sheet_done": {"vi": "Đã xem xét xong phiếu {name}.", "en": "Sheet {name} is reviewed."},
    "shortcuts": {"vi": "Phím tắt", "en": "Keyboard shortcuts"},
    "shortcuts_text": {
        "vi": "↑/↓: chọn dòng · A: giữ kết quả máy · 1, 2, 3…: chọn ô · X: dòng không hợp lệ · "
              "S: phiếu hợp lệ · R: loại phiếu · N hoặc →: phiếu sau · P hoặc ←: phiếu trước · O: bản quét gốc",
        "en": "↑/↓: pick a row · A: keep the machine read · 1, 2, 3…: choose a box · X: row invalid · "
              "S: valid ballot · R: reject sheet · N or →: next sheet · P or ←: previous sheet · O: original scan"},
    "duplicate_of": {"vi": "Xem phiếu đã quét trước", "en": "See the earlier scan"},
    "status_ok": {"vi": "máy đọc được", "en": "read"},
    "status_valid": {"vi": "hợp lệ", "en": "valid"},
    "status_invalid": {"vi": "không hợp lệ", "en": "invalid"},
    "status_review": {"vi": "cần xem xét", "en": "needs review"},
    "status_rejected": {"vi": "máy loại", "en": "rejected by the machine"},
    "template": {"vi": "Mẫu phiếu", "en": "Ballot template"},
    # decisions in words
    "d_accept": {"vi": "Giữ kết quả máy đọc", "en": "Machine read kept"},
    "d_set": {"vi": "Đặt lựa chọn: {choices}", "en": "Choice set: {choices}"},
    "d_invalid": {"vi": "Không hợp lệ: {reason}", "en": "Invalid: {reason}"},
    "d_accept_sheet": {"vi": "Phiếu hợp lệ", "en": "Valid ballot"},
    "d_reject_sheet": {"vi": "Loại phiếu: {reason}", "en": "Sheet rejected: {reason}"},
    "none_chosen": {"vi": "không chọn ô nào", "en": "no box"},
    # results
    "results_title": {"vi": "Kết quả kiểm phiếu", "en": "Count results"},
    "provisional": {"vi": "TẠM THỜI — còn {n} phiếu chờ xem xét", "en": "PROVISIONAL — {n} sheet(s) await review"},
    "provisional_plain": {"vi": "TẠM THỜI — còn phiếu chờ xem xét", "en": "PROVISIONAL — sheets await review"},
    "final": {"vi": "Đã xem xét hết các phiếu: kết quả này không còn phụ thuộc việc xem xét",
              "en": "Every flagged sheet is reviewed: no review is pending"},
    "tally_missing": {"vi": "Chức năng tổng hợp kết quả (omr/tally.py) chưa có trong bản cài đặt này.",
                      "en": "The tally (omr/tally.py) is not part of this installation yet."},
    "tally_failed": {"vi": "Không tính được kết quả: {why}", "en": "The tally could not be computed: {why}"},
    "reconciliation": {"vi": "Đối chiếu số phiếu", "en": "Reconciliation"},
    "to_confirm": {"vi": "Còn {n} tờ chờ xác nhận (quét trùng hoặc máy không đọc được): không làm thay đổi kết quả "
                         "đếm, nhưng Ban kiểm phiếu nên xác nhận.",
                   "en": "{n} sheet(s) still await confirmation (copies or unreadable sheets): they do not change the "
                         "count, but the committee should confirm them."},
    "pct_of_collected": {"vi": "Tỉ lệ phần trăm tính trên {n} phiếu thu về.",
                         "en": "Percentages of the {n} ballots collected."},
    "pct_of_counted": {"vi": "Chưa nhập số phiếu thu về: tỉ lệ phần trăm tạm tính trên {n} phiếu đã đếm.",
                       "en": "Ballots collected not given: percentages of the {n} ballots counted, for now."},
    "r_pending": {"vi": "Chờ xem xét", "en": "Awaiting review"},
    "band_may_change": {"vi": "(có thể thay đổi khi xem xét xong)", "en": "(may change once reviewed)"},
    "quorum": {"vi": "Số người có mặt / được triệu tập", "en": "Present / convened"},
    "quorum_ok": {"vi": "đủ 2/3", "en": "at least 2/3"},
    "quorum_not_met": {"vi": "KHÔNG đủ 2/3", "en": "LESS than 2/3"},
    "discrepancies": {"vi": "Những điểm chưa khớp", "en": "What does not add up"},
    "no_discrepancy": {"vi": "Không có điểm nào chưa khớp.", "en": "Everything adds up."},
    "counts_form": {"vi": "Số liệu do Ban kiểm phiếu đếm tay (không bắt buộc)",
                    "en": "Numbers counted by hand by the committee (optional)"},
    "issued": {"vi": "Số phiếu phát ra", "en": "Ballots issued"},
    "collected": {"vi": "Số phiếu thu về", "en": "Ballots collected"},
    "convened": {"vi": "Số người được triệu tập", "en": "Members convened"},
    "present": {"vi": "Số người có mặt", "en": "Members present"},
    "recompute": {"vi": "Tính lại", "en": "Recompute"},
    "r_name": {"vi": "Họ tên / nội dung", "en": "Name / question"},
    "r_valid": {"vi": "Hợp lệ", "en": "Valid"},
    "r_invalid": {"vi": "Không hợp lệ", "en": "Invalid"},
    "r_band": {"vi": "Mức tín nhiệm thấp", "en": "Low-confidence band"},
    "band_none": {"vi": "—", "en": "—"},
    "band_over_half": {"vi": "Trên 1/2 tín nhiệm thấp", "en": "More than 1/2 low confidence"},
    "band_two_thirds": {"vi": "Từ 2/3 trở lên tín nhiệm thấp", "en": "2/3 or more low confidence"},
    "contest": {"vi": "Nội dung bầu", "en": "Contest"},
    # errors
    "error_title": {"vi": "Không thực hiện được", "en": "That did not work"},
    "error_back": {"vi": "Quay lại danh sách", "en": "Back to the queue"},
}

# Reason codes: a short title, what it means, and what the reviewer is expected to do.
REASONS: dict[str, dict[str, tuple[str, str]]] = {
    "marginal-mark": {
        "vi": ("Dấu không rõ", "Một ô có vết mực quá nhẹ hoặc quá nhỏ để máy kết luận đã được đánh dấu hay chưa "
                               "(khung cam). Hãy nhìn ảnh phóng to và chọn đúng ý người bỏ phiếu."),
        "en": ("Unclear mark", "A box holds too little ink for the machine to say whether it is marked (orange "
                               "frame). Look at the zoomed image and record what the voter chose."),
    },
    "no-mark": {
        "vi": ("Không đánh dấu ô nào", "Dòng này không có ô nào được đánh dấu: theo Quy định 96, dòng này không "
                                       "hợp lệ. Hãy xác nhận, hoặc chọn ô nếu thật ra có dấu."),
        "en": ("No box marked", "No box of this row is marked: under the rules this row is invalid. Confirm it, "
                                "or record the choice if there is a mark after all."),
    },
    "several-marks": {
        "vi": ("Đánh dấu nhiều ô", "Dòng này có từ hai ô trở lên được đánh dấu: theo Quy định 96, dòng này không "
                                   "hợp lệ. Hãy xác nhận; nếu một dấu đã bị xoá rõ ràng thì chọn ô còn lại."),
        "en": ("Several boxes marked", "Two or more boxes of this row are marked: under the rules this row is "
                                       "invalid. Confirm it; if one mark is clearly erased, record the other."),
    },
    "overvote": {
        "vi": ("Chọn quá số lượng", "Số ô được đánh dấu nhiều hơn số được phép chọn."),
        "en": ("Overvote", "More boxes are marked than the contest allows."),
    },
    "undervote": {
        "vi": ("Chọn chưa đủ số lượng", "Số ô được đánh dấu ít hơn số bắt buộc phải chọn."),
        "en": ("Undervote", "Fewer boxes are marked than the contest requires."),
    },
    "crossed-out-name": {
        "vi": ("Họ tên bị gạch xoá", "Có nét gạch qua họ tên in sẵn: theo Quy định 96, dòng của người này không "
                                     "hợp lệ. Hãy nhìn ảnh phóng to để xác nhận."),
        "en": ("Name crossed out", "A line runs through the printed name: under the rules this person's row is "
                                  "invalid. Look at the zoomed image to confirm."),
    },
    "name-obscured": {
        "vi": ("Họ tên bị che hoặc bôi", "Có vệt rộng đè lên họ tên in sẵn (gạch bằng bút dạ, hoặc chỉ là nếp "
                                         "gấp, bóng mờ). Hãy xem và quyết định."),
        "en": ("Name obscured", "A broad stroke covers the printed name (a felt-pen strike, or only a fold or "
                                "shadow). Look and decide."),
    },
    "extra-writing": {
        "vi": ("Có chữ viết thêm", "Có nét viết ngoài các ô (khung tím). Chữ ký được phép; ghi thêm tên hoặc nội "
                                   "dung khác thì Ban kiểm phiếu quyết định."),
        "en": ("Writing on the sheet", "There is writing outside the boxes (purple frame). A signature is allowed; "
                                       "added names or other content are for the committee to judge."),
    },
    "mark-beside-box": {
        "vi": ("Dấu bên cạnh ô, không ở trong ô", "Có nét mực sát bên một ô (khoanh tròn quanh ô, đánh dấu ngay "
                                                  "cạnh ô hoặc mũi tên chỉ vào ô) nhưng trong ô không có dấu. Hãy "
                                                  "nhìn ảnh và ghi lại ý người bỏ phiếu."),
        "en": ("Mark next to the box, not inside it", "There is ink right next to a box (a ring round it, a mark "
                                                      "beside it or an arrow to it) but none inside it. Look at the "
                                                      "image and record what the voter meant."),
    },
    "writing-over-print": {
        "vi": ("Có nét viết đè lên chữ in", "Có nét gạch hoặc viết đè lên chữ in sẵn (tên ứng cử viên, phương án, "
                                            "câu hỏi). Đó là nội dung viết thêm trên phiếu: Ban kiểm phiếu quyết "
                                            "định."),
        "en": ("Writing over the print", "A line or writing runs over printed text (a candidate's name, an option, "
                                         "a question). It is writing on the ballot: the committee decides."),
    },
    "blank-sheet": {
        "vi": ("Phiếu trắng", "Không có ô nào được đánh dấu và không có gì viết trên phiếu."),
        "en": ("Blank sheet", "No box is marked and nothing is written on the sheet."),
    },
    "duplicate": {
        "vi": ("Có thể bị quét hai lần", "Nét mực và mặt giấy của phiếu này giống một phiếu đã quét trước đó. Hãy so "
                                         "hai ảnh: nếu đúng là cùng một tờ phiếu, hãy loại bản quét này (chỉ đếm "
                                         "một lần); nếu là hai phiếu khác nhau, hãy chấp nhận (đếm cả hai). Kết quả "
                                         "còn tạm tính cho đến khi quyết định."),
        "en": ("Possibly scanned twice", "This sheet's ink and paper look like a sheet scanned earlier. Compare the "
                                         "two images: if it is the same sheet, reject this copy (it counts once); if "
                                         "they are two ballots, accept it (both count). The count stays "
                                         "provisional until then."),
    },
    "streak-over-boxes": {
        "vi": ("Vệt máy quét đè lên ô", "Máy quét để lại một vệt đậm chạy qua các ô, nên điểm của các ô đó không "
                                        "đáng tin. Hãy nhìn ảnh và ghi lại lựa chọn."),
        "en": ("Scanner streak over boxes", "The scanner left a dark streak across boxes, so their scores cannot "
                                            "be trusted. Look at the image and record the choices."),
    },
    "fold-over-boxes": {
        "vi": ("Nếp gấp đè lên ô", "Bản quét đen trắng (1-bit) biến bóng của một nếp gấp thành vệt đen chạy qua "
                                   "các ô, nên điểm của các ô đó không đáng tin. Hãy nhìn ảnh hoặc quét lại ở chế "
                                   "độ xám."),
        "en": ("Fold over boxes", "The black-and-white (1-bit) scan turned the shadow of a fold into a black bar "
                                  "across boxes, so their scores cannot be trusted. Look at the image, or rescan "
                                  "in grey."),
    },
    "streak": {
        "vi": ("Vệt máy quét", "Máy quét để lại một vệt đậm (kính bẩn) nhưng không đè lên ô nào."),
        "en": ("Scanner streak", "The scanner left a dark streak (dirty glass) that crosses no box."),
    },
    "blurred": {
        "vi": ("Ảnh bị nhoè", "Ảnh quét quá nhoè để tin kết quả máy đọc. Hãy so với phiếu giấy hoặc quét lại."),
        "en": ("Blurred scan", "The scan is too blurred to trust. Compare with the paper or scan it again."),
    },
    "faint": {
        "vi": ("Ảnh quá nhạt", "Ảnh quét quá nhạt để tin kết quả máy đọc. Hãy so với phiếu giấy hoặc quét lại."),
        "en": ("Faint scan", "The scan is too faint to trust. Compare with the paper or scan it again."),
    },
    "identified-by-print": {
        "vi": ("Không đọc được mã QR", "Phiếu được nhận ra nhờ nội dung in, nhưng không kiểm tra được đây là phiếu "
                                       "chính thức do Ban kiểm phiếu phát ra. Hãy kiểm tra tờ phiếu giấy."),
        "en": ("QR code unreadable", "The sheet was recognised by its print, but whether the committee issued it "
                                     "cannot be checked. Check the paper sheet."),
    },
    "fiducial-missing": {
        "vi": ("Thiếu dấu định vị ở góc", "Một dấu định vị ở góc phiếu bị che hoặc hỏng; phiếu vẫn được căn chỉnh "
                                          "bằng ba dấu còn lại."),
        "en": ("Corner mark missing", "A corner mark is covered or damaged; the sheet was still aligned on the "
                                      "other three."),
    },
    "rejected": {
        "vi": ("Máy không đếm được phiếu này", "Phiếu không nhận dạng được, không do Ban kiểm phiếu phát ra, "
                                               "hoặc không đọc được."),
        "en": ("The machine cannot count this sheet", "The sheet could not be identified, was not issued by the "
                                                      "committee, or could not be read."),
    },
}

# What a reviewer may give as the reason a row is invalid (stored as the code).
ROW_INVALID_REASONS: dict[str, dict[str, str]] = {
    "no-mark": {"vi": "Không đánh dấu ô nào", "en": "No box marked"},
    "several-marks": {"vi": "Đánh dấu nhiều ô", "en": "Several boxes marked"},
    "overvote": {"vi": "Chọn quá số lượng", "en": "Overvote"},
    "undervote": {"vi": "Chọn chưa đủ số lượng", "en": "Undervote"},
    "crossed-out-name": {"vi": "Họ tên bị gạch xoá", "en": "Name crossed out"},
    "unclear-mark": {"vi": "Không xác định được ý người bỏ phiếu", "en": "The voter's intent cannot be told"},
    "other": {"vi": "Lý do khác (ghi trong phần ghi chú)", "en": "Other (explained in the note)"},
}

# What a reviewer may give as the reason a whole sheet is rejected (stored as the code).
SHEET_REJECT_REASONS: dict[str, dict[str, str]] = {
    "not-issued": {"vi": "Không phải phiếu do Ban kiểm phiếu phát ra", "en": "Not issued by the counting committee"},
    "duplicate": {"vi": "Cùng một phiếu bị quét hai lần", "en": "The same sheet scanned twice"},
    "added-content": {"vi": "Ghi thêm tên hoặc nội dung khác", "en": "Names or other content added"},
    "unreadable": {"vi": "Phiếu rách, hỏng, không đọc được", "en": "Torn, damaged or unreadable"},
    "test-sheet": {"vi": "Phiếu thử, không phải phiếu bầu", "en": "A test sheet, not a ballot"},
    "other": {"vi": "Lý do khác (ghi trong phần ghi chú)", "en": "Other (explained in the note)"},
}


RECONCILIATION: dict[str, dict[str, str]] = {
    "issued": {"vi": "Số phiếu phát ra", "en": "Ballots issued"},
    "collected": {"vi": "Số phiếu thu về", "en": "Ballots collected"},
    "sheets read": {"vi": "Số tờ máy đã đọc", "en": "Sheets read"},
    "sheets_read": {"vi": "Số tờ máy đã đọc", "en": "Sheets read"},
    "valid sheets": {"vi": "Số phiếu hợp lệ", "en": "Valid sheets"},
    "valid_sheets": {"vi": "Số phiếu hợp lệ", "en": "Valid sheets"},
    "rejected": {"vi": "Số tờ bị loại", "en": "Rejected sheets"},
    "ballots_counted": {"vi": "Số phiếu được đếm", "en": "Ballots counted"},
    "invalid_ballots": {"vi": "Số phiếu không hợp lệ (cả phiếu)", "en": "Invalid ballots (whole sheet)"},
    "test_sheets": {"vi": "Số tờ phiếu thử", "en": "Test-deck sheets"},
    "pending_review": {"vi": "Số tờ còn chờ xem xét", "en": "Sheets awaiting review"},
    "duplicates": {"vi": "Số tờ quét trùng", "en": "Duplicates"},
    "missing": {"vi": "Số phiếu thiếu", "en": "Missing"},
    "extra": {"vi": "Số tờ thừa", "en": "Extra"},
}


DISCREPANCIES: dict[str, dict[str, str]] = {
    "missing": {"vi": "Thiếu phiếu so với số phiếu thu về", "en": "Ballots missing"},
    "extra": {"vi": "Thừa phiếu so với số phiếu thu về", "en": "More sheets than ballots collected"},
    "incomplete-ballot": {"vi": "Phiếu thiếu trang", "en": "Ballot pages missing"},
    "duplicate": {"vi": "Phiếu bị quét hai lần (chỉ đếm một lần)", "en": "Sheets scanned twice (counted once)"},
    "test-deck": {"vi": "Có phiếu thử lẫn trong phiếu bầu", "en": "Test-deck sheets among the ballots"},
    "not-issued": {"vi": "Phiếu không do Ban kiểm phiếu phát ra", "en": "Sheets not issued by the committee"},
    "unreadable": {"vi": "Trang không đọc được", "en": "Pages that could not be read"},
    "page-failure": {"vi": "Tệp hoặc trang quét bị lỗi", "en": "Files or pages that failed"},
    "collected-unknown": {"vi": "Chưa nhập số phiếu thu về", "en": "Ballots collected not given"},
    "collected-over-issued": {"vi": "Số phiếu thu về nhiều hơn số phát ra", "en": "More collected than issued"},
    "collected-over-present": {"vi": "Số phiếu thu về nhiều hơn số người có mặt",
                               "en": "More collected than members present"},
    "issued-over-present": {"vi": "Số phiếu phát ra nhiều hơn số người có mặt", "en": "More issued than present"},
    "quorum": {"vi": "Không đủ 2/3 số người được triệu tập có mặt", "en": "Fewer than 2/3 of those convened present"},
    "scan-running": {"vi": "Đang có lượt quét chưa xong", "en": "A scan is still running"},
}


def reconciliation_words(lang: str) -> dict[str, str]:
    return {k: v.get(lang) or v["en"] for k, v in RECONCILIATION.items()}


def message(key: str, lang: str, **values: object) -> str:
    entry = MESSAGES.get(key)
    if entry is None:
        return key
    text = entry.get(lang) or entry["en"]
    return text.format(**values) if values else text


def reason_words(code: str, lang: str) -> tuple[str, str]:
    """(title, explanation) of a reason code; an unknown code is shown as it is."""
    entry = REASONS.get(code)
    if entry is None:
        return code, ""
    return entry.get(lang) or entry["en"]


def decision_reason_words(code: str, lang: str) -> str:
    """A stored decision reason (a code from the lists above, or free text) in words."""
    for table in (ROW_INVALID_REASONS, SHEET_REJECT_REASONS):
        if code in table:
            return table[code].get(lang) or table[code]["en"]
    if code in REASONS:
        return reason_words(code, lang)[0]
    return code
