"""Which worker processes are alive, so that one may settle what a dead one left.

Every process that sends messages has a random worker id, written into the
ledger rows it claims. On PostgreSQL a worker holds a session-level advisory
lock on its id for as long as it runs; the server drops the lock the moment
the process dies (its connection closes), so "can I take that lock?" answers
"is that worker gone?" exactly, with no heartbeat to tune. On SQLite one
process does everything: any other id is a process that is gone.

The same lock namespace serializes delivery planning across workers
(``planning_lock``), so two workers never plan the same edition twice.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable

from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from digests.store.db import ADVISORY_LOCK_NAMESPACE, Database

LOCK_NAMESPACE = ADVISORY_LOCK_NAMESPACE
# Jobs one worker at a time does (worker ids start above them; 2 is migrations).
PLANNING_LOCK_ID = 0
SUMMARIZING_LOCK_ID = 1


def new_worker_id() -> int:
    return secrets.randbelow(2**31 - 16) + 16


class WorkerPresence:
    """This process's claim to be alive, and the test whether others are."""

    def __init__(self, db: Database, worker_id: int | None = None) -> None:
        self.db = db
        self.id = worker_id if worker_id is not None else new_worker_id()
        self._connection: Connection | None = None

    def start(self) -> None:
        if self.db.is_sqlite or self._connection is not None:
            return
        connection = self.db.engine.connect()
        connection.execute(
            text("SELECT pg_advisory_lock(:ns, :id)"), {"ns": LOCK_NAMESPACE, "id": self.id}
        )
        connection.commit()  # the lock is the session's; no transaction stays open
        self._connection = connection

    def gone(self, worker_ids: Iterable[int | None]) -> list[int | None]:
        """Those of ``worker_ids`` whose process no longer runs (None: rows from
        before workers had ids, always gone)."""
        ids = [worker for worker in worker_ids if worker != self.id]
        if self.db.is_sqlite:
            return ids
        self.start()
        assert self._connection is not None
        gone: list[int | None] = []
        for worker in ids:
            if worker is None:
                gone.append(None)
                continue
            params = {"ns": LOCK_NAMESPACE, "id": worker}
            free = self._connection.execute(
                text("SELECT pg_try_advisory_lock(:ns, :id)"), params
            ).scalar()
            if free:
                self._connection.execute(text("SELECT pg_advisory_unlock(:ns, :id)"), params)
                gone.append(worker)
            self._connection.commit()
        return gone

    def close(self) -> None:
        if self._connection is None:
            return
        connection, self._connection = self._connection, None
        try:
            # The connection goes back to the pool: the lock must not go with it.
            connection.execute(text("SELECT pg_advisory_unlock_all()"))
            connection.commit()
        except Exception:  # a dead connection holds no lock
            connection.invalidate()
        connection.close()


def _transaction_lock(session: Session, lock_id: int) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text("SELECT pg_advisory_xact_lock(:ns, :id)"), {"ns": LOCK_NAMESPACE, "id": lock_id}
        )


def planning_lock(session: Session) -> None:
    """Hold the delivery planning lock until the session's transaction ends
    (PostgreSQL; SQLite's write transactions are serialized already)."""
    _transaction_lock(session, PLANNING_LOCK_ID)


def summarizing_lock(session: Session) -> None:
    """Hold the lock for writing summaries and term counts (see planning_lock)."""
    _transaction_lock(session, SUMMARIZING_LOCK_ID)
