"""The review web app (Flask): queue, one sheet at a time, decisions, results.

Every request opens the results database for itself (SQLite in WAL mode: a scan may be writing at
the same time) and closes it at the end. URLs name sheets by their database id and rows, zooms and
images by their position on that sheet: never a path, so nothing but what the database names can
be served.

The routes live in blueprints: omr.review.pages (queue, sheet, results), omr.review.decide
(decisions, language), omr.review.files (images, fonts); what they share is omr.review.context.
This module builds the app: the guard every request passes, the headers, the error pages.
"""

from __future__ import annotations

import re
from urllib.parse import urlencode, urlsplit

from flask import Flask, Response, abort, g, redirect, request
from werkzeug.exceptions import HTTPException

from omr.review import i18n
from omr.review.context import EXTENSION, Review, ReviewConfig, local_time, review
from omr.review.decide import decide
from omr.review.files import files
from omr.review.pages import pages
from omr.review.security import (
    LOOPBACK_NAMES,
    SAFE_METHODS,
    SESSION_COOKIE,
    TOKEN_COOKIE,
    host_name,
    new_session,
    same_token,
)
from omr.store.database import StoreError

__all__ = ["ReviewConfig", "create_app"]

CSP = ("default-src 'self'; img-src 'self'; style-src 'self'; script-src 'self'; font-src 'self'; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")


def create_app(config: ReviewConfig) -> Flask:
    app = Flask(__name__, static_folder="static", template_folder="templates")
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024
    app.config["REVIEW"] = config
    app.json.ensure_ascii = False
    ctx = Review(config)
    app.extensions[EXTENSION] = ctx
    app.extensions["omr_reads"] = ctx.reads
    app.add_template_filter(local_time, "local_time")
    app.before_request(guard)
    app.after_request(headers)
    app.teardown_request(close_store)
    for blueprint in (pages, decide, files):
        app.register_blueprint(blueprint)
    app.register_error_handler(HTTPException, http_error)
    app.register_error_handler(StoreError, store_error)
    app.register_error_handler(Exception, unexpected)
    return app


# ---- every request: host, token, session, CSRF; the database


def guard() -> Response | None:
    """Refuse a request naming another host, lacking the token, or changing state without CSRF."""
    config = review().config
    g.new_cookies = {}
    if config.loopback_only and host_name(request.host) not in LOOPBACK_NAMES:
        abort(400, description="This review screen answers only to http://127.0.0.1 or http://localhost "
                               "on this computer.")
    if config.token is not None:
        response = _check_token(config.token)
        if response is not None:
            return response
    session = request.cookies.get(SESSION_COOKIE)
    if not session or not re.fullmatch(r"[A-Za-z0-9_-]{20,64}", session):
        session = new_session()
        g.new_cookies[SESSION_COOKIE] = session
        g.session_is_new = True
    g.session = session
    if request.method not in SAFE_METHODS:
        _check_origin_and_csrf(session)
    return None


def _check_token(token: str) -> Response | None:
    """The access token, from the address (then kept in a cookie and taken off the address), the
    cookie or an Authorization header."""
    given = request.args.get("token")
    if given is not None:
        if not same_token(given, token):
            abort(401, description="Wrong access token: use the address printed when `omr review` started.")
        g.new_cookies[TOKEN_COOKIE] = token
        if request.method in SAFE_METHODS:
            query = [(k, v) for k, v in request.args.items(multi=True) if k != "token"]
            return _with_cookies(redirect(request.path + (f"?{urlencode(query)}" if query else ""), code=303))
        return None
    bearer = request.headers.get("Authorization", "")
    bearer = bearer[7:].strip() if bearer.lower().startswith("bearer ") else None
    if not (same_token(request.cookies.get(TOKEN_COOKIE), token) or same_token(bearer, token)):
        abort(401, description="An access token is needed: open the address printed when "
                               "`omr review` started (it ends with ?token=...).")
    return None


def _check_origin_and_csrf(session: str) -> None:
    origin = request.headers.get("Origin")
    if origin and origin != "null" and _origin(origin) != _origin(request.host_url):
        abort(403, description="Refused: this request came from another web site.")
    if origin == "null" or request.headers.get("Sec-Fetch-Site") == "cross-site":
        abort(403, description="Refused: this request came from another web site.")
    if getattr(g, "session_is_new", False) or not review().config.csrf.valid(session, request.form.get("csrf_token")):
        abort(403, description="This form has expired or did not come from this review screen: "
                               "reload the page and try again.")


def headers(response: Response) -> Response:
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "same-origin"  # "no-referrer" makes browsers send Origin: null
    response.headers["Content-Security-Policy"] = CSP
    if response.mimetype == "text/html":
        response.headers["Cache-Control"] = "no-store"
    return _with_cookies(response)


def close_store(_exc: BaseException | None) -> None:
    store = g.pop("store", None)
    if store is not None:
        store.close()


# ---- errors: a clear page, never a crash


def http_error(exc: HTTPException) -> tuple[str, int]:
    try:
        lang = _error_language()
        return review().render("error.html", lang, code=exc.code, title=exc.name,
                               message=exc.description), exc.code or 500
    except Exception:  # the error page must not fail in turn
        return f"{exc.code} {exc.name}: {exc.description}", exc.code or 500


def _error_language() -> str:
    """The screen's language for an error page: the reviewer's choice, else the ballots' (when the
    database can still be read), else Vietnamese."""
    chosen = request.cookies.get("lang")
    if chosen in i18n.LANGS:
        return chosen
    try:
        return review().language()
    except Exception:  # the database itself may be what failed
        return "vi"


def unexpected(exc: Exception) -> tuple[str, int]:
    if isinstance(exc, HTTPException):
        return http_error(exc)
    from flask import current_app

    current_app.logger.exception("unexpected error")  # a bug: said plainly, the details in the server's log
    return http_error(_Http(500, "Internal error", "Something went wrong on the review screen: nothing was "
                            "saved by this request. The details are in the terminal running `omr review`."))


def store_error(exc: StoreError) -> tuple[str, int]:
    return http_error(_Http(503, "Database unavailable", str(exc)))


class _Http(HTTPException):
    def __init__(self, code: int, name: str, description: str):
        super().__init__(description)
        self.code = code
        self._name = name

    @property
    def name(self) -> str:  # type: ignore[override]
        return self._name


def _with_cookies(response: Response) -> Response:
    for name, value in (getattr(g, "new_cookies", None) or {}).items():
        response.set_cookie(name, value, httponly=True, samesite="Strict", path="/", secure=request.is_secure)
    if hasattr(g, "new_cookies"):
        g.new_cookies = {}
    return response


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()
