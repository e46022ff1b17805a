"""Helpers for the web pages' tests: a site (the real HTTP endpoint over a real
database), the demo news with an edition built, hostile news, and the text a
reader sees."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from datetime import datetime

import httpx

from digests.config import SearchSettings, Settings, WebSettings
from digests.engine import Engine
from digests.search.factory import open_search_index
from digests.store.articles import save_articles
from digests.store.db import Database
from digests.store.models import Edition
from digests.store.sources import get_or_create_source
from digests.summarize.stage import summarize_stored
from digests.web.server import HttpServer, start_server
from tests.botkit import EARLIER, build, store_news
from tests.builders import article

HOSTILE = [
    (
        "<script>document.title='pwned'</script>港口夜航开通",
        "港口夜航今晚开通。<script>alert(1)</script>乘客可在码头购票。",
    ),
    (
        '"><img src=x onerror="alert(2)">临江港扩建',
        "临江港扩建工程启动。</p><iframe src=javascript:alert(3)></iframe>工期两年。",
    ),
]


def hostile_news(db: Database, at: datetime) -> None:
    with db.write() as session:
        source = get_or_create_source(
            session, kind="feed", location="https://evil.example/", name="<b>Evil</b> Daily"
        ).id
        items = [article(title, body, guid=title) for title, body in HOSTILE]
        items[1] = article(*HOSTILE[1], guid="x", url="javascript:alert(4)")
        save_articles(session, source, items, at)
    summarize_stored(db, open_search_index(SearchSettings(), db))


class Site:
    def __init__(self, engine: Engine, server: HttpServer) -> None:
        self.engine, self.server = engine, server
        self.client = httpx.Client(base_url=server.url(""), timeout=30, follow_redirects=False)

    def get(self, path: str, **params: str) -> httpx.Response:
        return self.client.get(path, params=params or None)


def open_site(database_url: str, web: WebSettings) -> Iterator[Site]:
    settings = Settings(database_url=database_url, web=web)
    db = Database(database_url)
    db.upgrade()
    engine = Engine(settings, db)
    with start_server("127.0.0.1", 0, lambda: True, engine=engine) as server:
        site = Site(engine, server)
        yield site
        site.client.close()
    engine.close()


def built(site: Site, now: datetime, *, hostile: bool = False) -> Edition:
    store_news(site.engine.db, now - EARLIER)
    if hostile:
        hostile_news(site.engine.db, now - EARLIER)
    return build(site.engine.db, site.engine.settings, now)


def visible(page: str) -> str:
    """The page's text as a reader sees it: tags dropped, entities read."""
    body = page.split("<body>", 1)[1]
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body)))
