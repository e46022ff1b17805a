"""Editions: one row per (schedule, edition date, time slot).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from digests.store.models import UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "editions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("schedule", sa.String(64), nullable=False),
        sa.Column("edition_date", sa.Date(), nullable=False),
        sa.Column("slot", sa.String(8), nullable=False),
        sa.Column("since", UTCDateTime(), nullable=True),
        sa.Column("cutoff", UTCDateTime(), nullable=False),
        sa.Column("built_at", UTCDateTime(), nullable=False),
        sa.Column("article_count", sa.Integer(), nullable=False),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.UniqueConstraint(
            "schedule", "edition_date", "slot", name="uq_editions_schedule_date_slot"
        ),
    )


def downgrade() -> None:
    op.drop_table("editions")
