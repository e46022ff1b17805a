"""/metrics and /healthz on a real 127.0.0.1 port, counters from real fetches,
and ``--log-json`` from a real ``newsdigest`` process."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import signal
import socket
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.fake_telegram import FakeTelegram
from digests.config import FetchSettings, MetricsSettings
from digests.errors import (
    BlockedAddress,
    ConfigError,
    DecodeError,
    FetchError,
    FetchTimeout,
    HTTPStatusError,
    InputError,
    StoreError,
    TooLarge,
    TooManyRedirects,
    UnsafeFeed,
    UnsupportedFormat,
)
from digests.feedserver import FeedServer
from digests.logformat import JsonLinesFormatter
from digests.metrics import (
    FETCH_ERROR_REASONS,
    database_healthy,
    error_reason,
    observe_delivery_latency,
    record_edition_built,
    record_fetch_error,
    record_message,
)
from digests.redact import RedactingFilter, register_secret
from digests.sources.refresh import fetch_due
from digests.store.db import Database
from digests.web.server import HttpServer, serve_http, start_server
from tests.test_bot_process import bot_env, poll
from tests.test_cli import newsdigest, start_newsdigest
from tests.test_pipeline import add

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def scrape(server: HttpServer) -> Samples:
    status, body = get(server.url("/metrics"))
    assert status == 200
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(body)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def endpoint() -> Iterator[HttpServer]:
    with start_server("127.0.0.1", 0, lambda: True) as server:
        yield server


# -- counters from real fetches ----------------------------------------------

BROKEN = {  # source name: (path on the feed server, reason class)
    "metrics-500": ("status/500", "http_5xx"),
    "metrics-404": ("status/404", "http_4xx"),
    "metrics-html": ("html", "not_a_feed"),
    "metrics-loop": ("loop/a", "redirects"),
    "metrics-bomb": ("bomb", "too_large"),
}


def test_metrics_count_real_fetches_by_source_outcome_and_reason(
    db: Database,
    feed_server: FeedServer,
    fetch_settings: FetchSettings,
    endpoint: HttpServer,
    tmp_path: Path,
) -> None:
    add(db, "metrics-good", feed_server.url("files/en_world.xml"))
    for name, (path, _reason) in BROKEN.items():
        add(db, name, feed_server.url(path))
    add(db, "metrics-folder", str(tmp_path / "no-such-folder"), kind="folder")
    before = scrape(endpoint)

    outcomes = asyncio.run(fetch_due(db, fetch_settings))
    assert sum(1 for o in outcomes if o.error) == len(BROKEN) + 1
    first = scrape(endpoint)
    again = asyncio.run(fetch_due(db, fetch_settings, force=True))
    assert {o.name: o.not_modified for o in again}["metrics-good"]
    second = scrape(endpoint)

    def delta(samples: Samples, name: str, **labels: str) -> float:
        return value(samples, name, **labels) - value(before, name, **labels)

    fetches, errors = "newsdigest_fetches_total", "newsdigest_fetch_errors_total"
    stored = "newsdigest_articles_stored_total"
    assert delta(first, fetches, source="metrics-good", outcome="ok") == 1
    assert delta(first, stored, source="metrics-good") == 5
    for name, (_path, reason) in BROKEN.items():
        assert delta(first, fetches, source=name, outcome="error") == 1, name
        assert delta(first, errors, source=name, reason=reason) == 1, name
        assert delta(first, fetches, source=name, outcome="ok") == 0, name
    assert delta(first, errors, source="metrics-folder", reason="input") == 1
    # The second round: a 304 counted as such, nothing stored again.
    assert delta(second, fetches, source="metrics-good", outcome="not_modified") == 1
    assert delta(second, fetches, source="metrics-good", outcome="ok") == 1
    assert delta(second, stored, source="metrics-good") == 5
    assert delta(second, errors, source="metrics-500", reason="http_5xx") == 2


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (FetchTimeout("slow"), "timeout"),
        (HTTPStatusError(404), "http_4xx"),
        (HTTPStatusError(503), "http_5xx"),
        (HTTPStatusError(300), "http_other"),
        (BlockedAddress("private"), "blocked"),
        (TooLarge("big"), "too_large"),
        (TooManyRedirects("loop"), "redirects"),
        (FetchError("ConnectError: refused"), "network"),
        (UnsupportedFormat("an HTML page"), "not_a_feed"),
        (UnsafeFeed("entities"), "unsafe_feed"),
        (DecodeError("bytes"), "decode"),
        (InputError("no folder"), "input"),
        (StoreError("locked"), "store"),
        (KeyError("a bug"), "internal"),
    ],
    ids=lambda case: case if isinstance(case, str) else type(case).__name__,
)
def test_error_reasons_are_a_fixed_set_of_classes(error: Exception, reason: str) -> None:
    assert error_reason(error) == reason
    assert reason in FETCH_ERROR_REASONS


def test_the_delivery_side_records_without_any_setup(endpoint: HttpServer) -> None:
    before = scrape(endpoint)
    record_edition_built("metrics-evening")
    for outcome in ("sent", "sent", "failed", "retried", "skipped", "unknown"):
        record_message(outcome)  # type: ignore[arg-type]
    observe_delivery_latency(42.0)
    after = scrape(endpoint)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("newsdigest_editions_built_total", schedule="metrics-evening") == 1
    assert delta("newsdigest_messages_total", outcome="sent") == 2
    for outcome in ("failed", "retried", "skipped", "unknown"):
        assert delta("newsdigest_messages_total", outcome=outcome) == 1
    latency = "newsdigest_delivery_latency_seconds"
    assert delta(f"{latency}_count") == 1 and delta(f"{latency}_sum") == 42
    assert delta(f"{latency}_bucket", le="30.0") == 0
    assert delta(f"{latency}_bucket", le="60.0") == 1


def test_free_text_never_becomes_a_label() -> None:
    with pytest.raises(ValueError, match="fetch error reason"):
        record_fetch_error("wire", "ConnectError: [Errno 111] refused")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="message outcome"):
        record_message("delivered")  # type: ignore[arg-type]


# -- the endpoint ------------------------------------------------------------


def test_unknown_paths_are_404(endpoint: HttpServer) -> None:
    assert get(endpoint.url("/"))[0] == 404
    assert get(endpoint.url("/metrics/extra"))[0] == 404


def test_healthz_follows_the_check_on_every_request() -> None:
    healthy = True
    with start_server("127.0.0.1", 0, lambda: healthy) as server:
        assert get(server.url("/healthz")) == (200, "ok\n")
        healthy = False
        status, body = get(server.url("/healthz"))
        assert status == 503 and body.strip() == "unhealthy"


def test_a_hanging_check_is_a_503_and_metrics_still_answer() -> None:
    release = threading.Event()
    calls = 0

    def hangs() -> bool:
        nonlocal calls
        calls += 1
        release.wait(60)
        return True

    try:
        with start_server("127.0.0.1", 0, hangs, health_timeout=0.2) as server:
            first = get(server.url("/healthz"))
            second = get(server.url("/healthz"))
            assert get(server.url("/metrics"))[0] == 200
    finally:
        release.set()
    for status, body in (first, second):
        assert status == 503 and "timed out" in body
    assert calls == 1  # the second request waited on the run already under way


def test_a_check_that_raises_is_a_503() -> None:
    def broken() -> bool:
        raise RuntimeError("boom")

    with start_server("127.0.0.1", 0, broken) as server:
        assert get(server.url("/healthz")) == (503, "health check failed: RuntimeError\n")


@pytest.mark.sqlite_only("deleting the database file under an open connection is a SQLite matter")
def test_database_health_with_sqlite(db: Database, tmp_path: Path) -> None:
    assert database_healthy(db)
    with start_server("127.0.0.1", 0, lambda: database_healthy(db)) as server:
        assert get(server.url("/healthz")) == (200, "ok\n")
        (tmp_path / "test.db").unlink()  # the file the pooled connection still answers for
        status, _body = get(server.url("/healthz"))
        assert status == 503
    assert not database_healthy(db)


def test_database_health_with_a_removed_directory(tmp_path: Path) -> None:
    folder = tmp_path / "gone"
    database = Database(f"sqlite:///{folder / 'bot.db'}")
    folder.rmdir()  # before any connection: SQLite cannot open the file at all
    try:
        assert not database_healthy(database)
    finally:
        database.close()


def test_database_health_with_postgresql_on_a_closed_port() -> None:
    database = Database(f"postgresql+psycopg://newsdigest@127.0.0.1:{free_port()}/newsdigest")
    try:
        assert not database_healthy(database)
    finally:
        database.close()


def test_database_health_with_postgresql(postgres_url: str) -> None:
    database = Database(postgres_url)
    try:
        assert database_healthy(database)
    finally:
        database.close()


def test_port_in_use_is_a_config_error_naming_the_key() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ConfigError, match=r"metrics\.port"):
            serve_http(MetricsSettings(port=port), lambda: True)


def test_port_zero_is_off_and_close_frees_the_port() -> None:
    assert serve_http(MetricsSettings(port=0), lambda: True) is None
    server = start_server("127.0.0.1", 0, lambda: True)
    port = server.port
    server.close()
    server.close()  # idempotent
    with start_server("127.0.0.1", port, lambda: True) as again:
        assert get(again.url("/healthz"))[0] == 200


# -- JSON logs ---------------------------------------------------------------


def test_json_lines_carry_the_exception_in_one_field_and_no_secret() -> None:
    secret = "json-lines-test-secret-5f1c"
    register_secret(secret)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonLinesFormatter())
    handler.addFilter(RedactingFilter())
    logger = logging.getLogger("newsdigest.test.jsonlines")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("calling https://api.example/bot%s/getMe", secret)
        try:
            raise RuntimeError(f"failed with {secret}\nsecond line")
        except RuntimeError:
            logger.exception("it broke")
    finally:
        logger.removeHandler(handler)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2 and secret not in stream.getvalue()
    first, second = (json.loads(line) for line in lines)
    assert set(first) == {"time", "level", "logger", "message"}
    assert first["level"] == "WARNING" and first["logger"] == "newsdigest.test.jsonlines"
    assert first["message"] == "calling https://api.example/bot<redacted>/getMe"
    assert first["time"].endswith("Z") and "T" in first["time"]
    assert second["message"] == "it broke"
    assert "Traceback" in second["exception"] and "second line" in second["exception"]


def test_log_json_from_the_environment(tmp_path: Path, feed_server: FeedServer) -> None:
    env = {
        "NEWSDIGEST_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
        "NEWSDIGEST_FETCH__ALLOWED_NETWORKS": '["127.0.0.0/8"]',
    }
    added = newsdigest("sources", "add", feed_server.url("status/500"), cwd=tmp_path, env=env)
    assert added.returncode == 0, added.stderr
    plain = newsdigest("fetch", cwd=tmp_path, env=env)
    as_json = newsdigest("fetch", "--all", cwd=tmp_path, env={**env, "NEWSDIGEST_LOG_JSON": "1"})
    assert "WARNING newsdigest.ingest: source #1" in plain.stderr
    # The progress bar leaves a blank line on a stderr that is not a terminal.
    records = [json.loads(line) for line in as_json.stderr.splitlines() if line.strip()]
    assert [(r["level"], r["logger"]) for r in records] == [("WARNING", "newsdigest.ingest")]
    assert "HTTP status 500" in records[0]["message"]


@pytest.fixture
def telegram() -> Iterator[FakeTelegram]:
    with FakeTelegram() as server:
        yield server


def test_the_running_bot_serves_health_and_metrics_and_logs_json(
    tmp_path: Path, telegram: FakeTelegram
) -> None:
    port = free_port()
    env = bot_env(
        telegram,
        tmp_path / "bot.db",
        NEWSDIGEST_METRICS__PORT=str(port),
        NEWSDIGEST_WEB__SEARCH="true",
    )
    bot = start_newsdigest("--log-json", "run", cwd=tmp_path, env=env)
    healthz = f"http://127.0.0.1:{port}/healthz"

    def answers() -> bool:
        try:
            return get(healthz) == (200, "ok\n")
        except OSError:  # not listening yet
            assert bot.poll() is None, "the bot exited"
            return False

    try:
        poll(answers, 60, "/healthz to answer")
        status, metrics = get(f"http://127.0.0.1:{port}/metrics")
        assert status == 200 and "# TYPE newsdigest_fetches_total counter" in metrics
        status, search = get(f"http://127.0.0.1:{port}/search?q=%E4%B8%B4%E6%B1%9F")
        assert status == 200 and "临江" in search  # the same process serves the pages
        telegram.user_sends(41, "/start")
        assert telegram.wait_for(lambda: telegram.messages_to(41), timeout=60)
    finally:
        bot.send_signal(signal.SIGTERM)
        out, err = bot.communicate(timeout=60)
    assert bot.returncode == 0, err
    records = [json.loads(line) for line in err.splitlines()]  # every line is one object
    assert {"time", "level", "logger", "message"} <= set(records[0])
    assert any(r["level"] == "DEBUG" for r in records)  # it really logged at DEBUG
    assert any("bot<redacted>" in r["message"] for r in records)  # PTB logs its URL
    assert any(f"127.0.0.1:{port}/healthz" in r["message"] for r in records)
    secret = telegram.token.split(":")[1]
    assert secret not in out + err
    with socket.socket() as probe:  # closed on the way out
        assert probe.connect_ex(("127.0.0.1", port)) != 0
