"""The edition pages, archive and search page, through the real HTTP endpoint
(uvicorn on 127.0.0.1) over a real database."""

from __future__ import annotations

import html
import re
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from digests.config import WebSettings
from digests.editions.links import archive_token
from digests.engine import Engine
from digests.store.db import Database
from digests.web.server import start_server
from tests.botkit import EARLIER, build, store_news
from tests.webkit import Site, built, open_site, visible


@pytest.fixture
def edition_now() -> datetime:
    return datetime.now(UTC)


@pytest.fixture
def public_site(database_url: str) -> Iterator[Site]:
    yield from open_site(database_url, WebSettings(public=["daily"], search=True))


@pytest.fixture
def private_site(database_url: str) -> Iterator[Site]:
    yield from open_site(database_url, WebSettings(base_url="https://news.example.org/digest"))


def path_of(link: str) -> str:
    """``link``'s path and query, on the site under test (its base is a proxy's)."""
    parts = urlsplit(link)
    return parts.path.removeprefix("/digest") + "?" + parts.query


def elements(page: str) -> list[tuple[str, list[tuple[str, str | None]]]]:
    """Every element of ``page`` as a browser parses it: (tag, attributes)."""
    found: list[tuple[str, list[tuple[str, str | None]]]] = []

    class Collect(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            found.append((tag, attrs))

    Collect().feed(page)
    return found


def test_a_public_edition_page_holds_every_story_in_full(
    public_site: Site, edition_now: datetime
) -> None:
    edition = built(public_site, edition_now)
    response = public_site.get(f"/e/daily/{edition.edition_date}")
    assert response.status_code == 200
    page = response.text
    text = visible(page)
    assert f"今日要闻 · {edition.edition_date}" in text
    digest = public_site.engine.edition_digest(edition.id)
    items = [item for section in digest.sections for item in section.items]
    for item in items:
        assert item.title in text
        for word in item.keywords:
            assert word in text
    assert "今日话题" in text and all(topic in text for topic in digest.top_keywords)
    assert re.search(r"临江晚报 <time datetime=\"[^\"]+\">\d\d:\d\d</time>", page)
    assert page.count("<h2>") == len(digest.sections)  # sections as in the message
    # English stories on a Chinese page say so (never justified letter by letter).
    english = re.findall(r'<li lang="en">\s*<h3>(?:<a [^>]+>)?([^<]+)', page)
    assert english and all(title.isascii() for title in english)
    assert not re.search(r'<li lang="[^"]+">\s*<h3>(?:<a [^>]+>)?临江', page)
    assert '<meta property="og:title"' in page and 'lang="zh-Hans"' in page
    assert "<script" not in page and "style=" not in page
    csp = response.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src" not in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    stylesheet = re.search(r'href="(/static/style-[0-9a-f]+\.css)"', page)
    assert stylesheet is not None
    css = public_site.get(stylesheet.group(1))
    assert css.status_code == 200 and "prefers-color-scheme: dark" in css.text
    english = public_site.get(f"/e/daily/{edition.edition_date}?lang=en")
    assert f"Today's news · {edition.edition_date}" in visible(english.text)
    assert 'lang="en"' in english.text


def test_the_page_shows_the_full_summary_the_message_shortens(
    public_site: Site, edition_now: datetime
) -> None:
    edition = built(public_site, edition_now)
    page = visible(public_site.get(f"/e/daily/{edition.edition_date}").text)
    found = public_site.engine.web_edition("daily", edition.edition_date, None)
    assert found is not None
    for summary in found.summaries:
        assert "".join(summary).replace(" ", "") in page.replace(" ", "")
    digest = found.digest
    items = [item for section in digest.sections for item in section.items]
    assert any(
        len(full) > len(item.summary) for full, item in zip(found.summaries, items, strict=True)
    )


def test_hostile_titles_and_bodies_are_text_and_bad_links_are_not_links(
    public_site: Site, edition_now: datetime
) -> None:
    edition = built(public_site, edition_now, hostile=True)
    page = public_site.get(f"/e/daily/{edition.edition_date}").text
    assert "<script" not in page and "<img" not in page and "<iframe" not in page
    assert "&lt;script&gt;document.title=&#39;pwned&#39;&lt;/script&gt;港口夜航开通" in page
    assert "&lt;b&gt;Evil&lt;/b&gt; Daily" in page
    tags = elements(page)
    assert not {tag for tag, _attributes in tags} & {"script", "img", "iframe", "object"}
    for _tag, attributes in tags:
        for name, value in attributes:
            assert not name.startswith("on")
            assert not (value or "").strip().lower().startswith("javascript:")


def test_private_pages_open_only_with_their_link_and_revoking_ends_the_links(
    private_site: Site, edition_now: datetime
) -> None:
    edition = built(private_site, edition_now)
    engine = private_site.engine
    plain = f"/e/daily/{edition.edition_date}"
    assert private_site.get(plain).status_code == 404
    link = engine.edition_link(edition, "zh")
    assert link is not None and link.startswith("https://news.example.org/digest/e/daily/")
    opened = private_site.get(path_of(link))
    assert opened.status_code == 200 and "今日要闻" in opened.text
    assert opened.headers["x-robots-tag"] == "noindex, nofollow"
    assert "no-store" in opened.headers["cache-control"]
    forged = re.sub(r"t=[^&]+", "t=AAAAAAAAAAAAAAAAAAAAAA", path_of(link))
    assert private_site.get(forged).status_code == 404
    assert private_site.get("/e/daily/").status_code == 404  # the archive too
    engine.revoke_web_links("daily")
    assert private_site.get(path_of(link)).status_code == 404
    fresh = engine.edition_link(edition, "en")
    assert fresh is not None and fresh != link
    assert "Today's news" in visible(private_site.get(path_of(fresh)).text)


def test_the_archive_lists_past_editions_with_links_that_open(
    private_site: Site, edition_now: datetime
) -> None:
    engine = private_site.engine
    first = built(private_site, edition_now - timedelta(days=1))
    second = built(private_site, edition_now)
    engine.edition_link(first, "zh")  # the schedule's key exists once a link was made
    with engine.db.read() as session:
        from digests.store.webkeys import known_key

        key = known_key(session, "daily")
    assert key is not None
    archive = private_site.get(f"/e/daily/?t={archive_token(key, 'daily')}")
    assert archive.status_code == 200
    links = re.findall(r'<a href="(/e/daily/[^"]+)">([^<]+)</a>', archive.text)
    assert [label.split(" ")[0] for _path, label in links] == [
        str(second.edition_date),
        str(first.edition_date),
    ]
    for path, _label in links:
        assert private_site.get(path.replace("&amp;", "&")).status_code == 200


def test_search_answers_as_the_bot_does(public_site: Site, edition_now: datetime) -> None:
    built(public_site, edition_now)
    page = public_site.get("/search", q="临江").text
    found = public_site.engine.search("临江")
    titles = re.findall(r"<h3>(?:<a [^>]*>)?(.*?)(?:</a>)?</h3>", page)
    assert len(titles) == len(found.results.hits) > 0
    expected = [re.sub(r"</?b>", "", t) for t in titles]
    assert expected == [hit.title for hit in found.results.hits]
    assert "<b>临江</b>" in page  # the searched word highlighted, as in chat
    assert "篇（第 1/" in page
    nothing = public_site.get("/search", q="航天飞机").text
    assert "没有找到与「航天飞机」相关的文章。" in nothing
    hostile = public_site.get("/search", q="<script>alert(1)</script>").text
    assert "<script>" not in hostile and "&lt;script&gt;" in hostile
    empty = public_site.get("/search")
    assert empty.status_code == 200 and 'name="q"' in empty.text


@pytest.mark.parametrize(
    "path",
    [
        "/e/nosuch/2026-12-05",
        "/e/daily/not-a-date",
        "/e/daily/2026-12-05?slot=2561",
        "/e/daily/1999-01-01",
        "/nothing/here",
    ],
)
def test_what_does_not_exist_is_a_404_page(public_site: Site, path: str) -> None:
    response = public_site.get(path)
    assert response.status_code == 404
    assert "找不到这一页" in response.text
    assert "default-src 'none'" in response.headers["content-security-policy"]


def test_the_metrics_and_health_paths_are_served_beside_the_pages(public_site: Site) -> None:
    assert public_site.get("/healthz").text == "ok\n"
    assert "newsdigest_messages_total" in public_site.get("/metrics").text
    assert public_site.get("/e/daily").status_code == 308


async def test_each_edition_message_links_to_its_page_in_the_readers_language(
    database_url: str,
) -> None:
    from bot.sandbox import Sandbox
    from tests.botkit import add_subscribers, bot_settings

    settings = bot_settings(database_url).model_copy(
        update={"web": WebSettings(base_url="https://news.example.org/digest")}
    )
    db = Database(database_url)
    db.upgrade()
    async with Sandbox(settings, db) as sandbox:
        now = sandbox.clock()
        store_news(db, now - EARLIER)
        add_subscribers(db, [8101], created_at=now - EARLIER)
        add_subscribers(db, [8102], created_at=now - EARLIER, language="en")
        build(db, settings, now)
        assert await sandbox.deliver_now() == {"sent": 2}
        links = {}
        for chat, label in (
            (8101, "在网页上阅读完整一期 →"),
            (8102, "Read the whole edition on the web →"),
        ):
            last = sandbox.telegram.sent[chat][-1]["raw"]
            found = re.search(r'<a href="([^"]+)">' + re.escape(label) + "</a>$", last)
            assert found is not None, last
            links[chat] = html.unescape(found.group(1))
        with (
            start_server("127.0.0.1", 0, lambda: True, engine=sandbox.engine) as server,
            httpx.Client(base_url=server.url("")) as client,
        ):
            zh = client.get(path_of(links[8101]))
            en = client.get(path_of(links[8102]))
    db.close()
    assert links[8101].startswith("https://news.example.org/digest/e/daily/")
    assert "lang=zh" in links[8101] and "lang=en" in links[8102] and "t=" in links[8101]
    assert zh.status_code == 200 and "今日要闻" in visible(zh.text)
    assert en.status_code == 200 and "Today's news" in visible(en.text)


def test_operators_get_the_archive_link_and_revoke_every_link_from_the_command_line(
    private_site: Site, edition_now: datetime, tmp_path: Path
) -> None:
    from tests.test_cli import assert_one_line_error, newsdigest

    edition = built(private_site, edition_now)
    env = {
        "NEWSDIGEST_DATABASE_URL": private_site.engine.settings.database_url,
        "NEWSDIGEST_WEB__BASE_URL": "https://news.example.org/digest",
    }
    archive = newsdigest("web", "link", "daily", cwd=tmp_path, env=env)
    assert archive.returncode == 0, archive.stderr
    assert archive.stdout.startswith("https://news.example.org/digest/e/daily/?t=")
    page = newsdigest(
        "web",
        "link",
        "daily",
        "--date",
        str(edition.edition_date),
        "--lang",
        "en",
        cwd=tmp_path,
        env=env,
    )
    assert page.returncode == 0 and "lang=en" in page.stdout
    for link in (archive.stdout.strip(), page.stdout.strip()):
        assert private_site.get(path_of(link)).status_code == 200
    revoked = newsdigest("web", "revoke", "daily", cwd=tmp_path, env=env)
    assert revoked.returncode == 0 and "now opens nothing" in revoked.stdout
    for link in (archive.stdout.strip(), page.stdout.strip()):
        assert private_site.get(path_of(link)).status_code == 404
    assert_one_line_error(newsdigest("web", "revoke", "nosuch", cwd=tmp_path, env=env))
    missing_day = newsdigest("web", "link", "daily", "--date", "1999-01-01", cwd=tmp_path, env=env)
    assert_one_line_error(missing_day)
    assert "no edition of 'daily' on 1999-01-01" in missing_day.stderr


def test_the_demo_corpus_edition_reads_whole_on_its_page(public_site: Site, tmp_path: Path) -> None:
    from bot.demo import CORPUS, DEMO_FEEDS, ISSUE
    from digests.cli.common import run_fetch
    from digests.config import FetchSettings
    from digests.feedserver import FeedServer

    engine = Engine(
        public_site.engine.settings.model_copy(
            update={"fetch": FetchSettings(allowed_networks=["127.0.0.0/8"])}
        ),
        public_site.engine.db,
    )
    epaper = tmp_path / "epaper"
    epaper.mkdir()
    with FeedServer(root=CORPUS) as feeds:
        for file, name in DEMO_FEEDS:
            engine.add_source(feeds.url(f"files/{file}"), name=name, interval_seconds=1800)
        engine.add_source(str(epaper), name="临江区报 e-paper", interval_seconds=600)
        (epaper / ISSUE).write_bytes((CORPUS / ISSUE).read_bytes())
        outcomes = run_fetch(engine, force=True, quiet=True)
    assert all(outcome.error is None for outcome in outcomes)
    edition = build(engine.db, engine.settings, datetime.now(UTC))
    page = public_site.get(f"/e/daily/{edition.edition_date}").text
    text = visible(page)
    digest = engine.edition_digest(edition.id)
    items = [item for section in digest.sections for item in section.items]
    assert len(items) >= 10
    assert all(item.title in text for item in items)
    assert [h for h in re.findall(r"<h2>([^<]+)</h2>", page)] == [
        html.escape(section.name or "") for section in digest.sections if section.name
    ]
    # The e-paper's stories name their paper with no time; the feeds' carry theirs.
    assert re.search(r"<li>临江区报 e-paper</li>", page)
    assert re.search(r"<li>(<a [^>]+>)?临江晚报(</a>)? <time ", page)
    engine.close()


def test_connections_are_answered_without_waiting_for_delayed_acks(public_site: Site) -> None:
    # asyncio sets TCP_NODELAY on accepted connections only when the listening
    # socket names its protocol; without it each body waited ~40 ms for an ACK.
    listening = public_site.server._socket
    assert listening.proto == socket.IPPROTO_TCP


def test_an_edition_page_is_rendered_once_and_still_checked_every_time(
    private_site: Site, edition_now: datetime
) -> None:
    edition = built(private_site, edition_now)
    engine = private_site.engine
    link = engine.edition_link(edition, "zh")
    assert link is not None
    calls = []
    real = engine.web_edition_of

    def counted(*args: object, **kwargs: object) -> object:
        calls.append(args)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    engine.web_edition_of = counted  # type: ignore[method-assign]
    first = private_site.get(path_of(link))
    second = private_site.get(path_of(link))
    assert first.status_code == second.status_code == 200 and first.text == second.text
    assert len(calls) == 1  # the second came from the rendered page
    engine.revoke_web_links("daily")
    assert private_site.get(path_of(link)).status_code == 404  # no cached page outlives it


def test_search_is_off_unless_the_operator_opens_it(
    private_site: Site, public_site: Site, edition_now: datetime
) -> None:
    # Off by default: it searches the articles of private schedules' sources too.
    assert private_site.get("/search", q="临江").status_code == 404
    assert 'href="/search"' not in private_site.get("/e/daily/").text
    built(public_site, edition_now)
    assert 'href="/search"' in public_site.get("/e/daily/").text
