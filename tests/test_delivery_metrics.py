"""The delivery loop and the edition runner feed /metrics: messages by outcome,
the wait from due to sent, editions built."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from bot.sandbox import Sandbox
from digests.editions.schedule import EditionRunner
from digests.metrics import METRICS
from digests.store.db import Database
from tests.botkit import EARLIER, add_subscribers, bot_settings, store_news


def sample(name: str, **labels: str) -> float:
    return METRICS.registry.get_sample_value(name, labels) or 0.0


@pytest.fixture
async def sandbox(database_url: str) -> AsyncIterator[Sandbox]:
    db = Database(database_url)
    async with Sandbox(bot_settings(database_url), db) as opened:
        yield opened
    db.close()


async def test_messages_latency_and_editions_are_counted(sandbox: Sandbox) -> None:
    now = datetime.now(UTC)
    store_news(sandbox.db, now - EARLIER)
    add_subscribers(sandbox.db, [61, 62, 63], created_at=now - EARLIER)
    sandbox.telegram.fail_next(63, 403)
    sandbox.telegram.fail_next(62, 500)
    before = {
        "sent": sample("newsdigest_messages_total", outcome="sent"),
        "skipped": sample("newsdigest_messages_total", outcome="skipped"),
        "retried": sample("newsdigest_messages_total", outcome="retried"),
        "latency": sample("newsdigest_delivery_latency_seconds_count"),
        "built": sample("newsdigest_editions_built_total", schedule="daily"),
    }
    # The edition of the latest due slot, built by the same runner the timed jobs use.
    assert EditionRunner(sandbox.db, sandbox.settings).catch_up()
    counts = await sandbox.deliver_now()
    sent = counts["sent"]
    assert sent >= 2 and counts["skipped"] == 1
    assert sample("newsdigest_editions_built_total", schedule="daily") == before["built"] + 1
    assert sample("newsdigest_messages_total", outcome="sent") == before["sent"] + sent
    assert sample("newsdigest_messages_total", outcome="skipped") == before["skipped"] + 1
    assert sample("newsdigest_messages_total", outcome="retried") == before["retried"] + 1
    assert sample("newsdigest_delivery_latency_seconds_count") == before["latency"] + sent
