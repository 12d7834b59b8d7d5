"""Helpers shared by the issuer tests (constants, a settable clock, data factories)."""
from __future__ import annotations

import itertools
import os
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from issuer.service import IssuerService
from shared.keys import StaticKeyResolver

PASSPHRASE = "test-passphrase-not-secret"
ISSUER_ID = "RU-27"
ISSUER_NAME = "Министерство социальной защиты Хабаровского края"
ISSUER_URL = "https://socpass.khv.example"
ISSUER_CLI = Path(sys.executable).parent / "socpass-issuer"


class FakeClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


_sequence = itertools.count(1)


def holder(**overrides: Any) -> dict[str, Any]:
    return {"family_name": "Иванова", "given_name": "Мария", "patronymic": "Петровна",
            "birth_date": "1988-04-12", **overrides}


def make_data(ctype: str = "large_family", **overrides: Any) -> dict[str, Any]:
    """Registry data with a unique registry_id (factory with a sequence)."""
    data: dict[str, Any] = {"registry_id": f"KHV-{next(_sequence):06d}", "holder": holder(),
                            "region": "27", "valid_until": "2030-05-31"}
    if ctype == "large_family":
        data["children"] = 4
    else:
        data["category"] = "disability_1"
    data.update(overrides)
    return data


def resolver_for(svc: IssuerService) -> StaticKeyResolver:
    return StaticKeyResolver.from_jwks(ISSUER_ID, svc.jwks())


def subprocess_env(env: dict[str, str]) -> dict[str, str]:
    """The parent's environment (PATH...) without any SOCPASS_* of the developer, plus `env`."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("SOCPASS_")}
    return base | env

PASSWORD = "correct-horse-battery-staple"
