"""The tantivy index also holds each article's Chinese character pairs, which
pick out the articles worth checking for a quoted phrase: entries written
before are indexed again (the next summarize rounds, or ``newsdigest
reindex``); an index directory of the old layout is started again empty.
PostgreSQL's index is not changed.

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


def _index_again() -> None:
    if op.get_bind().dialect.name == "sqlite":  # tantivy or FTS5; PostgreSQL has its own
        op.execute("UPDATE articles SET indexed_hash = NULL")


def upgrade() -> None:
    _index_again()


def downgrade() -> None:
    _index_again()
