"""Citizen links for every registry entry, indexed name search, the audit chain's head.

- issuer gains link_key_sealed (made by the service on first use: a migration has no passphrase);
  wallet_links gain generation, unique with registry_id (links made before stay valid, NULL);
- credentials: search_name filled where missing; the console's list gets its indexes (issued_at;
  state, issued_at). On PostgreSQL the name gets a pg_trgm GIN index (any part of the name) when
  the extension can be created, else a text_pattern_ops btree (prefix search, whatever the
  database collation); registry_id's btree becomes text_pattern_ops (prefix search too). SQLite
  keeps its btree on search_name, which serves prefix ranges;
- audit_head: the chain's last event (id, hash), started from the events already there; a
  trigger refuses to delete it.

Revision ID: 0003
Revises: 0002
Create Date: 2024-12-02
"""
from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

UTCDateTime = sa.DateTime(timezone=True)

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

GENESIS = "0" * 64
# One name for whichever index serves the name search: the store asks PostgreSQL which it is.
SEARCH_INDEX = "ix_credentials_search_name"


def _search_name(data_text: str) -> str:
    # Frozen copy of issuer.registry.search_key as of this revision.
    holder = json.loads(data_text).get("holder", {})
    text = " ".join(p for p in (holder.get("family_name"), holder.get("given_name"),
                                holder.get("patronymic")) if p)
    return " ".join(text.replace("ё", "е").replace("Ё", "Е").split()).casefold()[:200]


def _create_trigram_extension(bind: sa.Connection) -> bool:
    """pg_trgm, when this role may create it (it is a trusted extension since PostgreSQL 13)."""
    try:
        with bind.begin_nested():  # a refusal must not abort the migration's transaction
            bind.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
    except sa.exc.DBAPIError:
        return False
    return True


def upgrade() -> None:
    bind = op.get_bind()
    postgres = bind.dialect.name == "postgresql"

    # Citizen links.
    op.add_column("issuer", sa.Column("link_key_sealed", sa.Text, nullable=True))
    op.add_column("wallet_links", sa.Column("generation", sa.Integer, nullable=True))
    op.drop_index("ix_wallet_links_registry_id", "wallet_links")
    op.create_index("uq_wallet_links_registry_generation", "wallet_links",
                    ["registry_id", "generation"], unique=True)

    # Search: fill what is missing, then the indexes.
    creds = sa.table("credentials", sa.column("id", sa.String), sa.column("data", sa.Text),
                     sa.column("search_name", sa.String))
    missing = bind.execute(sa.select(creds.c.id, creds.c.data)
                           .where(creds.c.search_name.is_(None))).all()
    if missing:
        bind.execute(creds.update().where(creds.c.id == sa.bindparam("cid"))
                     .values(search_name=sa.bindparam("name")),
                     [{"cid": cid, "name": _search_name(data)} for cid, data in missing])
    op.create_index("ix_credentials_issued_at", "credentials", ["issued_at"])
    op.create_index("ix_credentials_state_issued_at", "credentials", ["state", "issued_at"])
    if postgres:
        op.drop_index(SEARCH_INDEX, "credentials")
        if _create_trigram_extension(bind):
            op.create_index(SEARCH_INDEX, "credentials", ["search_name"], postgresql_using="gin",
                            postgresql_ops={"search_name": "gin_trgm_ops"})
        else:
            op.create_index(SEARCH_INDEX, "credentials", ["search_name"],
                            postgresql_ops={"search_name": "text_pattern_ops"})
        # text_pattern_ops serves = as well as LIKE 'prefix%': it replaces the plain btree.
        op.drop_index("ix_credentials_registry_id", "credentials")
        op.create_index("ix_credentials_registry_id", "credentials", ["registry_id"],
                        postgresql_ops={"registry_id": "text_pattern_ops"})

    # The audit chain's head.
    op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.CheckConstraint("id = 1", name="ck_audit_head_single_row"),
    )
    events = sa.table("events", sa.column("id", sa.Integer), sa.column("hash", sa.String))
    last = bind.execute(sa.select(events.c.id, events.c.hash).order_by(events.c.id.desc())
                        .limit(1)).first()
    if last is not None:
        head = sa.table("audit_head", sa.column("id", sa.Integer), sa.column("seq", sa.BigInteger),
                        sa.column("hash", sa.String), sa.column("updated_at", UTCDateTime))
        bind.execute(head.insert().values(id=1, seq=last.id, hash=last.hash or GENESIS,
                                          updated_at=sa.func.current_timestamp()))
    if postgres:
        op.execute("CREATE FUNCTION socpass_audit_head_kept() RETURNS trigger LANGUAGE plpgsql AS "
                   "$$ BEGIN RAISE EXCEPTION 'the audit head cannot be deleted'; END $$")
        op.execute("CREATE TRIGGER audit_head_kept BEFORE DELETE ON audit_head "
                   "FOR EACH ROW EXECUTE FUNCTION socpass_audit_head_kept()")
    else:
        op.execute("CREATE TRIGGER audit_head_kept BEFORE DELETE ON audit_head "
                   "BEGIN SELECT RAISE(ABORT, 'the audit head cannot be deleted'); END")


def downgrade() -> None:
    bind = op.get_bind()
    postgres = bind.dialect.name == "postgresql"
    if postgres:
        op.execute("DROP TRIGGER IF EXISTS audit_head_kept ON audit_head")
        op.execute("DROP FUNCTION IF EXISTS socpass_audit_head_kept()")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_head_kept")
    op.drop_table("audit_head")
    if postgres:
        op.drop_index("ix_credentials_registry_id", "credentials")
        op.create_index("ix_credentials_registry_id", "credentials", ["registry_id"])
        op.drop_index(SEARCH_INDEX, "credentials")
        op.create_index(SEARCH_INDEX, "credentials", ["search_name"])
    op.drop_index("ix_credentials_state_issued_at", "credentials")
    op.drop_index("ix_credentials_issued_at", "credentials")
    op.drop_index("uq_wallet_links_registry_generation", "wallet_links")
    op.create_index("ix_wallet_links_registry_id", "wallet_links", ["registry_id"])
    with op.batch_alter_table("wallet_links") as batch:
        batch.drop_column("generation")
    with op.batch_alter_table("issuer") as batch:
        batch.drop_column("link_key_sealed")
