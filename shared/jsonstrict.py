"""JSON in one spelling: UTF-8 only, no duplicate members, no NaN/Infinity, bounded depth."""
from __future__ import annotations

import json
from typing import Any


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


def loads_strict(data: bytes) -> Any:
    """Parse bytes that must be UTF-8 JSON (a BOM or UTF-16 is refused, not guessed)."""
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


def dumps_canonical(obj: Any) -> bytes:
    """Compact UTF-8 JSON; Cyrillic stays two bytes a letter instead of six as \\uXXXX."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")
