"""The citizen's page `/w/<secret>`: private links, what the page shows, and where it can be used.

A link is 128 random bits, stored as its SHA-256 only, and bound to the registry entry rather
than to one credential: when the family's data changes and the credential is reissued, the
letter or portal link the citizen already has shows the new one. A new link revokes the old.
"""
from __future__ import annotations

import hashlib
import json
import secrets
from datetime import date
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from issuer import store
from issuer.errors import NotFound
from issuer.models import CredentialRow, WalletLink
from shared.credential import CATEGORIES, TYPES
from shared.qrtext import encode as qr_encode

if TYPE_CHECKING:
    from issuer.service import IssuerService

WALLET_PREFIX = "/w/"

WHAT_TO_DO = ("Если вы считаете, что это ошибка, или ваши данные изменились, обратитесь в центр "
              "социальной поддержки населения по месту жительства или напишите через портал "
              "Госуслуг.")
WHAT_TO_DO_EN = ("If you think this is a mistake or your details changed, contact your local social "
                 "support centre or write via the state services portal.")
NOTICES = {
    "revoked": ("Удостоверение отозвано и больше не действует. Льготы по нему не предоставляются.",
                "This credential has been revoked and is no longer valid."),
    "suspended": ("Действие удостоверения временно приостановлено. Пока оно приостановлено, "
                  "льготы по нему не предоставляются.",
                  "This credential is temporarily suspended: no benefits while it is suspended."),
    "expired": ("Срок действия удостоверения истёк.", "This credential has expired."),
}
STATE_LABELS = {"valid": ("Действует", "Valid"), "revoked": ("Отозвано", "Revoked"),
                "suspended": ("Приостановлено", "Suspended"), "expired": ("Срок истёк", "Expired")}
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


def _secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _ru_date(iso: str) -> str:
    return date.fromisoformat(iso).strftime("%d.%m.%Y")


class Wallet:
    def __init__(self, service: "IssuerService") -> None:
        self.svc = service

    def new_link(self, credential_id: str) -> dict[str, Any]:
        """A fresh private link for the credential's registry entry; older links stop working."""
        secret = secrets.token_urlsafe(16)  # 128 bits
        now = self.svc.now()
        with self.svc.store.write() as session:
            row = store.get_credential(session, credential_id)
            base = store.require_issuer(session).url
            revoked = self._revoke_in(session, row.registry_id, now)
            session.add(WalletLink(registry_id=row.registry_id, secret_hash=_secret_hash(secret),
                                   created_by=self.svc.actor, created_at=now))
            store.add_event(session, at=now, actor=self.svc.actor, action="wallet_link",
                            credential_id=row.id, detail={"registry_id": row.registry_id,
                                                          "previous_links_revoked": revoked})
        path = WALLET_PREFIX + secret
        return {"credential_id": credential_id, "path": path, "url": base + path}

    def revoke_links(self, credential_id: str) -> dict[str, Any]:
        now = self.svc.now()
        with self.svc.store.write() as session:
            row = store.get_credential(session, credential_id)
            revoked = self._revoke_in(session, row.registry_id, now)
            if revoked:
                store.add_event(session, at=now, actor=self.svc.actor, action="wallet_link_revoke",
                                credential_id=row.id, detail={"registry_id": row.registry_id,
                                                              "links_revoked": revoked})
        return {"credential_id": credential_id, "links_revoked": revoked}

    @staticmethod
    def _revoke_in(session: Any, registry_id: str, now: Any) -> int:
        live = session.scalars(select(WalletLink).where(WalletLink.registry_id == registry_id,
                                                        WalletLink.revoked_at.is_(None))).all()
        for link in live:
            link.revoked_at = now
        return len(live)

    def link_info(self, credential_id: str) -> dict[str, Any] | None:
        """When the live link of this credential's registry entry was made (never the secret)."""
        with self.svc.store.read() as session:
            row = store.get_credential(session, credential_id)
            link = session.scalars(select(WalletLink).where(
                WalletLink.registry_id == row.registry_id, WalletLink.revoked_at.is_(None))
                .order_by(WalletLink.created_at.desc())).first()
            if link is None:
                return None
            return {"created_at": link.created_at.astimezone(self.svc.tz).isoformat(),
                    "created_by": link.created_by}

    def _resolve(self, session: Any, secret: str) -> CredentialRow:
        if not secret or len(secret) > 64:
            raise NotFound("ссылка недействительна / link not valid", code="link_not_found")
        link = session.scalars(select(WalletLink).where(
            WalletLink.secret_hash == _secret_hash(secret))).first()
        if link is None or link.revoked_at is not None:
            raise NotFound("ссылка недействительна / link not valid", code="link_not_found")
        rows = store.credentials_of(session, link.registry_id)
        if not rows:
            raise NotFound("ссылка недействительна / link not valid", code="link_not_found")
        return rows[0]

    def credential_id(self, secret: str) -> str:
        with self.svc.store.read() as session:
            return self._resolve(session, secret).id

    def page(self, secret: str) -> dict[str, Any]:
        """Everything the citizen's page shows."""
        now = self.svc.now()
        with self.svc.store.read() as session:
            row = self._resolve(session, secret)
            issuer = store.require_issuer(session)
            issuer_name, iss = issuer.name, issuer.iss
            data = json.loads(row.data)
            state = row.state
            if state == "valid" and row.expires_at <= now:
                state = "expired"
            holder = data["holder"]
            category = data.get("category")
            title_ru = CATEGORIES[category]["ru"] if category else TYPES[row.type]["ru"]
            title_en = CATEGORIES[category]["en"] if category else TYPES[row.type]["en"]
            view: dict[str, Any] = {
                "credential_id": row.id, "issuer_name": issuer_name, "type": row.type,
                "title_ru": title_ru, "title_en": title_en, "category": category,
                "children": data.get("children"), "region": data.get("region"),
                "holder_name": " ".join(p for p in (holder["family_name"], holder["given_name"],
                                                    holder.get("patronymic")) if p),
                "birth_date": _ru_date(holder["birth_date"]),
                "valid_until": _ru_date(data["valid_until"]),
                "state": state, "state_ru": STATE_LABELS[state][0], "state_en": STATE_LABELS[state][1],
                "usable": state == "valid",
                "entitlements": grouped(where_to_use(row.type, category, data.get("children"), iss)),
            }
            if state != "valid":
                view["notice_ru"], view["notice_en"] = NOTICES[state]
                view["what_to_do"], view["what_to_do_en"] = WHAT_TO_DO, WHAT_TO_DO_EN
            view["qr_text"] = qr_encode(row.token) if state == "valid" else None
            return view
