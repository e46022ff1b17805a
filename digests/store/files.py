"""Issue files read from folder sources: which are done, and how far a big one got."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from digests.store.models import IngestedFile

IN_PROGRESS = "in_progress"
COMPLETE = "complete"


class FileProgress(NamedTuple):
    id: int
    sha256: str
    state: str
    done: int
    total: int


def file_progress(session: Session, source_id: int) -> dict[str, FileProgress]:
    """Each file's row of this source, by file name."""
    rows = session.execute(
        select(
            IngestedFile.name,
            IngestedFile.id,
            IngestedFile.sha256,
            IngestedFile.state,
            IngestedFile.articles_done,
            IngestedFile.article_count,
        ).where(IngestedFile.source_id == source_id)
    )
    return {
        name: FileProgress(id_, sha256, state, done, total)
        for name, id_, sha256, state, done, total in rows
    }


def start_file(
    session: Session,
    source_id: int,
    name: str,
    *,
    sha256: str,
    size: int,
    articles: int,
    error: str | None,
    now: datetime,
) -> int:
    """The file's row reset for a fresh read (created if new); returns its id."""
    record = session.scalar(
        select(IngestedFile).where(IngestedFile.source_id == source_id, IngestedFile.name == name)
    )
    if record is None:
        record = IngestedFile(source_id=source_id, name=name)
        session.add(record)
    record.sha256 = sha256
    record.size = size
    record.article_count = articles
    record.articles_done = 0
    record.state = IN_PROGRESS if articles else COMPLETE
    record.error = error
    record.ingested_at = now
    session.flush()
    return record.id


def record_done(session: Session, record_id: int, done: int, total: int) -> None:
    """The file's first ``done`` articles are stored (in the same transaction)."""
    record = session.get(IngestedFile, record_id)
    if record is not None:
        record.articles_done = done
        record.state = COMPLETE if done == total else IN_PROGRESS
