"""Folder sources with big newspaper issues (issue 12): an issue is stored in
batches, each committed with the file's progress, so a round that is stopped
halfway (killed) resumes where it stopped and stores every article once.

Real database (the fixtures' backend), the real path (``fetch_due`` scanning
a folder source), and an issue made by tests/bigissue.py."""

from __future__ import annotations

import asyncio
import hashlib
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from digests.config import FetchSettings
from digests.ingest import dedup
from digests.ingest.newspaper import parse_newspaper
from digests.sources.folders import BATCH_ARTICLES, COMPLETE, IN_PROGRESS, MAX_ISSUE_BYTES
from digests.sources.refresh import SourceOutcome, fetch_due
from digests.store.db import Database
from digests.store.models import Article, IngestedFile
from digests.store.sources import add_source
from tests.bigissue import FULL_ARTICLES, make_issue, write_issue
from tests.conftest import REPO

# Enough batches that a scan killed after its first commit is far from done.
KILLED_ARTICLES = 6 * BATCH_ARTICLES
DEADLINE_SECONDS = 120


def add_folder(db: Database, folder: Path) -> int:
    folder.mkdir(exist_ok=True)
    with db.write() as session:
        return add_source(
            session, kind="folder", location=str(folder), name="paper", interval_seconds=600
        ).id


def scan(db: Database, settings: FetchSettings, **kwargs: object) -> SourceOutcome:
    (outcome,) = asyncio.run(fetch_due(db, settings, **kwargs))  # type: ignore[arg-type]
    assert outcome.error is None
    return outcome


def stored_guids(db: Database, source_id: int) -> list[str | None]:
    with db.read() as session:
        return list(session.scalars(select(Article.guid).where(Article.source_id == source_id)))


def file_row(db: Database, source_id: int) -> IngestedFile:
    with db.read() as session:
        (row,) = session.scalars(select(IngestedFile).where(IngestedFile.source_id == source_id))
        return row


def test_the_generated_issue_is_the_layout_the_parser_reads() -> None:
    issue = make_issue(300, seed=5)
    assert make_issue(300, seed=5) == issue  # repeatable
    assert len(set(issue.titles)) == 300
    articles = parse_newspaper(issue.text)
    assert [a.title for a in articles] == list(issue.titles)
    assert all(a.byline and a.paragraphs for a in articles)
    bodies = {"\n".join(a.paragraphs) for a in articles}
    assert len(bodies) == 300  # recombined sentences: no two articles alike


def test_a_19_mb_issue_is_stored_whole_in_batches(
    db: Database, tmp_path: Path, fetch_settings: FetchSettings
) -> None:
    folder = tmp_path / "epaper"
    source = add_folder(db, folder)
    issue = write_issue(folder / "2026-12-01.txt", FULL_ARTICLES)
    data = (folder / "2026-12-01.txt").read_bytes()
    assert 19_000_000 <= len(data) < MAX_ISSUE_BYTES
    expected = len(parse_newspaper(issue.text))
    assert expected == FULL_ARTICLES

    outcome = scan(db, fetch_settings)

    assert (outcome.files, outcome.saved.new) == (1, expected)
    guids = stored_guids(db, source)
    assert len(guids) == len(set(guids)) == expected
    row = file_row(db, source)
    assert (row.state, row.articles_done, row.article_count) == (COMPLETE, expected, expected)
    assert row.sha256 == hashlib.sha256(data).hexdigest() and row.size == len(data)
    # The next round finds the file complete and leaves it alone.
    assert scan(db, fetch_settings, force=True).files == 0


# The scan as a worker process runs it: its own process on the same database.
CHILD = """
import asyncio, sys
from digests.config import FetchSettings
from digests.sources.refresh import fetch_due
from digests.store.db import Database

asyncio.run(fetch_due(Database(sys.argv[1]), FetchSettings()))
"""


def test_a_scan_killed_halfway_resumes_and_stores_each_article_once(
    db: Database, database_url: str, tmp_path: Path, fetch_settings: FetchSettings
) -> None:
    folder = tmp_path / "epaper"
    source = add_folder(db, folder)
    issue = write_issue(folder / "2026-12-02.txt", KILLED_ARTICLES, seed=7)
    expected = len(parse_newspaper(issue.text))

    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, database_url],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + DEADLINE_SECONDS
        done = 0
        while done == 0:  # until the first batch is committed with its progress
            assert child.poll() is None, child.communicate()[1].decode(errors="replace")
            assert time.monotonic() < deadline, "the scan recorded no progress in time"
            with db.read() as session:
                done = (
                    session.scalar(
                        select(IngestedFile.articles_done).where(IngestedFile.source_id == source)
                    )
                    or 0
                )
            time.sleep(0.005)  # the polling interval, not a wait for the child
        child.kill()  # SIGKILL: no cleanup, a transaction in flight is lost
    finally:
        child.kill()
        child.wait(timeout=DEADLINE_SECONDS)

    row = file_row(db, source)
    assert row.state == IN_PROGRESS and row.article_count == expected
    assert 0 < row.articles_done < expected
    stopped_at = row.articles_done
    # What is stored is exactly what the row says: each batch committed with it.
    assert len(stored_guids(db, source)) == stopped_at

    later = datetime.now(UTC) + timedelta(hours=1)  # the killed round's lease is over
    second = scan(db, fetch_settings, now=later)

    # It resumed at the recorded article, not at the start: nothing seen twice.
    assert second.files == 1
    assert (second.saved.new, second.saved.unchanged, second.saved.updated) == (
        expected - stopped_at,
        0,
        0,
    )
    guids = stored_guids(db, source)
    assert len(guids) == len(set(guids)) == expected
    assert set(guids) == {f"2026-12-02.txt#{title}" for title in issue.titles}
    row = file_row(db, source)
    assert (row.state, row.articles_done) == (COMPLETE, expected)


def test_a_round_that_fails_mid_file_resumes_at_the_last_batch(
    db: Database, tmp_path: Path, fetch_settings: FetchSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    import digests.sources.folders as folders

    folder = tmp_path / "epaper"
    source = add_folder(db, folder)
    write_issue(folder / "2026-12-03.txt", 250, seed=3)
    monkeypatch.setattr(folders, "BATCH_ARTICLES", 60)
    real_save = folders.save_articles
    calls = 0

    def fail_on_the_third_batch(*args, **kwargs):  # type: ignore[no-untyped-def]
        nonlocal calls
        calls += 1
        if calls == 3:
            raise OSError("disk full")
        return real_save(*args, **kwargs)

    monkeypatch.setattr(folders, "save_articles", fail_on_the_third_batch)
    (failed,) = asyncio.run(fetch_due(db, fetch_settings))
    assert failed.error and "disk full" in failed.error
    row = file_row(db, source)
    assert (row.state, row.articles_done, row.article_count) == (IN_PROGRESS, 120, 250)
    assert len(stored_guids(db, source)) == 120

    second = scan(db, fetch_settings, force=True)
    assert (second.saved.new, second.saved.unchanged) == (130, 0)
    assert file_row(db, source).state == COMPLETE
    assert len(set(stored_guids(db, source))) == 250


def test_a_changed_file_starts_over_without_duplicates(
    db: Database, tmp_path: Path, fetch_settings: FetchSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    import digests.sources.folders as folders

    monkeypatch.setattr(folders, "BATCH_ARTICLES", 40)
    folder = tmp_path / "epaper"
    source = add_folder(db, folder)
    issue = make_issue(120, seed=4)
    path = folder / "2026-12-04.txt"
    path.write_bytes(issue.encode())
    assert scan(db, fetch_settings).saved.new == 120
    # The paper replaces the file: one article corrected, thirty more appended.
    bigger = make_issue(150, seed=4)
    first_body = parse_newspaper(bigger.text)[0].paragraphs[-1]
    path.write_bytes(bigger.text.replace(first_body, first_body + "（本文有更正）", 1).encode())

    changed = scan(db, fetch_settings, force=True)

    assert (changed.files, changed.saved.new, changed.saved.updated) == (1, 30, 1)
    assert changed.saved.unchanged == 119
    guids = stored_guids(db, source)
    assert len(guids) == len(set(guids)) == 150
    row = file_row(db, source)
    assert (row.state, row.articles_done, row.article_count) == (COMPLETE, 150, 150)
    with db.read() as session:
        assert session.scalar(select(func.count(IngestedFile.id))) == 1


# The near-duplicate index under a big issue: bounded, and as exact as before.


def test_the_story_index_keeps_only_the_newest_entries() -> None:
    index = dedup.StoryIndex(limit=3)
    sketches = [tuple(range(n * 100, n * 100 + 64)) for n in range(5)]
    for number, values in enumerate(sketches):
        index.add(f"story-{number}", values)
    assert len(index) == 3
    assert index.find(sketches[0]) is None and index.find(sketches[1]) is None
    assert [index.find(values) for values in sketches[2:]] == ["story-2", "story-3", "story-4"]


class _EveryCandidate:
    """The lookup as it was before it was bounded and pruned: every entry
    sharing MIN_SHARED_VALUES values is estimated; the first best one wins."""

    def __init__(self) -> None:
        self.postings: dict[int, list[int]] = {}
        self.entries: list[tuple[str, tuple[int, ...]]] = []

    def add(self, story: str, values: tuple[int, ...]) -> None:
        for value in values:
            self.postings.setdefault(value, []).append(len(self.entries))
        self.entries.append((story, values))

    def find(self, values: tuple[int, ...]) -> str | None:
        shared = Counter(p for value in values for p in self.postings.get(value, ()))
        best: tuple[float, str] | None = None
        for position, hits in shared.items():
            if hits < dedup.MIN_SHARED_VALUES:
                continue
            story, other = self.entries[position]
            score = dedup.estimated_jaccard(values, other)
            if score >= dedup.NEAR_DUPLICATE_JACCARD and (best is None or score > best[0]):
                best = (score, story)
        return best[1] if best else None


def test_the_story_lookup_finds_what_estimating_every_candidate_finds() -> None:
    """On recombined sentences (many look-alikes, several equally close)."""
    articles = parse_newspaper(make_issue(800, seed=9).text)
    sketches = [dedup.sketch(f"{a.title}\n{a.to_raw().body}") for a in articles]
    index, reference = dedup.StoryIndex(), _EveryCandidate()
    matched = 0
    for number, values in enumerate(sketches):
        found = index.find(values)
        assert found == reference.find(values), number
        matched += found is not None
        story = str(found) if found is not None else f"story-{number}"
        index.add(story, values)
        reference.add(story, values)
    assert matched > 5  # the data does have near-duplicates
