"""`socpass-verifier`: sync, check, status, serve, config.

Exit codes: 0 accepted (or the command succeeded), 1 rejected (or sync failed), 2 usage errors.
The clock is the system's; verification itself never touches the network.
"""
from __future__ import annotations

import argparse
import json
import logging
import socket
import sys
import time
from typing import Any

from shared.errors import ConfigError, ImageError
from shared.pubreader import NetPolicy
from verifier import sync as sync_mod
from verifier.compose import compose
from verifier.config import Settings
from verifier.devicestatus import device_status
from verifier.service import ScannerUnavailable

MAX_STDIN = 64 * 1024  # a QR text is a few hundred characters
_clock = time.time  # the one clock read; tests replace it


def _print(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, indent=2) + "\n")


def _fail(message: str, status: int) -> int:
    sys.stderr.write(f"socpass-verifier: {message}\n")
    return status


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="socpass-verifier",
        description="Venue verifier: sync issuers' keys and revocation lists, check credentials "
                    "offline. Settings come from SOCPASS_* variables (see `config`).")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("sync", help="refresh the local cache from issuer URLs or publish directories",
                       description="Exit 0 when synced, 1 when the sync failed (the previous "
                                   "cache is unchanged), 3 when a federated sync updated the "
                                   "cache but some regions failed (they keep their old data).")
    p.add_argument("sources", nargs="*", metavar="SOURCE",
                   help="an issuer's base URL (https; http to loopback only) or a directory "
                        "written by `socpass-issuer publish --out DIR`; give every issuer each "
                        "time. A URL or file named socpass-trustlist.jwt or socpass-bundle.jwt "
                        "is a federal source")
    p.add_argument("--trust-list", metavar="URL_OR_DIR",
                   help="sync every region named by the federal trust list found there "
                        "(verified against SOCPASS_TRUST_ROOTS)")
    p.add_argument("--bundle", metavar="URL_OR_DIR",
                   help="sync from the federal aggregated bundle found there (one request)")

    p = sub.add_parser("check", help="verify one credential and print the Result as JSON")
    p.add_argument("text", nargs="?", metavar="TEXT",
                   help="the text read from the QR code, or - to read it from stdin")
    p.add_argument("--image", metavar="FILE", help="a photo or scan holding the QR code")

    sub.add_parser("status", help="print the cache state (same JSON as GET /api/status)")
    sub.add_parser("config", help="print the effective configuration")

    p = sub.add_parser("serve", help="run the scanner web app",
                       description="Run the scanner page and the JSON API. A tablet's browser "
                                   "uses its camera only over HTTPS (or on this machine itself): "
                                   "for tablets on the venue's network use --tls-self-signed or "
                                   "--tls-cert/--tls-key.")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (0.0.0.0: every network of this machine)")
    p.add_argument("--port", type=int, default=8001)
    p.add_argument("--tls-cert", metavar="PEM", help="serve HTTPS with this certificate (chain)")
    p.add_argument("--tls-key", metavar="PEM", help="the private key of --tls-cert")
    p.add_argument("--tls-self-signed", action="store_true",
                   help="serve HTTPS with a self-signed certificate kept in the cache directory "
                        "(made on first use; its SHA-256 fingerprint is printed)")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env()
        if args.command == "sync":
            return _sync(args, settings, parser)
        if args.command == "check":
            return _check(args, settings, parser)
        if args.command == "serve" and (args.tls_self_signed and (args.tls_cert or args.tls_key)
                                        or bool(args.tls_cert) != bool(args.tls_key)):
            parser.error("serve takes --tls-cert with --tls-key, or --tls-self-signed")
        if args.command == "status":
            verifier = compose(settings, _clock, write_behind=False).verifier()
            _print(device_status(verifier, _clock()))
            return 0
        if args.command == "config":
            _print(settings.describe())
            return 0
        return _serve(args, settings)
    except ConfigError as err:
        return _fail(f"configuration: {err.description}", 2)


def _sync(args: argparse.Namespace, settings: Settings, parser: argparse.ArgumentParser) -> int:
    from verifier import federated

    federal = [s for s in args.sources if federated.is_federal_source(s)]
    given = [x for x in (args.trust_list, args.bundle) if x] + federal
    if len(given) > 1 or (given and len(args.sources) > len(federal)):
        parser.error("sync takes one federal source (--trust-list, --bundle or a trust "
                     "list/bundle file), or issuer sources, not both")
    if not given and not args.sources:
        if settings.trust_list is None:
            parser.error("sync needs SOURCE..., --trust-list or --bundle (or SOCPASS_TRUST_LIST)")
        given = [settings.trust_list]
    for source in [*args.sources, *given]:
        if source.startswith("http://"):
            sys.stderr.write(f"socpass-verifier: warning: {source} is plain HTTP; keys fetched "
                             "this way can be altered in transit (use https or a directory)\n")
    net = NetPolicy(timeout=settings.sync_timeout, deadline=settings.sync_deadline,
                    allow_private=settings.sync_allow_private)
    roots = settings.roots()
    try:
        if given:
            summary = federated.sync_federated(given[0], settings.cache_dir, int(_clock()), roots,
                                               bundle=bool(args.bundle), net=net,
                                               status_grace=settings.status_grace)
        else:
            summary = sync_mod.sync(args.sources, settings.cache_dir, int(_clock()),
                                    timeout=settings.sync_timeout, deadline=settings.sync_deadline,
                                    allow_private=settings.sync_allow_private, roots=roots,
                                    status_grace=settings.status_grace)
    except sync_mod.SyncError as err:
        return _fail(f"sync failed, the previous cache is unchanged: {err.description}", 1)
    _print(summary)
    for failure in summary.get("failed", []):
        sys.stderr.write(f"socpass-verifier: region {failure['iss']} not updated: "
                         f"{failure['reason']}\n")
    return 3 if summary.get("failed") else 0


def _check(args: argparse.Namespace, settings: Settings, parser: argparse.ArgumentParser) -> int:
    if (args.text is None) == (args.image is None):
        parser.error("check needs exactly one of TEXT, - (stdin) or --image FILE")
    # A check here is a verdict at this venue like one on the page: it is logged, and a second
    # use within SOCPASS_RECENT_WINDOW is seen.
    verifier = compose(settings, _clock, write_behind=False).verifier()
    if verifier.cache.error:
        sys.stderr.write(f"socpass-verifier: the local cache was refused ({verifier.cache.error}); "
                         "run sync\n")
    now = _clock()
    if args.image is not None:
        try:
            with open(args.image, "rb") as fh:
                data = fh.read(settings.max_body + 1)
        except OSError as err:
            return _fail(f"{args.image}: {err.strerror}", 2)
        try:
            result = verifier.verify_image(data, now)
        except (ImageError, ScannerUnavailable) as err:
            return _fail(f"{args.image}: {err.description}", 2)
    else:
        text = sys.stdin.read(MAX_STDIN) if args.text == "-" else args.text
        result = verifier.verify_text(text.strip(), now)
    _print(result.to_json())
    return 0 if result.accepted else 1


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    from verifier import server, tls
    from verifier.app import create_app

    # Outcome lines only (code, type, category): the service never logs personal data.
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    app = create_app(settings, clock=_clock, background_sync=True)
    context = None
    scheme = "http"
    if args.tls_self_signed or args.tls_cert:
        if args.tls_self_signed:
            cert, key, made = tls.self_signed(settings.cache_dir / tls.TLS_DIR, args.host)
            how = "new self-signed" if made else "self-signed"
        else:
            cert, key, how = args.tls_cert, args.tls_key, "given"
        context = tls.server_context(cert, key)
        with open(cert, "rb") as fh:
            digest = tls.fingerprint(fh.read())
        scheme = "https"
        sys.stdout.write(f"socpass-verifier: HTTPS with the {how} certificate {cert}\n"
                         f"socpass-verifier: SHA-256 fingerprint {digest}\n")
    elif args.host not in ("127.0.0.1", "localhost", "::1"):
        sys.stderr.write("socpass-verifier: warning: plain HTTP on the network: tablets will not "
                         "get the camera; use --tls-self-signed or --tls-cert/--tls-key\n")
    shown = args.host if args.host not in ("", "0.0.0.0", "::") else socket.gethostname()
    sys.stdout.write(f"socpass-verifier: scanner page {scheme}://{shown}:{args.port}/\n")
    if settings.sync_interval > 0:
        sys.stdout.write(f"socpass-verifier: syncing in the background every "
                         f"{settings.sync_interval} s (SOCPASS_SYNC_INTERVAL)\n")
    sys.stdout.flush()
    # Bounded threads and read timeouts (verifier/server.py): a venue's tablets, not the internet.
    server.serve(app, args.host, args.port, threads=settings.serve_threads,
                 read_timeout=settings.read_timeout, ssl_context=context)
    return 0


if __name__ == "__main__":
    sys.exit(main())
