"""One long-running process per SQLite file.

On PostgreSQL several workers share the database: claims and advisory locks
keep them apart (``digests.store.workers``). A SQLite file has no such thing,
and its delivery recovery takes every other worker id for a process that is
gone; so ``run`` and ``run-scheduler`` hold an exclusive lock on a file beside
the database for as long as they run, and a second one refuses to start,
saying who holds it. One-off commands (``sources add``, ``editions list``...)
take no lock: SQLite serializes their writes, and they never send.

The lock is ``flock`` on ``<database>.lock``: the kernel drops it when the
holder's process ends however it ends (kill -9 included), so a stale lock
file never keeps the bot down.
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import make_url

from digests.errors import DatabaseBusy
from digests.store.db import Database

try:
    import fcntl
except ImportError:  # Windows: no flock; the lock is skipped
    fcntl = None  # type: ignore[assignment]


def lock_path(db: Database) -> Path | None:
    """The lock file of a SQLite database on disk; None for anything else."""
    if not db.is_sqlite:
        return None
    database = make_url(db.url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database).expanduser().with_name(Path(database).name + ".lock")


@contextlib.contextmanager
def sole_process(db: Database, command: str) -> Iterator[None]:
    """Hold the database's lock while the block runs; ``DatabaseBusy`` (one line,
    naming the holder) when another process holds it."""
    path = lock_path(db)
    if path is None or fcntl is None:
        yield
        return
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(descriptor, 500, 0).decode("utf-8", "replace").strip()
            raise DatabaseBusy(
                f"{make_url(db.url).database} is in use by another process "
                f"({holder or 'holder unknown'}): stop it first; several processes "
                "can share a PostgreSQL database, not a SQLite file"
            ) from None
        started = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        holder = (
            f"pid {os.getpid()}, `newsdigest {command}` on {socket.gethostname()}, since {started}"
        )
        os.ftruncate(descriptor, 0)
        os.pwrite(descriptor, holder.encode("utf-8") + b"\n", 0)
        yield
    finally:
        os.close(descriptor)  # releases the lock
