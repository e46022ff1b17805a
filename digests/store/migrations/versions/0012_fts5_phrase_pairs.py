"""SQLite's FTS5 index gains ``search_pairs``: each article's Chinese character
pairs (rowids only, no positions), which pick out the few articles worth
checking for a quoted Chinese phrase, however the segmenter cut it. Entries
the FTS5 index already holds get theirs here (about 1 ms per article), so no
phrase search misses an article while it waits to be indexed again.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from digests.text.pairs import text_pairs

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

_BATCH = 1000
_TRIGGERS = ("articles_search_delete", "articles_search_update")


def _triggers(tables: tuple[str, ...]) -> None:
    for name in _TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.execute(
        "CREATE TRIGGER articles_search_delete AFTER DELETE ON articles BEGIN "
        + "".join(f"DELETE FROM {table} WHERE rowid = old.id; " for table in tables)
        + "END"
    )
    op.execute(
        "CREATE TRIGGER articles_search_update AFTER UPDATE OF content_hash ON articles "
        "WHEN old.content_hash IS NOT new.content_hash BEGIN "
        + "".join(f"DELETE FROM {table} WHERE rowid = new.id; " for table in tables)
        + "UPDATE articles SET indexed_hash = NULL WHERE id = new.id; END"
    )


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute("CREATE VIRTUAL TABLE search_pairs USING fts5(pairs, detail=none)")
    _triggers(("search_index", "search_titles", "search_pairs"))
    connection = op.get_bind()
    after = 0
    while True:
        rows = connection.execute(
            sa.text(
                "SELECT id, title, body FROM articles WHERE id > :after "
                "AND id IN (SELECT rowid FROM search_index) ORDER BY id LIMIT :batch"
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


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    _triggers(("search_index", "search_titles"))
    op.execute("DROP TABLE IF EXISTS search_pairs")
