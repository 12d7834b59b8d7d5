"""`socpass-issuer`: the ministry's command line. Parses arguments, calls the service, prints JSON.

Exit codes: 0 done, 1 refused or failed (one line on stderr, never a traceback for a user
error), 2 usage error. Log lines never carry personal data.
"""
from __future__ import annotations

import argparse
import getpass
import json
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy.exc import OperationalError, SQLAlchemyError

from issuer.config import Settings, warn_demo_passphrase
from issuer.service import IssuerService
from shared.credential import TYPES
from shared.errors import InputError, SocpassError
from shared.keys import ALGORITHMS

PROG = "socpass-issuer"
log = logging.getLogger("socpass.issuer")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=PROG, description="Издатель удостоверений socpass / socpass issuer")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    c = sub.add_parser("init", help="создать издателя и первый ключ / create the issuer and its first key")
    c.add_argument("--issuer-id", required=True, help="e.g. RU-27")
    c.add_argument("--name", required=True)
    c.add_argument("--url", required=True, help="base URL where the issuer publishes")
    c.add_argument("--alg", choices=ALGORITHMS, default=None)
    c.add_argument("--key", type=Path, metavar="PEM_FILE", help="existing PKCS#8 private key")
    c.add_argument("--region", help="region code, e.g. 27")
    c.set_defaults(func=cmd_init)

    c = sub.add_parser("issue", help="выдать удостоверение / issue a credential")
    c.add_argument("--type", required=True, choices=tuple(TYPES))
    c.add_argument("--data", required=True, metavar="JSON|@FILE")
    c.add_argument("--qr", type=Path, metavar="OUT.png")
    c.add_argument("--pdf", type=Path, metavar="OUT.pdf")
    c.add_argument("--replace", action="store_true", help="revoke the live credential of this registry_id")
    c.set_defaults(func=cmd_issue)

    c = sub.add_parser("import", help="загрузить реестр CSV / import a registry CSV file")
    c.add_argument("file", type=Path, metavar="FILE.csv")
    c.set_defaults(func=cmd_import)

    for name, helptext in (("revoke", "отозвать / revoke"), ("suspend", "приостановить / suspend")):
        c = sub.add_parser(name, help=helptext)
        c.add_argument("id")
        c.add_argument("--reason", required=True)
        c.set_defaults(func=cmd_state)
    c = sub.add_parser("reinstate", help="возобновить приостановленное / reinstate a suspended credential")
    c.add_argument("id")
    c.set_defaults(func=cmd_state, reason=None)

    c = sub.add_parser("show", help="показать удостоверение / show a credential")
    c.add_argument("id")
    c.set_defaults(func=cmd_show)
    c = sub.add_parser("card", help="напечатать карточку PDF / print the card as PDF")
    c.add_argument("id")
    c.add_argument("--pdf", type=Path, required=True, metavar="OUT.pdf")
    c.set_defaults(func=cmd_card)

    keys = sub.add_parser("keys", help="ключи подписи / signing keys")
    ksub = keys.add_subparsers(dest="keys_command", required=True, metavar="ACTION")
    k = ksub.add_parser("list")
    k.set_defaults(func=lambda svc, a: svc.keys())
    k = ksub.add_parser("rotate")
    k.add_argument("--alg", choices=ALGORITHMS, default=None)
    k.set_defaults(func=lambda svc, a: svc.rotate_key(a.alg))
    k = ksub.add_parser("retire")
    k.add_argument("kid")
    k.set_defaults(func=lambda svc, a: svc.retire_key(a.kid))
    k = ksub.add_parser("withdraw", help="скомпрометирован: убрать из JWKS сразу / compromised")
    k.add_argument("kid")
    k.set_defaults(func=lambda svc, a: svc.withdraw_key(a.kid))

    c = sub.add_parser("publish", help="записать файлы для верификаторов / write files for verifiers")
    c.add_argument("--out", required=True, type=Path, metavar="DIR")
    c.set_defaults(func=lambda svc, a: svc.publish(a.out))

    c = sub.add_parser("serve", help="веб-сервис / run the web service")
    c.add_argument("--host", default="127.0.0.1")
    c.add_argument("--port", type=int, default=8000)
    c.set_defaults(func=cmd_serve)

    c = sub.add_parser("config", help="действующие настройки / effective configuration")
    c.set_defaults(func=None)
    return p


# --- commands -----------------------------------------------------------------------------------


def cmd_init(svc: IssuerService, a: argparse.Namespace) -> dict[str, Any]:
    key_pem = _read_file(a.key) if a.key else None
    return svc.init_issuer(a.issuer_id, a.name, a.url, a.alg, key_pem=key_pem, region=a.region)


def cmd_issue(svc: IssuerService, a: argparse.Namespace) -> dict[str, Any]:
    data = _load_data(a.data)
    result = svc.issue(a.type, data, replace=a.replace)
    try:
        if a.qr:
            from shared.qr import render_png

            _write_file(a.qr, render_png(result["qr_text"]))
        if a.pdf:
            _write_file(a.pdf, svc.card_pdf(result["id"]))
    except OSError as err:
        _print_json(result)
        raise InputError(f"удостоверение {result['id']} выдано, но файл не записан / issued, but the "
                         f"file could not be written: {err.strerror}: {err.filename}",
                         code="output_failed") from err
    return result


def cmd_import(svc: IssuerService, a: argparse.Namespace) -> dict[str, Any]:
    progress = _progress_printer() if sys.stderr.isatty() else None
    try:
        return svc.import_csv(a.file, progress=progress)
    finally:
        if progress:
            print(file=sys.stderr)


def cmd_state(svc: IssuerService, a: argparse.Namespace) -> dict[str, Any]:
    if a.command == "revoke":
        return svc.revoke(a.id, a.reason)
    if a.command == "suspend":
        return svc.suspend(a.id, a.reason)
    return svc.reinstate(a.id)


def cmd_show(svc: IssuerService, a: argparse.Namespace) -> dict[str, Any]:
    return svc.credential(a.id)


def cmd_card(svc: IssuerService, a: argparse.Namespace) -> dict[str, Any]:
    _write_file(a.pdf, svc.card_pdf(a.id))
    return {"id": a.id, "pdf": str(a.pdf)}


def cmd_serve(svc: IssuerService, a: argparse.Namespace) -> None:
    from werkzeug.serving import run_simple

    from issuer.app import create_app

    svc.issuer_info()  # refuse to start an uninitialised issuer
    app = create_app(svc.settings, svc)
    run_simple(a.host, a.port, app, threaded=True)


# --- plumbing -------------------------------------------------------------------------------------


def _read_file(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as err:
        raise InputError(f"не удалось прочитать файл / cannot read file {path}: {err.strerror}",
                         code="unreadable_file") from err


def _write_file(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)


def _load_data(arg: str) -> dict[str, Any]:
    if arg.startswith("@"):
        raw = sys.stdin.buffer.read() if arg == "@-" else _read_file(Path(arg[1:]))
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as err:
            raise InputError("--data: файл должен быть в UTF-8 / the file must be UTF-8",
                             code="invalid_json") from err
    else:
        text = arg
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise InputError(f"--data: неверный JSON / invalid JSON: {err.msg} (line {err.lineno}, "
                         f"column {err.colno})", code="invalid_json") from err
    if not isinstance(data, dict):
        raise InputError("--data: нужен JSON-объект / a JSON object is required", code="invalid_json")
    return data


def _progress_printer() -> Callable[[int], None]:
    def show(rows: int) -> None:
        print(f"\rобработано строк / rows done: {rows}", end="", file=sys.stderr, flush=True)
    return show


def _print_json(obj: Any) -> None:
    print(json.dumps(obj, ensure_ascii=False, indent=2))


def _fail(message: str) -> int:
    print(f"{PROG}: {message}", file=sys.stderr)
    return 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # usage errors: argparse printed the message; exit code 2
        return int(exit_.code or 0)
    try:
        settings = Settings.from_env()
    except SocpassError as err:
        return _fail(f"{err.description} [{err.code}]")
    _configure_logging(settings.log_level)
    if args.func is None:  # config
        _print_json(settings.to_public_dict())
        return 0
    warn_demo_passphrase(settings)
    svc: IssuerService | None = None
    try:
        svc = IssuerService.open(settings, actor=f"cli:{_user()}")
        result = args.func(svc, args)
    except SocpassError as err:
        return _fail(f"{err.description} [{err.code}]")
    except OperationalError as err:
        first = str(err.orig).strip().splitlines()[0] if err.orig else type(err).__name__
        return _fail(f"база данных недоступна / database unavailable: {first} [storage]")
    except SQLAlchemyError as err:
        # The message of other database errors may quote row values: not printed.
        log.debug("database error", exc_info=True)
        return _fail(f"ошибка базы данных / database error ({type(err).__name__}) [storage]")
    except OSError as err:
        return _fail(f"файл / file {err.filename or ''}: {err.strerror or err} [io]")
    except KeyboardInterrupt:
        return _fail("прервано / interrupted")
    finally:
        if svc is not None:
            svc.close()
    if result is not None:
        _print_json(result)
    return 0


class _StderrHandler(logging.Handler):
    """Writes to whatever sys.stderr is at the time (tests swap it)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            print(self.format(record), file=sys.stderr)
        except Exception:  # logging must never break a command
            self.handleError(record)


def _configure_logging(level: str) -> None:
    logger = logging.getLogger("socpass")
    logger.setLevel(level)
    if not any(isinstance(h, _StderrHandler) for h in logger.handlers):
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        logger.addHandler(handler)


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


if __name__ == "__main__":
    sys.exit(main())
