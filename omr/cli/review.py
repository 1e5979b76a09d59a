"""The `omr review` sub-command (registered in omr/cli/main.py)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from omr.review.server import ReviewServer


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("review", help="web screen where people decide the sheets the machine could not")
    p.add_argument("--db", required=True, help="the results database written by `omr scan`")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1: this computer only; any other address "
                        "requires the access token printed at start)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000; 0: any free port)")
    p.add_argument("--template", action="extend", nargs="+", default=[], metavar="T.yaml",
                   help="ballot templates, when they are no longer where `omr scan` was given them")
    p.add_argument("--lang", choices=("vi", "en"), default=None,
                   help="interface language (default: the templates' language; the screen has a switch)")
    p.add_argument("--tls-cert", metavar="CERT.pem", help="serve over HTTPS with this certificate (PEM), e.g. "
                                                       "when bound to the LAN; needs --tls-key")
    p.add_argument("--tls-key", metavar="KEY.pem", help="the certificate's private key (PEM)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from omr.cli.terminal import WORDS
    from omr.store.records import StoreError

    said = WORDS[args.lang or "en"]  # its own errors: in --lang, else in English as argparse's are
    if not 0 <= args.port <= 65535:
        print(said["review_port"].format(port=args.port), file=sys.stderr)
        return 2
    if (args.tls_cert is None) != (args.tls_key is None):
        print(said["review_tls_pair"], file=sys.stderr)
        return 2
    tls = (args.tls_cert, args.tls_key) if args.tls_cert else None
    for what, path in zip(said["review_tls_what"].split("|"), tls or ()):
        if not Path(path).is_file():
            print(said["review_no_tls_file"].format(what=what, path=path), file=sys.stderr)
            return 2
    try:
        return serve(args.db, args.host, args.port, tuple(args.template), language=args.lang, tls=tls)
    except StoreError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # port in use, address not on this computer, unusable certificate
        print(said["review_listen"].format(host=args.host, port=args.port, why=exc.strerror or exc), file=sys.stderr)
        return 2


def ballots_language(db: str | Path, templates: tuple[str, ...] = ()) -> str:
    """The terminal's language when --lang is not given: that of the ballots read into the database (not of
    every template a scan was given), as `omr scan` and `omr tally` speak."""
    from omr.cli.terminal import language_of
    from omr.review.model import TemplateShelf
    from omr.store.database import Store

    with Store(db, create=False) as store:
        shelf = TemplateShelf(store, templates, base=Path(db).parent)
        read = [shelf.get(fp) for fp in store.fingerprints()]
    return language_of(info.template for info in read if info is not None)


def serve(db: str | Path, host: str = "127.0.0.1", port: int = 8000, templates: tuple[str, ...] = (),
          language: str | None = None, out: TextIO = sys.stdout,
          ready: Callable[[ReviewServer], None] | None = None, tls: tuple[str, str] | None = None) -> int:
    """Serve the review screen until Ctrl+C, having said where to open it and who can connect, in
    `language` (the screen's too) or else the ballots'."""
    from omr.cli.terminal import review_lines
    from omr.review.server import ReviewServer, lan_address

    lang = language or ballots_language(db, templates)
    server = ReviewServer(db, host, port, templates, language=language, tls=tls)
    lan = lan_address() if server.token and host in ("0.0.0.0", "::") else None
    lan_url = f"{server.scheme}://{lan}:{server.port}/?token={server.token}" if lan else None
    for line in review_lines(str(db), server.url, host, server.token, lan_url, server.tls, lang):
        print(line, file=out, flush=True)
    if ready:
        ready(server)
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
    return 0
