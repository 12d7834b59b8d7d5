"""What the scan log records of one verdict, and the error it raises."""
from __future__ import annotations

from dataclasses import dataclass

from shared.errors import SocpassError


class ScanLogError(SocpassError):
    """The scan log cannot be read or written (verification goes on without it)."""

    code = "scanlog_unavailable"


@dataclass(slots=True)  # not frozen: one per scan (see verifier/result.py)
class Entry:
    """One verdict as logged: nothing here identifies a person."""

    at: int
    verdict: str
    code: str
    warnings: tuple[str, ...]
    type: str | None
    category: str | None
    persons: int | None
    profile: str
    via: str  # "text" (scanner, paste) or "image" (camera, photo)
