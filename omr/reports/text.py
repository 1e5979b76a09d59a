"""Words and number formats of the reports, in Vietnamese (``vi``) and English (``en``).

Vietnamese documents write percentages with two decimals and a decimal comma (66,67) and group
thousands with a dot (1.234); English ones use a decimal point and a comma. Every string is NFC.
"""

from __future__ import annotations

import unicodedata
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from omr.ballot.template import Contest
from omr.codes import OUTCOME_REASONS, OUTCOME_WORDS, decision_reason_phrase, reason_phrase
from omr.count.tally import BAND_OVER_HALF, BAND_TWO_THIRDS, Discrepancy

WORDS: dict[str, dict[str, str]] = {
    "vi": {
        "title": "BIÊN BẢN KIỂM PHIẾU",
        "title_election": "BIÊN BẢN KẾT QUẢ KIỂM PHIẾU BẦU CỬ",
        "subtitle_election": "Kết quả kiểm phiếu bầu cử (phiếu gạch tên)",
        "e_voters": "Số cử tri trong danh sách: {voters}; số cử tri đã bỏ phiếu: {voted}{turnout}.",
        "e_turnout_ok": " (hơn một nửa số cử tri: cuộc bầu cử có giá trị)",
        "e_turnout_low": " (KHÔNG quá một nửa số cử tri trong danh sách)",
        "e_ballots": "Số phiếu phát ra: {issued}; số phiếu thu vào: {collected}; số phiếu hợp lệ: {valid}; "
                     "số phiếu không hợp lệ: {invalid}{pending}.",
        "e_pending": "; còn {n} phiếu chờ xem xét",
        "e_invalid_by": "Phiếu không hợp lệ theo lý do: {list}.",
        "e_seats": "Số lượng được bầu: {k}.",
        "e_candidate": "Họ và tên",
        "e_born": "Ngày sinh",
        "e_votes": "Số phiếu bầu",
        "e_rate_valid": "Tỷ lệ % trên số phiếu hợp lệ",
        "e_rate_base": "Tỷ lệ % trên {base}",
        "e_outcome": "Kết quả",
        "e_elected": "Trúng cử",
        "e_not_elected": "Không trúng cử",
        "e_tie": "Bằng phiếu: cần quyết định",
        "e_undecided": "Chưa xác định",
        "e_elected_list": "Những người trúng cử (quá một nửa {of}, theo số phiếu từ cao xuống thấp, trong số lượng "
                          "được bầu): {names}.",
        "e_of_valid": "số phiếu hợp lệ",
        "e_of_base": "của {base}",
        "e_no_base": "Chưa nhập số làm căn cứ tính tỷ lệ (đảng viên chính thức hoặc đại biểu được triệu tập, trừ "
                     "số không tính theo quy định: omr tally --base N): chưa xác định người trúng cử.",
        "e_rule": "Quá một nửa: so sánh số nguyên (2 × số phiếu > {base}); bằng đúng một nửa là không quá nửa. "
                  "Bằng phiếu ở vị trí cuối: {tie}.",
        "e_tie_state": "người nhiều tuổi hơn trúng cử (Luật Bầu cử)",
        "e_tie_party": "không có quy tắc, báo cáo đại hội quyết định",
        "e_piles": "Số phiếu hợp lệ theo số người được bầu trên phiếu: {list}.",
        "e_pile": "phiếu bầu {left} người: {n}",
        "e_complaints": "Khiếu nại, tố cáo nhận được: ........ ; đã giải quyết: ........ ; chuyển cấp trên: ........",
        "e_announce": "Kết quả trên do Ban kiểm phiếu công bố; máy chỉ đọc phiếu, người ký biên bản chịu trách nhiệm.",
        "subtitle_confidence": "Kết quả lấy phiếu tín nhiệm",
        "subtitle_other": "Kết quả kiểm phiếu",
        "committee": "BAN KIỂM PHIẾU",
        "provisional": "TẠM TÍNH — CHƯA PHẢI KẾT QUẢ CHÍNH THỨC",
        "provisional_detail": "Còn {n} tờ phiếu chờ Ban kiểm phiếu xem xét. Trong bản này, các tờ đó được tính theo "
                              "kết quả máy đọc; ô máy chưa xác định được ghi riêng là “chờ xem xét”. Các số liệu "
                              "có thể thay đổi; không ký bản tạm tính này.",
        "watermark": "TẠM TÍNH",
        "not_reconciled": "SỐ LIỆU CHƯA KHỚP",
        "not_reconciled_detail": "Đối chiếu số phiếu còn điểm chưa khớp hoặc chưa giải quyết: xem mục {section}.",
        "quorum_failed": "KHÔNG ĐỦ SỐ NGƯỜI CÓ MẶT",
        "quorum_failed_detail": "Có mặt {present}/{convened} người được triệu tập, chưa đủ 2/3 ({required} người): "
                                "hội nghị không đủ điều kiện tiến hành lấy phiếu tín nhiệm.",
        "intro": "Ban kiểm phiếu đã kiểm phiếu; các tờ phiếu được đọc bằng máy (Ballot OMR) và đối chiếu với số "
                 "phiếu đếm tay. Kết quả như sau:",
        "s_numbers": "SỐ LIỆU CHUNG",
        "s_results": "KẾT QUẢ KIỂM PHIẾU",
        "s_reconciliation": "ĐỐI CHIẾU SỐ PHIẾU",
        "s_sheets": "PHIẾU KHÔNG HỢP LỆ VÀ PHIẾU ĐÃ XEM XÉT",
        "s_chart": "BIỂU ĐỒ KẾT QUẢ",
        "convened": "Số người được triệu tập",
        "present": "Số người có mặt",
        "quorum_ok": "đạt {pct}%, đủ 2/3 số người được triệu tập",
        "quorum_bad": "đạt {pct}%, KHÔNG ĐỦ 2/3 số người được triệu tập (cần {required})",
        "issued": "Số phiếu phát ra",
        "collected": "Số phiếu thu về",
        "valid_ballots": "Số phiếu hợp lệ",
        "invalid_ballots": "Số phiếu không hợp lệ",
        "invalid_not_issued": "không do Ban kiểm phiếu phát ra: {n}",
        "invalid_rejected": "Ban kiểm phiếu loại: {n}",
        "not_given": "(chưa nhập)",
        "ballots_unit": "phiếu",
        "people_unit": "người",
        "stt": "STT",
        "name_position": "Họ và tên, chức vụ",
        "issued_col": "Phiếu phát ra",
        "collected_col": "Phiếu thu về",
        "opening": "Hôm nay, {held}, tại {place}, Ban kiểm phiếu gồm: {people} đã tiến hành kiểm phiếu.",
        "opening_blank_held": "ngày ..... tháng ..... năm ........",
        "opening_blank_place": "..................................................",
        "opening_blank_people": "..........................................................................",
        "chair_role": "Trưởng ban",
        "member_role": "thành viên",
        "name": "Họ và tên",
        "position": "Chức vụ",
        "valid": "Phiếu hợp lệ",
        "invalid": "Phiếu không hợp lệ",
        "votes": "Số phiếu",
        "rate": "Tỷ lệ (%)",
        "note": "Ghi chú",
        "option": "Lựa chọn",
        "pending_n": "Chờ xem xét: {n}",
        "band_over_half": "Trên 1/2 đến dưới 2/3 số phiếu tín nhiệm thấp",
        "band_two_thirds": "Từ 2/3 trở lên số phiếu tín nhiệm thấp",
        "band_unsettled": "(có thể thay đổi)",
        "base_collected": "Tỷ lệ phần trăm tính trên tổng số phiếu thu về ({n} phiếu), làm tròn đến hai chữ số thập "
                          "phân.",
        "base_read": "Tỷ lệ phần trăm tính trên {n} phiếu máy đã kiểm (chưa nhập số phiếu thu về), làm tròn đến hai "
                     "chữ số thập phân.",
        "base_design": "Tỷ lệ phần trăm tính trên {n} phiếu của mẫu phiếu này mà máy đã kiểm (lần kiểm phiếu này có "
                       "nhiều mẫu phiếu), làm tròn đến hai chữ số thập phân.",
        "band_rule": "Mức “trên 1/2” và “từ 2/3 trở lên” số phiếu tín nhiệm thấp so với số phiếu thu về được xác "
                     "định bằng so sánh số phiếu chính xác (không dựa trên tỷ lệ đã làm tròn); hệ quả theo Quy định "
                     "96-QĐ/TW.",
        "bands_found": "Người có trên 1/2 đến dưới 2/3 số phiếu tín nhiệm thấp (so với tổng số phiếu thu về): "
                       "{over}. Người có từ 2/3 trở lên số phiếu tín nhiệm thấp: {two}.",
        "nobody": "không có",
        "pending_rows": "Số phiếu “chờ xem xét” chưa được tính vào phiếu hợp lệ hay không hợp lệ.",
        "overvotes": "Phiếu bầu quá số lượng (không hợp lệ)",
        "undervotes": "Phiếu bầu ít hơn số lượng được bầu",
        "choose_rule": "Được chọn tối đa {max} trong {n} lựa chọn.",
        "invalid_for_contest": "Không hợp lệ",
        "rec_item": "Nội dung",
        "rec_value": "Số",
        "rec_sheets_read": "Số tờ phiếu đã quét",
        "rec_counted": "Được kiểm",
        "rec_duplicates": "Quét trùng (không tính lại)",
        "rec_test": "Phiếu thử (test deck, không tính)",
        "rec_not_issued": "Không do Ban kiểm phiếu phát ra (không hợp lệ)",
        "rec_rejected": "Ban kiểm phiếu loại (không hợp lệ)",
        "rec_unreadable": "Máy không đọc được",
        "rec_set_aside": "Ban kiểm phiếu để riêng (không phải phiếu)",
        "rec_failures": "Tệp hoặc trang không mở được",
        "rec_pending": "Tờ phiếu chờ xem xét",
        "rec_accounted": "Số phiếu máy đã kiểm (hợp lệ và không hợp lệ)",
        "rec_collected": "Số phiếu thu về (đếm tay)",
        "rec_difference": "Chênh lệch",
        "rec_pages": "Theo trang của phiếu: {items}",
        "rec_page_item": "trang {p}: {n} tờ",
        "batch": "Lô",
        "batch_hand": "Đếm tay",
        "batch_found": "Máy đã kiểm",
        "batch_sheets": "Số tờ đã quét",
        "no_discrepancy": "Số liệu khớp: không có chênh lệch.",
        "error": "Chưa khớp",
        "warning": "Lưu ý",
        "folder": "Các tệp nằm trong thư mục: {folder}",
        "file": "Tệp",
        "page": "Trang",
        "outcome": "Kết quả",
        "reasons": "Lý do",
        "decision": "Quyết định của Ban kiểm phiếu",
        "no_sheets": "Không có tờ phiếu nào không hợp lệ hoặc cần xem xét.",
        "chart_note": "Mỗi thanh là một người, tính theo tỷ lệ trên số phiếu thu về; phần tín nhiệm thấp được vẽ từ "
                      "gốc 0 để so với hai vạch đứt 1/2 và 2/3.",
        "chart_invalid": "Không hợp lệ",
        "chart_pending": "Chờ xem xét",
        "closing": "Biên bản được lập xong lúc ..... giờ ..... phút, ngày ..... tháng ..... năm ........",
        "chair": "TRƯỞNG BAN KIỂM PHIẾU",
        "members": "CÁC THÀNH VIÊN BAN KIỂM PHIẾU",
        "sign": "(Ký, ghi rõ họ tên)",
        "no_sign": "Bản tạm tính: không ký. Ký trên bản chính thức, khi không còn phiếu chờ xem xét.",
        "footer": "Biên bản kiểm phiếu",
        "footer_page": "Trang {p}/{n}",
        "footer_data": "Dữ liệu đến {as_of} · nhật ký #{id} {hash}",
        "d_sheet_accepted": "Phiếu hợp lệ, tiếp tục đếm",
        "d_both_counted": "Hai lá phiếu khác nhau: đếm cả hai",
        "d_sheet_rejected": "Loại tờ phiếu",
        "d_kept": "giữ kết quả máy đọc",
        "d_set": "xác định",
        "d_invalid": "không hợp lệ",
        "anchor": "Biên bản này lập từ dữ liệu đến {as_of}. Mã kiểm tra của nhật ký kiểm phiếu (mục #{id}), để đối "
                  "chiếu về sau rằng dữ liệu không bị sửa:",
        "anchor_check": "Kiểm tra: omr verify --db <tệp kết quả> --head <mã trên> (có thể gõ 16 chữ số đầu).",
        "yes_no_invalid": "Không hợp lệ",
        "machine_read": "máy đọc: {x}",
        "none_marked": "không đánh dấu ô nào",
    },
    "en": {
        "title": "RECORD OF THE COUNT",
        "title_election": "RECORD OF THE ELECTION COUNT",
        "subtitle_election": "Election results (strike-out ballot)",
        "e_voters": "Voters on the list: {voters}; voters who voted: {voted}{turnout}.",
        "e_turnout_ok": " (more than half of the list: the election stands)",
        "e_turnout_low": " (NOT more than half of the voter list)",
        "e_ballots": "Ballots issued: {issued}; collected: {collected}; valid: {valid}; invalid: {invalid}{pending}.",
        "e_pending": "; {n} awaiting review",
        "e_invalid_by": "Invalid ballots by reason: {list}.",
        "e_seats": "Number to elect: {k}.",
        "e_candidate": "Full name",
        "e_born": "Born",
        "e_votes": "Votes",
        "e_rate_valid": "% of valid ballots",
        "e_rate_base": "% of {base}",
        "e_outcome": "Result",
        "e_elected": "Elected",
        "e_not_elected": "Not elected",
        "e_tie": "Tie: to be decided",
        "e_undecided": "Not determined",
        "e_elected_list": "Elected (more than half {of}, most votes first, within the number to elect): {names}.",
        "e_of_valid": "of the valid ballots",
        "e_of_base": "of {base}",
        "e_no_base": "No base for the percentages was given (members or delegates convened less statutory "
                     "exclusions: omr tally --base N): who is elected is not determined.",
        "e_rule": "More than half compares whole numbers (2 × votes > {base}); exactly half is not more than half. "
                  "A tie at the last seat: {tie}.",
        "e_tie_state": "the older candidate is elected (Election Law)",
        "e_tie_party": "no rule breaks it: reported to the congress",
        "e_piles": "Valid ballots by the number of names left on them: {list}.",
        "e_pile": "{left} left: {n}",
        "e_complaints": "Complaints received: ........ ; resolved: ........ ; forwarded: ........",
        "e_announce": "The committee announces these results; the machine only read the ballots, the signatories "
                      "answer for the record.",
        "subtitle_confidence": "Results of the confidence vote",
        "subtitle_other": "Results",
        "committee": "COUNTING COMMITTEE",
        "provisional": "PROVISIONAL — NOT THE FINAL RESULT",
        "provisional_detail": "{n} sheet(s) still await the counting committee's review. Here they are counted as "
                              "the machine read them; what the machine could not decide is shown apart, as "
                              "\u201cawaiting review\u201d. The figures may change; do not sign this provisional "
                              "record.",
        "watermark": "PROVISIONAL",
        "not_reconciled": "THE NUMBERS DO NOT RECONCILE",
        "not_reconciled_detail": "Some numbers do not reconcile, or a page is unresolved: see section {section}.",
        "quorum_failed": "NO QUORUM",
        "quorum_failed_detail": "{present} of {convened} convened present, fewer than two thirds ({required}): the "
                                "meeting cannot hold the vote.",
        "intro": "The counting committee counted the ballots; the sheets were read by machine (Ballot OMR) and "
                 "checked against the hand count. The results are:",
        "s_numbers": "THE NUMBERS",
        "s_results": "RESULTS",
        "s_reconciliation": "RECONCILIATION",
        "s_sheets": "INVALID AND REVIEWED SHEETS",
        "s_chart": "CHART OF THE RESULTS",
        "convened": "Convened",
        "present": "Present",
        "quorum_ok": "{pct}%, at least two thirds of those convened",
        "quorum_bad": "{pct}%, FEWER THAN two thirds of those convened ({required} needed)",
        "issued": "Ballots issued",
        "collected": "Ballots collected",
        "valid_ballots": "Valid ballots",
        "invalid_ballots": "Invalid ballots",
        "invalid_not_issued": "not issued by the committee: {n}",
        "invalid_rejected": "rejected by the committee: {n}",
        "not_given": "(not given)",
        "ballots_unit": "ballots",
        "people_unit": "people",
        "stt": "No.",
        "name_position": "Name, position",
        "issued_col": "Ballots issued",
        "collected_col": "Ballots collected",
        "opening": "On {held}, at {place}, the counting committee — {people} — counted the ballots.",
        "opening_blank_held": "..... / ..... / ........",
        "opening_blank_place": "..................................................",
        "opening_blank_people": "..........................................................................",
        "chair_role": "chair",
        "member_role": "member",
        "name": "Name",
        "position": "Position",
        "valid": "Valid",
        "invalid": "Invalid",
        "votes": "Votes",
        "rate": "%",
        "note": "Note",
        "option": "Choice",
        "pending_n": "Awaiting review: {n}",
        "band_over_half": "Over 1/2 and under 2/3 low confidence",
        "band_two_thirds": "2/3 or more low confidence",
        "band_unsettled": "(may still change)",
        "base_collected": "Percentages are of the ballots collected ({n}), rounded to two decimals.",
        "base_read": "Percentages are of the {n} ballots the scans account for (ballots collected not given), "
                     "rounded to two decimals.",
        "base_design": "Percentages are of the {n} ballots of this design the scans account for (this count has "
                       "several ballot designs), rounded to two decimals.",
        "band_rule": "\u201cOver 1/2\u201d and \u201c2/3 or more\u201d low-confidence votes of the ballots collected "
                     "are decided by exact comparison of the counts, never by rounded percentages.",
        "bands_found": "Low confidence from over 1/2 to under 2/3 of the ballots collected: {over}. Low confidence "
                       "2/3 or more: {two}.",
        "nobody": "nobody",
        "pending_rows": "Votes awaiting review are counted neither as valid nor as invalid.",
        "overvotes": "Overvotes (more marks than allowed: invalid)",
        "undervotes": "Undervotes (fewer marks than allowed)",
        "choose_rule": "Vote for up to {max} of {n}.",
        "invalid_for_contest": "Invalid",
        "rec_item": "Item",
        "rec_value": "Number",
        "rec_sheets_read": "Sheets scanned",
        "rec_counted": "Counted",
        "rec_duplicates": "Scanned twice (counted once)",
        "rec_test": "Test-deck sheets (never counted)",
        "rec_not_issued": "Not issued by the committee (invalid)",
        "rec_rejected": "Rejected by the committee (invalid)",
        "rec_unreadable": "Not readable by the machine",
        "rec_set_aside": "Set aside by the committee (not a ballot)",
        "rec_failures": "Files or pages that could not be opened",
        "rec_pending": "Sheets awaiting review",
        "rec_accounted": "Ballots the scans account for (valid and invalid)",
        "rec_collected": "Ballots collected (hand count)",
        "rec_difference": "Difference",
        "rec_pages": "By ballot page: {items}",
        "rec_page_item": "page {p}: {n} sheet(s)",
        "batch": "Batch",
        "batch_hand": "Hand count",
        "batch_found": "Scans account for",
        "batch_sheets": "Sheets scanned",
        "no_discrepancy": "The numbers reconcile: no difference.",
        "error": "Does not reconcile",
        "warning": "Note",
        "folder": "Files are in the folder: {folder}",
        "file": "File",
        "page": "Page",
        "outcome": "Outcome",
        "reasons": "Reasons",
        "decision": "Committee's decision",
        "no_sheets": "No sheet was invalid or needed review.",
        "chart_note": "One bar per person, as a share of the ballots collected; low confidence is drawn from zero "
                      "to compare it with the dashed 1/2 and 2/3 lines.",
        "chart_invalid": "Invalid",
        "chart_pending": "Awaiting review",
        "closing": "This record was completed at ..... : ..... on ......................",
        "chair": "CHAIR OF THE COUNTING COMMITTEE",
        "members": "MEMBERS OF THE COUNTING COMMITTEE",
        "sign": "(signature and full name)",
        "no_sign": "Provisional record: not for signature. Sign the final record once no sheet awaits review.",
        "footer": "Record of the count",
        "footer_page": "Page {p}/{n}",
        "footer_data": "data as of {as_of} · log #{id} {hash}",
        "d_sheet_accepted": "Valid ballot, counted",
        "d_both_counted": "Two different ballots: both counted",
        "d_sheet_rejected": "Sheet rejected",
        "d_kept": "machine read kept",
        "d_set": "set to",
        "d_invalid": "invalid",
        "anchor": "These minutes are drawn from the data as of {as_of}. The count log's check code (entry #{id}), to "
                  "show later that the data was not changed:",
        "anchor_check": "Check: omr verify --db <results file> --head <the code above> (its first 16 digits will do).",
        "yes_no_invalid": "Invalid",
        "machine_read": "machine read: {x}",
        "none_marked": "no box marked",
    },
}

DISCREPANCY_WORDS = {
    "vi": {
        "missing": "Thiếu {count} phiếu: thu về {collected}, máy đã kiểm {accounted}.",
        "extra": "Thừa {count} phiếu: thu về {collected}, máy đã kiểm {accounted}.",
        "incomplete-ballot": "Trang {page}/{pages} của phiếu chỉ có {found} tờ, ít hơn {expected}: thiếu {count} "
                             "tờ.",
        "ballot-page-missing": "Phiếu bầu {pages} trang chỉ có trang {found}, thiếu trang {lacking}: chưa kết luận "
                               "được; cần quét lại cả tờ phiếu hoặc Ban kiểm phiếu loại phiếu này.",
        "collected-over-issued": "Số phiếu thu về ({collected}) nhiều hơn số phiếu phát ra ({issued}).",
        "collected-over-present": "Số phiếu thu về ({collected}) nhiều hơn số người có mặt ({present}).",
        "issued-over-present": "Số phiếu phát ra ({issued}) nhiều hơn số người có mặt ({present}).",
        "duplicate": "{count} tờ phiếu bị quét hai lần: mỗi tờ chỉ tính một lần, bản quét sau không tính.",
        "test-deck": "{count} phiếu thử (test deck) lẫn trong các tờ đã quét: không tính; cần để riêng.",
        "not-issued": "{count} tờ không do Ban kiểm phiếu phát ra: tính là {ballots} phiếu không hợp lệ.",
        "unreadable": "{count} trang máy không đọc được: cần quét lại, hoặc Ban kiểm phiếu để riêng từng trang.",
        "page-failure": "{count} tệp hoặc trang không mở được: cần quét lại.",
        "scan-running": "{count} lượt quét chưa kết thúc.",
        "batch-mismatch": "Lô {batch}: đếm tay {hand_count} phiếu, máy đã kiểm {ballots} phiếu.",
        "batch-unlisted": "Lô {batch}: {count} tờ đã quét nhưng chưa có số đếm tay.",
        "quorum": "Có mặt {present}/{convened} người được triệu tập, chưa đủ 2/3 ({required} người).",
        "collected-unknown": "Chưa nhập số phiếu thu về: tỷ lệ tính trên {accounted} phiếu máy đã kiểm.",
    },
}


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def row_title(contest: Contest, row_id: str) -> str:
    """What a row is called in the exports: a person as "name — position", another contest by its title."""
    person = next((p for p in contest.rows if p.id == row_id), None)
    if person is None:
        return contest.title or contest.id
    return f"{person.name} — {person.position}" if person.position else person.name


def words(lang: str) -> dict[str, str]:
    return WORDS.get(lang, WORDS["en"])


def fmt_int(n: int | None, lang: str) -> str:
    if n is None:
        return words(lang)["not_given"]
    text = f"{n:,}"
    return text.replace(",", ".") if lang == "vi" else text


def fmt_pct(value: Decimal | float, lang: str) -> str:
    """Two decimals; a decimal comma in Vietnamese (66,67), a point in English (66.67). Give the
    exact percentage (omr.count.tally.percent) or an already rounded one: a float goes through its
    shortest text, so 65.63 stays 65.63."""
    number = value if isinstance(value, Decimal) else Decimal(repr(float(value)))
    text = f"{number.quantize(Decimal('0.01'), rounding=ROUND_HALF_UP):,}"
    if lang == "vi":
        text = text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")
    return text


def reason_word(code: str, lang: str) -> str:
    return reason_phrase(code, lang)


def decision_reason_word(code: str, lang: str) -> str:
    """A reviewer's reason (a code from the screen's lists, or free text) in the minutes' words."""
    return decision_reason_phrase(code, lang)


def outcome_word(outcome: str, lang: str) -> str:
    words = OUTCOME_WORDS.get(outcome)
    return words(lang) if words else outcome


def outcome_reason(outcome: str, lang: str) -> str:
    words = OUTCOME_REASONS.get(outcome)
    return words(lang) if words else ""


# more sheets than collected: where people look first (the pairs of sheets whose ink is most alike); in
# English the discrepancy's own message says it
LOOK_FIRST_VI = "Nên xem trước các cặp tờ giống nhau nhất (có thể là một tờ quét hai lần): {pairs}."
LOOK_FIRST_PAIR_VI = "{a} trang {pa} và {b} trang {pb}"


def band_word(band: str | None, lang: str) -> str:
    w = words(lang)
    return {BAND_OVER_HALF: w["band_over_half"], BAND_TWO_THIRDS: w["band_two_thirds"]}.get(band or "", "")


def discrepancy_text(d: Discrepancy, lang: str) -> str:
    template = DISCREPANCY_WORDS.get(lang, {}).get(d.code)
    if template is None:
        return d.message + ("" if d.message.endswith(".") else ".")
    values: dict[str, Any] = {"count": fmt_int(d.count, lang)}
    for k, v in d.params.items():
        values[k] = fmt_int(v, lang) if isinstance(v, int) and not isinstance(v, bool) else v
    try:
        text = template.format(**values)
    except (KeyError, IndexError):
        return d.message
    if d.params.get("alike"):
        text += " " + LOOK_FIRST_VI.format(pairs="; ".join(LOOK_FIRST_PAIR_VI.format(
            a=p["first"]["source"], pa=p["first"]["page"], b=p["second"]["source"], pb=p["second"]["page"])
            for p in d.params["alike"]))
    return text
