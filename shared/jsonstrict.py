"""JSON in one spelling: UTF-8 only, no duplicate members, no NaN/Infinity, bounded depth.

Two parsers, one meaning. orjson reads a credential's payload in a third of the stdlib's time,
but keeps the last of duplicate members and turns huge integers into floats; so its result is
taken only when orjson writes it back byte for byte (the compact spelling every issuer writes,
which has neither). Anything else, and every error, goes through the stdlib parser with its
duplicate check, which decides and words the error.
"""
from __future__ import annotations

import json
from typing import Any

try:
    import orjson
except ImportError:  # the stdlib path alone is complete, only slower
    orjson = None  # type: ignore[assignment]


class JSONFormatError(ValueError):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        dup = next(k for k, _ in pairs if k in seen or seen.add(k))  # type: ignore[func-returns-value]
        raise JSONFormatError(f"duplicate member {dup!r}")
    return out


def _no_constants(name: str) -> Any:
    raise JSONFormatError(f"non-finite number {name}")


# Built once: json.loads with hooks would build a new decoder on every call.
_DECODER = json.JSONDecoder(object_pairs_hook=_no_duplicates, parse_constant=_no_constants)


def _fast(data: bytes) -> Any:
    """orjson's result when it equals the stdlib's, else _SLOW."""
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError:
        return _SLOW
    # Written back byte for byte: the text was in the one compact spelling, which has no
    # duplicate members and no number that either parser reads differently (a credential's
    # payload, as every issuer writes it). Anything else is the stdlib's to decide.
    try:
        return value if orjson.dumps(value) == data else _SLOW
    except TypeError:  # nested deeper than orjson writes
        return _SLOW


_SLOW = object()


def loads_strict(data: bytes) -> Any:
    """Parse bytes that must be UTF-8 JSON (a BOM or UTF-16 is refused, not guessed)."""
    if orjson is not None and type(data) is bytes:
        value = _fast(data)
        if value is not _SLOW:
            return value
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise JSONFormatError("JSON must be UTF-8") from err
    if text.startswith("\ufeff"):
        raise JSONFormatError("JSON must not start with a byte order mark")
    try:
        return _DECODER.decode(text)
    except RecursionError as err:
        raise JSONFormatError("JSON nested too deeply") from err
    except json.JSONDecodeError as err:
        raise JSONFormatError(f"invalid JSON: {err.msg}") from err
    except ValueError as err:  # Python's int-digit limit (4300), raised inside the parser
        raise JSONFormatError("invalid JSON: a number too long") from err


def dumps_canonical(obj: Any) -> bytes:
    """Compact UTF-8 JSON; Cyrillic stays two bytes a letter instead of six as \\uXXXX."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")
