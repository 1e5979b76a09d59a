"""The `omr review` sub-command (registered in omr/cli/main.py)."""

from __future__ import annotations

import argparse
import sys


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
    from omr.review.server import serve
    from omr.store.records import StoreError

    if not 0 <= args.port <= 65535:
        print(f"error: --port must be from 0 to 65535, not {args.port}", file=sys.stderr)
        return 2
    if (args.tls_cert is None) != (args.tls_key is None):
        print("error: give both --tls-cert and --tls-key, or neither", file=sys.stderr)
        return 2
    tls = (args.tls_cert, args.tls_key) if args.tls_cert else None
    try:
        return serve(args.db, args.host, args.port, tuple(args.template), language=args.lang, tls=tls)
    except StoreError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # port in use, address not on this computer, unusable certificate
        print(f"error: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}", file=sys.stderr)
        return 2
