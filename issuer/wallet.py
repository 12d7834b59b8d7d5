"""The citizen's page `/w/<secret>`: what the page shows, and where the credential can be used.

The links themselves (made, revoked, exported) are issuer.links; a link is bound to the registry
entry rather than to one credential: when the family's data changes and the credential is
reissued, the letter or portal link the citizen already has shows the new one.
"""
from __future__ import annotations

import json
from datetime import date
from typing import Any

from issuer.context import Context
from issuer.errors import NotFound
from issuer.linkkey import secret_hash
from issuer.storage import links as link_queries
from issuer.storage import queries
from issuer.storage.models import CredentialRow
from shared.credential import CATEGORIES, TYPES
from shared.qrtext import encode as qr_encode

SHOW_AT_ENTRANCE = ("Покажите QR-код на кассе или на входе вместе с документом, удостоверяющим "
                    "личность (паспорт, свидетельство о рождении ребёнка).")



def where_to_use(ctype: str, category: str | None, children: int | None,
                 iss: str = "") -> list[dict[str, str]]:
    """Plain-language list of places and what they grant to this credential: the ministry's
    catalogue (issuer.entitlements), the same rules the venues' verifiers apply."""
    from issuer.entitlements import catalogue

    persons = 2 + (children or 0)
    out = []
    for name, profile in catalogue(iss or "-").profiles.items():
        rule = next((r for r in profile.rules if r.matches(ctype, category)), None)
        if rule is None:
            continue
        ent = rule.entitlement
        count = persons if ent.get("persons") == "family" else ent.get("persons", 1)
        out.append({"place": name, "place_ru": profile.name_ru, "place_en": profile.name_en,
                    "text_ru": ent["text_ru"].replace("{persons}", str(count)),
                    "text_en": ent.get("text_en", ent["text_ru"]).replace("{persons}", str(count)),
                    "conditions_ru": SHOW_AT_ENTRANCE})
    return out


def grouped(uses: list[dict[str, str]]) -> list[dict[str, str]]:
    """Places granting the same thing on one line ("Музей, парк, зоосад: бесплатный вход…"):
    shorter for a pensioner to read than the same sentence four times."""
    out: list[dict[str, str]] = []
    for use in uses:
        same = next((g for g in out if g["text_ru"] == use["text_ru"]), None)
        if same is None:
            out.append({"place_ru": use["place_ru"], "place_en": use["place_en"],
                        "text_ru": use["text_ru"], "text_en": use["text_en"]})
        else:
            same["place_ru"] += ", " + use["place_ru"][:1].lower() + use["place_ru"][1:]
            same["place_en"] += ", " + use["place_en"][:1].lower() + use["place_en"][1:]
    return out


def _ru_date(iso: str) -> str:
    return date.fromisoformat(iso).strftime("%d.%m.%Y")


class Wallet:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def _resolve(self, session: Any, secret: str) -> CredentialRow:
        if not secret or len(secret) > 64:
            raise NotFound("ссылка недействительна / link not valid", code="link_not_found")
        link = link_queries.link_by_secret_hash(session, secret_hash(secret))
        if link is None or link.revoked_at is not None:
            raise NotFound("ссылка недействительна / link not valid", code="link_not_found")
        rows = queries.credentials_of(session, link.registry_id)
        if not rows:
            raise NotFound("ссылка недействительна / link not valid", code="link_not_found")
        return rows[0]

    def credential_id(self, secret: str) -> str:
        with self.ctx.store.read() as session:
            return self._resolve(session, secret).id

    def page(self, secret: str) -> dict[str, Any]:
        """Everything the citizen's page shows."""
        now = self.ctx.now()
        with self.ctx.store.read() as session:
            row = self._resolve(session, secret)
            issuer = queries.require_issuer(session)
            issuer_name, iss = issuer.name, issuer.iss
            data = json.loads(row.data)
            state = row.state
            if state == "valid" and row.expires_at <= now:
                state = "expired"
            holder = data["holder"]
            category = data.get("category")
            title = CATEGORIES[category] if category else TYPES[row.type]
            view: dict[str, Any] = {
                "credential_id": row.id, "issuer_name": issuer_name, "type": row.type,
                "title_ru": title["ru"], "title_en": title["en"], "category": category,
                "children": data.get("children"), "region": data.get("region"),
                "holder_name": " ".join(p for p in (holder["family_name"], holder["given_name"],
                                                    holder.get("patronymic")) if p),
                "birth_date": _ru_date(holder["birth_date"]),
                "valid_until": _ru_date(data["valid_until"]),
                "state": state, "usable": state == "valid",
                "entitlements": grouped(where_to_use(row.type, category, data.get("children"), iss)),
            }
            view["qr_text"] = qr_encode(row.token) if state == "valid" else None
            return view
