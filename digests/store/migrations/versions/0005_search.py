"""Search: an FTS5 index over segmented articles (SQLite), kept in step by triggers.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from digests.store.models import UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("articles", sa.Column("indexed_hash", sa.String(64), nullable=True))
    op.create_table(
        "saved_searches",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_saved_searches_chat_id", "saved_searches", ["chat_id"])
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        _postgresql()
        return
    if dialect != "sqlite":
        return
    # rowid = articles.id. title/body hold space-joined analyzed words;
    # grams the title's characters and character pairs.
    op.execute("CREATE VIRTUAL TABLE search_index USING fts5(title, body, grams)")
    # Titles alone again, for ranking title matches by their own bm25.
    op.execute("CREATE VIRTUAL TABLE search_titles USING fts5(title, grams)")
    # Deleting an article (also through a source's cascade) removes its entry;
    # changed text removes the stale entry until the article is indexed again.
    op.execute(
        "CREATE TRIGGER articles_search_delete AFTER DELETE ON articles BEGIN "
        "DELETE FROM search_index WHERE rowid = old.id; "
        "DELETE FROM search_titles WHERE rowid = old.id; END"
    )
    op.execute(
        "CREATE TRIGGER articles_search_update AFTER UPDATE OF content_hash ON articles "
        "WHEN old.content_hash IS NOT new.content_hash BEGIN "
        "DELETE FROM search_index WHERE rowid = new.id; "
        "DELETE FROM search_titles WHERE rowid = new.id; "
        "UPDATE articles SET indexed_hash = NULL WHERE id = new.id; END"
    )


def _postgresql() -> None:
    # Vectors built by digests/search/postgres.py from the analyzed words.
    op.execute(
        "CREATE TABLE search_documents ("
        " article_id integer PRIMARY KEY REFERENCES articles(id) ON DELETE CASCADE,"
        " document tsvector NOT NULL,"
        " titles tsvector NOT NULL)"
    )
    op.execute("CREATE INDEX ix_search_documents ON search_documents USING gin (document)")
    op.execute("CREATE INDEX ix_search_documents_titles ON search_documents USING gin (titles)")
    op.execute(
        "CREATE FUNCTION articles_search_stale() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN DELETE FROM search_documents WHERE article_id = NEW.id; "
        "NEW.indexed_hash := NULL; RETURN NEW; END $$"
    )
    op.execute(
        "CREATE TRIGGER articles_search_update BEFORE UPDATE OF content_hash ON articles "
        "FOR EACH ROW WHEN (OLD.content_hash IS DISTINCT FROM NEW.content_hash) "
        "EXECUTE FUNCTION articles_search_stale()"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS articles_search_update ON articles")
        op.execute("DROP FUNCTION IF EXISTS articles_search_stale()")
        op.execute("DROP TABLE IF EXISTS search_documents")
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS articles_search_update")
        op.execute("DROP TRIGGER IF EXISTS articles_search_delete")
        op.execute("DROP TABLE IF EXISTS search_titles")
        op.execute("DROP TABLE IF EXISTS search_index")
    op.drop_index("ix_saved_searches_chat_id", table_name="saved_searches")
    op.drop_table("saved_searches")
    op.drop_column("articles", "indexed_hash")
