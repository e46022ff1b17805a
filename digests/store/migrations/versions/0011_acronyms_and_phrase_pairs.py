"""Search entries gain two things, so every entry is indexed again (the next
summarize rounds, or ``newsdigest reindex``): acronyms get a term of their own
(IT is no longer found as "it"), and the tantivy index holds each article's
Chinese character pairs, which pick out the articles worth checking for a
quoted phrase (an index directory of the old layout is started again empty).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05
"""

from __future__ import annotations

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("UPDATE articles SET indexed_hash = NULL")


def downgrade() -> None:
    op.execute("UPDATE articles SET indexed_hash = NULL")
