"""A verdict as the verifier returns it: accept or reject, the code, warnings, and what to show."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from shared.codes import message
from shared.credential import Credential

ACCEPT, REJECT = "accept", "reject"


class Shown:
    """The verified credential as the clerk sees it, built when first asked for: the decision
    does not need it, and a caller that only wants the verdict should not pay for it."""

    __slots__ = ("_credential", "_build", "_dict")

    def __init__(self, credential: Credential, build: Callable[[Credential], dict[str, Any]]) -> None:
        self._credential, self._build, self._dict = credential, build, None

    def as_dict(self) -> dict[str, Any]:
        if self._dict is None:
            self._dict = self._build(self._credential)
        return self._dict


# Not frozen: a frozen dataclass costs ~4x as much to build and a scan builds eight of these
# (docs/benchmarks.md, figure 1). Treated as immutable all the same.
@dataclass(slots=True)
class Result:
    verdict: str
    code: str
    checked_at: int
    warnings: tuple[str, ...] = ()
    shown: Shown | None = None  # only when the signature verified
    entitlement: dict[str, Any] | None = None
    message_ru: str | None = None  # replaces the code's standard message when set
    message_en: str | None = None
    # (warning, Russian, English) replacing a warning's standard message, e.g. with a time
    warning_texts: tuple[tuple[str, str, str], ...] = ()

    @property
    def credential(self) -> dict[str, Any] | None:
        """What the venue sees of the credential (holder, type, validity, issuer)."""
        return self.shown.as_dict() if self.shown is not None else None

    @property
    def accepted(self) -> bool:
        return self.verdict == ACCEPT

    def warning_messages(self) -> list[dict[str, str]]:
        special = {code: (ru, en) for code, ru, en in self.warning_texts}
        out = []
        for w in self.warnings:
            ru, en = special.get(w, (message(w, "ru"), message(w, "en")))
            out.append({"code": w, "message": ru, "message_en": en})
        return out

    def to_json(self) -> dict[str, Any]:
        return {"verdict": self.verdict, "code": self.code,
                "message": self.message_ru or message(self.code, "ru"),
                "message_en": self.message_en or message(self.code, "en"),
                "warnings": list(self.warnings), "warning_messages": self.warning_messages(),
                "credential": self.credential, "entitlement": self.entitlement,
                "checked_at": self.checked_at}
