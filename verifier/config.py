"""Verifier settings: one table of SOCPASS_* variables, each with a default and a strict parser.

Nothing is read at import time: `Settings.from_env(environ)` builds a frozen object that the
factory, the CLI and the tests pass around.
"""
from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from shared.errors import ConfigError

_INT = re.compile(r"[0-9]{1,15}")
_DECIMAL = re.compile(r"[0-9]{1,6}(\.[0-9]{1,3})?")
_NAME = re.compile(r"[a-z][a-z0-9_]{0,31}")


def _seconds(value: str) -> int:
    if not _INT.fullmatch(value):
        raise ValueError("a whole number of seconds (0 or more) is expected")
    return int(value)


def _positive_int(value: str) -> int:
    if not _INT.fullmatch(value) or int(value) == 0:
        raise ValueError("a whole number above 0 is expected")
    return int(value)


def _timeout(value: str) -> float:
    if not _DECIMAL.fullmatch(value) or float(value) <= 0:
        raise ValueError("a number of seconds above 0 is expected, e.g. 10 or 2.5")
    return float(value)


def _bool(value: str) -> bool:
    lowered = value.lower()
    if lowered in ("true", "1", "yes", "on"):
        return True
    if lowered in ("false", "0", "no", "off"):
        return False
    raise ValueError("true or false")


def _sources(value: str) -> tuple[str, ...]:
    items = tuple(part.strip() for part in value.split(",") if part.strip())
    if not items:
        raise ValueError("comma-separated issuer URLs or publish directories")
    return items


def _region(value: str) -> str:
    if not re.fullmatch(r"[0-9]{2,3}", value):
        raise ValueError("a region code of 2 or 3 digits, e.g. 27")
    return value


def _recent_policy(value: str) -> str:
    if value not in ("warn", "reject"):
        raise ValueError("warn or reject")
    return value


def _timezone(value: str) -> str:
    from zoneinfo import ZoneInfo

    try:
        ZoneInfo(value)
    except (ValueError, OSError, KeyError) as err:  # ZoneInfoNotFoundError is a KeyError
        raise ValueError("an IANA time zone name, e.g. Asia/Vladivostok") from err
    return value


def _profile(value: str) -> str:
    if not _NAME.fullmatch(value):
        raise ValueError("a profile name in lower case, e.g. museum")
    return value


@dataclass(frozen=True)
class Setting:
    env: str
    field: str
    default: str | None
    parse: Callable[[str], Any]
    doc: str


# The one table: defaults, parsing, CLI `config` output and the README's list all come from here.
SETTINGS: tuple[Setting, ...] = (
    Setting("SOCPASS_HOME", "home", "var", Path,
            "data directory (relative paths are below the working directory)"),
    Setting("SOCPASS_VERIFIER_CACHE", "cache_dir", None, Path,
            "the verifier's cache directory, holding cache.json (default <SOCPASS_HOME>/verifier)"),
    Setting("SOCPASS_LEEWAY", "leeway", "60", _seconds,
            "seconds of clock drift allowed when checking a credential's exp and nbf"),
    Setting("SOCPASS_CLOCK_TOLERANCE", "clock_tolerance", "300", _seconds,
            "how far (seconds) the device clock may lag behind the newest synced status list "
            "before every check answers clock_invalid"),
    Setting("SOCPASS_STATUS_GRACE", "status_grace", str(86400 * 3), _seconds,
            "seconds after a status list goes stale during which credentials are still "
            "accepted, with the warning status_stale"),
    Setting("SOCPASS_VENUE_PROFILE", "venue_profile", "museum", _profile,
            "what this venue grants: museum, park, zoo, sport or transport"),
    Setting("SOCPASS_VENUE_POLICY", "venue_policy", None, Path,
            "optional JSON file whose profiles replace the built-in rules"),
    Setting("SOCPASS_MAX_BODY", "max_body", str(10 * 1024 * 1024), _positive_int,
            "largest HTTP request body and image accepted, in bytes"),
    Setting("SOCPASS_MAX_IMAGE_PIXELS", "max_image_pixels", "4000000", _positive_int,
            "most pixels /api/scan decodes (width x height); a larger JPEG is decoded at 1/2, 1/4 "
            "or 1/8 scale, other formats are refused"),
    Setting("SOCPASS_SYNC_TIMEOUT", "sync_timeout", "10", _timeout,
            "seconds to wait for each network operation during sync"),
    Setting("SOCPASS_SYNC_DEADLINE", "sync_deadline", "60", _timeout,
            "seconds allowed for everything read from one source during sync (a slow server "
            "cannot hold the sync longer)"),
    Setting("SOCPASS_SYNC_ALLOW_PRIVATE", "sync_allow_private", "false", _bool,
            "true lets sync connect to private, link-local and other non-public addresses "
            "(an issuer on the LAN); loopback is always allowed"),
    Setting("SOCPASS_SYNC_SOURCES", "sync_sources", None, _sources,
            "what `serve` syncs in the background: comma-separated issuer URLs or publish "
            "directories, or one federal source (default: the sources of the last sync)"),
    Setting("SOCPASS_SYNC_INTERVAL", "sync_interval", "300", _seconds,
            "seconds between background syncs of `serve` (0: never; a failed one keeps the "
            "previous cache and is retried at the next interval)"),
    Setting("SOCPASS_SERVE_THREADS", "serve_threads", "16", _positive_int,
            "requests `serve` handles at once (a bounded pool; connections beyond it wait "
            "without a thread each)"),
    Setting("SOCPASS_READ_TIMEOUT", "read_timeout", "10", _timeout,
            "seconds `serve` waits for a client's request (and each read of it) before "
            "closing the connection: a stalled client holds nothing longer"),
    Setting("SOCPASS_TRUST_ROOTS", "trust_roots", None, Path,
            "JWKS file with the one or two pinned federal root public keys; needed to sync "
            "from a trust list or bundle and to load a cache made that way"),
    Setting("SOCPASS_TRUST_LIST", "trust_list", None, str,
            "default federal source for `sync` without arguments: a base URL or directory "
            "holding .well-known/socpass-trustlist.jwt, or a trust list or bundle file/URL"),
    Setting("SOCPASS_VENUE_REGION", "venue_region", None, _region,
            "this venue's region code: credentials from other regions get the federal "
            "visitors' rules of the trust list"),
    Setting("SOCPASS_TIMEZONE", "timezone", "Asia/Vladivostok", _timezone,
            "the venue's time zone, the one every screen uses: the scan log's days (statistics, "
            "daily salt) start at midnight there, and the repeated-use warning, the status bar "
            "and the statistics page give their times in it"),
    Setting("SOCPASS_RECENT_WINDOW", "recent_window", "600", _seconds,
            "seconds during which a second scan of a credential accepted at this device gets "
            "the warning recently_used (0: never)"),
    Setting("SOCPASS_RECENT_POLICY", "recent_policy", "warn", _recent_policy,
            "what a second use within the window gets: warn (accept with recently_used) or "
            "reject (not_entitled with recently_used), e.g. for transport"),
    Setting("SOCPASS_SCANLOG_DAYS", "scanlog_days", "400", _positive_int,
            "days the scan log (no personal data: time, code, type, category) is kept"),
    Setting("SOCPASS_SCANLOG_FLUSH_MS", "scanlog_flush_ms", "50", _seconds,
            "the scanner server writes its scan log behind, every this many milliseconds (one "
            "commit for many scans; a crash loses at most this much of the log); 0: each scan "
            "is written before it answers"),
)


@dataclass(frozen=True)
class Settings:
    home: Path
    cache_dir: Path
    leeway: int
    clock_tolerance: int
    status_grace: int
    venue_profile: str
    venue_policy: Path | None
    max_body: int
    max_image_pixels: int
    sync_timeout: float
    sync_deadline: float
    sync_allow_private: bool
    sync_sources: tuple[str, ...] | None
    sync_interval: int
    serve_threads: int
    read_timeout: float
    trust_roots: Path | None
    trust_list: str | None
    venue_region: str | None
    timezone: str
    recent_window: int
    recent_policy: str
    scanlog_days: int
    scanlog_flush_ms: int

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "Settings":
        """Read the table from `environ` (default os.environ); an unparsable value is an error.

        An empty variable counts as unset, as env files often declare names without values.
        """
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for setting in SETTINGS:
            raw = env.get(setting.env, "").strip()
            if not raw:
                values[setting.field] = None if setting.default is None else setting.parse(setting.default)
                continue
            try:
                values[setting.field] = setting.parse(raw)
            except ValueError as err:
                raise ConfigError(f"{setting.env}={raw!r}: {err}") from err
        if values["cache_dir"] is None:
            values["cache_dir"] = values["home"] / "verifier"
        return cls(**values)

    def roots(self) -> Any:
        """The pinned federal roots (a KeyResolver), or None when none are configured."""
        if self.trust_roots is None:
            return None
        from verifier.roots import load_roots

        return load_roots(self.trust_roots)

    def describe(self) -> dict[str, Any]:
        """The effective configuration, by variable name (what `socpass-verifier config` prints)."""
        by_field = {s.field: s for s in SETTINGS}
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, Path):
                value = str(value)
            elif isinstance(value, tuple):
                value = ",".join(value)
            out[by_field[f.name].env] = value
        return out
