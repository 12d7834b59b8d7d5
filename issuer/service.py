"""The issuer's use cases: init, issue, revoke/suspend/reinstate, keys, status lists, publication.

The CLI and the web app call these methods and nothing else. Every method that changes state
commits before it returns. `IssuerService` builds the `Context` (issuer.context) its use cases
share; the modules of the console's, the API's and the citizen's page's other use cases
(accounts, links, wallet, jobs, the audit log, the import) take that context, never the service.
"""
from __future__ import annotations

import copy
import json
import logging
import re
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from issuer import importer, issuance, publishing, registry
from issuer.auditlog import AuditLog
from issuer.config import Settings
from issuer.context import Clock, Context, utc_now
from issuer.errors import AlreadyInitialized, InvalidState
from issuer.jobs import Jobs
from issuer.keyring import check_algorithm, load_import_pem
from issuer.links import CitizenLinks
from issuer.registry import search_key
from issuer.storage import queries
from issuer.storage.engine import Session, Store
from issuer.storage.errors import Conflict
from issuer.storage.models import CredentialRow, Issuer
from issuer.wallet import Wallet
from shared.credential import HolderData
from shared.errors import InputError
from shared.keys import algorithm_for_key
from shared.publication import APP_PREFIX, IssuerMetadata
from shared.qrtext import encode as qr_encode

if TYPE_CHECKING:
    from issuer.accounts import Accounts, ApiTokens

log = logging.getLogger("socpass.issuer")

_ISSUER_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")
_URL = re.compile(r"https?://[^\s/?#]+(/[^\s?#]*)?")
_REGION = re.compile(r"[0-9]{2,3}")
MAX_REASON = 500


def _reason(reason: str | None) -> str:
    text = " ".join((reason or "").split())
    if not text or len(text) > MAX_REASON:
        raise InputError(f"укажите причину, до {MAX_REASON} символов / a reason is required, "
                         f"up to {MAX_REASON} characters", code="invalid_reason")
    return text


class IssuerService:
    def __init__(self, settings: Settings, store_: Store, *, clock: Clock = utc_now,
                 actor: str = "system") -> None:
        self.ctx = Context.build(settings, store_, clock=clock, actor=actor)
        self.status_tokens = publishing.StatusTokenCache()

    @classmethod
    def open(cls, settings: Settings, *, clock: Clock = utc_now, actor: str = "system") -> "IssuerService":
        return cls(settings, Store(settings.database_url, pool_size=settings.db_pool_size),
                   clock=clock, actor=actor)

    def close(self) -> None:
        self.store.close()

    def acting_as(self, actor: str) -> "IssuerService":
        """The same service (store, keys, caches) recording `actor` in the audit trail."""
        clone = copy.copy(self)
        clone.ctx = self.ctx.acting_as(actor)
        return clone

    # What the views, the CLI and the demo read of the context.
    @property
    def settings(self) -> Settings:
        return self.ctx.settings

    @property
    def store(self) -> Store:
        return self.ctx.store

    def today(self) -> date:
        return self.ctx.today()

    # Use cases of the console, the API and the citizen's page, one module each. issuer.accounts
    # is imported on first use: importing it hashes a dummy password (argon2, 64 MiB), which a
    # CLI command such as `import` never needs (its peak RSS would grow by a third).
    @property
    def accounts(self) -> "Accounts":
        from issuer.accounts import Accounts

        return Accounts(self.ctx)

    @property
    def api_tokens(self) -> "ApiTokens":
        from issuer.accounts import ApiTokens

        return ApiTokens(self.ctx)

    @property
    def wallet(self) -> Wallet:
        return Wallet(self.ctx)

    @property
    def links(self) -> CitizenLinks:
        return CitizenLinks(self.ctx)

    @property
    def jobs(self) -> Jobs:
        return Jobs(self.ctx)

    @property
    def audit(self) -> AuditLog:
        return AuditLog(self.ctx)

    def __enter__(self) -> "IssuerService":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- init ---------------------------------------------------------------------------------

    def init_issuer(self, issuer_id: str, name: str, url: str, alg: str | None = None,
                    key_pem: bytes | None = None, region: str | None = None) -> dict[str, Any]:
        issuer_id, name, url = issuer_id.strip(), " ".join(name.split()), url.strip().rstrip("/")
        if not _ISSUER_ID.fullmatch(issuer_id):
            raise InputError("issuer-id: латиница, цифры и . _ : -, до 64 символов, например RU-27 "
                             "/ letters, digits and . _ : -, e.g. RU-27", code="invalid_issuer_id")
        if not name or len(name) > 256:
            raise InputError("name: название обязательно, до 256 символов / a name is required",
                             code="invalid_name")
        if not _URL.fullmatch(url):
            raise InputError("url: нужен адрес http(s)://... / a http(s):// base URL is required",
                             code="invalid_url")
        if region is not None and not _REGION.fullmatch(region.strip()):
            raise InputError("region: код из 2–3 цифр, например 27 / a 2-3 digit code, e.g. 27",
                             code="invalid_region")
        self.settings.passphrase()  # refuse before anything is written
        private_key = None
        if key_pem is not None:
            private_key = load_import_pem(key_pem, self.settings.passphrase())
        key_alg = algorithm_for_key(private_key) if private_key is not None else None
        if alg is not None:
            check_algorithm(alg)
            if key_alg is not None and alg != key_alg:
                raise InputError(f"--alg {alg} не подходит к ключу {key_alg} / does not match the key "
                                 f"({key_alg})", code="invalid_alg")
        alg = key_alg or alg or "ES256"
        now = self.ctx.now()
        try:
            with self.store.write() as session:
                if queries.get_issuer(session) is not None:
                    raise AlreadyInitialized()
                issuer = Issuer(id=1, iss=issuer_id, name=name, url=url, alg=alg,
                                region=region.strip() if region else None,
                                timezone=self.settings.timezone, created_at=now)
                session.add(issuer)
                session.flush()
                key = self.ctx.keyring.add(session, now=now, alg=alg, private_key=private_key)
                self.ctx.keyring.link_key(session)  # the citizens' links' key, sealed like the keys
                self.ctx.allocator(issuer).ensure_list(session, now=now)
                queries.add_event(session, at=now, actor=self.ctx.actor, action="init", kid=key.kid,
                                detail={"iss": issuer_id})
        except Conflict as err:  # another process initialised at the same moment
            raise AlreadyInitialized() from err
        log.info("issuer %s initialised with key %s", issuer_id, key.kid)
        return {"iss": issuer_id, "name": name, "url": url, "alg": alg, "region": issuer.region,
                "timezone": issuer.timezone, "kid": key.kid,
                "created_at": now.astimezone(self.ctx.tz).isoformat()}

    def issuer_info(self) -> dict[str, Any]:
        with self.store.read() as session:
            i = queries.require_issuer(session)
            return {"iss": i.iss, "name": i.name, "url": i.url, "alg": i.alg, "region": i.region,
                    "timezone": self.settings.timezone,
                    "created_at": i.created_at.astimezone(self.ctx.tz).isoformat()}

    # --- issue ----------------------------------------------------------------------------------

    def validate(self, ctype: str, data: dict[str, Any], *, now: datetime | None = None) -> HolderData:
        return registry.validate(ctype, data, today=self.ctx.today(now))

    def problems(self, ctype: str, data: dict[str, Any]) -> list[InputError]:
        """Every problem of the data at once (`validate` raises the first): for forms."""
        return registry.all_problems(ctype, data, today=self.ctx.today())

    def issue(self, ctype: str, data: dict[str, Any], replace: bool = False) -> dict[str, Any]:
        now = self.ctx.now()
        hd = self.validate(ctype, data, now=now)
        with self.store.write() as session:
            row = issuance.issue_one(self.ctx, session, hd, now=now, replace=replace)
            return self._issue_result(session, row)

    def _issue_result(self, session: Session, row: CredentialRow) -> dict[str, Any]:
        uri = queries.get_status_list(session, row.status_list_id).uri
        return {"id": row.id, "token": row.token, "qr_text": qr_encode(row.token),
                "status": {"idx": row.status_idx, "uri": uri},
                "expires_at": row.expires_at.astimezone(self.ctx.tz).isoformat()}

    def credential(self, credential_id: str) -> dict[str, Any]:
        """One credential as the ministry sees it (with the registry data)."""
        with self.store.read() as session:
            row = queries.get_credential(session, credential_id)
            return self._describe(session, row) | {"data": json.loads(row.data), "token": row.token,
                                                   "qr_text": qr_encode(row.token)}

    def import_csv(self, source: str | Path | BinaryIO, *,
                   progress: Callable[[int], None] | None = None,
                   file_name: str | None = None) -> dict[str, Any]:
        return importer.import_registry(self.ctx, source, progress=progress, file_name=file_name)

    def reissue(self, credential_id: str, data: dict[str, Any]) -> dict[str, Any]:
        """The family's data changed: revoke the credential and issue a new one in one step."""
        with self.store.read() as session:
            old = queries.get_credential(session, credential_id)
            registry_id, ctype, state = old.registry_id, old.type, old.state
        if state == "revoked":
            raise InvalidState("удостоверение уже отозвано; выпустите новое / already revoked; issue "
                               "a new one")
        data = {**data, "registry_id": registry_id}
        return self.issue(ctype, data, replace=True)

    def search_credentials(self, query: str = "", *, state: str | None = None,
                           ctype: str | None = None, limit: int = 50,
                           offset: int = 0) -> dict[str, Any]:
        """By registry id (exact or prefix), credential id, or the name (its beginning; on
        PostgreSQL with pg_trgm any part of it), every way through an index; newest first."""
        with self.store.read() as session:
            total, rows = queries.search_credentials(session, query=query.strip(), name=search_key(query),
                                                   state=state, ctype=ctype, limit=limit,
                                                   offset=offset,
                                                   mode=self.store.name_search_mode())
            return {"total": total, "items": [self._summary(row) for row in rows]}

    def _summary(self, row: CredentialRow) -> dict[str, Any]:
        data = json.loads(row.data)
        holder = data.get("holder", {})
        name = " ".join(p for p in (holder.get("family_name"), holder.get("given_name"),
                                    holder.get("patronymic")) if p)
        return {"id": row.id, "registry_id": row.registry_id, "type": row.type,
                "category": data.get("category"), "children": data.get("children"), "name": name,
                "birth_date": holder.get("birth_date"), "state": row.state, "reason": row.reason,
                "issued_at": row.issued_at.astimezone(self.ctx.tz).isoformat(),
                "expires_at": row.expires_at.astimezone(self.ctx.tz).isoformat(),
                "valid_until": data.get("valid_until"), "replaced_by": row.replaced_by}

    # --- status changes -------------------------------------------------------------------------

    def revoke(self, credential_id: str, reason: str) -> dict[str, Any]:
        return self._change(credential_id, "revoked", _reason(reason))

    def suspend(self, credential_id: str, reason: str) -> dict[str, Any]:
        return self._change(credential_id, "suspended", _reason(reason))

    def reinstate(self, credential_id: str) -> dict[str, Any]:
        return self._change(credential_id, "valid", None)

    def _change(self, credential_id: str, target: str, reason: str | None) -> dict[str, Any]:
        now = self.ctx.now()
        with self.store.write() as session:
            row = queries.get_credential(session, credential_id, for_update=True)
            if row.state == "revoked" and target != "revoked":
                raise InvalidState(
                    f"удостоверение {row.id} отозвано, это окончательно; выпустите новое "
                    "/ the credential is revoked for good; issue a new one",
                    code="cannot_reinstate" if target == "valid" else "invalid_state")
            if row.state != target:
                self._set_state(session, row, target, reason, now)
            result = self._describe(session, row)
        return result

    def _set_state(self, session: Session, row: CredentialRow, target: str, reason: str | None,
                   now: datetime) -> None:
        action = {"revoked": "revoke", "suspended": "suspend", "valid": "reinstate"}[target]
        before = row.state
        row.state, row.reason, row.updated_at = target, reason, now
        queries.bump_list_version(session, row.status_list_id)
        queries.add_event(session, at=now, actor=self.ctx.actor, action=action, credential_id=row.id,
                        reason=reason, detail={"registry_id": row.registry_id, "before": before,
                                               "after": target})
        log.info("credential %s: %s", row.id, action)

    def _describe(self, session: Session, row: CredentialRow) -> dict[str, Any]:
        uri = queries.get_status_list(session, row.status_list_id).uri
        return {"id": row.id, "type": row.type, "state": row.state, "reason": row.reason,
                "registry_id": row.registry_id, "kid": row.kid,
                "issued_at": row.issued_at.astimezone(self.ctx.tz).isoformat(),
                "expires_at": row.expires_at.astimezone(self.ctx.tz).isoformat(),
                "updated_at": row.updated_at.astimezone(self.ctx.tz).isoformat(),
                "status": {"idx": row.status_idx, "uri": uri}, "replaced_by": row.replaced_by}

    # --- keys -------------------------------------------------------------------------------------

    def keys(self) -> dict[str, Any]:
        with self.store.read() as session:
            queries.require_issuer(session)
            return {"keys": self.ctx.keyring.describe(session, now=self.ctx.now())}

    def rotate_key(self, alg: str | None = None) -> dict[str, Any]:
        now = self.ctx.now()
        with self.store.write() as session:
            queries.require_issuer(session)
            new, old = self.ctx.keyring.rotate(session, now=now, alg=alg)
            queries.add_event(session, at=now, actor=self.ctx.actor, action="key_rotate", kid=new.kid,
                            detail={"retired": old.kid if old else None})
        return {"active": new.kid, "alg": new.alg, "retired": old.kid if old else None}

    def retire_key(self, kid: str) -> dict[str, Any]:
        return self._key_op(kid, "key_retire", self.ctx.keyring.retire)

    def withdraw_key(self, kid: str) -> dict[str, Any]:
        return self._key_op(kid, "key_withdraw", self.ctx.keyring.withdraw)

    def _key_op(self, kid: str, action: str, op: Callable[..., Any]) -> dict[str, Any]:
        now = self.ctx.now()
        with self.store.write() as session:
            queries.require_issuer(session)
            row = op(session, kid, now=now)
            queries.add_event(session, at=now, actor=self.ctx.actor, action=action, kid=kid)
            session.flush()
            return next(k for k in self.ctx.keyring.describe(session, now=now) if k["kid"] == row.kid)

    def jwks(self) -> dict[str, Any]:
        with self.store.read() as session:
            queries.require_issuer(session)
            return self.ctx.keyring.jwks(session, now=self.ctx.now())

    # --- publication ------------------------------------------------------------------------------

    def metadata(self) -> IssuerMetadata:
        with self.store.read() as session:
            i = queries.require_issuer(session)
            lists = tuple(row.uri for row in queries.status_lists(session))
            return IssuerMetadata(iss=i.iss, name=i.name, url=i.url, region=i.region,
                                  timezone=self.settings.timezone, status_lists=lists)

    def status_list_ids(self) -> list[str]:
        with self.store.read() as session:
            return [row.id for row in queries.status_lists(session)]

    def status_list_token(self, list_id: str) -> str:
        """The signed list: reused from memory while nothing changed and it is fresh enough."""
        now = self.ctx.now()
        with self.store.read() as session:
            issuer = queries.require_issuer(session)
            row = queries.get_status_list(session, list_id)
            key_row, private_key = self.ctx.keyring.active(session)
            cached = self.status_tokens.get(list_id, version=row.version, kid=key_row.kid, now=now,
                                            max_age=publishing.reuse_window(self.settings.status_ttl))
            if cached is not None:
                return cached
            entries = queries.non_valid_entries(session, list_id)
        token = publishing.sign_list(row, entries, issuer=issuer.iss, key=private_key,
                                     kid=key_row.kid, now=now, ttl=self.settings.status_ttl,
                                     lifetime=self.settings.status_lifetime)
        self.status_tokens.put(list_id, version=row.version, kid=key_row.kid, issued_at=now, token=token)
        return token

    def publish(self, out_dir: str | Path) -> dict[str, Any]:
        """Write what a verifier syncs: metadata, JWKS and every status list, each atomically;
        and the offline scanner app under scan/, which syncs the same files from its origin."""
        from issuer import scanapp

        metadata = self.metadata()
        files: dict[str, bytes] = scanapp.under_prefix(self.scan_app_files())
        for list_id in self.status_list_ids():
            files[publishing.status_path(list_id)] = self.status_list_token(list_id).encode("ascii")
        files[publishing.JWKS_PATH] = publishing.json_bytes(self.jwks())
        files[publishing.ENTITLEMENTS_PATH] = publishing.json_bytes(publishing.entitlements_json(metadata.iss))
        # Metadata last: a verifier that syncs while we write never sees a list it cannot fetch.
        files[publishing.METADATA_PATH] = publishing.json_bytes(metadata.to_json())
        written = publishing.write_files(Path(out_dir), files)
        app = [rel for rel in written if rel.startswith(APP_PREFIX)]
        return {"out": str(Path(out_dir).resolve()), "iss": metadata.iss,
                "files": [rel for rel in written if not rel.startswith(APP_PREFIX)],
                "app": str((Path(out_dir) / APP_PREFIX / "index.html").resolve()),
                "app_files": len(app)}

    def scan_app_files(self) -> dict[str, bytes]:
        """The offline scanner app (static/scan/) configured for this issuer."""
        from issuer import scanapp

        info = self.issuer_info()
        return scanapp.build(scanapp.issuer_config(iss=info["iss"], name=info["name"],
                                                   refresh_seconds=self.settings.app_refresh),
                             app_dir=self.settings.app_dir or scanapp.APP_DIR)

    # --- printed card ----------------------------------------------------------------------------

    def card_pdf(self, credential_id: str, layout: str = "card") -> bytes:
        """The printable card: `card` (credit-card size) or `a4` (a sheet with where to use it)."""
        from issuer.card import render_a4_pdf, render_card_pdf
        from issuer.wallet import grouped, where_to_use

        with self.store.read() as session:
            row = queries.get_credential(session, credential_id)
            issuer_name = queries.require_issuer(session).name
        data = json.loads(row.data)
        if layout == "a4":
            uses = grouped(where_to_use(row.type, data.get("category"), data.get("children")))
            return render_a4_pdf(qr_text=qr_encode(row.token), data=data, issuer_name=issuer_name,
                                 credential_id=row.id, uses=uses)
        return render_card_pdf(qr_text=qr_encode(row.token), data=data, issuer_name=issuer_name,
                               credential_id=row.id)
