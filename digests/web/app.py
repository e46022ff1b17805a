"""The HTTP endpoint as an ASGI app (Starlette): /metrics and /healthz, and,
given an engine, the edition pages, their archive and the search page.

Every engine call blocks (the database, the search index), so it runs in a
worker thread; rendering is a template per page. Every response carries a
strict Content-Security-Policy (nothing but the site's own stylesheet may
load, no script at all), and every page that is not public is kept out of
search engines and referrers.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Hashable
from datetime import date
from typing import TYPE_CHECKING, Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from digests.editions.links import slot_from_url
from digests.web.pages import (
    STYLESHEET,
    STYLESHEET_NAME,
    archive_html,
    edition_html,
    not_found_html,
    search_html,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from digests.engine import Engine

MAX_QUERY_CHARS = 200
PAGES_KEPT = 256
PAGE_SECONDS = 600.0
MAX_PAGE = 50
SECURITY_HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        b"base-uri 'none'; frame-ancestors 'none'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
]


class RenderedPages:
    """Edition pages as rendered, by (edition, built at, language, address): an
    edition does not change once built, so each page is made once (the access
    check still runs on every request). Bounded, and each kept for a while only,
    so a story whose article was deleted since drops out in time."""

    def __init__(self, size: int = PAGES_KEPT, seconds: float = PAGE_SECONDS) -> None:
        self._pages: OrderedDict[Hashable, tuple[float, str]] = OrderedDict()
        self._size, self._seconds = size, seconds
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> str | None:
        with self._lock:
            kept = self._pages.get(key)
            if kept is None or time.monotonic() - kept[0] > self._seconds:
                return None
            self._pages.move_to_end(key)
            return kept[1]

    def put(self, key: Hashable, html: str) -> str:
        with self._lock:
            self._pages[key] = (time.monotonic(), html)
            self._pages.move_to_end(key)
            while len(self._pages) > self._size:
                self._pages.popitem(last=False)
        return html


class SecurityHeaders:
    """Adds ``SECURITY_HEADERS`` to every HTTP response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *SECURITY_HEADERS]
            await send(message)

        await self.app(scope, receive, with_headers)


def http_app(
    registry: CollectorRegistry,
    health: Callable[[], str | None],
    engine: Engine | None = None,
) -> Starlette:
    """The endpoint: ``health()`` is None when healthy, else why not."""

    async def metrics(_request: Request) -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    async def healthz(_request: Request) -> Response:
        reason = await run_in_threadpool(health)
        return PlainTextResponse(
            "ok\n" if reason is None else reason + "\n",
            status_code=200 if reason is None else 503,
            headers={"Cache-Control": "no-store"},
        )

    routes = [
        Route("/metrics", metrics, methods=["GET"]),
        Route("/healthz", healthz, methods=["GET"]),
    ]
    if engine is not None:
        routes += _page_routes(engine)

    async def not_found(request: Request, _exc: Exception) -> Response:
        if engine is None:
            return PlainTextResponse("not found: try /metrics or /healthz\n", status_code=404)
        language = engine.web_language(request.query_params.get("lang"))
        page = not_found_html(language, search_open=engine.settings.web.search)
        return HTMLResponse(page, status_code=404)

    return Starlette(
        routes=routes,
        middleware=[Middleware(SecurityHeaders)],
        exception_handlers={404: not_found},
    )


def _page_routes(engine: Engine) -> list[Route]:
    pages = RenderedPages()
    search_open = engine.settings.web.search

    def page(html: str, *, public: bool) -> HTMLResponse:
        cache = "public, max-age=300" if public else "private, no-store"
        headers = {"Cache-Control": cache}
        if not public:
            headers["X-Robots-Tag"] = "noindex, nofollow"
        return HTMLResponse(html, headers=headers)

    def missing(language: str) -> HTMLResponse:
        return HTMLResponse(
            not_found_html(language, search_open=search_open),
            status_code=404,
            headers={"Cache-Control": "no-store"},
        )

    async def stylesheet(_request: Request) -> Response:
        return Response(
            STYLESHEET,
            media_type="text/css; charset=utf-8",
            headers={"Cache-Control": "public, max-age=31536000, immutable"},
        )

    async def edition(request: Request) -> Response:
        params = request.query_params
        language = engine.web_language(params.get("lang"))
        try:
            day = date.fromisoformat(request.path_params["date"])
        except ValueError:
            return missing(language)
        slot = slot_from_url(params["slot"]) if "slot" in params else None
        if "slot" in params and slot is None:
            return missing(language)
        schedule = request.path_params["schedule"]
        base = engine.settings.web.base_url
        lang = params.get("lang")

        def render() -> tuple[str, bool] | None:
            ref = engine.web_edition_ref(schedule, day, slot, token=params.get("t"))
            if ref is None:  # checked on every request: a revoked link ends at once
                return None
            url = base.rstrip("/") + request.url.path if base and ref.public else None
            key = (ref.edition_id, ref.built_at, lang, url)
            html = pages.get(key)
            if html is None:
                found = engine.web_edition_of(ref, lang)
                if found is None:
                    return None
                archive = f"/e/{quote(schedule, safe='')}/" if found.public else None
                html = pages.put(
                    key,
                    edition_html(
                        found, page_url=url, archive_path=archive, search_open=search_open
                    ),
                )
            return html, ref.public

        rendered = await run_in_threadpool(render)  # the database and the template
        if rendered is None:
            return missing(language)
        html, public = rendered
        return page(html, public=public)

    async def archive(request: Request) -> Response:
        params = request.query_params
        language = engine.web_language(params.get("lang"))
        found = await run_in_threadpool(
            lambda: engine.web_archive(
                request.path_params["schedule"], language=params.get("lang"), token=params.get("t")
            )
        )
        if found is None:
            return missing(language)
        return page(
            archive_html(found, search_open=search_open), public=engine.is_public(found.schedule)
        )

    async def no_icon(_request: Request) -> Response:
        # Browsers ask for it on every page: nothing, said cheaply and cached.
        return Response(status_code=204, headers={"Cache-Control": "public, max-age=86400"})

    async def to_archive(request: Request) -> Response:
        schedule = quote(request.path_params["schedule"], safe="")
        return RedirectResponse(f"/e/{schedule}/", status_code=308)

    async def search(request: Request) -> Response:
        params = request.query_params
        language = engine.web_language(params.get("lang"))
        query = " ".join(params.get("q", "").split())[:MAX_QUERY_CHARS]
        try:
            number = min(MAX_PAGE, max(1, int(params.get("page", "1"))))
        except ValueError:
            number = 1
        found: Any = None
        if query:
            found = await run_in_threadpool(lambda: engine.search(query, page=number - 1))
        zone = ZoneInfo(engine.default_schedule().timezone)
        return page(search_html(found, query, language, zone), public=False)

    routes = [
        Route(f"/static/{STYLESHEET_NAME}", stylesheet, methods=["GET"]),
        Route("/favicon.ico", no_icon, methods=["GET"]),
        Route("/e/{schedule}/", archive, methods=["GET"]),
        Route("/e/{schedule}", to_archive, methods=["GET"]),
        Route("/e/{schedule}/{date}", edition, methods=["GET"]),
    ]
    if engine.settings.web.search:
        routes.append(Route("/search", search, methods=["GET"]))
    return routes
