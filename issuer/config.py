"""Issuer settings: one table of SOCPASS_* variables, each with a default and a strict parser.

Nothing is read at import time: `Settings.from_env()` is called by the CLI, the web factory and
the demo, and tests pass their own mapping.
"""
from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, TextIO
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from shared.errors import ConfigError
from shared.files import create_private

# Known to everyone who reads this repository: it protects nothing and exists so that
# `make run` works on a laptop. Outside demo mode a missing passphrase is an error.
DEMO_PASSPHRASE = "demo-only-not-secret"
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})
_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


def parse_bool(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigError(f"{name}: ожидается true/false, получено {raw!r} / expected true or false")


def _int_parser(minimum: int, maximum: int, multiple: int = 1) -> Callable[[str, str], int]:
    def parse(name: str, raw: str) -> int:
        try:
            value = int(raw.strip().replace("_", ""))
        except ValueError as err:
            raise ConfigError(f"{name}: ожидается целое число, получено {raw!r} / expected an integer") from err
        if not minimum <= value <= maximum or value % multiple:
            extra = f", кратное {multiple} / a multiple of {multiple}" if multiple > 1 else ""
            raise ConfigError(f"{name}: допустимо от {minimum} до {maximum}{extra} "
                              f"/ must be between {minimum} and {maximum}")
        return value
    return parse


def _timezone(name: str, raw: str) -> str:
    value = raw.strip()
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as err:
        raise ConfigError(f"{name}: неизвестный часовой пояс {raw!r} / unknown time zone "
                          "(use an IANA name such as Asia/Vladivostok)") from err
    return value


def _text(name: str, raw: str) -> str | None:
    return raw if raw != "" else None


def _cookie_secure(name: str, raw: str) -> str:
    value = raw.strip().lower()
    if value == "auto":
        return value
    return "true" if parse_bool(name, value) else "false"


def _log_level(name: str, raw: str) -> str:
    value = raw.strip().upper()
    if value not in _LOG_LEVELS:
        raise ConfigError(f"{name}: один из {', '.join(_LOG_LEVELS)} / one of {', '.join(_LOG_LEVELS)}")
    return value


@dataclass(frozen=True)
class Setting:
    env: str
    field: str
    default: str | None  # as it would be written in the environment; None: computed or unset
    parse: Callable[[str, str], Any]
    doc: str
    secret: bool = False


# The one table: defaults, parsing, `socpass-issuer config` and the README all come from it.
SETTINGS: tuple[Setting, ...] = (
    Setting("SOCPASS_HOME", "home", None, lambda n, v: Path(v).expanduser().resolve(),
            "data directory (default: var/ in the working directory)"),
    Setting("SOCPASS_DATABASE_URL", "database_url", None, lambda n, v: v.strip(),
            "SQLAlchemy URL (default: sqlite:///$SOCPASS_HOME/issuer.db)"),
    Setting("SOCPASS_KEY_PASSPHRASE", "key_passphrase", None, _text,
            "encrypts the private signing keys at rest (required outside demo mode)", secret=True),
    Setting("SOCPASS_DEMO", "demo", "false", parse_bool,
            "demo mode: a fixed, public passphrase when none is set (never in production)"),
    Setting("SOCPASS_TIMEZONE", "timezone", "Asia/Vladivostok", _timezone,
            "the issuer's time zone: valid_until ends at the end of that day there"),
    Setting("SOCPASS_STATUS_LIST_SIZE", "status_list_size", "1048576", _int_parser(16, 1 << 26, 8),
            "entries per status list (a new list opens when one is half full)"),
    Setting("SOCPASS_STATUS_TTL", "status_ttl", "3600", _int_parser(1, 7 * 86400),
            "seconds a verifier may cache a status list (the token's ttl, HTTP max-age)"),
    Setting("SOCPASS_STATUS_LIFETIME", "status_lifetime", "604800", _int_parser(60, 366 * 86400),
            "seconds between a status list token's iat and exp"),
    Setting("SOCPASS_MAX_UPLOAD", "max_upload", "67108864", _int_parser(1024, 1 << 34),
            "largest accepted request body in bytes"),
    Setting("SOCPASS_LOG_LEVEL", "log_level", "WARNING", _log_level,
            "DEBUG, INFO, WARNING or ERROR (log lines never carry personal data)"),
    Setting("SOCPASS_SECRET_KEY", "secret_key", None, _text,
            "signs console sessions and CSRF tokens (default: generated once into "
            "$SOCPASS_HOME/secret_key, mode 0600)", secret=True),
    Setting("SOCPASS_COOKIE_SECURE", "cookie_secure", "auto", _cookie_secure,
            "console cookies marked Secure: auto (when the request came over HTTPS, also via a "
            "trusted proxy), true or false"),
    Setting("SOCPASS_DB_POOL_SIZE", "db_pool_size", "5", _int_parser(1, 200),
            "PostgreSQL connections kept open per process (up to twice as many under load)"),
    Setting("SOCPASS_APP_REFRESH", "app_refresh", "300", _int_parser(1, 86400),
            "seconds between the offline scanner app's refreshes of its data (/scan/, publish)"),
    Setting("SOCPASS_APP_DIR", "app_dir", None, lambda n, v: Path(v).expanduser().resolve(),
            "the offline scanner app's files that publish and serve use (default: static/scan "
            "of the checkout; set it where the package is installed without its checkout)"),
    Setting("SOCPASS_HTTP_THREADS", "http_threads", "16", _int_parser(1, 256),
            "requests served at once per process by `serve` (a fixed pool: more connections wait)"),
    Setting("SOCPASS_HTTP_TIMEOUT", "http_timeout", "15", _int_parser(1, 600),
            "seconds a client may stay silent while sending a request or between requests "
            "before `serve` closes its connection (slow clients cannot hold the pool)"),
    Setting("SOCPASS_TRUSTED_PROXIES", "trusted_proxies", "0", _int_parser(0, 5),
            "reverse proxies in front of the issuer whose X-Forwarded-For/-Proto/-Host are "
            "believed (0: none, the headers are ignored; 1: one proxy such as nginx)"),
)


@dataclass(frozen=True)
class Settings:
    home: Path
    database_url: str
    key_passphrase: str | None
    demo: bool
    timezone: str
    status_list_size: int
    status_ttl: int
    status_lifetime: int
    max_upload: int
    log_level: str
    secret_key: str | None = None
    cookie_secure: str = "auto"
    db_pool_size: int = 5
    app_refresh: int = 300
    app_dir: Path | None = None
    http_threads: int = 16
    http_timeout: int = 15
    trusted_proxies: int = 0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, *, cwd: Path | None = None) -> "Settings":
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for s in SETTINGS:
            raw = env.get(s.env)
            if raw is None or (raw.strip() == "" and s.default is not None):
                raw = s.default
            values[s.field] = None if raw is None else s.parse(s.env, raw)
        if values["home"] is None:
            values["home"] = ((cwd or Path.cwd()) / "var").resolve()
        if not values["database_url"]:
            values["database_url"] = f"sqlite:///{values['home'] / 'issuer.db'}"
        if values["status_lifetime"] < values["status_ttl"]:
            raise ConfigError("SOCPASS_STATUS_LIFETIME должен быть не меньше SOCPASS_STATUS_TTL "
                              "/ must not be shorter than SOCPASS_STATUS_TTL")
        return cls(**values)

    @property
    def demo_passphrase_in_use(self) -> bool:
        return self.demo and not self.key_passphrase

    def passphrase(self) -> bytes:
        """The key passphrase; in demo mode without one, the public demo passphrase."""
        if self.key_passphrase:
            return self.key_passphrase.encode("utf-8")
        if self.demo:
            return DEMO_PASSPHRASE.encode("utf-8")
        raise ConfigError(
            "не задан SOCPASS_KEY_PASSPHRASE: ключи подписи хранятся только зашифрованными; "
            "для пробного запуска задайте SOCPASS_DEMO=true / SOCPASS_KEY_PASSPHRASE is not set: "
            "signing keys are stored encrypted only; set SOCPASS_DEMO=true for a demo",
            code="no_passphrase")

    def to_public_dict(self, *, display_url: Callable[[str], str]) -> dict[str, Any]:
        """The effective configuration for `socpass-issuer config`: secrets masked, the database
        URL shown by `display_url` (issuer.storage.engine's: reading a database URL is storage's
        job, and storage sits above this module)."""
        out: dict[str, Any] = {}
        by_field = {s.field: s for s in SETTINGS}
        for f in fields(self):
            value = getattr(self, f.name)
            if by_field[f.name].secret:
                value = "********" if value else None
            elif isinstance(value, Path):
                value = str(value)
            elif f.name == "database_url":
                value = display_url(value)
            out[by_field[f.name].env] = value
        out["demo_passphrase_in_use"] = self.demo_passphrase_in_use
        return out


def warn_demo_passphrase(settings: Settings, stream: TextIO | None = None) -> None:
    """Loud, on purpose: a demo passphrase on a real server means the keys are not protected."""
    if settings.demo_passphrase_in_use:
        print("!!! ВНИМАНИЕ: ДЕМО-РЕЖИМ, ключи зашифрованы ОБЩЕИЗВЕСТНЫМ паролем. Не для работы.\n"
              "!!! WARNING: DEMO MODE, keys are encrypted with a PUBLIC passphrase. Not for production.",
              file=stream or sys.stderr)


SECRET_KEY_FILE = "secret_key"


def session_secret(settings: Settings) -> bytes:
    """SOCPASS_SECRET_KEY, or a random key generated once and kept in SOCPASS_HOME (0600).

    Never a built-in fallback: a known key would let anyone forge a console session. Several
    worker processes may start at once: the file appears whole and is never overwritten, and
    whoever loses the race reads the winner's key.
    """
    if settings.secret_key:
        if len(settings.secret_key) < 32:
            raise ConfigError("SOCPASS_SECRET_KEY: не короче 32 символов / at least 32 characters")
        return settings.secret_key.encode("utf-8")
    import secrets

    path = settings.home / SECRET_KEY_FILE
    if not path.exists():
        settings.home.mkdir(parents=True, exist_ok=True)
        try:
            create_private(path, (secrets.token_hex(32) + "\n").encode("ascii"))
        except FileExistsError:
            pass
    key = path.read_text(encoding="ascii").strip()
    if len(key) < 32:
        raise ConfigError(f"{path}: ключ повреждён / the key file is damaged")
    return key.encode("ascii")
