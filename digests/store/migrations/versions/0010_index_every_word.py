"""The search index holds every word, common ones too: entries written before
are indexed again (the next summarize round, or ``newsdigest reindex``), so a
query with 今年 or "will" finds what it should.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05
"""

from __future__ import annotations

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("UPDATE articles SET indexed_hash = NULL")


def downgrade() -> None:
    op.execute("UPDATE articles SET indexed_hash = NULL")
