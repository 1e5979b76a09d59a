"""`omr review` over real HTTP: access token, CSRF, path traversal, input validation, decisions.

The database comes from real scanned PDFs (ballot_sim.simulate pages -> PDF -> omr scan). The server is
the real one (waitress, in-process, on a free loopback port); requests are plain HTTP so that every
header and every path goes out exactly as written.
"""

from __future__ import annotations

import http.client
import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlencode

import cv2
import pytest
from conftest import BUNDLED_TEMPLATES, ROOT, SEED_TEMPLATE

from ballot_sim import simulate as S
from omr.ballot.layout import layout
from omr.ballot.template import load_template
from omr.read.calibration import load_profile
from omr.review.security import host_name, is_loopback
from omr.review.server import ReviewServer
from omr.scan.batch import ScanOptions, scan
from omr.store.database import Store

CHOOSE_TEMPLATE = """\
id: hoi-dong-thu
language: vi
paper: A4
header:
  left: [HỘI ĐỒNG THỬ]
  right: [CỘNG HOÀ XÃ HỘI CHỦ NGHĨA VIỆT NAM]
  place_date: Hà Nội, ngày 1 tháng 1 năm 2027
  title: PHIẾU BẦU THỬ
  subtitle: Chọn từ 2 đến 3 người
  instructions: Đánh dấu X vào ô bên cạnh người được chọn.
contests:
  - id: hoi-dong
    kind: choose
    title: Hội đồng
    min: 2
    max: 3
    options:
      - {id: an, label: Nguyễn Văn An}
      - {id: binh, label: Trần Thị Bình}
      - {id: cuong, label: Lê Văn Cường}
      - {id: dung, label: Phạm Thị Dung}
"""


def _with_pixels(page: S.SimulatedPage, pixels) -> S.SimulatedPage:
    return S.SimulatedPage(replace(page.scan, pixels=pixels), page.expected, page.marked)


def crafted_pages(seed_template, choose_template) -> list[S.SimulatedPage]:
    """Sheets the bundled samples lack, each raising one reason: undervote (a choose contest with a
    minimum), a faint scan, a blurred scan, a broad stroke over a printed name; and a plain sheet
    with a person left unmarked (no-mark), a clean valid one, and one whose QR code is covered (it is
    identified by its print)."""
    sim = S.Simulator([seed_template, choose_template], seed=7)
    pages = list(sim.ballot(1, choose_template, "clean", ["undervote"]))
    faint = sim.ballot(2, seed_template, "clean", ["normal"])[0]
    pages.append(_with_pixels(faint, S.contrast(faint.scan.pixels, 175, 230)))
    blurred = sim.ballot(3, seed_template, "clean", ["normal"])[0]
    k = blurred.scan.dpi / 25.4
    img = S.blur(blurred.scan.pixels, 4.5)
    qr = layout(seed_template).pages[0].qr.grow(3)  # the QR code kept sharp: the sheet is still identified
    ys, xs = slice(int(qr.y * k), int((qr.y + qr.h) * k)), slice(int(qr.x * k), int((qr.x + qr.w) * k))
    img[ys, xs] = blurred.scan.pixels[ys, xs]
    pages.append(_with_pixels(blurred, img))
    obscured = sim.ballot(4, seed_template, "clean", ["normal"])[0]
    cell = layout(seed_template).pages[0].name_cells[0]
    k = obscured.scan.dpi / 25.4
    y = int((cell.text_rect.y + cell.text_rect.h / 2) * k)
    img = obscured.scan.pixels.copy()
    cv2.line(img, (int(cell.text_rect.x * k) - 5, y), (int((cell.text_rect.x + cell.text_rect.w) * k) + 5, y), 150,
             int(2.2 * k))
    pages.append(_with_pixels(obscured, img))
    pages += sim.ballot(5, seed_template, "clean", ["no_mark"])
    pages += sim.ballot(6, seed_template, "clean", ["normal"])
    covered = sim.ballot(7, seed_template, "clean", ["normal"])[0]  # coffee over the QR code: identified by print
    qr = layout(seed_template).pages[0].qr
    k = covered.scan.dpi / 25.4
    img = covered.scan.pixels.copy()
    centre = (int((qr.x + qr.w / 2) * k), int((qr.y + qr.h / 2) * k))
    cv2.ellipse(img, centre, (int(qr.w * 0.45 * k), int(qr.h * 0.3 * k)), 20, 0, 360, 90, -1)
    pages.append(_with_pixels(covered, img))
    return pages


def build_review_db(folder: Path, with_samples: bool = False, jobs: int = 1) -> Path:
    """A results database from real scanned files: the crafted sheets above (extra.pdf), and with
    `with_samples` every bundled sample scan (all the other reasons). Paths are absolute, so the
    review screen finds the scans from any folder. Read with a committee's policy of confirming every
    invalid row (`review_invalid_rows`), so that rows with no mark or several marks reach the queue too
    and their review is tested (by default the rules count them invalid without a person)."""
    folder.mkdir(parents=True, exist_ok=True)
    choose_path = folder / "hoi-dong-thu.yaml"
    choose_path.write_text(CHOOSE_TEMPLATE, encoding="utf-8")
    seed_template, choose_template = load_template(SEED_TEMPLATE), load_template(choose_path)
    S.write_pages(crafted_pages(seed_template, choose_template), folder, "extra.pdf", "pdf")
    paths = [*map(str, BUNDLED_TEMPLATES), str(choose_path)]
    templates = tuple(load_template(p) for p in paths)
    inputs = [str(folder / "extra.pdf")] + ([str(ROOT / "sample_scans")] if with_samples else [])
    db = folder / "results.sqlite"
    with Store(db) as store:
        profile = replace(load_profile(), review_invalid_rows=True)
        scan(inputs, store, ScanOptions(templates, tuple(paths), profile, jobs=jobs))
    return db


@pytest.fixture(scope="module")
def review_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_review_db(tmp_path_factory.mktemp("review-http"))


@pytest.fixture(scope="module")
def server(review_db: Path):
    srv = ReviewServer(review_db, host="127.0.0.1", port=0).start()
    yield srv
    srv.close()


class Client:
    """Plain HTTP to the server, keeping cookies like a browser (one session)."""

    def __init__(self, port: int, host_header: str | None = None):
        self.port = port
        self.host_header = host_header or f"127.0.0.1:{port}"
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, body: dict | list | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        h = {"Host": self.host_header}
        if self.cookies:
            h["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        data = None
        if body is not None:
            data = urlencode(body, doseq=True).encode("utf-8")
            h["Content-Type"] = "application/x-www-form-urlencoded"
        h.update(headers or {})
        conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        for k, v in h.items():
            conn.putheader(k, v)
        if data is not None:
            conn.putheader("Content-Length", str(len(data)))
        conn.endheaders(data)
        resp = conn.getresponse()
        payload = resp.read()
        for value in resp.headers.get_all("Set-Cookie") or []:
            name, _, rest = value.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]
        out = (resp.status, {k.lower(): v for k, v in resp.getheaders()}, payload)
        conn.close()
        return out

    def get(self, path: str, **kw) -> tuple[int, dict[str, str], bytes]:
        return self.request("GET", path, **kw)

    def post(self, path: str, body: dict | list, **kw) -> tuple[int, dict[str, str], bytes]:
        return self.request("POST", path, body=body, **kw)

    def csrf(self, path: str = "/queue") -> str:
        status, _, page = self.get(path)
        assert status == 200
        m = re.search(rb'name="csrf_token" value="([0-9a-f]{64})"', page)
        assert m, "no CSRF token in the page"
        return m.group(1).decode()


def review_sheet(db: Path) -> tuple[int, int, str]:
    """(sheet id, row index, option id) of a sheet awaiting review with a row to decide (no-mark)."""
    with Store(db) as store:
        for stored in store.sheet_items():
            sid, read = stored.id, stored.read
            for i, row in enumerate(read.rows):
                if read.status == "review" and any(r.code == "no-mark" for r in row.reasons):
                    return sid, i, row.marks[0].option_id
    raise AssertionError("no sheet with a no-mark row")


def decisions(db: Path) -> int:
    with Store(db) as store:
        return len(store.decisions())


# ---------------------------------------------------------------------------------------------


def test_the_crafted_scans_raise_the_reasons_the_samples_lack(review_db: Path) -> None:
    with Store(review_db) as store:
        codes = {r.code for read in store.sheets() for r in read.reasons} | {
            r.code for read in store.sheets() for row in read.rows for r in row.reasons}
    assert {"undervote", "faint", "blurred", "name-obscured", "no-mark"} <= codes, codes


def test_loopback_only_by_default_and_token_required_elsewhere(review_db: Path) -> None:
    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("::1")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.5") and not is_loopback("example.org")
    assert host_name("[::1]:8000") == "::1" and host_name("localhost:80") == "localhost"
    local = ReviewServer(review_db, host="127.0.0.1", port=0)
    try:
        assert local.token is None and local.config.loopback_only
    finally:
        local.close()
    srv = ReviewServer(review_db, host="0.0.0.0", port=0).start()  # reached below through loopback only
    try:
        assert srv.token and len(srv.token) >= 24 and srv.url.endswith(f"?token={srv.token}")
        c = Client(srv.port)
        for path in ("/queue", "/results", "/sheet/1", "/sheet/1/image.png", "/sheet/1/original.png",
                     "/static/review.css"):
            status, _, body = c.get(path)
            assert status == 401, (path, status)
            assert b"access token" in body
        assert c.post("/lang", {"lang": "en"})[0] == 401
        assert c.get("/queue?token=wrong-token")[0] == 401
        assert c.get(f"/queue?token={srv.token[:-1]}")[0] == 401
        status, headers, _ = c.get(f"/queue?token={srv.token}&show=all")
        assert status == 303 and headers["location"] == "/queue?show=all"  # the token leaves the address
        cookie = next(v for v in headers.get("set-cookie", "").split(",") if "omr_token" in v)
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
        assert c.get("/queue")[0] == 200  # from now on the cookie carries it
        assert c.get("/sheet/1/original.png")[0] == 200
        bearer = Client(srv.port)
        assert bearer.get("/queue", headers={"Authorization": f"Bearer {srv.token}"})[0] == 200
        assert bearer.get("/queue", headers={"Authorization": "Bearer nope"})[0] == 401
        other = Client(srv.port)
        other.cookies["omr_token"] = "forged"
        assert other.get("/queue")[0] == 401
    finally:
        srv.close()


def test_requests_naming_another_host_are_refused_on_loopback(server: ReviewServer) -> None:
    # a web page at evil.example whose name resolves to 127.0.0.1 (DNS rebinding) gets nothing
    status, _, body = Client(server.port, host_header=f"evil.example:{server.port}").get("/queue")
    assert status == 400 and b"127.0.0.1" in body
    for good in (f"localhost:{server.port}", f"127.0.0.1:{server.port}"):
        assert Client(server.port, host_header=good).get("/queue")[0] == 200


def test_every_state_changing_request_needs_its_csrf_token(server: ReviewServer, review_db: Path) -> None:
    sid, row, _ = review_sheet(review_db)
    before = decisions(review_db)
    form = {"reviewer": "Nguyễn Văn A", "do": f"accept:{row}", f"seen-{row}": ""}
    c = Client(server.port)
    token = c.csrf()
    # no token, a wrong token, a token of another session, no session cookie, another site's origin
    assert c.post(f"/sheet/{sid}/decide", form)[0] == 403
    assert c.post(f"/sheet/{sid}/decide", {**form, "csrf_token": "0" * 64})[0] == 403
    other = Client(server.port)
    other_token = other.csrf()
    assert c.post(f"/sheet/{sid}/decide", {**form, "csrf_token": other_token})[0] == 403
    bare = Client(server.port)
    assert bare.post(f"/sheet/{sid}/decide", {**form, "csrf_token": token})[0] == 403
    for origin in ("http://evil.example", "null"):
        assert c.post(f"/sheet/{sid}/decide", {**form, "csrf_token": token}, headers={"Origin": origin})[0] == 403
    assert c.post(f"/sheet/{sid}/decide", {**form, "csrf_token": token},
                  headers={"Sec-Fetch-Site": "cross-site"})[0] == 403
    assert c.post("/lang", {"lang": "en", "next": "/queue"})[0] == 403
    assert decisions(review_db) == before  # nothing was written
    # the genuine request works, from the same origin
    status, headers, _ = c.post(f"/sheet/{sid}/decide", {**form, "csrf_token": token},
                                headers={"Origin": f"http://127.0.0.1:{server.port}", "Sec-Fetch-Site": "same-origin"})
    assert status == 303, status
    assert decisions(review_db) == before + 1
    assert c.post("/lang", {"lang": "en", "next": "/queue", "csrf_token": token})[0] == 303


def test_files_are_served_only_as_the_database_names_them(server: ReviewServer) -> None:
    c = Client(server.port)
    for path in ("/sheet/../../../../etc/passwd", "/static/../../../../etc/passwd",
                 "/static/..%2f..%2f..%2fetc%2fpasswd",
                 "/static/%2e%2e/%2e%2e/%2e%2e/etc/passwd", "/font/..%2f..%2f..%2f..%2fetc%2fpasswd",
                 "/font/BeVietnamPro-Regular.ttf/../../../../etc/passwd", "/font/passwd",
                 "/sheet/1%2f..%2f..%2fetc%2fpasswd/image.png", "/sheet/%2e%2e/image.png", "/sheet/-1/image.png",
                 "/sheet/1.5/image.png", "/sheet/99999/image.png", "/sheet/99999/original.png",
                 "/sheet/1/zoom/999.png", "/sheet/1/zoom/-1.png", "/sheet/1/zoom/..%2f..%2fetc%2fpasswd",
                 "//etc/passwd", "/etc/passwd", "/static//etc/passwd",
                 "/static/%2fetc%2fpasswd", "/sheet/1/../../etc/passwd", "/sheet/99999"):
        status, headers, body = c.get(path)
        assert status in (400, 404, 405, 308), (path, status)
        assert b"root:" not in body and b"/bin/" not in body, path
        if status == 308:  # werkzeug's slash merging: it must land on an address of ours, still nothing
            assert headers["location"].startswith(("/", f"http://127.0.0.1:{server.port}/")), headers["location"]
    status, headers, body = c.get("/sheet/1/original.png?path=/etc/passwd&file=../../etc/passwd")
    assert status == 200 and body.startswith(b"\x89PNG") and headers["content-type"] == "image/png"  # ignored
    assert c.get("/font/BeVietnamPro-Regular.ttf")[0] == 200
    assert c.get("/static/review.js")[0] == 200
    # an open redirect through the language switch goes home instead
    token = c.csrf()
    for target in ("https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)"):
        status, headers, _ = c.post("/lang", {"lang": "vi", "next": target, "csrf_token": token})
        assert status == 303 and headers["location"] == "/queue", (target, headers["location"])


def test_a_scan_file_changed_after_the_scan_is_never_shown(tmp_path: Path) -> None:
    db = build_review_db(tmp_path / "swap")
    with Store(db) as store:
        sid = store.sheet_items()[0].id
    srv = ReviewServer(db, port=0).start()
    try:
        c = Client(srv.port)
        assert c.get(f"/sheet/{sid}/original.png")[0] == 200
        # another PDF put in its place: same name, other pixels
        extra = tmp_path / "swap" / "extra.pdf"
        other = S.Simulator([load_template(SEED_TEMPLATE)], seed=99).ballot(1, load_template(SEED_TEMPLATE), "clean")
        extra.unlink()
        S.write_pages(other, tmp_path / "swap", "extra.pdf", "pdf")
        srv.app.extensions["omr_reads"].images._pixels.items.clear()  # as after a restart
        srv.app.extensions["omr_reads"].images._encoded.items.clear()
        for path in (f"/sheet/{sid}/original.png", f"/sheet/{sid}/image.png"):
            status, _, body = c.get(path)
            assert status == 409 and b"no longer the page that was read" in body, (path, status)
        status, _, body = c.get(f"/sheet/{sid}")
        assert status == 200 and b"no longer the page that was read" in body  # the page says why, no crash
        extra.unlink()
        status, _, body = c.get(f"/sheet/{sid}/original.png")
        assert status == 409 and b"not found" in body
    finally:
        srv.close()


def test_a_ballot_fed_twice_the_other_way_round_is_shown_beside_its_first_scan_upright(tmp_path: Path) -> None:
    """A cross-out ballot scanned upright, then fed again upside down: the copy waits for a person, and the
    screen shows the two scans side by side both upright (turned by quarter turns, pixels as scanned), so
    the stamps and strikes can be compared; the scan itself stays available as stored."""
    import numpy as np

    party_path = ROOT / "ballot_templates" / "bau-bch-cdyt-dong-nai-2025.yaml"
    party = load_template(party_path)
    sim = S.Simulator([party], seed=5)
    first = sim.ballot(0, party, "clean", behaviours=("normal",), overrides={"rotation": 0})[0]
    again = sim.rescan(first, "clean", 0)
    S.write_pages([first], tmp_path, "a.pdf", "pdf")
    S.write_pages([_with_pixels(again, np.ascontiguousarray(np.rot90(again.scan.pixels, 2)))], tmp_path, "b.pdf",
                  "pdf")
    db = tmp_path / "r.sqlite"
    with Store(db) as store:
        scan([str(tmp_path / "a.pdf"), str(tmp_path / "b.pdf")], store,
             ScanOptions((party,), (str(party_path),), load_profile(), jobs=1))
        items = {Path(i.read.source).name: i for i in store.sheet_items()}
    copy, earlier = items["b.pdf"], items["a.pdf"]
    assert "duplicate" in {r.code for r in copy.read.reasons} and copy.read.registration.rotation == 180
    srv = ReviewServer(db, port=0).start()
    try:
        c = Client(srv.port)
        status, _, page = c.get(f"/sheet/{copy.id}")
        assert status == 200
        for sid in (copy.id, earlier.id):
            assert f'src="/sheet/{sid}/original.png?upright=1"'.encode() in page
        for item in (copy, earlier):
            images = {}
            for query in ("", "?upright=1"):
                status, headers, body = c.get(f"/sheet/{item.id}/original.png{query}")
                assert status == 200 and headers["content-type"] == "image/png"
                images[query] = cv2.imdecode(np.frombuffer(body, np.uint8), cv2.IMREAD_GRAYSCALE)
            turns = item.read.registration.rotation // 90
            assert np.array_equal(images["?upright=1"], np.rot90(images[""], turns))
    finally:
        srv.close()


def test_bad_requests_get_a_clear_4xx_never_a_crash(server: ReviewServer, review_db: Path) -> None:
    sid, row, option = review_sheet(review_db)
    c = Client(server.port)
    token = c.csrf()
    base = {"csrf_token": token, "reviewer": "Trần B", f"seen-{row}": ""}
    bad_gets = ["/queue?show=everything", "/queue?reason=../../x", "/queue?reason=" + "a" * 200,
                f"/sheet/{sid}?row=abc", f"/sheet/{sid}?row=99999", f"/sheet/{sid}?show=x",
                "/results?issued=abc", "/results?collected=-1", "/results?issued=1e9", "/results?present=99999999999",
                "/next?reason=%00"]
    for path in bad_gets:
        status, _, body = c.get(path)
        assert 400 <= status < 500, (path, status)
        assert b"error-message" in body, path
    bad_posts = [
        {**base, "do": f"accept:{row}", "reviewer": ""},  # reviewer required
        {**base, "do": f"accept:{row}", "reviewer": "   "},
        {**base, "do": f"accept:{row}", "reviewer": "x" * 81},
        {**base, "do": f"accept:{row}", "reviewer": "A\x00B"},
        {**base, "do": f"accept:{row}", "note": "n" * 1001},
        {**base, "do": "accept:999"},
        {**base, "do": "accept:-1"},
        {**base, "do": "accept:abc"},
        {**base, "do": f"set:{row}:no-such-option"},
        {**base, "do": f"set:{row}"},
        {**base, "do": f"setmany:{row}", f"choices-{row}": ["x", "y"]},
        {**base, "do": f"invalid:{row}"},  # no reason
        {**base, "do": f"invalid:{row}", f"invalid-reason-{row}": "made-up"},
        {**base, "do": f"invalid:{row}", f"invalid-reason-{row}": "other"},  # 'other' needs a note
        {**base, "do": "reject-sheet"},
        {**base, "do": "reject-sheet", "reject-reason": "other"},
        {**base, "do": "delete-everything"},
        {**base, "do": ""},
        {**base, "do": f"accept:{row}", f"seen-{row}": "abc"},
        {**base, "do": f"accept:{row}", f"seen-{row}": "999999"},  # not the decision in force: 409
    ]
    before = decisions(review_db)
    for form in bad_posts:
        status, _, body = c.post(f"/sheet/{sid}/decide", form)
        assert 400 <= status < 500, (form, status)
        assert b"error-message" in body
    assert c.post("/sheet/99999/decide", {**base, "do": "accept:0"})[0] == 404
    assert c.post(f"/sheet/{sid}/decide", {**base, "do": f"set:{row}:{option}", "note": "x" * 100_000})[0] == 413
    assert c.post("/lang", {"csrf_token": token, "lang": "fr"})[0] == 400
    assert c.request("PUT", f"/sheet/{sid}/decide", body=base)[0] == 405
    assert c.request("DELETE", "/queue")[0] in (403, 405)  # refused before routing: it carries no CSRF token
    assert decisions(review_db) == before


def test_decisions_are_appended_revisable_and_refused_when_stale(server: ReviewServer, review_db: Path) -> None:
    sid, row, option = review_sheet(review_db)
    c = Client(server.port)
    token = c.csrf(f"/sheet/{sid}")
    with Store(review_db) as store:
        machine = store.sheet(sid)
        seen = store.latest_decisions(sid).get((sid, machine.rows[row].contest_id, machine.rows[row].row_id))
    seen_id = str(seen.id) if seen else ""
    form = {"csrf_token": token, "reviewer": "Lê Văn C", "note": "nhìn rõ dấu X mờ", f"seen-{row}": seen_id,
            "do": f"set:{row}:{option}"}
    status, headers, _ = c.post(f"/sheet/{sid}/decide", form)
    assert status == 303
    with Store(review_db) as store:
        history = store.decisions(sid)
        assert store.sheet(sid) == machine  # the machine read is untouched
    first = history[-1]
    assert (first.action, first.choices, first.reviewer, first.note) == ("set", (option,), "Lê Văn C",
                                                                         "nhìn rõ dấu X mờ")
    assert first.machine["status"] == machine.rows[row].status
    # the same form again (the reviewer did not see the decision just made): refused, nothing written
    status, _, body = c.post(f"/sheet/{sid}/decide", form)
    assert status == 409 and b'id="form-error"' in body  # said on the sheet itself, in the screen's language
    assert "Người khác vừa quyết định".encode() in body
    # a revision that names the decision it replaces
    revise = {**form, f"seen-{row}": str(first.id), "do": f"invalid:{row}", f"invalid-reason-{row}": "no-mark"}
    assert c.post(f"/sheet/{sid}/decide", revise)[0] == 303
    with Store(review_db) as store:
        history = store.decisions(sid)
        key = (sid, machine.rows[row].contest_id, machine.rows[row].row_id)
        assert store.latest_decisions(sid)[key].action == "invalid"
        assert history[-1].supersedes == first.id
        assert [d.id for d in history][-2] == first.id
    status, _, page = c.get(f"/sheet/{sid}")
    assert status == 200 and b'class="superseded"' in page  # the history shows the revised decision
    assert "Lê Văn C".encode() in page


@pytest.mark.slow
def test_omr_review_command_refuses_a_missing_database_and_a_bad_port(tmp_path: Path) -> None:
    cli = [sys.executable, str(ROOT / "cli.py"), "review"]
    proc = subprocess.run([*cli, "--db", str(tmp_path / "nope.sqlite")], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "no such results database" in proc.stderr
    proc = subprocess.run([*cli, "--db", str(tmp_path / "x.sqlite"), "--port", "70000"], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 2 and "--port" in proc.stderr


def test_omr_review_command_serves_until_stopped(review_db: Path) -> None:
    import selectors
    import signal
    import time

    # Ctrl+C reaches the server as in a terminal even where the suite runs as a background job, which a shell
    # starts with SIGINT ignored and whose children inherit that (the server then never stopped: 20 s, failed)
    proc = subprocess.Popen([sys.executable, str(ROOT / "cli.py"), "review", "--db", str(review_db), "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        with selectors.DefaultSelector() as waiting:  # a server that never says where it listens fails, not hangs
            waiting.register(proc.stdout, selectors.EVENT_READ)
            said = waiting.select(timeout=60)
        line = proc.stdout.readline() if said else ""
        m = re.search(r"mở (http://127\.0\.0\.1:(\d+)/)", line)  # in the ballots' language
        if not m:
            proc.kill()
            pytest.fail(f"omr review did not say where it listens: {line!r} {proc.communicate()[1]}")
        assert "token" not in line
        deadline = time.monotonic() + 20
        while True:
            try:
                status, _, body = Client(int(m.group(2))).get("/queue")
                break
            except ConnectionRefusedError:
                assert time.monotonic() < deadline
                time.sleep(0.1)
        assert status == 200 and "Xem xét phiếu".encode() in body
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    assert proc.returncode == 0


def test_network_mode_prints_this_computers_lan_address_with_the_token(review_db: Path) -> None:
    import io
    import threading

    from omr.cli.review import serve
    from omr.review.server import lan_address

    out = io.StringIO()
    serve(review_db, "0.0.0.0", 0, language="en", out=out,
          ready=lambda srv: threading.Timer(0.3, srv.close).start())
    text = out.getvalue()
    token = re.search(r"access token (\S+)", text).group(1)
    lan = lan_address()
    if lan is not None:  # a machine with a network: its address, with the token, to open elsewhere
        assert re.search(rf"http://{re.escape(lan)}:\d+/\?token={re.escape(token)}", text), text
    assert "not encrypted" in text


def test_omr_review_speaks_the_ballots_language_or_the_one_given_on_the_terminal(review_db: Path) -> None:
    """What `omr review` prints (where to open the screen, who can connect) is in --lang, else in the
    ballots' language as `omr scan` and `omr tally` print (these ballots are Vietnamese); its own errors
    in --lang (else English, as argparse's)."""
    import io
    import threading

    from omr.cli.review import serve

    said = {}
    for language in (None, "vi", "en"):
        out = io.StringIO()
        serve(review_db, "0.0.0.0", 0, language=language, out=out,
              ready=lambda srv: threading.Timer(0.3, srv.close).start())
        said[language] = out.getvalue()
    assert said[None].split(":", 1)[0] == said["vi"].split(":", 1)[0]  # the same words (another port, token)
    assert said["vi"].startswith(f"Màn hình xem xét phiếu cho {review_db}: mở http://")
    assert "mọi yêu cầu đều cần mã truy cập" in said["vi"] and "Kết nối không được mã hoá" in said["vi"]
    assert "Nhấn Ctrl+C để dừng" in said["vi"] and not re.search(r"\b(the|every|Stop)\b", said["vi"])
    assert "Stop with Ctrl+C" in said["en"]
    local = io.StringIO()
    serve(review_db, "127.0.0.1", 0, language="vi", out=local,
          ready=lambda srv: threading.Timer(0.3, srv.close).start())
    assert "Chỉ máy tính này mới mở được màn hình xem xét" in local.getvalue()
    for extra, words in ((["--port", "70000"], "lỗi: --port phải từ 0 đến 65535, không phải 70000"),
                         (["--tls-key", "k.pem"], "lỗi: hãy cho cả --tls-cert và --tls-key"),
                         (["--tls-cert", "c.pem", "--tls-key", "k.pem"],
                          "lỗi: không tìm thấy tệp chứng chỉ TLS c.pem")):
        done = subprocess.run([sys.executable, str(ROOT / "cli.py"), "review", "--db", str(review_db), "--lang", "vi",
                               *extra], capture_output=True, text=True, timeout=60)
        assert done.returncode == 2 and words in done.stderr, done.stderr


def test_error_pages_speak_the_screens_language(server: ReviewServer) -> None:
    c = Client(server.port)
    status, _, body = c.get("/sheet/99999")
    page = body.decode("utf-8")
    assert status == 404 and "Không có trang hoặc tờ phiếu này trong cơ sở dữ liệu." in page  # the ballots are vi
    assert 'id="error-detail"' in page  # the machine's words kept, as a detail
    status, _, body = c.get("/queue?show=everything")
    assert status == 400 and "Yêu cầu này không hợp lệ" in body.decode("utf-8")


def _self_signed(folder: Path) -> tuple[str, str]:
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=60)
    return str(cert), str(key)


def test_network_mode_over_tls_serves_https_and_refuses_plain_http(review_db: Path, tmp_path: Path) -> None:
    import http.client
    import io
    import ssl
    import threading

    from omr.cli.review import serve
    from omr.review.server import ReviewServer

    cert, key = _self_signed(tmp_path)
    srv = ReviewServer(review_db, "127.0.0.1", 0, tls=(cert, key)).start()
    try:
        assert srv.url.startswith("https://127.0.0.1:")
        context = ssl.create_default_context(cafile=cert)  # the committee's browser trusts their certificate
        conn = http.client.HTTPSConnection("127.0.0.1", srv.port, context=context, timeout=20)
        conn.request("GET", "/queue")
        response = conn.getresponse()
        assert response.status == 200 and "Xem xét phiếu".encode() in response.read()
        cookies = response.headers.get_all("Set-Cookie") or []
        assert cookies and all("Secure" in c for c in cookies)  # never sent back over plain HTTP
        assert conn.sock.version() in ("TLSv1.2", "TLSv1.3")
        conn.close()
        plain = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=20)
        with pytest.raises((ConnectionError, http.client.HTTPException, OSError)):
            plain.request("GET", "/")
            plain.getresponse().read()  # a TLS server answers no plain HTTP request with a page
    finally:
        srv.close()
    out = io.StringIO()
    serve(review_db, "0.0.0.0", 0, language="en", out=out, tls=(cert, key),
          ready=lambda s: threading.Timer(0.3, s.close).start())
    text = out.getvalue()
    assert "encrypted (TLS)" in text and "not encrypted" not in text and "https://" in text


def test_omr_review_refuses_half_a_tls_pair_and_a_missing_certificate(review_db: Path, tmp_path: Path) -> None:
    half = subprocess.run([sys.executable, str(ROOT / "cli.py"), "review", "--db", str(review_db), "--port", "0",
                           "--tls-cert", str(tmp_path / "c.pem")], capture_output=True, text=True, timeout=60)
    assert half.returncode == 2 and "--tls-key" in half.stderr
    missing = subprocess.run([sys.executable, str(ROOT / "cli.py"), "review", "--db", str(review_db), "--port", "0",
                              "--tls-cert", str(tmp_path / "c.pem"), "--tls-key", str(tmp_path / "k.pem")],
                             capture_output=True, text=True, timeout=60)
    assert missing.returncode == 2 and "c.pem does not exist" in missing.stderr, missing.stderr
