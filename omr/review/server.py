"""Serving the review app: waitress (pure-Python WSGI server, threads, no C build needed) over HTTP;
cheroot (CherryPy's WSGI server, also pure Python) when a TLS certificate and key are given, since
waitress has no TLS and a reviewer's token and the ballot images must not cross a LAN in clear."""

from __future__ import annotations

import socket
import threading
from pathlib import Path

from waitress.server import create_server

from omr.review.app import ReviewConfig, create_app
from omr.review.security import is_loopback, new_token
from omr.store.database import Store

THREADS = 4


class ReviewServer:
    """The review app bound to host:port. `url` is what to open (with the token when one is needed);
    `run()` serves until interrupted, `start()` serves from a background thread (tests), `close()` stops."""

    def __init__(self, db: str | Path, host: str = "127.0.0.1", port: int = 8000, templates: tuple[str, ...] = (),
                 token: str | None = None, language: str | None = None, tls: tuple[str, str] | None = None):
        db = Path(db)
        with Store(db, create=False):  # refuse at once a missing file or one that is not ours
            pass
        loopback = is_loopback(host)
        if not loopback and token is None:
            token = new_token()
        self.token = token
        self.config = ReviewConfig(db=db, templates=tuple(templates), token=token, loopback_only=loopback,
                                   language=language)
        self.app = create_app(self.config)
        self.tls = tls is not None
        if tls is None:
            self.server = create_server(self.app, host=host, port=port, threads=THREADS, ident="omr-review",
                                        clear_untrusted_proxy_headers=True)
            self.port = int(self.server.effective_port)
        else:
            self.server = _tls_server(self.app, host, port, *tls)
            self.port = int(self.server.bind_addr[1])
        shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
        shown = f"[{shown}]" if ":" in shown else shown
        self.scheme = "https" if self.tls else "http"
        self.base = f"{self.scheme}://{shown}:{self.port}"
        self.url = f"{self.base}/" + (f"?token={token}" if token else "")
        self._thread: threading.Thread | None = None
        self._closing = False

    def run(self) -> None:
        try:
            if self.tls:
                self.server.serve()
            else:
                self.server.run()
        except (OSError, ValueError):
            if not self._closing:  # the sockets closed under the loop by close(): the expected way out
                raise

    def start(self) -> ReviewServer:
        self._thread = threading.Thread(target=self.run, name="omr-review", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        self._closing = True
        if self.tls:
            self.server.stop()
        else:
            self.server.close()
        if self._thread is not None:
            self._thread.join(timeout=5)


def _tls_server(app, host: str, port: int, certificate: str, key: str):
    """A cheroot server bound now (so its port is known), speaking TLS with the given PEM files."""
    from cheroot import wsgi
    from cheroot.ssl.builtin import BuiltinSSLAdapter

    for what, path in (("certificate", certificate), ("key", key)):
        if not Path(path).is_file():
            raise OSError(f"the TLS {what} {path} does not exist")
    server = wsgi.Server((host, port), app, numthreads=THREADS, server_name="omr-review")
    try:
        server.ssl_adapter = BuiltinSSLAdapter(certificate, key)
    except (OSError, ValueError) as exc:  # ssl.SSLError is an OSError: not PEM, or key and certificate differ
        raise OSError(f"the TLS certificate {certificate} and key {key} cannot be used: {exc}") from exc
    server.prepare()
    return server


def lan_address() -> str | None:
    """This computer's address on its local network (the interface the default route uses), or None.
    Connecting a UDP socket sends nothing: it only picks the interface."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # TEST-NET-1, never routed anywhere
            address = probe.getsockname()[0]
        except OSError:
            return None
    return None if address.startswith("127.") or address == "0.0.0.0" else address
