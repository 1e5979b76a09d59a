"""Template validation: every kind of broken template is rejected with a message a clerk can act on
(file, line, field, what is wrong, what is allowed); good templates are normalised and fingerprinted."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest

from omr.ballot.layout import fingerprint, layout
from omr.ballot.template import CONFIDENCE_LEVELS_VI, TemplateError, load_template, parse_template

# A small valid template using every contest kind; tests break it one way at a time.
BASE = """\
id: thu-nghiem
language: vi
paper: A4
header:
  left:
    - ĐẢNG BỘ TỈNH ĐỒNG NAI
    - ĐẢNG BỘ TRƯỜNG CAO ĐẲNG Y TẾ ĐỒNG NAI
  right:
    - ĐẢNG CỘNG SẢN VIỆT NAM
  place_date: Đồng Nai, ngày 29 tháng 6 năm 2023
  title: PHIẾU LẤY PHIẾU TÍN NHIỆM
  subtitle: Đối với người giữ chức vụ do Đảng bộ Trường quản lý
  instructions: Đánh dấu X vào một trong ba ô cho mỗi người.
contests:
  - id: tin-nhiem
    kind: confidence
    title: ""
    rows:
      - id: quang
        name: Nguyễn Hồng Quang
        position: Hiệu trưởng
      - id: hanh
        name: Trần Thị Bích Hạnh
        position: Phó Hiệu trưởng
  - id: bau
    kind: choose
    title: Bầu Ban Chấp hành
    max: 2
    options:
      - {id: le-van-a, label: Lê Văn An}
      - {id: pham-thi-b, label: Phạm Thị Bình}
      - {id: vo-van-c, label: Võ Văn Cường}
  - id: bieu-quyet
    kind: yesno
    title: Biểu quyết thông qua quy chế
"""


def line_of(text: str, needle: str, occurrence: int = 1) -> int:
    """1-based line of the n-th line containing needle."""
    hits = [i for i, line in enumerate(text.splitlines(), start=1) if needle in line]
    assert len(hits) >= occurrence, f"{needle!r} not in the template text"
    return hits[occurrence - 1]


def edit(old: str, new: str, text: str = BASE, count: int = 1) -> str:
    assert text.count(old) >= count, f"{old!r} not in the template"
    return text.replace(old, new, count)


def problems(write_template, content: str | bytes) -> tuple[Path, list[str]]:
    path = write_template(content)
    with pytest.raises(TemplateError) as info:
        load_template(path)
    exc = info.value
    assert exc.source == str(path)
    # the exception text a clerk sees lists every problem
    for problem in exc.problems:
        assert problem in str(exc)
    return path, exc.problems


def only_problem(write_template, content: str | bytes) -> tuple[Path, str]:
    path, found = problems(write_template, content)
    assert len(found) == 1, found
    return path, found[0]


# --- good templates ---------------------------------------------------------------------------


def test_base_template_is_valid(write_template):
    t = load_template(write_template(BASE))
    assert t.id == "thu-nghiem"
    assert [c.kind for c in t.contests] == ["confidence", "choose", "yesno"]
    assert [p.name for p in t.contests[0].rows] == ["Nguyễn Hồng Quang", "Trần Thị Bích Hạnh"]
    assert t.contests[1].max_marks == 2


def test_bundled_templates_are_valid(bundled_templates):
    ids = set()
    for path in bundled_templates:
        t = load_template(path)
        assert t.source == str(path)
        ids.add(t.id)
        assert re.fullmatch(r"[0-9a-f]{64}", fingerprint(t))
    assert len(ids) == len(bundled_templates) >= 3


def test_defaults_are_filled_in(write_template):
    text = """\
id: toi-gian
header:
  title: PHIẾU LẤY PHIẾU TÍN NHIỆM
contests:
  - id: tn
    kind: confidence
    title: ""
    rows:
      - {id: a, name: Nguyễn Văn A}
  - id: q
    kind: yesno
    title: Câu hỏi
  - id: c
    kind: choose
    title: Chọn
    options:
      - {id: x, label: X}
      - {id: y, label: Y}
"""
    t = load_template(write_template(text))
    assert (t.language, t.paper, t.serial_numbers) == ("vi", "A4", False)
    assert t.paper_size_mm == (210.0, 297.0)
    assert (t.header.left, t.header.right, t.header.place_date, t.header.subtitle, t.header.instructions) == (
        (), (), "", "", "")
    conf, yesno, choose = t.contests
    # the three levels of QĐ 96, in Vietnamese, in the order of its Phụ lục 4
    assert [(o.id, o.label) for o in conf.options] == [
        ("cao", "Tín nhiệm cao"), ("tin-nhiem", "Tín nhiệm"), ("thap", "Tín nhiệm thấp")]
    assert [(o.id, o.label) for o in conf.options] == list(CONFIDENCE_LEVELS_VI)
    assert (conf.min_marks, conf.max_marks) == (1, 1)
    assert conf.rows[0].position == ""
    assert conf.row_ids == ("a",)
    assert [(o.id, o.label) for o in yesno.options] == [("yes", "Đồng ý"), ("no", "Không đồng ý")]
    assert yesno.row_ids == ("q",)
    assert (choose.min_marks, choose.max_marks) == (0, 1)
    # the defaults are part of what is fingerprinted
    canonical = t.canonical()
    assert canonical["contests"][0]["options"][2] == {"id": "thap", "label": "Tín nhiệm thấp"}
    assert canonical["language"] == "vi" and canonical["paper"] == "A4"


def test_english_defaults(write_template):
    text = edit("language: vi", "language: en")
    t = load_template(write_template(text))
    assert [o.label for o in t.contests[0].options] == ["High confidence", "Confidence", "Low confidence"]
    assert [o.label for o in t.contests[2].options] == ["Yes", "No"]


def test_custom_levels_replace_defaults(write_template):
    text = edit('    title: ""\n    rows:', '    title: ""\n    levels:\n      - {id: dong-y, label: Đồng ý}\n'
                '      - {id: khong, label: Không đồng ý}\n    rows:')
    t = load_template(write_template(text))
    assert [o.id for o in t.contests[0].options] == ["dong-y", "khong"]


def test_decomposed_vietnamese_is_normalised_to_nfc(write_template, tmp_path):
    nfd = unicodedata.normalize("NFD", BASE)
    assert nfd != BASE  # the test really feeds decomposed text
    nfc_t = load_template(write_template(BASE, "nfc.yaml"))
    nfd_t = load_template(write_template(nfd, "nfd.yaml"))
    assert nfd_t.header.title == "PHIẾU LẤY PHIẾU TÍN NHIỆM"
    assert nfd_t.contests[0].rows[0].name == "Nguyễn Hồng Quang"
    for text in (nfd_t.header.title, nfd_t.header.place_date, *nfd_t.header.left,
                 *(p.name for p in nfd_t.contests[0].rows), *(o.label for o in nfd_t.contests[0].options)):
        assert unicodedata.is_normalized("NFC", text), text
    assert nfd_t == nfc_t
    assert fingerprint(nfd_t) == fingerprint(nfc_t)


def test_whitespace_and_comments_do_not_change_the_fingerprint(write_template):
    base = fingerprint(load_template(write_template(BASE, "a.yaml")))
    reformatted = "# a comment\n" + edit("title: PHIẾU LẤY PHIẾU TÍN NHIỆM", "title:   PHIẾU  LẤY PHIẾU TÍN NHIỆM  ")
    assert fingerprint(load_template(write_template(reformatted, "b.yaml"))) == base
    assert fingerprint(load_template(write_template(BASE, "c.yaml"))) == base  # deterministic


PRINTED_TEXT_EDITS = [
    ("ĐẢNG BỘ TỈNH ĐỒNG NAI", "ĐẢNG BỘ TỈNH BÌNH DƯƠNG"),  # header.left
    ("- ĐẢNG CỘNG SẢN VIỆT NAM", "- ĐẢNG CỘNG SẢN VIỆT NAM X"),  # header.right
    ("ngày 29 tháng 6", "ngày 30 tháng 6"),  # place_date
    ("title: PHIẾU LẤY PHIẾU TÍN NHIỆM", "title: PHIẾU LẤY PHIẾU TÍN NHIỆM LẠI"),  # title
    ("do Đảng bộ Trường quản lý", "do Đảng bộ Trường quản lí"),  # subtitle
    ("cho mỗi người.", "cho mỗi người"),  # instructions
    ("name: Nguyễn Hồng Quang", "name: Nguyễn Hồng Quân"),  # a name
    ("position: Hiệu trưởng", "position: Hiệu phó"),  # a position
    ('title: ""', "title: Lấy phiếu"),  # contest title
    ("label: Lê Văn An", "label: Lê Văn Ân"),  # option label
    ("title: Biểu quyết thông qua quy chế", "title: Biểu quyết thông qua nội quy"),  # yes/no question
    ("kind: yesno\n    title: Biểu quyết thông qua quy chế",
     "kind: yesno\n    title: Biểu quyết thông qua quy chế\n    options:\n      - {id: yes, label: Có}\n"
     "      - {id: no, label: Không đồng ý}"),  # a yes/no box label
    ('title: ""\n    rows:', 'title: ""\n    levels:\n      - {id: cao, label: Tín nhiệm cao}\n'
     '      - {id: tin-nhiem, label: Tín nhiệm}\n      - {id: thap, label: Không tín nhiệm}\n    rows:'),  # level
]


def test_fingerprint_changes_when_any_printed_text_changes(write_template):
    base_t = load_template(write_template(BASE, "base.yaml"))
    seen = {fingerprint(base_t): "base"}
    for i, (old, new) in enumerate(PRINTED_TEXT_EDITS):
        t = load_template(write_template(edit(old, new), f"edit{i}.yaml"))
        assert t != base_t, old
        fp = fingerprint(t)
        assert fp not in seen, f"changing {old!r} kept the fingerprint of {seen.get(fp)}"
        seen[fp] = old
    # the default levels written out in full are the same ballot: same fingerprint
    explicit = edit('title: ""\n    rows:', 'title: ""\n    levels:\n      - {id: cao, label: Tín nhiệm cao}\n'
                    '      - {id: tin-nhiem, label: Tín nhiệm}\n      - {id: thap, label: Tín nhiệm thấp}\n    rows:')
    assert fingerprint(load_template(write_template(explicit, "explicit.yaml"))) == fingerprint(base_t)


def test_fingerprint_changes_with_geometry_relevant_fields(write_template):
    base = fingerprint(load_template(write_template(BASE, "a.yaml")))
    for i, (old, new) in enumerate([("paper: A4", "paper: Letter"), ("max: 2", "max: 3"),
                                    ("id: hanh", "id: hanh2"), ("language: vi", "language: en")]):
        assert fingerprint(load_template(write_template(edit(old, new), f"g{i}.yaml"))) != base, old


def test_parse_template_without_a_file_names_its_source():
    with pytest.raises(TemplateError) as info:
        parse_template(edit("paper: A4", "paper: A3"), "from-clipboard")
    assert info.value.problems[0].startswith("from-clipboard:3: paper:")


# --- broken templates: one kind at a time -----------------------------------------------------


def test_unknown_key_top_level(write_template):
    text = edit("paper: A4\n", "paper: A4\ncolour: red\n")
    path, msg = only_problem(write_template, text)
    assert msg.startswith(f"{path}:{line_of(text, 'colour')}: colour: unknown key 'colour'")
    assert "allowed here: contests, duplex, header, id, language, paper, serial_numbers" in msg


def test_unknown_key_in_contest_and_row(write_template):
    text = edit("    max: 2\n", "    max: 2\n    maximum: 3\n")
    text = edit("        position: Hiệu trưởng\n", "        position: Hiệu trưởng\n        chuc_vu: x\n", text)
    path, found = problems(write_template, text)
    assert len(found) == 2, found
    assert any(p.startswith(f"{path}:{line_of(text, 'maximum')}: contests[1].maximum: unknown key 'maximum'")
               and "allowed here: id, instructions, kind, max, min, options, title" in p for p in found), found
    assert any(p.startswith(f"{path}:{line_of(text, 'chuc_vu')}: contests[0].rows[0].chuc_vu: unknown key")
               and "allowed here: id, name, position" in p for p in found), found


def test_unknown_key_in_header(write_template):
    text = edit("  title: PHIẾU", "  tieu_de: x\n  title: PHIẾU")
    path, msg = only_problem(write_template, text)
    assert msg.startswith(f"{path}:{line_of(text, 'tieu_de')}: header.tieu_de: unknown key 'tieu_de'")
    assert "instructions, left, place_date, right, subtitle, title" in msg


@pytest.mark.parametrize("field, old, new, where", [
    ("header", None, None, "(top level)"),
    ("contests", None, None, "(top level)"),
    ("id", "id: thu-nghiem\n", "", "(top level)"),
    ("title", "  title: PHIẾU LẤY PHIẾU TÍN NHIỆM\n", "", "header"),
    ("name", "        name: Trần Thị Bích Hạnh\n", "", "contests[0].rows[1]"),
    ("options", "    options:\n      - {id: le-van-a, label: Lê Văn An}\n"
                "      - {id: pham-thi-b, label: Phạm Thị Bình}\n"
                "      - {id: vo-van-c, label: Võ Văn Cường}\n", "", "contests[1]"),
    ("title", "    title: Biểu quyết thông qua quy chế\n", "", "contests[2]"),
])
def test_missing_fields(write_template, field, old, new, where):
    if field == "header":
        text = BASE[:BASE.index("header:")] + BASE[BASE.index("contests:"):]
    elif field == "contests":
        text = BASE[:BASE.index("contests:")]
    else:
        text = edit(old, new)
    path, msg = only_problem(write_template, text)
    assert re.fullmatch(rf"{re.escape(str(path))}:\d+: {re.escape(where)}: missing required field '{field}'", msg), msg


def test_missing_row_id_is_one_message(write_template):
    text = edit("      - id: hanh\n        name:", "      - name:")
    path, msg = only_problem(write_template, text)
    assert msg == f"{path}:{line_of(text, 'Trần Thị Bích Hạnh')}: contests[0].rows[1]: missing required field 'id'"


@pytest.mark.parametrize("old, new, field, dup", [
    ("  - id: bau\n", "  - id: tin-nhiem\n", "contests[1].id", "tin-nhiem"),
    ("      - id: hanh\n", "      - id: quang\n", "contests[0].rows[1].id", "quang"),
    ("{id: vo-van-c,", "{id: le-van-a,", "contests[1].options[2].id", "le-van-a"),
])
def test_duplicate_ids(write_template, old, new, field, dup):
    text = edit(old, new)
    path, msg = only_problem(write_template, text)
    line = line_of(text, new.strip(), 2)
    assert msg == (f"{path}:{line}: {field}: duplicate id '{dup}': ids must be unique within their list")


def test_invalid_id(write_template):
    text = edit("      - id: hanh\n", "      - id: Trần Hạnh\n")
    path, msg = only_problem(write_template, text)
    assert msg.startswith(f"{path}:{line_of(text, 'Trần Hạnh')}: contests[0].rows[1].id: invalid id 'Trần Hạnh'")
    assert "lowercase letters, digits, '-' or '_'" in msg


def test_empty_confidence_contest(write_template):
    start, end = BASE.index("    rows:\n"), BASE.index("  - id: bau")
    text = BASE[:start] + "    rows: []\n" + BASE[end:]
    path, msg = only_problem(write_template, text)
    assert msg == (f"{path}:{line_of(text, 'rows: []')}: contests[0].rows: the contest is empty: "
                   "list at least one person (id, name, position)")


def test_empty_choose_contest(write_template):
    start, end = BASE.index("    options:\n"), BASE.index("  - id: bieu-quyet")
    text = BASE[:start] + "    options: []\n" + BASE[end:]
    path, found = problems(write_template, text)
    line = line_of(text, "options: []")
    assert f"{path}:{line}: contests[1].options: the contest is empty: list at least one option {{id, label}}" in found
    assert len([p for p in found if "contests[1].options" in p]) == 1, found  # said once, not twice


def test_empty_contests_list(write_template):
    text = BASE[:BASE.index("contests:")] + "contests: []\n"
    path, msg = only_problem(write_template, text)
    assert msg == f"{path}:{line_of(text, 'contests: []')}: contests: expected a non-empty list of contests"


def test_unknown_contest_kind(write_template):
    text = edit("kind: choose", "kind: ranked")
    path, msg = only_problem(write_template, text)
    assert msg == (f"{path}:{line_of(text, 'ranked')}: contests[1].kind: unknown contest kind 'ranked'; "
                   "allowed: confidence, choose, yesno, crossout")


def test_name_too_long_for_its_cell(write_template):
    long_name = "Nguyễn Thị Bích Hạnh Tôn Nữ Hoàng Phương Thảo Công Tằng Tôn Nữ Thanh"  # < 80 characters
    text = edit("name: Trần Thị Bích Hạnh", f"name: {long_name}")
    path, msg = only_problem(write_template, text)
    assert msg.startswith(f"{path}:{line_of(text, long_name)}: contests[0].rows[1].name: '{long_name}' is too long "
                          "for its")
    assert re.search(r"\d+ mm cell \(2 lines at most\)$", msg), msg


def test_name_over_the_character_limit(write_template):
    long_name = "Nguyễn " * 15
    text = edit("name: Trần Thị Bích Hạnh", f"name: {long_name}")
    path, msg = only_problem(write_template, text)
    assert msg == (f"{path}:{line_of(text, 'name: Nguyễn Nguyễn')}: contests[0].rows[1].name: "
                   "text is 104 characters long; at most 80 allowed")


def test_header_line_wider_than_its_block(write_template):
    wide = "ĐẢNG BỘ KHỐI CÁC CƠ QUAN VÀ DOANH NGHIỆP TỈNH ĐỒNG NAI"
    text = edit("    - ĐẢNG BỘ TRƯỜNG CAO ĐẲNG Y TẾ ĐỒNG NAI", f"    - {wide}")
    path, msg = only_problem(write_template, text)
    assert msg == (f"{path}:{line_of(text, wide)}: header.left[1]: the line is wider than its 88 mm block; "
                   "split it into two lines")


def test_title_too_long(write_template):
    title = ("PHIẾU LẤY PHIẾU TÍN NHIỆM ĐỐI VỚI NGƯỜI GIỮ CHỨC VỤ DO QUỐC HỘI, HỘI ĐỒNG NHÂN DÂN BẦU HOẶC PHÊ CHUẨN "
             "TẠI KỲ HỌP THỨ 8")
    assert len(title) <= 120  # under the character limit: it is the printed width that fails
    text = edit("title: PHIẾU LẤY PHIẾU TÍN NHIỆM", f"title: {title}")
    path, msg = only_problem(write_template, text)
    assert msg.startswith(f"{path}:{line_of(text, title)}: header.title: the title needs more than 2 lines")


def test_choose_contest_taller_than_a_page(write_template):
    options = "".join(f"      - {{id: o{i}, label: Ứng cử viên số {i} với tên rất dài để xuống dòng "
                      f"{'dài ' * 12}}}\n" for i in range(19))
    start, end = BASE.index("    options:\n") + len("    options:\n"), BASE.index("  - id: bieu-quyet")
    text = BASE[:start] + options + BASE[end:]
    path, msg = only_problem(write_template, text)
    # a list is located at its first item
    assert msg == (f"{path}:{line_of(text, 'id: o0,')}: contests[1].options: 19 options do not fit on one page; "
                   "split the contest")


def test_every_accepted_choose_contest_fits_its_page(write_template):
    """Validation and layout agree: what validates never runs into the QR code and fiducials."""
    for n in (10, 16, 17, 18, 22):
        options = "".join(f"      - {{id: o{i}, label: Ứng cử viên {i}}}\n" for i in range(n))
        start, end = BASE.index("    options:\n") + len("    options:\n"), BASE.index("  - id: bieu-quyet")
        text = BASE[:start] + options + BASE[end:]
        try:
            t = load_template(write_template(text, f"n{n}.yaml"))
        except TemplateError as exc:
            assert "do not fit on one page" in str(exc)
            continue
        for page in layout(t).pages:
            limit = page.height - 30.0  # above the QR code and the bottom fiducials
            assert all(b.rect.y + b.rect.h < limit for b in page.boxes), (n, page.number)


@pytest.mark.parametrize("value", ["A3", "a4", "Legal", "210x297"])
def test_invalid_paper_size(write_template, value):
    text = edit("paper: A4", f"paper: {value}")
    path, msg = only_problem(write_template, text)
    assert msg == f"{path}:3: paper: invalid paper size '{value}'; allowed: A4, Letter, A5"


def test_letter_paper_is_accepted(write_template):
    t = load_template(write_template(edit("paper: A4", "paper: Letter")))
    assert t.paper_size_mm == (215.9, 279.4)


@pytest.mark.parametrize("value", ["fr", "vn", "VI"])
def test_invalid_language(write_template, value):
    text = edit("language: vi", f"language: {value}")
    path, msg = only_problem(write_template, text)
    assert msg == f"{path}:2: language: unknown language '{value}'; allowed: vi, en"


@pytest.mark.parametrize("old, new, field, expected", [
    ("max: 2", "max: 0", "max", "expected a whole number from 1 to 3, got 0"),
    ("max: 2", "max: 4", "max", "expected a whole number from 1 to 3, got 4"),
    ("max: 2", "max: hai", "max", "expected a whole number from 1 to 3, got 'hai'"),
    ("max: 2", "max: 2\n    min: -1", "min", "expected a whole number from 0 to 3, got -1"),
    ("max: 2", "max: 1\n    min: 2", "min", "min (2) is larger than max (1)"),
])
def test_bad_min_max(write_template, old, new, field, expected):
    text = edit(old, new)
    path, msg = only_problem(write_template, text)
    needle = new.splitlines()[-1].strip()
    assert msg == f"{path}:{line_of(text, needle)}: contests[1].{field}: {expected}"


def test_yes_no_needs_two_options(write_template):
    text = edit("title: Biểu quyết thông qua quy chế", "title: Biểu quyết\n    options:\n      - {id: co, label: Có}")
    path, msg = only_problem(write_template, text)
    assert msg == (f"{path}:{line_of(text, 'id: co')}: contests[2].options: "
                   "a yes/no question has exactly 2 options, got 1")


def test_duplex_must_be_boolean_and_leaves_the_fingerprint_alone(write_template):
    """How the ballot is printed (both sides of a sheet) is not what is printed: the same fingerprint, so
    scans made before the key was written still find their template."""
    text = edit("paper: A4\n", "paper: A4\nduplex: hai mặt\n")
    path, msg = only_problem(write_template, text)
    assert msg == f"{path}:4: duplex: expected true or false"
    plain = load_template(write_template(BASE, "plain.yaml"))
    duplex = load_template(write_template(edit("paper: A4\n", "paper: A4\nduplex: true\n"), "duplex.yaml"))
    assert (plain.duplex, duplex.duplex) == (False, True)
    assert fingerprint(duplex) == fingerprint(plain)


def test_serial_numbers_must_be_boolean(write_template):
    text = edit("paper: A4\n", "paper: A4\nserial_numbers: có\n")
    path, msg = only_problem(write_template, text)
    assert msg == f"{path}:4: serial_numbers: expected true or false"


def test_not_yaml(write_template):
    text = edit("  title: PHIẾU LẤY PHIẾU TÍN NHIỆM", "  title: [PHIẾU LẤY PHIẾU TÍN NHIỆM")
    path, msg = only_problem(write_template, text)
    assert msg.startswith(f"{path}:")
    assert ": not valid YAML: " in msg
    line = int(msg[len(str(path)) + 1:].split(":")[0])
    assert line >= line_of(text, "[PHIẾU")  # where the parser noticed, at or after the mistake


def test_not_a_mapping(write_template):
    path, msg = only_problem(write_template, "- một\n- hai\n")
    assert msg.startswith(f"{path}:1: (top level): expected a mapping with the keys")
    assert "'contests', 'duplex', 'header', 'id'" in msg


def test_key_given_twice(write_template):
    text = edit("  title: PHIẾU LẤY PHIẾU TÍN NHIỆM\n", "  title: PHIẾU LẤY PHIẾU TÍN NHIỆM\n  title: PHIẾU BẦU\n")
    path, msg = only_problem(write_template, text)
    assert msg == f"{path}:{line_of(text, 'PHIẾU BẦU')}: header.title: the key is given twice"


@pytest.mark.parametrize("content", ["", "\n\n", "# chỉ có chú thích\n"])
def test_empty_file(write_template, content):
    path, msg = only_problem(write_template, content)
    assert msg == f"{path}: the file is empty"


def test_non_utf8_file(write_template):
    raw = BASE.encode("cp1258", errors="replace")  # a Windows Vietnamese code page
    path, msg = only_problem(write_template, raw)
    assert re.fullmatch(rf"{re.escape(str(path))}: not UTF-8 text \(byte \d+\)", msg), msg


def test_missing_file(tmp_path):
    path = tmp_path / "khong-co.yaml"
    with pytest.raises(TemplateError) as info:
        load_template(path)
    assert info.value.problems == [f"{path}: no such file"]
    assert isinstance(info.value, ValueError)


def test_several_problems_are_all_reported(write_template):
    text = edit("paper: A4", "paper: A3")
    text = edit("language: vi", "language: fr", text)
    text = edit("      - id: hanh\n", "      - id: quang\n", text)
    text = edit("    max: 2\n", "    max: 2\n    maximum: 3\n", text)
    text = edit("  title: PHIẾU LẤY PHIẾU TÍN NHIỆM\n", "", text)
    path, found = problems(write_template, text)
    expected = {
        "paper: invalid paper size 'A3'",
        "language: unknown language 'fr'",
        "contests[0].rows[1].id: duplicate id 'quang'",
        "contests[1].maximum: unknown key 'maximum'",
        "header: missing required field 'title'",
    }
    assert len(found) == len(expected), found
    for fragment in expected:
        assert sum(fragment in p for p in found) == 1, (fragment, found)
    assert all(re.match(rf"{re.escape(str(path))}:\d+: ", p) for p in found)
    assert str(len(expected)) + " problem(s)" in str(TemplateError(str(path), found))


def test_yaml_yes_no_and_dates_are_text_as_written(write_template):
    """YAML 1.1 would read `no` as false and 2023-06-29 as a date; a clerk means the words."""
    text = edit("language: vi", "language: en")
    text = edit("title: Biểu quyết thông qua quy chế",
                "title: Biểu quyết\n    options:\n      - {id: yes, label: Yes}\n      - {id: no, label: No}", text)
    text = edit("place_date: Đồng Nai, ngày 29 tháng 6 năm 2023", "place_date: 2023-06-29", text)
    text = edit("paper: A4\n", "paper: A4\nserial_numbers: true\n", text)
    t = load_template(write_template(text))
    assert [(o.id, o.label) for o in t.contests[2].options] == [("yes", "Yes"), ("no", "No")]
    assert t.header.place_date == "2023-06-29"
    assert t.serial_numbers is True


def test_a_template_file_read_again_is_parsed_again_only_when_its_text_changed(write_template, monkeypatch) -> None:
    import yaml

    composed = []
    compose = yaml.compose
    monkeypatch.setattr(yaml, "compose", lambda *a, **k: composed.append(1) or compose(*a, **k))
    path = write_template(BASE)
    first = load_template(path)
    assert load_template(path) is first and len(composed) == 1
    write_template(BASE.replace("title: PHIẾU LẤY PHIẾU TÍN NHIỆM", "title: PHIẾU TÍN NHIỆM"))
    edited = load_template(path)
    assert len(composed) == 2 and edited.header.title == "PHIẾU TÍN NHIỆM" != first.header.title
