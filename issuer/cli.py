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

from issuer.config import Settings, warn_demo_passphrase
from issuer.service import IssuerService
from issuer.storage.engine import display_url
from issuer.storage.errors import DatabaseError, Unavailable
from shared.credential import TYPES
from shared.errors import InputError, SocpassError
from shared.files import PRIVATE, write_atomically
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
    c.add_argument("--admin", default="admin", metavar="NAME",
                   help="the first console admin (its generated password is printed once)")
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
    c.add_argument("--workers", type=int, default=1,
                   help="worker processes sharing the port (needs PostgreSQL for real load)")
    c.add_argument("--no-jobs", action="store_true",
                   help="do not run import jobs here (a separate `worker` does)")
    c.set_defaults(func=cmd_serve)

    c = sub.add_parser("worker", help="выполнять задания загрузки / run queued import jobs")
    c.add_argument("--once", action="store_true", help="run what is queued, then exit")
    c.set_defaults(func=cmd_worker)

    users = sub.add_parser("users", help="пользователи консоли / console users")
    usub = users.add_subparsers(dest="users_command", required=True, metavar="ACTION")
    u = usub.add_parser("add")
    u.add_argument("name")
    u.add_argument("--role", required=True, choices=("admin", "operator", "auditor"))
    u.add_argument("--password-stdin", action="store_true",
                   help="read the password from stdin (else one is generated and printed once)")
    u.set_defaults(func=lambda svc, a: svc.accounts.add_user(a.name, a.role, _stdin_password(a)))
    u = usub.add_parser("list")
    u.set_defaults(func=lambda svc, a: {"users": svc.accounts.users()})
    u = usub.add_parser("passwd", help="new password (generated unless --password-stdin)")
    u.add_argument("name")
    u.add_argument("--password-stdin", action="store_true")
    u.set_defaults(func=lambda svc, a: svc.accounts.update(a.name, reset_password=True,
                                                            password=_stdin_password(a)))
    for verb, active in (("disable", False), ("enable", True)):
        u = usub.add_parser(verb)
        u.add_argument("name")
        u.set_defaults(func=lambda svc, a, active=active: svc.accounts.update(a.name, active=active))
    u = usub.add_parser("role")
    u.add_argument("name")
    u.add_argument("role", choices=("admin", "operator", "auditor"))
    u.set_defaults(func=lambda svc, a: svc.accounts.update(a.name, role=a.role))

    tokens = sub.add_parser("tokens", help="токены API / API bearer tokens")
    tsub = tokens.add_subparsers(dest="tokens_command", required=True, metavar="ACTION")
    t = tsub.add_parser("create", help="prints the token once")
    t.add_argument("name")
    t.set_defaults(func=lambda svc, a: svc.api_tokens.create(a.name))
    t = tsub.add_parser("list")
    t.set_defaults(func=lambda svc, a: {"tokens": svc.api_tokens.list()})
    t = tsub.add_parser("revoke")
    t.add_argument("id")
    t.set_defaults(func=lambda svc, a: svc.api_tokens.revoke(a.id))

    audit = sub.add_parser("audit", help="журнал аудита / audit log")
    asub = audit.add_subparsers(dest="audit_command", required=True, metavar="ACTION")
    x = asub.add_parser("verify", help="check the hash chain and its head; exit 1 naming the first "
                                       "broken row")
    x.add_argument("--expect-head", metavar="SEQ:HASH|SIGNED",
                   help="a head kept outside the database (printed by `audit verify` or "
                        "`audit head`): the log must still hold that row")
    x.set_defaults(func=cmd_audit_verify)
    x = asub.add_parser("head", help="the log's head, signed: keep it outside the database")
    x.set_defaults(func=lambda svc, a: svc.audit.head())
    x = asub.add_parser("export", help="the whole log as CSV")
    x.add_argument("--csv", action="store_true", required=True)
    x.add_argument("--out", type=Path, metavar="FILE.csv", help="default: standard output")
    x.set_defaults(func=cmd_audit_export)

    c = sub.add_parser("link", help="личная ссылка гражданина / the citizen's private link")
    c.add_argument("id")
    c.add_argument("--revoke", action="store_true", help="switch the link off instead")
    c.set_defaults(func=lambda svc, a: svc.links.revoke_links(a.id) if a.revoke else svc.links.new_link(a.id))

    links = sub.add_parser("links", help="ссылки граждан / citizens' private links")
    lsub = links.add_subparsers(dest="links_command", required=True, metavar="ACTION")
    x = lsub.add_parser("export", help="CSV of registry_id, link URL, state (audited)")
    x.add_argument("--out", type=Path, metavar="FILE.csv", help="default: standard output")
    x.add_argument("--since", metavar="DATE",
                   help="only links made, or credentials issued or changed, on or after DATE")
    x.add_argument("--registry-id", dest="registry_ids", action="extend", nargs="+", metavar="ID",
                   help="only these registry entries")
    x.set_defaults(func=cmd_links_export)

    c = sub.add_parser("config", help="действующие настройки / effective configuration")
    c.set_defaults(func=None)

    from issuer.federation import cli as federation  # the federal operator's: no issuer database

    federation.add_parser(sub)
    return p


# --- commands -----------------------------------------------------------------------------------


def cmd_init(svc: IssuerService, a: argparse.Namespace) -> dict[str, Any]:
    from issuer.accounts import check_name

    check_name(a.admin)  # refused before anything is written
    key_pem = _read_file(a.key) if a.key else None
    result = svc.init_issuer(a.issuer_id, a.name, a.url, a.alg, key_pem=key_pem, region=a.region)
    result["admin"] = svc.accounts.add_user(a.admin, "admin")
    return result


def cmd_issue(svc: IssuerService, a: argparse.Namespace) -> dict[str, Any]:
    data = _load_data(a.data)
    result = svc.issue(a.type, data, replace=a.replace)
    try:
        if a.qr:
            from issuer.qrrender import render_png

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
    from issuer.jobs import CountingReader

    size = a.file.stat().st_size
    with open(a.file, "rb") as raw:
        reader = CountingReader(raw)
        # The bar is for a person at a terminal; scripts and pipes get the JSON only.
        progress = _progress_bar(reader, size) if sys.stderr.isatty() else None
        try:
            return svc.import_csv(reader, progress=progress, file_name=a.file.name)
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
    from issuer.config import session_secret
    from issuer.server import run_one_process, run_workers

    svc.issuer_info()  # refuse to start an uninitialised issuer
    session_secret(svc.settings)  # created once, before any worker starts
    if a.workers < 1:
        raise InputError("--workers: не меньше 1 / at least 1", code="invalid_workers")
    if a.workers > 1:
        svc.close()  # no database connection may be shared across the fork
        run_workers(svc.settings, a.host, a.port, a.workers, start_jobs=not a.no_jobs)
    else:
        run_one_process(svc, a.host, a.port, start_jobs=not a.no_jobs)


def cmd_worker(svc: IssuerService, a: argparse.Namespace) -> dict[str, Any] | None:
    if a.once:
        return {"jobs_run": svc.jobs.run_pending()}
    from issuer.jobs import JobRunner

    runner = JobRunner(svc)
    runner.run()  # in this thread, until Ctrl-C
    return None


def cmd_audit_verify(svc: IssuerService, a: argparse.Namespace) -> dict[str, Any]:
    result = svc.audit.verify(a.expect_head)
    if not result["ok"]:
        _print_json(result)
        raise AuditBroken(f"журнал аудита нарушен на записи {result['first_broken']}: "
                          f"{result['problem']} / audit log broken at row {result['first_broken']}")
    return result


def cmd_audit_export(svc: IssuerService, a: argparse.Namespace) -> None:
    if a.out:
        a.out.parent.mkdir(parents=True, exist_ok=True)
        # Registry ids, names of staff, reasons: the owner's only, and never a cut-off file.
        write_atomically(a.out, (line.encode("utf-8") for line in svc.audit.csv_lines()), mode=PRIVATE)
    else:
        sys.stdout.writelines(svc.audit.csv_lines())
        sys.stdout.flush()


def cmd_links_export(svc: IssuerService, a: argparse.Namespace) -> dict[str, Any] | None:
    from issuer.links import ExportFilter, parse_registry_ids, parse_since

    filters = ExportFilter(since=parse_since(a.since), registry_ids=parse_registry_ids(a.registry_ids))
    if a.out:
        a.out.parent.mkdir(parents=True, exist_ok=True)
        rows, lines = svc.links.export(filters, channel="cli")
        # Bearer secrets: readable by the owner only, from the first byte, also when replacing.
        write_atomically(a.out, (line.encode("utf-8") for line in lines), mode=PRIVATE)
        return {"out": str(a.out), "rows": rows}
    _, lines = svc.links.export(filters, channel="cli")
    sys.stdout.writelines(lines)
    sys.stdout.flush()
    return None


class AuditBroken(SocpassError):
    """Журнал аудита нарушен / the audit log's hash chain is broken."""

    code = "audit_broken"


def _stdin_password(a: argparse.Namespace) -> str | None:
    if not a.password_stdin:
        return None
    return sys.stdin.readline().rstrip("\r\n")


# --- plumbing -------------------------------------------------------------------------------------


def _read_file(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as err:
        raise InputError(f"не удалось прочитать файл / cannot read file {path}: {err.strerror}",
                         code="unreadable_file") from err


def _write_file(path: Path, content: bytes) -> None:
    """A card or its QR code: a citizen's personal data, the owner's only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, content, mode=PRIVATE)


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


def _progress_bar(reader: Any, size: int, width: int = 30) -> Callable[[int], None]:
    def show(rows: int) -> None:
        fraction = min(1.0, reader.count / size) if size else 1.0
        filled = int(fraction * width)
        print(f"\r[{'#' * filled}{'.' * (width - filled)}] {fraction * 100:5.1f}%  "
              f"строк / rows: {rows}", end="", file=sys.stderr, flush=True)
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
    if args.command == "federation":
        return _federation(settings, args)
    if args.func is None:  # config
        _print_json(settings.to_public_dict(display_url=display_url))
        return 0
    warn_demo_passphrase(settings)
    svc: IssuerService | None = None
    try:
        svc = IssuerService.open(settings, actor=f"cli:{_user()}")
        result = args.func(svc, args)
    except SocpassError as err:
        return _fail(f"{err.description} [{err.code}]")
    except Unavailable as err:
        return _fail(f"база данных недоступна / database unavailable: {err.detail} [storage]")
    except DatabaseError as err:
        # The message of other database errors may quote row values: not printed.
        log.debug("database error", exc_info=True)
        return _fail(f"ошибка базы данных / database error ({err.kind}) [storage]")
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


def _federation(settings: Settings, args: argparse.Namespace) -> int:
    import time

    from issuer import scanapp
    from issuer.federation import cli as federation

    try:
        result = federation.run(settings, args, int(time.time()), scanapp.federal_app)
    except SocpassError as err:
        return _fail(f"{err.description} [{err.code}]")
    except OSError as err:
        return _fail(f"файл / file {err.filename or ''}: {err.strerror or err} [io]")
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
