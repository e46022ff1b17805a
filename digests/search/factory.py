"""Which search index a database uses, chosen once from the settings.

SQLite: ``search.engine`` picks tantivy (a directory, ``search.index_dir`` or
``<file>.search`` beside the database) or FTS5 (tables in the file);
PostgreSQL always uses its tsvector documents. The caller (the ``Engine``, or
``db migrate-to`` for its target) opens the index once and passes it to
whatever reads or writes it.
"""

from __future__ import annotations

from pathlib import Path

from digests.config import SearchSettings
from digests.errors import StoreError
from digests.search.base import SearchIndex, UnavailableSearchIndex
from digests.search.fts5 import Fts5SearchIndex
from digests.search.postgres import PostgresSearchIndex
from digests.search.tantivy_index import TantivySearchIndex
from digests.store.db import Database


def tantivy_directory(settings: SearchSettings, db: Database) -> Path:
    """``search.index_dir``, else ``<file>.search`` beside the SQLite file."""
    if settings.index_dir:
        return Path(settings.index_dir)
    database = db.engine.url.database
    if not database or database == ":memory:":
        raise StoreError("search.index_dir must be set for an in-memory database")
    return Path(database + ".search")


def open_search_index(settings: SearchSettings, db: Database) -> SearchIndex:
    """The index for ``db`` as ``settings`` configure it."""
    backend = db.engine.dialect.name
    if backend == "sqlite" and settings.engine == "tantivy":
        return TantivySearchIndex(tantivy_directory(settings, db))
    if backend == "sqlite":
        return Fts5SearchIndex()
    if backend == "postgresql":
        return PostgresSearchIndex()
    return UnavailableSearchIndex(backend)
