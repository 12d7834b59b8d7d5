"""The pinned federal roots (SOCPASS_TRUST_ROOTS): the keys a federal trust list must verify
against. Read from a file handed to the venue out of band; never from the place it syncs from,
and without any network code, so the settings and the cache can load them."""
from __future__ import annotations

from pathlib import Path

from shared.errors import ConfigError, KeyError_
from shared.jsonstrict import JSONFormatError, loads_strict
from shared.keys import StaticKeyResolver, keys_from_jwks

MAX_ROOTS_BYTES = 64 * 1024


def load_roots(path: Path | str) -> StaticKeyResolver:
    """The pinned roots: a JWKS `{"iss": "<federal iss>", "keys": [one or two public JWKs]}`."""
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_ROOTS_BYTES + 1)
        doc = loads_strict(raw)
    except OSError as err:
        raise ConfigError(f"SOCPASS_TRUST_ROOTS {path}: {err.strerror}") from err
    except JSONFormatError as err:
        raise ConfigError(f"SOCPASS_TRUST_ROOTS {path}: {err}") from err
    if not isinstance(doc, dict) or not isinstance(doc.get("iss"), str) or not doc["iss"]:
        raise ConfigError(f"SOCPASS_TRUST_ROOTS {path}: a JWKS with the federal \"iss\" is expected")
    try:
        found = keys_from_jwks(doc["iss"], doc)
    except KeyError_ as err:
        raise ConfigError(f"SOCPASS_TRUST_ROOTS {path}: {err}") from err
    if not 1 <= len(found) <= 2:
        raise ConfigError(f"SOCPASS_TRUST_ROOTS {path}: one or two root keys are expected")
    return StaticKeyResolver({doc["iss"]: found})
