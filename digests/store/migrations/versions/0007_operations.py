"""Operations: schedules changed at run time, broadcasts, and worker claims on
ledger rows (several worker processes on one PostgreSQL database).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from digests.store.models import UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "schedules",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(40), nullable=False, unique=True),
        sa.Column("times", sa.JSON(), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("sources", sa.JSON(), nullable=False),
        sa.Column("paused", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("removed", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("effective_from", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "broadcasts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("sent_by", sa.BigInteger(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.add_column("deliveries", sa.Column("broadcast_id", sa.Integer(), nullable=True))
    op.add_column("deliveries", sa.Column("claimed_by", sa.Integer(), nullable=True))
    op.add_column("deliveries", sa.Column("claim_until", UTCDateTime(), nullable=True))
    op.create_index(
        "uq_deliveries_broadcast", "deliveries", ["broadcast_id", "subscriber_id"], unique=True
    )


def downgrade() -> None:
    op.drop_index("uq_deliveries_broadcast", "deliveries")
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("claim_until")
        batch.drop_column("claimed_by")
        batch.drop_column("broadcast_id")
    op.drop_table("broadcasts")
    op.drop_table("schedules")
