"""Newspaper issue files: read one, store files given by hand, scan a folder source.

A folder source is a watched directory of plain-text issues. Each file read
from it has a row in ``ingested_files``: its sha256, how many of its articles
(in page order) are stored, and whether it is complete. An issue is parsed
whole, then stored ``BATCH_ARTICLES`` at a time, each batch and the row's new
count in one transaction; so a round that is stopped (killed, out of time)
loses at most the batch in flight, and the next round resumes at the count.
A complete file is skipped while its sha256 stays the same; a changed file is
stored again from its first article (articles are identified by file name and
title, so those already stored are updated in place, never duplicated).

Memory: the parsed articles of one file plus one batch of rows (a session per
batch, closed when it commits).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from digests.errors import InputError, NewsdigestError
from digests.ingest.issuedate import IssueDate, issue_date
from digests.ingest.newspaper import IssueAccount, parse_issue
from digests.records import RawArticle
from digests.store.articles import SaveResult, StoryCache, save_articles
from digests.store.db import Database
from digests.store.files import (
    COMPLETE,
    IN_PROGRESS,
    FileProgress,
    file_progress,
    record_done,
    start_file,
)
from digests.store.models import Source
from digests.store.sources import get_or_create_source
from digests.text.encoding import decode_bytes

log = logging.getLogger("newsdigest.ingest")

NEWSPAPER_SUFFIXES = (".txt",)
# A newspaper issue is text: a few hundred KB as a rule, some 20 MB for one of
# tens of thousands of short articles. Anything far larger is not one.
MAX_ISSUE_BYTES = 20 * 1024 * 1024
# Articles stored per transaction: a stopped round redoes at most this many.
BATCH_ARTICLES = 500


@dataclass(frozen=True, slots=True)
class FolderScan:
    saved: SaveResult
    files: int  # files read this round (new, changed or resumed)


@dataclass(frozen=True, slots=True)
class IssueRead:
    """The articles of one issue file, where its characters went, and its date."""

    articles: list[RawArticle]
    account: IssueAccount
    encoding: str
    date: IssueDate | None = None

    def dated(self) -> str:
        """How the issue is dated, for a person."""
        if self.date is None:
            return "no date found (articles carry the time they were read)"
        return f"dated {self.date.day.isoformat()} from {self.date.origin}"


def inspect_issue(
    data: bytes,
    name: str,
    encoding: str | None = None,
    *,
    max_bytes: int = MAX_ISSUE_BYTES,
    modified: datetime | None = None,
    zone: str = "UTC",
) -> IssueRead:
    """Articles of one newspaper issue file (identity = file name + title), with
    the account of what was kept and dropped. Each article is published at the
    issue's date (midnight in ``zone``): from the file name, else the
    masthead, else ``modified`` (the file's mtime)."""
    if len(data) > max_bytes:
        raise InputError(f"{len(data)} bytes is too large for a newspaper issue")
    text, used = decode_bytes(data, forced=encoding)
    parsed = parse_issue(text)
    dated = issue_date(name, text, modified, zone)
    published = dated.at_midnight(zone) if dated is not None else None
    articles = [
        replace(a.to_raw(), guid=f"{name}#{a.title}", published=published) for a in parsed.articles
    ]
    return IssueRead(articles, parsed.account, used, dated)


def read_issue(
    data: bytes, name: str, encoding: str | None = None, *, max_bytes: int = MAX_ISSUE_BYTES
) -> list[RawArticle]:
    """Articles of one newspaper issue file; identity = file name + title."""
    return inspect_issue(data, name, encoding, max_bytes=max_bytes).articles


def _modified(path: Path) -> datetime | None:
    try:
        return datetime.fromtimestamp(path.stat().st_mtime, UTC)
    except OSError:
        return None


def inspect_issue_file(path: Path, encoding: str | None = None, zone: str = "UTC") -> IssueRead:
    """``inspect_issue`` on a file; an unreadable file is an ``InputError`` naming it."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    try:
        return inspect_issue(data, path.name, encoding, modified=_modified(path), zone=zone)
    except NewsdigestError as exc:
        raise InputError(f"{path}: {exc}") from exc


def read_issue_file(path: Path, encoding: str | None = None, zone: str = "UTC") -> list[RawArticle]:
    """``read_issue`` on a file; an unreadable file is an ``InputError`` naming it."""
    return inspect_issue_file(path, encoding, zone).articles


def _store_batches(
    db: Database,
    source_id: int,
    articles: Sequence[RawArticle],
    now: datetime,
    stories: StoryCache,
    *,
    start: int = 0,
    record_id: int | None = None,
    batch_size: int | None = None,
) -> SaveResult:
    """Store ``articles[start:]`` a batch per transaction; with ``record_id``,
    each transaction also moves that file's row to the batch's end."""
    batch_size = batch_size or BATCH_ARTICLES
    totals = SaveResult()
    for begin in range(start, len(articles), batch_size):
        end = min(begin + batch_size, len(articles))
        with db.write() as session:
            totals += save_articles(session, source_id, articles[begin:end], now, stories)
            if record_id is not None:
                record_done(session, record_id, end, len(articles))
    return totals


def ingest_files(
    db: Database,
    paths: Sequence[Path],
    *,
    source_name: str = "newspaper",
    encoding: str | None = None,
    zone: str = "UTC",
) -> tuple[SaveResult, list[str]]:
    """Store newspaper issue files given by hand (not summarized: the caller runs
    that stage). Returns totals and one error line per bad file."""
    totals = SaveResult()
    errors: list[str] = []
    now = datetime.now(UTC)
    stories = StoryCache()
    with db.write() as session:
        source_id = get_or_create_source(
            session, kind="files", location=f"files:{source_name}", name=source_name
        ).id
    for path in paths:
        try:
            articles = read_issue_file(path, encoding, zone)
        except InputError as exc:
            errors.append(str(exc))
            continue
        totals += _store_batches(db, source_id, articles, now, stories)
    return totals, errors


def _log_account(source: Source, file_name: str, issue: IssueRead) -> None:
    """One line per issue read: how many articles, and what was left out."""
    log.info(
        "source #%d %s: file %s: %d articles, %s; %s",
        source.id,
        source.name,
        file_name,
        len(issue.articles),
        issue.dated(),
        issue.account.report(),
    )


def _read_head(path: Path, max_bytes: int) -> bytes:
    if path.stat().st_size > max_bytes:
        # Read only the head: enough to notice a change, not the whole file.
        with path.open("rb") as handle:
            return handle.read(max_bytes + 1)
    return path.read_bytes()


def _progress(db: Database, source_id: int) -> dict[str, FileProgress]:
    """Each file's row of this source, by file name."""
    with db.read() as session:
        return file_progress(session, source_id)


def scan_folder(
    db: Database,
    source: Source,
    now: datetime,
    stories: StoryCache,
    *,
    max_bytes: int = MAX_ISSUE_BYTES,
    batch_size: int | None = None,
    zone: str = "UTC",
) -> FolderScan:
    """Store what is new in a folder source: new and changed issue files, and
    the rest of any file a stopped round left in progress."""
    folder = Path(source.location)
    if not folder.is_dir():
        raise InputError(f"folder {folder} does not exist or is not a directory")
    seen = _progress(db, source.id)
    totals = SaveResult()
    files = 0
    issues = (
        p
        for p in folder.iterdir()
        if p.suffix.lower() in NEWSPAPER_SUFFIXES and not p.name.startswith(".")
    )
    for path in sorted(issues):
        try:
            data = _read_head(path, max_bytes)
        except OSError as exc:
            log.warning(
                "source #%d %s: file %s unreadable: %s", source.id, source.name, path.name, exc
            )
            continue
        digest = hashlib.sha256(data).hexdigest()
        known = seen.get(path.name)
        if known is not None and (known.sha256, known.state) == (digest, COMPLETE):
            continue
        size = len(data)
        error: str | None = None
        try:
            issue = inspect_issue(
                data, path.name, max_bytes=max_bytes, modified=_modified(path), zone=zone
            )
            articles = issue.articles
            _log_account(source, path.name, issue)
        except NewsdigestError as exc:
            error = str(exc)
            articles = []
            log.warning("source #%d %s: file %s: %s", source.id, source.name, path.name, error)
        del data  # the articles are what is kept from here on
        files += 1
        if (
            known is not None
            and (known.sha256, known.state, known.total) == (digest, IN_PROGRESS, len(articles))
            and known.done < known.total
        ):
            record_id, start = known.id, known.done
            log.info(
                "source #%d %s: file %s: resuming at article %d of %d",
                source.id,
                source.name,
                path.name,
                start,
                len(articles),
            )
        else:
            with db.write() as session:
                record_id = start_file(
                    session,
                    source.id,
                    path.name,
                    sha256=digest,
                    size=size,
                    articles=len(articles),
                    error=error,
                    now=now,
                )
            start = 0
        totals += _store_batches(
            db,
            source.id,
            articles,
            now,
            stories,
            start=start,
            record_id=record_id,
            batch_size=batch_size,
        )
    return FolderScan(totals, files)
