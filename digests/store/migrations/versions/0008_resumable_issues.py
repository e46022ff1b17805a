"""Resumable newspaper issues: how many of an issue file's articles are stored,
and whether the file is complete, so a round that stops halfway resumes there.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "ingested_files",
        sa.Column("articles_done", sa.Integer(), nullable=False, server_default="0"),
    )
    op.add_column(
        "ingested_files",
        sa.Column("state", sa.String(12), nullable=False, server_default="complete"),
    )
    # A file read before this revision was stored whole, in one transaction.
    op.execute("UPDATE ingested_files SET articles_done = article_count")


def downgrade() -> None:
    with op.batch_alter_table("ingested_files") as batch:
        batch.drop_column("state")
        batch.drop_column("articles_done")
