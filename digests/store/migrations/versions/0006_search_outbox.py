"""Search outbox: ids of articles deleted or changed, for an index kept outside
the database (tantivy) to drop. Filled by triggers in the same transaction.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("search_outbox", sa.Column("article_id", sa.Integer(), nullable=False))
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute(
        "CREATE TRIGGER articles_outbox_delete AFTER DELETE ON articles BEGIN "
        "INSERT INTO search_outbox (article_id) VALUES (old.id); END"
    )
    op.execute(
        "CREATE TRIGGER articles_outbox_update AFTER UPDATE OF content_hash ON articles "
        "WHEN old.content_hash IS NOT new.content_hash BEGIN "
        "INSERT INTO search_outbox (article_id) VALUES (new.id); END"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS articles_outbox_update")
        op.execute("DROP TRIGGER IF EXISTS articles_outbox_delete")
    op.drop_table("search_outbox")
