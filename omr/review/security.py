"""Who may use the review screen, and which requests are genuine.

- Bound to the loopback interface (the default), only this computer can connect, and requests must
  name a loopback host (a web page elsewhere cannot reach the screen through DNS rebinding).
- Bound anywhere else, every request needs the access token printed at start: given once as
  ``?token=...`` (then kept in a cookie and removed from the address) or as ``Authorization: Bearer``.
- Every state-changing request carries a CSRF token tied to the browser's session cookie, and is
  refused when the browser says it comes from another site.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets

SESSION_COOKIE = "omr_session"
TOKEN_COOKIE = "omr_token"
LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1"}
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def is_loopback(host: str) -> bool:
    host = host.strip("[]")
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def host_name(host_header: str) -> str:
    """The name part of a Host header ('[::1]:8000' -> '::1', 'localhost:8000' -> 'localhost')."""
    h = host_header.strip().lower()
    if h.startswith("["):
        return h[1:h.find("]")] if "]" in h else h
    return h.rsplit(":", 1)[0] if h.count(":") == 1 else h


def new_token() -> str:
    return secrets.token_urlsafe(24)


def new_session() -> str:
    return secrets.token_urlsafe(24)


class Csrf:
    """CSRF tokens: an HMAC of the browser's session id under a secret of this server process."""

    def __init__(self, secret: bytes | None = None):
        self.secret = secret or secrets.token_bytes(32)

    def token(self, session: str) -> str:
        return hmac.new(self.secret, session.encode("utf-8"), hashlib.sha256).hexdigest()

    def valid(self, session: str | None, token: str | None) -> bool:
        if not session or not token:
            return False
        return hmac.compare_digest(self.token(session), token)


def same_token(given: str | None, expected: str) -> bool:
    return bool(given) and hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))
