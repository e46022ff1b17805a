"""Paused sources: why and when a source was paused after permanent failures,
and when the admins were told of it.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from digests.store.models import UTCDateTime

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("sources", sa.Column("disabled_reason", sa.Text(), nullable=True))
    op.add_column("sources", sa.Column("disabled_at", UTCDateTime(), nullable=True))
    op.add_column("sources", sa.Column("disabled_announced_at", UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sources") as batch:
        batch.drop_column("disabled_announced_at")
        batch.drop_column("disabled_at")
        batch.drop_column("disabled_reason")
