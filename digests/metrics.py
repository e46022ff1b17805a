"""The process's Prometheus metrics and its health check (``digests.web.server``
serves both, with the edition pages).

The metrics live on a registry of their own (not prometheus-client's global
one), created at import: the ``record_*`` functions need no setup and are safe
from any thread. Every label set is bounded: sources and schedules by the
configuration and the sources table, outcomes and error reasons by the fixed
sets below (an error's text never becomes a label).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Literal, get_args

from prometheus_client import CollectorRegistry, Counter, Histogram

from digests.errors import (
    BlockedAddress,
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


class HealthCheck:
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
