"""Reading the audit trail: the page, the CSV export and the chain check (use cases)."""
from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from issuer.context import Context
from issuer.storage import audit, queries
from issuer.storage.models import Event
from shared.errors import InputError, SocpassError
from shared.token import sign

HEAD_TYP = "socpass-audit-head+jwt"
# Who acts: a console user, someone at the command line, an API token's holder.
ACTOR_KINDS = ("user", "cli", "api")


def actors_named(typed: str | None) -> tuple[str, ...] | None:
    """The actor filter takes "ivanova" as well as "user:ivanova": a plain name is any kind of
    actor of that name."""
    typed = (typed or "").strip()
    if not typed:
        return None
    if ":" in typed:
        return (typed,)
    return (typed, *(f"{kind}:{typed}" for kind in ACTOR_KINDS))


class AuditLog:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def _describe(self, event: Event) -> dict[str, Any]:
        return {"id": event.id, "at": event.at.astimezone(self.ctx.tz).isoformat(),
                "actor": event.actor, "action": event.action,
                "credential_id": event.credential_id, "kid": event.kid, "reason": event.reason,
                "detail": json.loads(event.detail) if event.detail else None, "hash": event.hash}

    def events(self, *, action: str | None = None, actor: str | None = None,
               credential_id: str | None = None, before_id: int | None = None,
               limit: int = 100) -> list[dict[str, Any]]:
        with self.ctx.store.read() as session:
            rows = queries.list_events(session, action=action or None, actors=actors_named(actor),
                                     credential_id=credential_id or None, before_id=before_id,
                                     limit=limit)
            return [self._describe(e) for e in rows]

    def verify(self, expect_head: str | None = None) -> dict[str, Any]:
        """The chain from the first row, its end against the recorded head, and, given one kept
        outside the database (`SEQ:HASH` or the signed head), that this row is still there."""
        expect = self._expected(expect_head) if expect_head else None
        with self.ctx.store.read() as session:
            result = audit.verify_chain(audit.iter_events(session), expect=expect)
            return audit.check_head(result, audit.read_head(session)).to_dict()

    def _expected(self, text: str) -> tuple[int, str]:
        text = text.strip()
        if text.count(".") != 2:
            return audit.parse_head(text)
        claims = self._verified_head(text)
        return audit.parse_head(claims["audit_head"])

    def _verified_head(self, token: str) -> dict[str, Any]:
        """A signed head: checked against every key this issuer ever had, except withdrawn ones
        (a key retired from the JWKS still vouches for the heads it signed)."""
        from shared.keys import StaticKeyResolver
        from shared.token import verify as verify_token

        with self.ctx.store.read() as session:
            iss = queries.require_issuer(session).iss
            keys = [json.loads(k.public_jwk) for k in queries.signing_keys(session)
                    if k.state != "withdrawn"]
        try:
            verified = verify_token(token, StaticKeyResolver.from_jwks(iss, {"keys": keys}),
                                    typ=HEAD_TYP)
        except SocpassError as err:
            raise InputError(f"--expect-head: подпись не проверена / the signed head does not "
                             f"verify ({err.code})", code="invalid_head") from err
        if verified.claims.get("iss") != iss or not isinstance(verified.claims.get("audit_head"), str):
            raise InputError("--expect-head: это голова другого журнала / not this log's head",
                             code="invalid_head")
        return verified.claims

    def head(self) -> dict[str, Any]:
        """The recorded head, signed with the active key: to be kept outside the database (a
        daily mail, another organisation's archive) and given back to `verify --expect-head`."""
        now = self.ctx.now()
        with self.ctx.store.read() as session:
            issuer = queries.require_issuer(session)
            row = audit.read_head(session)
            seq, digest = (row.seq, row.hash) if row is not None else (0, audit.GENESIS)
            key_row, private_key = self.ctx.keyring.active(session)
            head = f"{seq}:{digest}"
            claims = {"iss": issuer.iss, "iat": int(now.timestamp()), "audit_head": head}
        return {"head": head, "seq": seq, "hash": digest, "iss": issuer.iss,
                "at": now.astimezone(self.ctx.tz).isoformat(), "kid": key_row.kid,
                "signed": sign(claims, private_key, key_row.kid, HEAD_TYP)}

    def csv_lines(self) -> Iterator[str]:
        """The whole trail as CSV, streamed (formula-safe cells)."""
        with self.ctx.store.read() as session:
            yield from audit.csv_lines(audit.iter_events(session))
