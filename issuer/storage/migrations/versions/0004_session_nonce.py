"""Console sessions that end when their user signs out.

users gain session_nonce: part of every session's key (issuer.accounts), replaced at sign-out,
at a password change and when the account is disabled, so a cookie saved before stops opening
the console. NULL for accounts made before: their sessions' keys do not change until then.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("users", sa.Column("session_nonce", sa.String(32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("session_nonce")
