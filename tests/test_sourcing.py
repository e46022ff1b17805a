"""Adding a source from what an operator typed (the command line, OPML, chat)."""

from __future__ import annotations

import pytest

from digests.errors import InputError
from digests.sources.adding import MAX_NAME_CHARS, add_from_location
from digests.store.db import Database
from digests.store.sources import list_sources


def test_a_long_url_is_a_shortened_name_on_every_backend(db: Database) -> None:
    url = "https://news.example.org/feeds/" + "x" * 400 + ".xml"
    with db.write() as session:
        add_from_location(session, url, name=None, interval_seconds=1800)
    with db.read() as session:
        [row] = list_sources(session)
    assert row.location == url and row.name == url[:MAX_NAME_CHARS]


def test_chat_never_names_a_folder(db: Database, tmp_path: object) -> None:
    with db.write() as session, pytest.raises(InputError, match="not an http"):
        add_from_location(session, str(tmp_path), name=None, interval_seconds=60, folders=False)
    with db.write() as session:
        source = add_from_location(session, str(tmp_path), name=None, interval_seconds=60)
        assert source.kind == "folder"
