"""Search entries are indexed again (the next summarize rounds, or ``newsdigest
reindex``): Chinese is now segmented by rjieba where it is installed, and a
run of Latin letters and digits inside Chinese text is split by one rule
whichever segmenter cut it, so a few words (dates like 2026.02.01, tokens like
C++) are cut differently than in entries written before; queries are cut the
new way.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05
"""

from __future__ import annotations

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("UPDATE articles SET indexed_hash = NULL")


def downgrade() -> None:
    op.execute("UPDATE articles SET indexed_hash = NULL")
