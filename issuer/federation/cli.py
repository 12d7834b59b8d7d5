"""`socpass-issuer federation ...`: the federal operator's commands (wired in issuer/cli.py)."""
from __future__ import annotations

import argparse
import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from issuer.federation.trustlist import DEFAULT_TTL, Federation
from shared.errors import ConfigError


def add_parser(sub: Any) -> None:
    fed = sub.add_parser("federation", help="федеральный список доверия / the federal trust list")
    fsub = fed.add_subparsers(dest="federation_command", required=True, metavar="ACTION")
    f = fsub.add_parser("init", help="create the federal root key and an empty list")
    f.add_argument("--iss", required=True)
    f.add_argument("--name", required=True)
    f.add_argument("--ttl", type=int, default=DEFAULT_TTL, help="list lifetime in seconds")
    f.add_argument("--alg", default="ES256", choices=["ES256", "EdDSA"])
    f = fsub.add_parser("add", help="add or update a region from its publication (URL or directory)")
    f.add_argument("source", nargs="?", metavar="SOURCE")
    f.add_argument("--iss")
    f.add_argument("--name")
    f.add_argument("--region")
    f.add_argument("--url", help="the URL venues sync the region from (default: SOURCE)")
    f.add_argument("--keys", help="comma-separated RFC 7638 thumbprints (default: its JWKS)")
    f = fsub.add_parser("suspend", help="suspend a region (its credentials: untrusted_issuer)")
    f.add_argument("iss")
    f = fsub.add_parser("remove", help="remove a region from the list")
    f.add_argument("iss")
    f.add_argument("--withdraw", action="store_true", help="keep it listed as withdrawn")
    f = fsub.add_parser("rules", help="set the visitors' rules from a JSON file")
    f.add_argument("file")
    fsub.add_parser("list", help="print the list as it will be signed")
    f = fsub.add_parser("publish", help="sign and write the list, the bundle and the roots")
    f.add_argument("--out", required=True)
    f.add_argument("--no-bundle", action="store_true")
    f.add_argument("--no-app", action="store_true", help="without the offline scanner app (scan/)")


def run(settings: Any, args: argparse.Namespace, now: int, app: Callable[..., dict[str, bytes]],
        ) -> dict[str, Any]:
    """One command. `settings`: the issuer's (home, passphrase, the app's refresh and
    directory); `app`: the scanner app's builder, called with the app's settings besides
    publish.AppBuilder's arguments (issuer.scanapp.federal_app)."""
    fed = Federation(settings.home, settings.passphrase())
    cmd = args.federation_command
    if cmd == "init":
        return fed.init(args.iss, args.name, args.ttl, args.alg)
    if cmd == "add":
        return fed.add(args.source, iss=args.iss, name=args.name, region=args.region, url=args.url,
                       thumbprints=args.keys.split(",") if args.keys else None)
    if cmd == "suspend":
        return fed.suspend(args.iss)
    if cmd == "remove":
        return fed.remove(args.iss, withdraw=args.withdraw)
    if cmd == "rules":
        try:
            rules = json.loads(Path(args.file).read_text("utf-8"))
        except ValueError as err:
            raise ConfigError(f"{args.file}: {err}") from None
        return fed.set_rules(rules)
    if cmd == "list":
        return fed.list()
    builder = None if args.no_app else functools.partial(
        app, refresh_seconds=settings.app_refresh, app_dir=settings.app_dir)
    return fed.publish(Path(args.out), now, bundle=not args.no_bundle, app=builder)
