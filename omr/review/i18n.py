"""Words of the review screen in Vietnamese and English: its labels and messages.

The codes' own words (reasons, decisions, discrepancies) are declared once in omr.codes; this
module lays them out as the screen's templates read them. Unknown codes are shown as they are.
"""

from __future__ import annotations

from omr import codes
from omr.codes import LANGS

MESSAGES: dict[str, dict[str, str]] = {
    "app_title": {"vi": "Xem xét phiếu", "en": "Ballot review"},
    "app_subtitle": {"vi": "Ban kiểm phiếu — những phiếu máy chưa quyết định được",
                     "en": "Counting committee — the sheets the machine could not decide"},
    "nav_queue": {"vi": "Danh sách chờ", "en": "Review queue"},
    "nav_results": {"vi": "Kết quả", "en": "Results"},
    "lang_switch": {"vi": "English", "en": "Tiếng Việt"},
    "strike_struck": {"vi": "Tên bị gạch", "en": "Struck out"},
    "strike_not_struck": {"vi": "Không bị gạch", "en": "Not struck out"},
    "awaiting": {"vi": "Chờ xem xét", "en": "Awaiting review"},
    "decided": {"vi": "Đã xem xét xong", "en": "Reviewed"},
    "all_flagged": {"vi": "Tất cả phiếu cần xem xét", "en": "All flagged sheets"},
    "sheets_read": {"vi": "Số tờ phiếu máy đã đọc", "en": "Sheets read by the machine"},
    "sheets_ok": {"vi": "Tờ phiếu máy đọc được hoàn toàn", "en": "Sheets read without doubt"},
    "start_review": {"vi": "Bắt đầu xem xét", "en": "Start reviewing"},
    "continue_review": {"vi": "Xem phiếu tiếp theo đang chờ", "en": "Next sheet awaiting review"},
    "nothing_awaiting": {"vi": "Không còn phiếu nào chờ xem xét.", "en": "No sheet awaits review."},
    "filter_reason": {"vi": "Lọc theo lý do", "en": "Filter by reason"},
    "filter_all": {"vi": "Mọi lý do", "en": "All reasons"},
    "show": {"vi": "Hiển thị", "en": "Show"},
    "col_sheet": {"vi": "Tờ phiếu", "en": "Sheet"},
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
    "sheet_of": {"vi": "Tờ {i} / {n}", "en": "Sheet {i} of {n}"},
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
    "accept_ballot": {"vi": "Phiếu hợp lệ — đếm phiếu này", "en": "Valid ballot — count it"},
    "accept_ballot_help": {"vi": "Phiếu bầu này sẽ được đếm theo các tên máy đọc và các dòng bạn quyết định: coi như "
                                 "phiếu có dấu của Ban kiểm phiếu và chữ viết trên phiếu (nếu có) không làm phiếu mất "
                                 "hiệu lực. Chỉ tờ phiếu giấy mới cho biết điều đó.",
                           "en": "This ballot will be counted with the names as read and as you decide them: as "
                                 "bearing the committee's stamp, any writing on it harmless. Only the paper ballot "
                                 "can tell."},
    "accept_ballot_do": {"vi": "Xác nhận: đếm phiếu này là phiếu hợp lệ", "en": "Confirm: count it as a valid ballot"},
    "paper_confirm": {"vi": "Tôi đã xem tờ phiếu giấy: những điểm nêu trên không làm phiếu mất hiệu lực (phiếu có "
                            "dấu; chữ viết, nếu có, không phải tên hay nội dung ghi thêm).",
                      "en": "I looked at the paper ballot: nothing listed above voids it (it bears the stamp; any "
                            "writing is no added name or content)."},
    "paper_missing": {"vi": "Hãy đánh dấu ô xác nhận đã xem tờ phiếu giấy rồi mới bấm xác nhận.",
                      "en": "Tick the box confirming you looked at the paper ballot, then confirm."},
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
    # what the machine read each option as, in words beside its colour: "Tên bị gạch" alone, in the orange of
    # "unclear" or the grey of "no", read as "struck"
    "mark_marked": {"vi": "có", "en": "yes"},
    "mark_marginal": {"vi": "không rõ", "en": "unclear"},
    "mark_blank": {"vi": "không", "en": "no"},
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
    "sheet_done": {"vi": "Đã xem xét xong tờ phiếu {name}.", "en": "Sheet {name} is reviewed."},
    "shortcuts": {"vi": "Phím tắt", "en": "Keyboard shortcuts"},
    "shortcuts_text": {
        "vi": "↑/↓: chọn dòng · A: giữ kết quả máy · 1, 2, 3…: chọn ô · X: dòng không hợp lệ · "
              "S: phiếu hợp lệ, hoặc với phiếu nghi quét trùng: chỉ đếm một lần (phiếu bầu gạch tên và phiếu nghi "
              "quét trùng: S chỉ mở phần xác nhận) · R: loại phiếu (chọn lý do rồi xác nhận) · "
              "N hoặc →: phiếu sau · P hoặc ←: phiếu trước · O: bản quét gốc · Enter trong ô họ tên: chỉ xác nhận tên",
        "en": "↑/↓: pick a row · A: keep the machine read · 1, 2, 3…: choose a box · X: row invalid · "
              "S: valid ballot, or on a suspected copy: count it once (on a cross-out ballot or a copy, S only "
              "opens the confirmation) · R: reject the sheet (choose a reason, then confirm) · "
              "N or →: next sheet · P or ←: previous sheet · O: original scan · Enter in the name box: the name only"},
    "duplicate_of": {"vi": "Xem phiếu đã quét trước", "en": "See the earlier scan"},
    "same_page_before": {"vi": "Trang tương ứng của phiếu ngay trước trong tệp: so hai bản quét",
                         "en": "The same page of a ballot just before it in the file: compare the two scans"},
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
    "provisional": {"vi": "TẠM THỜI — còn {n} tờ phiếu chờ xem xét", "en": "PROVISIONAL — {n} sheet(s) await review"},
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
    # the reviewer, the sheet decision, duplicates (issue 11)
    "reviewer_now": {"vi": "Đang xem xét với tên", "en": "Reviewing as"},
    "reviewer_change": {"vi": "đổi", "en": "change"},
    "reviewer_none": {"vi": "chưa nhập", "en": "not given yet"},
    "reviewer_enter": {"vi": "Nhập họ và tên rồi nhấn Enter", "en": "Type your full name, then press Enter"},
    "reviewer_short": {"vi": "Hãy nhập đầy đủ họ và tên (ít nhất hai chữ), rồi nhấn Enter.",
                       "en": "Type your full name (at least two words), then press Enter."},
    "choose_reason": {"vi": "— chọn lý do —", "en": "— choose a reason —"},
    "reject_open": {"vi": "Loại cả phiếu (không hợp lệ)…", "en": "Reject the whole sheet (not a valid ballot)…"},
    "reject_confirm_help": {"vi": "Phiếu bị loại sẽ không được đếm. Chọn lý do rồi bấm xác nhận; có thể khôi phục "
                                  "lại sau.",
                            "en": "A rejected sheet is not counted. Choose the reason, then confirm; it can be "
                                  "restored later."},
    "reject_reason_missing": {"vi": "Hãy chọn lý do loại phiếu trước khi xác nhận.",
                              "en": "Choose why the sheet is rejected before confirming."},
    "restore_sheet": {"vi": "Khôi phục phiếu — tiếp tục đếm", "en": "Restore the sheet — count it again"},
    "restore_help": {"vi": "Huỷ quyết định loại phiếu: phiếu được đếm lại như máy đọc, trừ các dòng bạn quyết định "
                           "riêng.",
                     "en": "Undo the rejection: the sheet counts again as read, except rows you decide one by one."},
    "dup_title": {"vi": "So sánh hai bản quét", "en": "Compare the two scans"},
    "dup_this": {"vi": "Bản quét này", "en": "This scan"},
    "dup_earlier": {"vi": "Bản quét trước (phiếu #{id})", "en": "The earlier scan (sheet #{id})"},
    "dup_unknown": {"vi": "Không tìm thấy bản quét trước trong cơ sở dữ liệu.",
                    "en": "The earlier scan is not in this database."},
    "dup_once": {"vi": "Cùng một tờ phiếu: chỉ đếm một lần", "en": "The same sheet: count it once"},
    "dup_once_help": {"vi": "Bản quét này sẽ không được đếm; tờ phiếu chỉ được đếm một lần, ở bản quét trước. "
                            "Hai người có thể đánh dấu giống hệt nhau: nếu đây là hai lá phiếu khác nhau thì đừng "
                            "xác nhận, kẻo một lá phiếu bị bỏ sót.",
                      "en": "This scan will not be counted; the ballot counts once, through the earlier scan. Two "
                            "voters can mark alike: if these are two different ballots, do not confirm, or one "
                            "ballot goes uncounted."},
    "dup_once_confirm": {"vi": "Tôi đã so hai bản quét: đây là cùng một tờ phiếu bị quét hai lần.",
                         "en": "I compared the two scans: it is the same sheet, scanned twice."},
    "dup_once_missing": {"vi": "Hãy đánh dấu ô xác nhận là cùng một tờ phiếu rồi mới bấm xác nhận.",
                         "en": "Tick the box confirming it is the same sheet, then confirm."},
    "dup_once_do": {"vi": "Xác nhận: không đếm bản quét này", "en": "Confirm: do not count this scan"},
    "dup_both_open": {"vi": "Đây là hai lá phiếu khác nhau…", "en": "These are two different ballots…"},
    "dup_both_confirm": {"vi": "Tôi đã so hai tờ phiếu giấy: đây là hai lá phiếu khác nhau, phải đếm cả hai.",
                         "en": "I compared the two paper sheets: they are two different ballots, both count."},
    "dup_both": {"vi": "Đếm cả hai phiếu", "en": "Count both ballots"},
    "f_reviewer": {"vi": "Hãy nhập họ tên người xem xét ở ô phía trên rồi quyết định lại.",
                   "en": "Type the reviewer's name in the box at the top, then decide again."},
    "f_too_long": {"vi": "{what} quá dài ({n} ký tự, tối đa {limit}).", "en": "{what} is too long ({n} characters, "
                                                                              "at most {limit})."},
    "f_control": {"vi": "{what} có ký tự điều khiển.", "en": "{what} contains control characters."},
    "w_reviewer": {"vi": "Họ tên người xem xét", "en": "The reviewer's name"},
    "w_note": {"vi": "Ghi chú", "en": "The note"},
    "f_row_reason": {"vi": "Dòng {name}: hãy chọn lý do không hợp lệ trong danh sách.",
                     "en": "Row {name}: choose why it is invalid from the list."},
    "f_other_note": {"vi": "“Lý do khác”: hãy ghi rõ lý do trong ô ghi chú rồi bấm lại.",
                     "en": "“Other reason”: explain it in the note, then press again."},
    "f_too_many": {"vi": "{name}: chỉ được chọn tối đa {max}, bạn đã đánh dấu {n}. Nếu người bỏ phiếu đã chọn quá số "
                         "lượng, hãy bấm “Dòng này không hợp lệ” với lý do “Chọn quá số lượng”.",
                   "en": "{name}: at most {max} may be chosen, you ticked {n}. If the voter chose too many, press "
                         "“This row is invalid” with the reason “Overvote”."},
    "f_too_few": {"vi": "{name}: phải chọn ít nhất {min}, bạn đã đánh dấu {n}. Nếu người bỏ phiếu chọn chưa đủ, hãy "
                        "bấm “Dòng này không hợp lệ” với lý do “Chọn chưa đủ số lượng”.",
                  "en": "{name}: at least {min} must be chosen, you ticked {n}. If the voter chose too few, press "
                        "“This row is invalid” with the reason “Undervote”."},
    "f_conflict": {"vi": "Người khác vừa quyết định phiếu này trong lúc bạn xem: hãy xem lịch sử bên dưới rồi quyết "
                         "định lại nếu cần. Chưa có gì được lưu.",
                   "en": "Someone decided this in between: look at the history below and decide again if needed. "
                         "Nothing was saved."},
    "f_machine_rejected": {"vi": "Máy không thể đếm phiếu này nên không thể chấp nhận ở đây; nếu phiếu giấy hợp lệ, "
                                 "hãy quét lại.",
                           "en": "The machine could not count this sheet: it cannot be accepted here; scan it again "
                                 "if the paper ballot is valid."},
    "f_distinct": {"vi": "Để đếm cả hai bản quét, hãy đánh dấu ô xác nhận rằng đây là hai lá phiếu khác nhau.",
                   "en": "To count both scans, tick the box confirming they are two different ballots."},
    "f_same_sheet": {"vi": "Để chỉ đếm một lần, hãy đánh dấu ô xác nhận rằng hai bản quét là cùng một tờ phiếu. "
                           "Chưa có gì được lưu.",
                     "en": "To count it once, tick the box confirming the two scans are the same sheet. Nothing "
                           "was saved."},
    "f_both_ticked": {"vi": "Bạn đã đánh dấu cả hai ô “cùng một tờ phiếu” và “hai lá phiếu khác nhau”: hãy chỉ đánh "
                            "dấu một ô. Chưa có gì được lưu.",
                      "en": "Both “the same sheet” and “two different ballots” are ticked: tick only one. Nothing "
                            "was saved."},
    "f_checked_paper": {"vi": "Để đếm phiếu bầu này, hãy đánh dấu ô xác nhận đã xem tờ phiếu giấy (có dấu, chữ viết "
                              "không làm phiếu mất hiệu lực). Chưa có gì được lưu.",
                        "en": "To count this ballot, tick the box confirming you looked at the paper ballot (stamped, "
                              "no writing that voids it). Nothing was saved."},
    "f_not_duplicate": {"vi": "Phiếu này không bị nghi là quét trùng.", "en": "This sheet is not a suspected copy."},
    "f_page_missing": {"vi": "Phiếu này thiếu trang nên không đếm được: hãy quét lại cả phiếu, hoặc loại phiếu. Chưa "
                             "có gì được lưu.",
                       "en": "This ballot lacks a page, so it cannot be counted: rescan the whole ballot, or reject "
                             "it. Nothing was saved."},
    "page_missing_help": {"vi": "Phiếu thiếu trang không đếm được: quét lại cả phiếu (các trang liền nhau, theo thứ "
                                "tự trang, trong một tệp), hoặc loại phiếu nếu thật sự thiếu trang. Nếu đây là một "
                                "trang đã quét trong phiếu khác rồi bị đưa vào máy lần nữa, loại với lý do \u201cCùng "
                                "một phiếu bị quét hai lần\u201d.",
                          "en": "A ballot lacking a page cannot be counted: rescan the whole ballot (its pages one "
                                "after the other, in page order, in one file), or reject it if the page is really "
                                "lost. If this page was scanned with another ballot and fed again, reject it as "
                                "\u201cThe same sheet scanned twice\u201d."},
    "choices_over": {"vi": "Đã đánh dấu {n}, tối đa được {max}.", "en": "{n} ticked, at most {max} allowed."},
    "scan_missing_title": {"vi": "Không tìm thấy tệp quét của phiếu này",
                           "en": "The scan file of this sheet is not found"},
    "scan_missing_do": {"vi": "Tệp “{source}” (trang {page}) không còn ở chỗ lúc quét: có lẽ tệp kết quả đã được "
                              "chuyển sang thư mục khác. Hãy đặt lại tệp kết quả và các tệp quét như lúc quét (đường "
                              "dẫn tương đối tính từ thư mục {folder}), rồi tải lại trang. Trong lúc đó hãy xem phiếu "
                              "giấy.",
                        "en": "“{source}” (page {page}) is no longer where it was scanned: the results file was "
                              "probably moved. Put the results file and the scans back as they were (relative paths "
                              "start from {folder}), then reload. Meanwhile, look at the paper ballot."},
    "scan_changed_title": {"vi": "Tệp quét đã bị thay đổi sau khi quét", "en": "The scan file changed after the scan"},
    "scan_changed_do": {"vi": "Trang {page} của “{source}” không còn giống trang máy đã đọc (tệp bị thay hoặc sửa), "
                              "nên không được hiển thị. Hãy đặt lại đúng tệp quét gốc, hoặc xem phiếu giấy.",
                        "en": "Page {page} of “{source}” is no longer the page that was read (the file was replaced "
                              "or edited), so it is not shown. Put the original scan back, or look at the paper."},
    "scan_unreadable_title": {"vi": "Không đọc lại được trang quét", "en": "The scanned page cannot be read again"},
    "scan_unreadable_do": {"vi": "Trang {page} của “{source}” không mở lại được. Hãy kiểm tra tệp, hoặc xem phiếu "
                                 "giấy.",
                           "en": "Page {page} of “{source}” cannot be opened again. Check the file, or look at the "
                                 "paper."},
    "scan_unaligned_title": {"vi": "phiếu chưa được căn chỉnh hoặc không rõ mẫu phiếu: chỉ xem được bản quét gốc",
                             "en": "the sheet was never aligned or its template is unknown: only the original scan "
                                   "can be shown"},
    "scan_encoding_title": {"vi": "không tạo được ảnh", "en": "the image could not be made"},
    "f_bulk_confirm": {"vi": "Để giữ kết quả máy đọc cho tất cả các dòng, hãy đánh dấu ô xác nhận đã xem từng dòng.",
                       "en": "To keep the machine read for every row, tick the box confirming you looked at each."},
    "bulk_open": {"vi": "Giữ kết quả máy đọc cho cả {n} dòng còn lại…", "en": "Keep the machine read for all {n} rows "
                                                                             "left…"},
    "bulk_confirm": {"vi": "Tôi đã so ảnh phiếu với kết quả máy đọc ở cả {n} dòng: máy đọc đúng.",
                     "en": "I compared the sheet with the machine read on all {n} rows: it is right."},
    "bulk_do": {"vi": "Giữ kết quả máy đọc cho {n} dòng", "en": "Keep the machine read for {n} rows"},
    "left": {"vi": "còn {n} tờ chờ xem xét", "en": "{n} sheet(s) left to review"},
    "left_reason": {"vi": "{n} tờ có lý do “{reason}”", "en": "{n} with “{reason}”"},
    "accept_blank": {"vi": "Phiếu trắng — giữ, mỗi dòng không hợp lệ", "en": "Blank ballot — keep it, every row "
                                                                             "invalid"},
    "blank_rule": {"vi": "Theo Quy định 96, phiếu không đánh dấu ô nào vẫn được tính vào số phiếu thu về; với từng "
                         "người, dòng không đánh dấu là không hợp lệ. Nếu thật ra có dấu, hãy chọn ở từng dòng.",
                   "en": "A ballot with no box marked still counts among the ballots collected; for each person, a row "
                         "with no mark is invalid. If there is a mark after all, record it row by row."},
    "e_400": {"vi": "Yêu cầu này không hợp lệ (địa chỉ hoặc biểu mẫu bị sai). Hãy quay lại danh sách và thử lại.",
              "en": "This request is not valid (a wrong address or form). Go back to the queue and try again."},
    "e_401": {"vi": "Cần mã truy cập: hãy mở đúng địa chỉ được in ra khi khởi động omr review (có ?token=…).",
              "en": "An access token is needed: open the address printed when omr review started (with ?token=…)."},
    "e_403": {"vi": "Yêu cầu bị từ chối: biểu mẫu đã cũ hoặc không đến từ màn hình này. Hãy tải lại trang rồi thử "
                    "lại.",
              "en": "Refused: the form is old or did not come from this screen. Reload the page and try again."},
    "e_404": {"vi": "Không có trang hoặc tờ phiếu này trong cơ sở dữ liệu.",
              "en": "There is no such page or sheet in this database."},
    "e_405": {"vi": "Thao tác này không được phép ở đây.", "en": "That is not allowed here."},
    "e_409": {"vi": "Không hiển thị được: tệp quét không còn như lúc quét, hoặc có người vừa thay đổi dữ liệu.",
              "en": "Cannot be shown: the scan file is not as it was when scanned, or someone changed it."},
    "e_413": {"vi": "Nội dung gửi lên quá dài.", "en": "What was sent is too long."},
    "e_500": {"vi": "Màn hình xem xét gặp lỗi: yêu cầu này chưa lưu gì. Chi tiết ở cửa sổ đang chạy omr review.",
              "en": "The review screen failed: nothing was saved by this request. Details are in the terminal "
                    "running omr review."},
    "e_503": {"vi": "Không mở được cơ sở dữ liệu kết quả.", "en": "The results database cannot be opened."},
    # errors
    "error_title": {"vi": "Không thực hiện được", "en": "That did not work"},
    "error_back": {"vi": "Quay lại danh sách", "en": "Back to the queue"},
}

# The codes' words come from omr.codes (declared once); the screen's tables keep their shape here.
REASONS: dict[str, dict[str, tuple[str, str]]] = {
    code: {lang: (r.title(lang), r.explain(lang)) for lang in LANGS} for code, r in codes.REASONS.items()}
ROW_INVALID_REASONS: dict[str, dict[str, str]] = {
    code: {lang: w(lang) for lang in LANGS} for code, w in codes.ROW_INVALID_CHOICES.items()}
SHEET_REJECT_REASONS: dict[str, dict[str, str]] = {
    code: {lang: w(lang) for lang in LANGS} for code, w in codes.SHEET_REJECT_CHOICES.items()}


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
    code: {lang: w(lang) for lang in LANGS} for code, w in codes.DISCREPANCIES.items()}


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


decision_reason_words = codes.decision_reason_words
