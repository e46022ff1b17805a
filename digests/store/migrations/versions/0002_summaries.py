"""Summaries, keywords and language on articles; corpus term statistics.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("articles") as batch:
        batch.add_column(sa.Column("language", sa.String(8), nullable=True))
        batch.add_column(sa.Column("summary_line", sa.Text(), nullable=True))
        batch.add_column(sa.Column("summary", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("keywords", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("summarized_hash", sa.String(64), nullable=True))
    op.create_table(
        "term_stats",
        sa.Column("term", sa.String(100), primary_key=True),
        sa.Column("documents", sa.Integer(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("term_stats")
    with op.batch_alter_table("articles") as batch:
        for column in ("summarized_hash", "keywords", "summary", "summary_line", "language"):
            batch.drop_column(column)
