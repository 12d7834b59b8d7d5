"""Initial schema: issuer, signing keys, status lists, credentials, events.

Revision ID: 0001
Revises:
Create Date: 2024-11-23
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

# Timestamps are stored as UTC (naive on SQLite); see issuer.storage.models.UTCDateTime.
UTCDateTime = sa.DateTime(timezone=True)

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "issuer",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("iss", sa.String(64), nullable=False),
        sa.Column("name", sa.String(256), nullable=False),
        sa.Column("url", sa.String(512), nullable=False),
        sa.Column("alg", sa.String(16), nullable=False),
        sa.Column("region", sa.String(8), nullable=True),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.CheckConstraint("id = 1", name="ck_issuer_single_row"),
    )
    op.create_table(
        "signing_keys",
        sa.Column("kid", sa.String(64), primary_key=True),
        sa.Column("alg", sa.String(16), nullable=False),
        sa.Column("public_jwk", sa.Text, nullable=False),
        sa.Column("private_pem_encrypted", sa.Text, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("retired_at", UTCDateTime, nullable=True),
        sa.Column("withdrawn_at", UTCDateTime, nullable=True),
        sa.CheckConstraint("state IN ('active', 'retired', 'withdrawn')", name="ck_signing_keys_state"),
    )
    op.create_index("uq_signing_keys_one_active", "signing_keys", ["state"], unique=True,
                    sqlite_where=sa.text("state = 'active'"),
                    postgresql_where=sa.text("state = 'active'"))
    op.create_table(
        "status_lists",
        sa.Column("id", sa.String(16), primary_key=True),
        sa.Column("seq", sa.Integer, nullable=False, unique=True),
        sa.Column("uri", sa.String(600), nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("bits", sa.Integer, nullable=False),
        sa.Column("allocated", sa.Integer, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "credentials",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("registry_id", sa.String(64), nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("data", sa.Text, nullable=False),
        sa.Column("data_hash", sa.String(64), nullable=False),
        sa.Column("kid", sa.String(64), sa.ForeignKey("signing_keys.kid"), nullable=False),
        sa.Column("status_list_id", sa.String(16), sa.ForeignKey("status_lists.id"), nullable=False),
        sa.Column("status_idx", sa.Integer, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("issued_at", UTCDateTime, nullable=False),
        sa.Column("expires_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.Column("token", sa.Text, nullable=False),
        sa.Column("replaced_by", sa.String(32), nullable=True),
        sa.UniqueConstraint("status_list_id", "status_idx", name="uq_credentials_status"),
        sa.CheckConstraint("state IN ('valid', 'revoked', 'suspended')", name="ck_credentials_state"),
    )
    op.create_index("uq_credentials_live_registry_id", "credentials", ["registry_id"], unique=True,
                    sqlite_where=sa.text("state != 'revoked'"),
                    postgresql_where=sa.text("state != 'revoked'"))
    op.create_index("ix_credentials_registry_id", "credentials", ["registry_id"])
    op.create_index("ix_credentials_list_state", "credentials", ["status_list_id", "state"])
    op.create_index("ix_credentials_kid_expires", "credentials", ["kid", "expires_at"])
    op.create_table(
        "events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("credential_id", sa.String(32), nullable=True),
        sa.Column("kid", sa.String(64), nullable=True),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("detail", sa.Text, nullable=True),
    )
    op.create_index("ix_events_credential_id", "events", ["credential_id"])


def downgrade() -> None:
    op.drop_table("events")
    op.drop_table("credentials")
    op.drop_table("status_lists")
    op.drop_table("signing_keys")
    op.drop_table("issuer")
