"""Group commit for the delivery ledger's hot path.

Every message is claimed before it is sent and marked after Telegram answers:
two small writes per message. Made one by one, each costs a thread hop and a
transaction. Here every claim and mark asked for while a write is under way
waits for the next one, and all of them go in one transaction on one thread
of their own: a broadcast with 64 sends in flight commits tens of rows at a
time, and the event loop hops to a thread once per batch, not twice per message.

Nothing changes for a single caller: its statement is committed before its
``await`` returns (a claim is durable before the message leaves), and one
caller's statements run in the order it awaited them. A batch that fails is
written again statement by statement, so one bad row fails only its own caller.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from sqlalchemy.engine import Connection

from digests.store.db import Database

log = logging.getLogger("newsdigest.delivery")

R = TypeVar("R")
Statement = Callable[[Connection], Any]


class LedgerWrites:
    """Batches ledger statements from many coroutines into shared transactions."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._thread: ThreadPoolExecutor | None = None  # started on first use
        self._waiting: list[tuple[Statement, asyncio.Future[Any]]] = []
        self._writer: asyncio.Task[None] | None = None
        self.batches = 0
        self.statements = 0

    async def run(self, statement: Callable[[Connection], R]) -> R:
        """Run ``statement`` in a write transaction (shared with others waiting
        now); returns what it returned, once committed."""
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._waiting.append((statement, future))
        if self._writer is None:
            self._writer = asyncio.create_task(self._write_while_waiting())
        return await future

    async def _write_while_waiting(self) -> None:
        loop = asyncio.get_running_loop()
        if self._thread is None:
            self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ledger-writes")
        thread = self._thread
        batch: list[tuple[Statement, asyncio.Future[Any]]] = []
        try:
            while self._waiting:
                batch, self._waiting = self._waiting, []
                outcomes = await loop.run_in_executor(
                    thread, self._commit, [statement for statement, _ in batch]
                )
                for (_statement, future), outcome in zip(batch, outcomes, strict=True):
                    if future.done():  # its caller was cancelled; the write stands
                        continue
                    if isinstance(outcome, _Failed):
                        future.set_exception(outcome.error)
                    else:
                        future.set_result(outcome)
                batch = []
        except BaseException as error:  # cancelled with the loop: nobody waits forever
            for _statement, future in [*batch, *self._waiting]:
                if not future.done():
                    future.set_exception(
                        error if isinstance(error, Exception) else RuntimeError("ledger closed")
                    )
            self._waiting = []
            raise
        finally:
            self._writer = None

    def _commit(self, statements: list[Statement]) -> list[Any]:
        self.batches += 1
        self.statements += len(statements)
        try:
            with self._db.write_statements() as connection:
                return [statement(connection) for statement in statements]
        except Exception as error:
            if len(statements) == 1:
                return [_Failed(error)]
            log.warning(
                "delivery: a batch of %d ledger writes failed (%s); writing them one by one",
                len(statements),
                type(error).__name__,
            )
            return [self._commit_alone(statement) for statement in statements]

    def _commit_alone(self, statement: Statement) -> Any:
        try:
            with self._db.write_statements() as connection:
                return statement(connection)
        except Exception as error:
            return _Failed(error)

    def close(self) -> None:
        """Stop the writer thread once its writes are done (it starts again on
        the next write)."""
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.shutdown(wait=True)


class _Failed:
    __slots__ = ("error",)

    def __init__(self, error: Exception) -> None:
        self.error = error
