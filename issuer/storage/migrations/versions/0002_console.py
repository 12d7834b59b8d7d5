"""Console: users, login failures, API tokens, wallet links, jobs; audit hash chain; name search.

- events gain prev_hash and hash (existing rows are chained here, in id order) and become
  append-only in the database (triggers refuse UPDATE and DELETE);
- credentials gain search_name (casefolded full name, ё as е), filled from the stored data.

Revision ID: 0002
Revises: 0001
Create Date: 2024-11-24
"""
from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op

UTCDateTime = sa.DateTime(timezone=True)

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

GENESIS = "0" * 64


def _at(value: datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _hash(row: sa.Row, prev: str) -> str:
    # Frozen copy of issuer.storage.audit.event_hash as of this revision.
    content = {"at": _at(row.at), "actor": row.actor, "action": row.action,
               "credential_id": row.credential_id, "kid": row.kid, "reason": row.reason,
               "detail": row.detail, "prev_hash": prev}
    canonical = json.dumps(content, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _search_name(data_text: str) -> str:
    holder = json.loads(data_text).get("holder", {})
    parts = (holder.get("family_name"), holder.get("given_name"), holder.get("patronymic"))
    text = " ".join(p for p in parts if p)
    return text.replace("ё", "е").replace("Ё", "Е").casefold()[:200]


def upgrade() -> None:
    bind = op.get_bind()
    op.create_table(
        "users",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(64), nullable=False, unique=True),
        sa.Column("password_hash", sa.Text, nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.CheckConstraint("role IN ('admin', 'operator', 'auditor')", name="ck_users_role"),
    )
    op.create_table(
        "login_failures",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_login_failures_key", "login_failures", ["key"])
    op.create_index("ix_login_failures_at", "login_failures", ["at"])
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.String(16), primary_key=True),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("revoked_at", UTCDateTime, nullable=True),
        sa.Column("last_used_at", UTCDateTime, nullable=True),
    )
    op.create_table(
        "wallet_links",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("registry_id", sa.String(64), nullable=False),
        sa.Column("secret_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("revoked_at", UTCDateTime, nullable=True),
    )
    op.create_index("ix_wallet_links_registry_id", "wallet_links", ["registry_id"])
    op.create_table(
        "jobs",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("file_name", sa.String(256), nullable=False),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("bytes_done", sa.BigInteger, nullable=False),
        sa.Column("rows_done", sa.Integer, nullable=False),
        sa.Column("result", sa.Text, nullable=True),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("started_at", UTCDateTime, nullable=True),
        sa.Column("finished_at", UTCDateTime, nullable=True),
        sa.Column("heartbeat_at", UTCDateTime, nullable=True),
        sa.CheckConstraint("state IN ('queued', 'running', 'done', 'failed')", name="ck_jobs_state"),
    )
    op.create_index("ix_jobs_state_created", "jobs", ["state", "created_at"])

    # Name search.
    op.add_column("credentials", sa.Column("search_name", sa.String(200), nullable=True))
    op.create_index("ix_credentials_search_name", "credentials", ["search_name"])
    creds = sa.table("credentials", sa.column("id", sa.String), sa.column("data", sa.Text),
                     sa.column("search_name", sa.String))
    for cid, data in bind.execute(sa.select(creds.c.id, creds.c.data)).all():
        bind.execute(creds.update().where(creds.c.id == cid).values(search_name=_search_name(data)))

    # Audit chain: add the columns, chain the rows already there, then forbid edits.
    op.add_column("events", sa.Column("prev_hash", sa.String(64), nullable=True))
    op.add_column("events", sa.Column("hash", sa.String(64), nullable=True))
    events = sa.table("events", sa.column("id", sa.Integer), sa.column("at", UTCDateTime),
                      sa.column("actor", sa.String), sa.column("action", sa.String),
                      sa.column("credential_id", sa.String), sa.column("kid", sa.String),
                      sa.column("reason", sa.Text), sa.column("detail", sa.Text),
                      sa.column("prev_hash", sa.String), sa.column("hash", sa.String))
    prev = GENESIS
    for row in bind.execute(sa.select(events).order_by(events.c.id)).all():
        digest = _hash(row, prev)
        bind.execute(events.update().where(events.c.id == row.id).values(prev_hash=prev, hash=digest))
        prev = digest
    if bind.dialect.name == "postgresql":
        op.execute("CREATE FUNCTION socpass_events_append_only() RETURNS trigger LANGUAGE plpgsql AS "
                   "$$ BEGIN RAISE EXCEPTION 'events are append-only'; END $$")
        op.execute("CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events "
                   "FOR EACH ROW EXECUTE FUNCTION socpass_events_append_only()")
    else:
        for what in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER events_append_only_{what.lower()} BEFORE {what} ON events "
                       "BEGIN SELECT RAISE(ABORT, 'events are append-only'); END")


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS events_append_only ON events")
        op.execute("DROP FUNCTION IF EXISTS socpass_events_append_only()")
    else:
        op.execute("DROP TRIGGER IF EXISTS events_append_only_update")
        op.execute("DROP TRIGGER IF EXISTS events_append_only_delete")
    with op.batch_alter_table("events") as batch:
        batch.drop_column("hash")
        batch.drop_column("prev_hash")
    op.drop_index("ix_credentials_search_name", "credentials")
    with op.batch_alter_table("credentials") as batch:
        batch.drop_column("search_name")
    op.drop_table("jobs")
    op.drop_table("wallet_links")
    op.drop_table("api_tokens")
    op.drop_table("login_failures")
    op.drop_table("users")
