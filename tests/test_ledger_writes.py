"""Group commit of the delivery ledger's claims and marks (``bot.ledger_writes``)."""

from __future__ import annotations

import asyncio
import logging

import pytest
from sqlalchemy import select, text

from bot.ledger_writes import LedgerWrites
from digests.store.db import Database
from digests.store.models import Source


def _add_source(name: str):  # type: ignore[no-untyped-def]
    def statement(connection):  # type: ignore[no-untyped-def]
        connection.execute(
            Source.__table__.insert().values(
                name=name, kind="feed", location=f"https://e.org/{name}"
            )
        )
        return name

    return statement


async def test_writes_asked_for_together_share_a_transaction_and_each_caller_gets_its_answer(
    db: Database,
) -> None:
    writes = LedgerWrites(db)
    try:
        names = [f"feed-{n}" for n in range(40)]
        answers = await asyncio.gather(*(writes.run(_add_source(name)) for name in names))
    finally:
        writes.close()
    assert answers == names
    assert writes.statements == 40 and writes.batches < 40
    with db.read() as session:
        assert sorted(session.scalars(select(Source.name))) == sorted(names)


async def test_one_failing_write_fails_only_its_own_caller(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    writes = LedgerWrites(db)

    def broken(connection):  # type: ignore[no-untyped-def]
        connection.execute(text("UPDATE no_such_table SET x = 1"))

    try:
        with caplog.at_level(logging.WARNING, logger="newsdigest.delivery"):
            outcomes = await asyncio.gather(
                writes.run(_add_source("before")),
                writes.run(broken),
                writes.run(_add_source("after")),
                return_exceptions=True,
            )
        assert outcomes[0] == "before" and outcomes[2] == "after"
        assert isinstance(outcomes[1], Exception) and "no_such_table" in str(outcomes[1])
        assert any("one by one" in record.getMessage() for record in caplog.records)
        # The writer goes on after a failure, and after being closed.
        writes.close()
        assert await writes.run(_add_source("later")) == "later"
    finally:
        writes.close()
    with db.read() as session:
        assert sorted(session.scalars(select(Source.name))) == ["after", "before", "later"]
