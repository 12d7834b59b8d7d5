"""Tables of the issuer (SQLAlchemy 2 declarative; no Flask). The schema is created by Alembic
(`issuer/storage/migrations`), never by `create_all`, so SQLite and PostgreSQL get the same history.
"""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import (BigInteger, Boolean, CheckConstraint, DateTime, ForeignKey, Index, Integer,
                        String, Text, TypeDecorator, UniqueConstraint, text)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

KEY_STATES = ("active", "retired", "withdrawn")
CREDENTIAL_STATES = ("valid", "revoked", "suspended")
ROLES = ("admin", "operator", "auditor")
JOB_STATES = ("queued", "running", "done", "failed")


class UTCDateTime(TypeDecorator):
    """Aware UTC datetimes in and out; SQLite stores them naive, PostgreSQL as timestamptz."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):  # type: ignore[override]
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect):  # type: ignore[override]
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


class Base(DeclarativeBase):
    pass


class Issuer(Base):
    __tablename__ = "issuer"
    __table_args__ = (CheckConstraint("id = 1", name="ck_issuer_single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    iss: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(256))
    url: Mapped[str] = mapped_column(String(512))
    alg: Mapped[str] = mapped_column(String(16))
    region: Mapped[str | None] = mapped_column(String(8))
    timezone: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The citizens' link key, sealed with the key passphrase (issuer.linkkey); made on first use.
    link_key_sealed: Mapped[str | None] = mapped_column(Text)


class SigningKey(Base):
    __tablename__ = "signing_keys"
    __table_args__ = (
        CheckConstraint("state IN ('active', 'retired', 'withdrawn')", name="ck_signing_keys_state"),
        # At most one key signs at a time, even if two operators rotate at once.
        Index("uq_signing_keys_one_active", "state", unique=True,
              sqlite_where=text("state = 'active'"), postgresql_where=text("state = 'active'")),
    )

    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    alg: Mapped[str] = mapped_column(String(16))
    public_jwk: Mapped[str] = mapped_column(Text)
    private_pem_encrypted: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class StatusListRow(Base):
    __tablename__ = "status_lists"

    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, unique=True)
    uri: Mapped[str] = mapped_column(String(600))
    size: Mapped[int] = mapped_column(Integer)
    bits: Mapped[int] = mapped_column(Integer, default=2)
    allocated: Mapped[int] = mapped_column(Integer, default=0)
    # Bumped by every status change in the list: a cached signed token is reused while equal.
    version: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CredentialRow(Base):
    __tablename__ = "credentials"
    __table_args__ = (
        UniqueConstraint("status_list_id", "status_idx", name="uq_credentials_status"),
        CheckConstraint("state IN ('valid', 'revoked', 'suspended')", name="ck_credentials_state"),
        # One live credential per registry entry, enforced by the database so that two
        # processes (two imports, an import and an operator) can never both issue one.
        Index("uq_credentials_live_registry_id", "registry_id", unique=True,
              sqlite_where=text("state != 'revoked'"), postgresql_where=text("state != 'revoked'")),
        Index("ix_credentials_registry_id", "registry_id"),
        Index("ix_credentials_list_state", "status_list_id", "state"),
        Index("ix_credentials_kid_expires", "kid", "expires_at"),
        # The console's list, newest first, unfiltered or by status (migration 0003).
        Index("ix_credentials_issued_at", "issued_at"),
        Index("ix_credentials_state_issued_at", "state", "issued_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # the token's jti
    registry_id: Mapped[str] = mapped_column(String(64))
    type: Mapped[str] = mapped_column(String(32))
    data: Mapped[str] = mapped_column(Text)  # normalised registry data, canonical JSON
    data_hash: Mapped[str] = mapped_column(String(64))
    kid: Mapped[str] = mapped_column(ForeignKey("signing_keys.kid"))
    status_list_id: Mapped[str] = mapped_column(ForeignKey("status_lists.id"))
    status_idx: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    token: Mapped[str] = mapped_column(Text)
    replaced_by: Mapped[str | None] = mapped_column(String(32))
    # Casefolded "family given patronymic" (ё as е, single spaces) for the console's search; set
    # at issue. Indexed by a btree (SQLite: prefix search) or pg_trgm (PostgreSQL: any part), see
    # migration 0003 and queries.search_credentials.
    search_name: Mapped[str | None] = mapped_column(String(200), index=True)


class Event(Base):
    """Audit trail, append-only: who did what to which credential or key. No personal data."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(32))
    credential_id: Mapped[str | None] = mapped_column(String(32), index=True)
    kid: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[str | None] = mapped_column(Text)  # JSON
    # Hash chain (issuer.storage.audit): hash = SHA-256(canonical JSON of the row + prev_hash).
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    hash: Mapped[str | None] = mapped_column(String(64))


class AuditHead(Base):
    """The last event of the audit chain (id and hash), moved forward in the same transaction as
    every append: a log cut short at its end no longer matches it (issuer.storage.audit)."""

    __tablename__ = "audit_head"
    __table_args__ = (CheckConstraint("id = 1", name="ck_audit_head_single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class User(Base):
    """A console account. The password is stored as an argon2id hash only."""

    __tablename__ = "users"
    __table_args__ = (CheckConstraint("role IN ('admin', 'operator', 'auditor')", name="ck_users_role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Part of every session's key: replaced at sign-out, password change and disabling, so the
    # sessions signed before end on the server, whatever cookie a browser kept (migration 0004).
    session_nonce: Mapped[str | None] = mapped_column(String(32))


class LoginFailure(Base):
    """Sign-in attempts, keyed by a hash of (user name, address), of the address or of the name:
    counted before the password is checked, the rate limit of every worker (issuer.accounts).
    A successful attempt takes its rows back."""

    __tablename__ = "login_failures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class ApiToken(Base):
    """A bearer token of the machine API; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class WalletLink(Base):
    """The citizen's private link /w/<secret>: bound to the registry entry, so it follows reissues.

    `generation` numbers a registry entry's links (1, 2, ...); the secret is derived from it
    (issuer.linkkey). NULL for the random links made before migration 0003: they keep working
    but cannot be exported.
    """

    __tablename__ = "wallet_links"
    __table_args__ = (
        Index("uq_wallet_links_registry_generation", "registry_id", "generation", unique=True),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    registry_id: Mapped[str] = mapped_column(String(64))
    generation: Mapped[int | None] = mapped_column(Integer)
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Job(Base):
    """A background job (registry import): progress is polled by the console."""

    __tablename__ = "jobs"
    __table_args__ = (
        CheckConstraint("state IN ('queued', 'running', 'done', 'failed')", name="ck_jobs_state"),
        Index("ix_jobs_state_created", "state", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16))
    file_name: Mapped[str] = mapped_column(String(256))
    path: Mapped[str] = mapped_column(Text)
    size: Mapped[int] = mapped_column(BigInteger)
    bytes_done: Mapped[int] = mapped_column(BigInteger, default=0)
    rows_done: Mapped[int] = mapped_column(Integer, default=0)
    result: Mapped[str | None] = mapped_column(Text)  # JSON summary
    error: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
