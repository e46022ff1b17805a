"""Building editions from the store: coverage by fetch time, idempotence, preview, CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from digests.config import DigestSettings, SearchSettings
from digests.editions.build import build_edition
from digests.search.factory import open_search_index
from digests.store.articles import save_articles
from digests.store.db import Database
from digests.store.sources import get_or_create_source
from digests.summarize.stage import summarize_stored
from tests.builders import article
from tests.conftest import CORPUS

MORNING = datetime(2026, 11, 24, 23, 0, tzinfo=UTC)  # 07:00 on the 25th in Shanghai
SETTINGS = DigestSettings(sections="none")


def _store(db: Database, source: str, items: list[tuple[str, str]], at: datetime) -> None:
    with db.write() as session:
        source_id = get_or_create_source(
            session, kind="feed", location=f"https://{source}.example/", name=source
        ).id
        batch = [article(title, body, guid=f"{source}-{title}") for title, body in items]
        save_articles(session, source_id, batch, at)
    summarize_stored(db, open_search_index(SearchSettings(), db))


def test_editions_cover_each_article_once_and_rebuilding_is_a_no_op(db: Database) -> None:
    _store(
        db,
        "wire",
        [("寒潮来袭启动预案", "临江区启动冬季防寒预案。气温将下降。")],
        MORNING - timedelta(hours=3),
    )
    first = build_edition(db, SETTINGS, now=MORNING)
    assert first.created and first.digest.edition_date == date(2026, 11, 25)
    assert [i.title for i in first.digest.items] == ["寒潮来袭启动预案"]
    again = build_edition(db, SETTINGS, now=MORNING + timedelta(hours=2))
    assert not again.created and again.digest == first.digest

    _store(
        db,
        "wire",
        [("图书馆推出夜间自习室", "区图书馆延长开放。新增座位。")],
        MORNING + timedelta(hours=5),
    )
    next_day = build_edition(db, SETTINGS, now=MORNING + timedelta(days=1))
    assert [i.title for i in next_day.digest.items] == ["图书馆推出夜间自习室"]
    assert next_day.digest.articles_read == 1


def test_late_published_article_is_not_lost(db: Database) -> None:
    build_edition(db, SETTINGS, now=MORNING)
    _store(
        db,
        "wire",
        [("迟到的旧闻", "这篇文章发表于上周。今天才抓取到。")],
        MORNING + timedelta(hours=1),
    )
    later = build_edition(db, SETTINGS, now=MORNING + timedelta(days=1))
    assert [i.title for i in later.digest.items] == ["迟到的旧闻"]


def test_preview_saves_nothing_and_empty_day_follows_config(db: Database) -> None:
    preview = build_edition(db, SETTINGS, now=MORNING, preview=True)
    assert preview.digest.empty and not preview.stored
    skipped = build_edition(db, SETTINGS.model_copy(update={"empty_edition": "skip"}), now=MORNING)
    assert not skipped.stored
    noted = build_edition(db, SETTINGS, now=MORNING)
    assert noted.created and noted.digest.empty


def test_cli_digest_preview_and_html(tmp_path: Path, database_url: str, feed_server) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSDIGEST_")}
    env |= {
        "NEWSDIGEST_DATABASE_URL": database_url,
        "NEWSDIGEST_FETCH__ALLOWED_NETWORKS": '["127.0.0.0/8"]',
    }

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "digests.cli", *args],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    for name in ("zh_city.json", "zh_wire.xml", "en_world.xml"):
        assert cli("sources", "add", feed_server.url(f"files/{name}")).returncode == 0
    assert cli("fetch").returncode == 0
    assert cli("ingest", str(CORPUS / "issue_2026-11-20.txt")).returncode == 0
    page = tmp_path / "edition.html"
    preview = cli("digest", "--preview", "--html", str(page))
    assert preview.returncode == 0, preview.stderr
    assert "今日阅读 19 篇文章" in preview.stdout and "另见" in preview.stdout
    assert "preview, not saved" in preview.stderr
    assert page.read_text("utf-8").startswith("<!DOCTYPE html>")
    built = cli("digest")
    assert built.returncode == 0 and "built and saved" in built.stderr
    assert "already built" in cli("digest").stderr
    bad = cli("digest", "--schedule", "weekly")
    assert bad.returncode == 1 and "no schedule 'weekly'" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1


def test_an_article_without_a_summary_still_appears_with_its_lead(db: Database) -> None:
    with db.write() as session:
        source = get_or_create_source(session, kind="feed", location="https://x.example/", name="x")
        save_articles(
            session, source.id, [article("没有摘要的文章", "第一行就是导语。\n\n第二段。")], MORNING
        )
    # summarize_stored deliberately not run: as if the summarizer had failed on it
    built = build_edition(db, SETTINGS, now=MORNING + timedelta(minutes=1))
    [item] = built.digest.items
    assert item.title == "没有摘要的文章" and item.summary == ("第一行就是导语。",)
