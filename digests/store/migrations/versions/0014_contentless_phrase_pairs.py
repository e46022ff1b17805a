"""SQLite's ``search_pairs`` keeps no copy of the pairs text (it was about a
third of the database file): the table becomes contentless. A contentless
FTS5 table forgets a row only when told the exact values it indexed, so
``search_pairs_held`` lists the articles whose pairs it holds (always of the
article's current text), and the triggers move a changed or deleted article's
old title and body to ``search_pairs_gone``, from which the next index write
removes those pairs (until then they only add candidates that the text check
drops). The pairs of the entries the FTS5 index holds are written again here.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from digests.text.pairs import text_pairs

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

_BATCH = 1000
_TRIGGERS = ("articles_search_delete", "articles_search_update")
_INDEX_TABLES = ("search_index", "search_titles")


def _triggers(forget_pairs: str) -> None:
    for name in _TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.execute(
        "CREATE TRIGGER articles_search_delete AFTER DELETE ON articles BEGIN "
        + "".join(f"DELETE FROM {table} WHERE rowid = old.id; " for table in _INDEX_TABLES)
        + forget_pairs
        + "END"
    )
    op.execute(
        "CREATE TRIGGER articles_search_update AFTER UPDATE OF content_hash ON articles "
        "WHEN old.content_hash IS NOT new.content_hash BEGIN "
        + "".join(f"DELETE FROM {table} WHERE rowid = new.id; " for table in _INDEX_TABLES)
        + forget_pairs
        + "UPDATE articles SET indexed_hash = NULL WHERE id = new.id; END"
    )


def _fill(source: str) -> None:
    """Pairs for every article ``source`` (a query of ids) names."""
    connection = op.get_bind()
    after = 0
    while True:
        rows = connection.execute(
            sa.text(
                f"SELECT id, title, body FROM articles WHERE id > :after AND id IN ({source}) "
                "ORDER BY id LIMIT :batch"
            ),
            {"after": after, "batch": _BATCH},
        ).all()
        if not rows:
            return
        connection.execute(
            sa.text("INSERT INTO search_pairs (rowid, pairs) VALUES (:id, :pairs)"),
            [{"id": row[0], "pairs": text_pairs(row[1] or "", row[2] or "")} for row in rows],
        )
        after = rows[-1][0]


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute("DROP TABLE IF EXISTS search_pairs")
    op.execute(
        "CREATE VIRTUAL TABLE search_pairs USING fts5(pairs, content='', detail=none, columnsize=0)"
    )
    op.execute("CREATE TABLE search_pairs_held (id INTEGER PRIMARY KEY)")
    op.execute(
        "CREATE TABLE search_pairs_gone (id INTEGER NOT NULL, title TEXT, body TEXT NOT NULL)"
    )
    _triggers(
        "INSERT INTO search_pairs_gone (id, title, body) SELECT old.id, old.title, old.body "
        "WHERE EXISTS (SELECT 1 FROM search_pairs_held WHERE id = old.id); "
        "DELETE FROM search_pairs_held WHERE id = old.id; "
    )
    _fill("SELECT rowid FROM search_index")
    op.execute(
        "INSERT INTO search_pairs_held (id) "
        "SELECT id FROM articles WHERE id IN (SELECT rowid FROM search_index)"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute("DROP TABLE IF EXISTS search_pairs")
    op.execute("DROP TABLE IF EXISTS search_pairs_held")
    op.execute("DROP TABLE IF EXISTS search_pairs_gone")
    op.execute("CREATE VIRTUAL TABLE search_pairs USING fts5(pairs, detail=none)")
    _triggers("DELETE FROM search_pairs WHERE rowid = old.id; ")
    _fill("SELECT rowid FROM search_index")
