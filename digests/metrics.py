"""The process's Prometheus metrics and the HTTP endpoint serving them with /healthz.

The metrics live on a registry of their own (not prometheus-client's global
one), created at import: the ``record_*`` functions need no setup and are safe
from any thread. Every label set is bounded: sources and schedules by the
configuration and the sources table, outcomes and error reasons by the fixed
sets below (an error's text never becomes a label).
"""

from __future__ import annotations

import errno
import logging
import socket
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from socketserver import ThreadingMixIn
from typing import Any, Literal, Self, get_args
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, Counter, Histogram, make_wsgi_app

from digests.config import MetricsSettings
from digests.errors import (
    BlockedAddress,
    ConfigError,
    DecodeError,
    FeedError,
    FetchError,
    FetchTimeout,
    HTTPStatusError,
    InputError,
    NewsdigestError,
    StoreError,
    TooLarge,
    TooManyRedirects,
    UnsafeFeed,
    UnsupportedFormat,
)
from digests.store.db import Database

log = logging.getLogger("newsdigest.metrics")

FetchOutcome = Literal["ok", "not_modified", "error"]
FetchErrorReason = Literal[
    "timeout",
    "http_4xx",
    "http_5xx",
    "http_other",
    "blocked",
    "too_large",
    "redirects",
    "network",
    "not_a_feed",
    "unsafe_feed",
    "bad_feed",
    "decode",
    "input",
    "store",
    "other",
    "internal",
]
MessageOutcome = Literal["sent", "failed", "retried", "skipped", "unknown", "withheld"]

FETCH_OUTCOMES: frozenset[str] = frozenset(get_args(FetchOutcome))
FETCH_ERROR_REASONS: frozenset[str] = frozenset(get_args(FetchErrorReason))
MESSAGE_OUTCOMES: frozenset[str] = frozenset(get_args(MessageOutcome))

# From a message being due (its edition's time, or the subscriber's own
# delivery time) to its being sent: seconds when all is well.
LATENCY_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600, 43200, 86400)
HEALTH_TIMEOUT = 5.0


class Metrics:
    """Every metric the process exports, on one registry."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.fetches = Counter(
            "newsdigest_fetches",
            "Fetches (or folder scans) of a source, by outcome.",
            ["source", "outcome"],
            registry=self.registry,
        )
        self.fetch_errors = Counter(
            "newsdigest_fetch_errors",
            "Failed fetches of a source, by class of reason.",
            ["source", "reason"],
            registry=self.registry,
        )
        self.articles_stored = Counter(
            "newsdigest_articles_stored",
            "Articles stored for the first time, by source.",
            ["source"],
            registry=self.registry,
        )
        self.editions_built = Counter(
            "newsdigest_editions_built",
            "Editions built, by schedule.",
            ["schedule"],
            registry=self.registry,
        )
        self.messages = Counter(
            "newsdigest_messages",
            "Delivery attempts' results, by outcome.",
            ["outcome"],
            registry=self.registry,
        )
        self.delivery_latency = Histogram(
            "newsdigest_delivery_latency_seconds",
            "Seconds from a message being due to its being sent.",
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )


METRICS = Metrics()


def _check(value: str, allowed: frozenset[str], what: str) -> None:
    if value not in allowed:
        raise ValueError(f"{value!r} is not a {what} (one of {', '.join(sorted(allowed))})")


def record_fetch(source: str, outcome: FetchOutcome) -> None:
    _check(outcome, FETCH_OUTCOMES, "fetch outcome")
    METRICS.fetches.labels(source, outcome).inc()


def record_fetch_error(source: str, reason: FetchErrorReason) -> None:
    _check(reason, FETCH_ERROR_REASONS, "fetch error reason")
    METRICS.fetch_errors.labels(source, reason).inc()


def record_articles_stored(source: str, count: int) -> None:
    if count < 0:
        raise ValueError(f"cannot store {count} articles")
    if count:
        METRICS.articles_stored.labels(source).inc(count)


def record_edition_built(schedule: str) -> None:
    METRICS.editions_built.labels(schedule).inc()


def record_message(outcome: MessageOutcome) -> None:
    _check(outcome, MESSAGE_OUTCOMES, "message outcome")
    METRICS.messages.labels(outcome).inc()


def observe_delivery_latency(seconds: float) -> None:
    # A clock step between build and send can make it negative; that is zero wait.
    METRICS.delivery_latency.observe(max(0.0, seconds))


_REASONS: tuple[tuple[type[BaseException], FetchErrorReason], ...] = (
    # Subclasses before their bases.
    (FetchTimeout, "timeout"),
    (BlockedAddress, "blocked"),
    (TooLarge, "too_large"),
    (TooManyRedirects, "redirects"),
    (FetchError, "network"),
    (UnsafeFeed, "unsafe_feed"),
    (UnsupportedFormat, "not_a_feed"),
    (FeedError, "bad_feed"),
    (DecodeError, "decode"),
    (InputError, "input"),
    (StoreError, "store"),
    (NewsdigestError, "other"),
)


def error_reason(exc: BaseException) -> FetchErrorReason:
    """The class of a source's failure, for the ``reason`` label."""
    if isinstance(exc, HTTPStatusError):
        if 400 <= exc.status < 500:
            return "http_4xx"
        return "http_5xx" if 500 <= exc.status < 600 else "http_other"
    for kind, reason in _REASONS:
        if isinstance(exc, kind):
            return reason
    return "internal"


# -- health ------------------------------------------------------------------


def database_healthy(db: Database) -> bool:
    """The database answers (see ``Database.problem``)."""
    problem = db.problem()
    if problem is not None:
        log.warning("health check: %s", problem)
    return problem is None


class _HealthCheck:
    """Runs ``healthy`` with a deadline, at most one run at a time: requests
    arriving while a run is under way wait for that same run, so a hung check
    holds one thread, not one per request."""

    def __init__(self, healthy: Callable[[], bool], timeout: float) -> None:
        self._healthy = healthy
        self._timeout = timeout
        self._lock = threading.Lock()
        self._running: Future[str | None] | None = None

    def _run(self, future: Future[str | None]) -> None:
        try:
            future.set_result(None if self._healthy() else "unhealthy")
        except Exception as exc:  # a broken check is an unhealthy answer, not a 500
            future.set_result(f"health check failed: {type(exc).__name__}")

    def __call__(self) -> str | None:
        """None when healthy, else a short reason."""
        with self._lock:
            future = self._running
            if future is None or future.done():
                future = self._running = Future()
                threading.Thread(
                    target=self._run, args=(future,), name="healthz", daemon=True
                ).start()
        try:
            return future.result(timeout=self._timeout)
        except FutureTimeout:
            return f"health check timed out after {self._timeout:g} s"


# -- the endpoint ------------------------------------------------------------

_Environ = dict[str, Any]
_StartResponse = Callable[..., Any]


def _app(registry: CollectorRegistry, check: _HealthCheck) -> Callable[..., Iterable[bytes]]:
    metrics = make_wsgi_app(registry)

    def app(environ: _Environ, start_response: _StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/metrics":
            return metrics(environ, start_response)
        if path != "/healthz":
            return _plain(start_response, "404 Not Found", "not found: try /metrics or /healthz")
        if environ["REQUEST_METHOD"] != "GET":
            return _plain(start_response, "405 Method Not Allowed", "use GET", [("Allow", "GET")])
        reason = check()
        if reason is None:
            return _plain(start_response, "200 OK", "ok")
        return _plain(start_response, "503 Service Unavailable", reason)

    return app


def _plain(
    start_response: _StartResponse,
    status: str,
    body: str,
    headers: list[tuple[str, str]] | None = None,
) -> list[bytes]:
    data = (body + "\n").encode()
    start_response(
        status,
        [
            ("Content-Type", "text/plain; charset=utf-8"),
            ("Content-Length", str(len(data))),
            ("Cache-Control", "no-store"),
            *(headers or []),
        ],
    )
    return [data]


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Scrapes every few seconds are not worth a log line each."""


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    """One thread per request, so a slow health check never holds up /metrics."""

    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # socketserver prints a traceback to stderr (a scraper hanging up mid-answer).
        log.debug("metrics endpoint: request from %s failed", client_address, exc_info=True)


class MetricsServer:
    """A running endpoint: ``port`` is the bound one; ``close()`` stops it."""

    def __init__(self, server: WSGIServer) -> None:
        self._server = server
        self.host: str = str(server.server_address[0])
        self.port: int = int(server.server_address[1])
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.2}, name="metrics", daemon=True
        )
        self._thread.start()

    def url(self, path: str = "/metrics") -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}{path}"

    def close(self) -> None:
        """Stop serving and free the port (idempotent)."""
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join()
        self._server.server_close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def start_server(
    host: str,
    port: int,
    healthy: Callable[[], bool],
    *,
    registry: CollectorRegistry | None = None,
    health_timeout: float = HEALTH_TIMEOUT,
) -> MetricsServer:
    """Serve /metrics and /healthz on ``host:port`` (0: any free port) in a
    daemon thread. A port in use or an unusable host is a ``ConfigError``."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
    except OSError as exc:
        raise ConfigError(f"metrics.host: cannot resolve {host!r}") from exc

    class Server(_ThreadingServer):
        address_family = family

    app = _app(registry or METRICS.registry, _HealthCheck(healthy, health_timeout))
    try:
        server = make_server(host, port, app, server_class=Server, handler_class=_QuietHandler)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise ConfigError(
                f"metrics.port: {port} is already in use on {host} "
                "(pick a free port, or 0 to turn the endpoint off)"
            ) from exc
        raise ConfigError(
            f"metrics.host: cannot listen on {host}:{port} ({exc.strerror or exc})"
        ) from exc
    return MetricsServer(server)


def serve_metrics(
    settings: MetricsSettings,
    healthy: Callable[[], bool],
    *,
    registry: CollectorRegistry | None = None,
) -> MetricsServer | None:
    """The configured endpoint, or None when ``metrics.port`` is 0 (off)."""
    if settings.port == 0:
        return None
    server = start_server(settings.host, settings.port, healthy, registry=registry)
    log.info("metrics on %s, health on %s", server.url("/metrics"), server.url("/healthz"))
    return server
