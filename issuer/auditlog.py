"""Reading the audit trail: the page, the CSV export and the chain check (use cases)."""
from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from issuer import audit, store
from issuer.models import Event

if TYPE_CHECKING:
    from issuer.service import IssuerService

ACTION_LABELS = {
    "init": "создание издателя / issuer created",
    "issue": "выдача / issued",
    "revoke": "отзыв / revoked",
    "suspend": "приостановка / suspended",
    "reinstate": "возобновление / reinstated",
    "import": "загрузка реестра / registry import",
    "key_rotate": "смена ключа / key rotated",
    "key_retire": "ключ выведен / key retired",
    "key_withdraw": "ключ отозван / key withdrawn",
    "user_add": "новый пользователь / user added",
    "user_role": "смена роли / role changed",
    "user_disable": "пользователь отключён / user disabled",
    "user_enable": "пользователь включён / user enabled",
    "user_password": "смена пароля / password changed",
    "user_update": "пользователь изменён / user changed",
    "login": "вход / sign-in",
    "token_create": "новый токен API / API token created",
    "token_revoke": "токен API отозван / API token revoked",
    "wallet_link": "новая ссылка гражданина / citizen link created",
    "wallet_link_revoke": "ссылка гражданина отозвана / citizen link revoked",
}


class AuditLog:
    def __init__(self, service: "IssuerService") -> None:
        self.svc = service

    def _describe(self, event: Event) -> dict[str, Any]:
        return {"id": event.id, "at": event.at.astimezone(self.svc.tz).isoformat(),
                "actor": event.actor, "action": event.action,
                "action_label": ACTION_LABELS.get(event.action, event.action),
                "credential_id": event.credential_id, "kid": event.kid, "reason": event.reason,
                "detail": json.loads(event.detail) if event.detail else None, "hash": event.hash}

    def events(self, *, action: str | None = None, actor: str | None = None,
               credential_id: str | None = None, before_id: int | None = None,
               limit: int = 100) -> list[dict[str, Any]]:
        with self.svc.store.read() as session:
            rows = store.list_events(session, action=action or None, actor=actor or None,
                                     credential_id=credential_id or None, before_id=before_id,
                                     limit=limit)
            return [self._describe(e) for e in rows]

    def verify(self) -> dict[str, Any]:
        with self.svc.store.read() as session:
            return audit.verify_chain(audit.iter_events(session)).to_dict()

    def csv_lines(self) -> Iterator[str]:
        """The whole trail as CSV, streamed (formula-safe cells)."""
        with self.svc.store.read() as session:
            yield from audit.csv_lines(audit.iter_events(session))
