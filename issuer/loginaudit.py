"""Failed and rate-limited sign-ins as audit events, without what the log must not keep.

- The name tried: as typed when it is an account's name (`user:NAME`, the same actor as that
  account's own events); any other text is `user:?` with a keyed hash of it, because people type
  their password into the name field, and the audit log is append-only and read by auditors.
- Never the password.
- The client address as its network only (IPv4 /24, IPv6 /48) plus a keyed hash of the whole
  address (`client_id`): attempts from one address can be grouped, the address itself is not kept.
  Keyed with the server's session secret, so the hashes cannot be reversed by trying every address.
- Rate-limited attempts: the 1st, 2nd, 4th, 8th... within a window, each with its count, so a
  script hammering the form cannot fill the log with millions of rows.
"""
from __future__ import annotations

import hashlib
import hmac
import ipaddress
from typing import Any

REASONS = ("unknown_user", "wrong_password", "disabled", "too_many_attempts")
UNKNOWN_ACTOR = "user:?"


def _keyed(key: bytes, purpose: str, value: str) -> str:
    return hmac.new(key, f"{purpose}|{value}".encode("utf-8"), hashlib.sha256).hexdigest()[:16]


def client_fields(address: str, key: bytes) -> dict[str, str]:
    """{"client": network of the address, "client_id": keyed hash of the address}."""
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        network = "?"
    else:
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        prefix = 24 if ip.version == 4 else 48
        network = str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))
    return {"client": network, "client_id": _keyed(key, "client", address)}


def actor_and_name(typed: str, known: bool, key: bytes) -> tuple[str, dict[str, Any]]:
    """The event's actor, and what the detail says of the name."""
    if known:
        return f"user:{typed.strip()}", {}
    return UNKNOWN_ACTOR, {"name_id": _keyed(key, "name", typed.strip().casefold())}


def worth_recording(attempt: int) -> bool:
    """The 1st, 2nd, 4th, 8th... rate-limited attempt of a window."""
    return attempt > 0 and attempt & (attempt - 1) == 0
