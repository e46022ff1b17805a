"""The delivery ledger against the fake Bot API: faults injected, nothing lost, nothing twice."""

from __future__ import annotations

import heapq
import random
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import select, update
from telegram.error import TimedOut

from bot.delivery import never_left
from bot.pacing import Pacer, busiest_window
from bot.sandbox import Sandbox
from digests.cli.editions import delivery_line
from digests.config import Settings
from digests.store import deliveries as ledger
from digests.store.db import Database
from digests.store.models import Article, Delivery, Edition, Source, Subscriber
from digests.store.subscribers import find_subscriber
from tests.botkit import EARLIER, add_subscribers, bot_settings, build, now_utc, store_news
from tests.test_delivery_metrics import sample

PARTS = ["第一部分 <b>一</b>", "第二部分 <i>二</i>", "第三部分 三"]
DEFAULT_VARIANT = "zh|Asia/Shanghai|*"


class Clock:
    def __init__(self) -> None:
        self.now = now_utc()

    def __call__(self) -> datetime:
        return self.now


async def _open(settings: Settings, clock: Callable[[], datetime]) -> AsyncIterator[Sandbox]:
    db = Database(settings.database_url)
    db.upgrade()
    async with Sandbox(settings, db, clock=clock) as sandbox:
        yield sandbox
    db.close()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def sandbox(database_url: str, clock: Clock) -> AsyncIterator[Sandbox]:
    async for opened in _open(bot_settings(database_url), clock):
        yield opened


def edition_for(sandbox: Sandbox, chats: list[int], parts: list[str] | None = None) -> Edition:
    """An edition and subscribers for it; with ``parts``, its rendering is fixed to them."""
    now = sandbox.clock()
    store_news(sandbox.db, now - EARLIER)
    add_subscribers(sandbox.db, chats, created_at=now - EARLIER)
    edition = build(sandbox.db, sandbox.settings, now)
    if parts is not None:
        with sandbox.db.write() as session:
            ledger.render_for(session, edition.id, DEFAULT_VARIANT, lambda: list(parts))
    return edition


def rows(sandbox: Sandbox, chat_id: int | None = None) -> list[Delivery]:
    with sandbox.db.read() as session:
        query = select(Delivery).order_by(Delivery.subscriber_id, Delivery.part)
        if chat_id is not None:
            subscriber = find_subscriber(session, chat_id)
            assert subscriber is not None
            query = query.where(Delivery.subscriber_id == subscriber.id)
        return list(session.scalars(query))


def sent(sandbox: Sandbox, chat_id: int) -> list[dict[str, Any]]:
    return list(sandbox.telegram.sent[chat_id])


async def test_every_subscriber_gets_the_edition_exactly_once(sandbox: Sandbox) -> None:
    chats = list(range(100, 150))
    edition_for(sandbox, chats)
    counts = await sandbox.deliver_now()
    assert counts == {"sent": 50}
    first = sandbox.telegram.messages_to(100)
    assert len(first) == 1 and "临江沿江步道首段建成" in first[0]
    assert all(sandbox.telegram.messages_to(chat) == first for chat in chats)
    assert await sandbox.deliver_now() == {"sent": 50}  # planning again adds nothing
    assert all(len(sandbox.telegram.messages_to(chat)) == 1 for chat in chats)


async def test_parts_go_in_order_and_a_restart_resends_none_already_sent(
    sandbox: Sandbox,
) -> None:
    edition_for(sandbox, [201, 202, 203], PARTS)
    sandbox.engine.plan_deliveries()
    ids = {r.subscriber_id for r in rows(sandbox)}
    assert len(rows(sandbox)) == 9 and len(ids) == 3
    # As a crash leaves it: chat 201 got part 1; chat 202's part 1 was in flight.
    with sandbox.db.write() as session:
        first_two = [r for r in rows(sandbox) if r.part == 0][:2]
        session.execute(update(Delivery).where(Delivery.id == first_two[0].id).values(state="sent"))
        session.execute(
            update(Delivery).where(Delivery.id == first_two[1].id).values(state="sending")
        )
    counts = await sandbox.deliver_now()
    assert counts == {"sent": 8, "unknown": 1}
    assert sandbox.telegram.messages_to(201) == ["第二部分 二", "第三部分 三"]
    assert sandbox.telegram.messages_to(202) == ["第二部分 二", "第三部分 三"]
    assert sandbox.telegram.messages_to(203) == ["第一部分 一", "第二部分 二", "第三部分 三"]
    assert sandbox.services.deliverer.stats.unknown == 1  # type: ignore[union-attr]


async def test_retry_after_is_waited_out_then_sent_once(sandbox: Sandbox) -> None:
    edition_for(sandbox, [301])
    sandbox.telegram.fail_next(301, 429, retry_after=1, times=2)
    assert await sandbox.deliver_now() == {"sent": 1}
    assert len(sandbox.telegram.messages_to(301)) == 1
    [row] = rows(sandbox, 301)
    assert row.attempts == 3 and "retry after 1s" in (row.last_error or "")
    assert sandbox.services.deliverer.stats.rate_limited == 2  # type: ignore[union-attr]


async def test_a_blocked_chat_becomes_inactive_and_its_other_parts_are_skipped(
    sandbox: Sandbox,
) -> None:
    edition_for(sandbox, [401, 402], PARTS)
    sandbox.telegram.fail_next(401, 403)
    counts = await sandbox.deliver_now()
    assert counts == {"sent": 3, "skipped": 3}
    assert sandbox.telegram.messages_to(401) == []
    assert len(sandbox.telegram.messages_to(402)) == 3
    with sandbox.db.read() as session:
        blocked = find_subscriber(session, 401)
    assert (
        blocked is not None and not blocked.active and "blocked" in (blocked.inactive_reason or "")
    )
    assert all(r.state == "skipped" for r in rows(sandbox, 401))


async def test_a_migrated_group_gets_it_at_its_new_id(sandbox: Sandbox) -> None:
    old, new = -500, -1000500
    edition_for(sandbox, [old])
    sandbox.telegram.fail_next(old, 400, migrate_to=new)
    assert await sandbox.deliver_now() == {"sent": 1}
    assert sandbox.telegram.messages_to(old) == []
    assert len(sandbox.telegram.messages_to(new)) == 1
    with sandbox.db.read() as session:
        moved = find_subscriber(session, new)
    assert moved is not None and moved.chat_type == "supergroup"
    assert rows(sandbox, new)[0].chat_id == new


async def test_a_group_migrating_onto_a_subscribed_supergroup_gets_each_part_once(
    sandbox: Sandbox,
) -> None:
    # The upgrade's service message was missed and an admin sent /start in the
    # supergroup: the group and the supergroup both hold a subscription.
    old, new = -510, -1000510
    edition_for(sandbox, [old, new], PARTS)
    sandbox.telegram.fail_next(old, 400, migrate_to=new)
    counts = await sandbox.deliver_now()
    assert counts == {"sent": 3, "skipped": 3}
    assert sandbox.telegram.messages_to(new) == ["第一部分 一", "第二部分 二", "第三部分 三"]
    assert sandbox.telegram.messages_to(old) == []
    with sandbox.db.read() as session:
        group, supergroup = find_subscriber(session, old), find_subscriber(session, new)
    assert group is not None and not group.active
    assert supergroup is not None and supergroup.active
    assert await sandbox.deliver_now() == counts  # nothing planned again for either
    assert len(sandbox.telegram.messages_to(new)) == 3


async def test_a_group_migrating_onto_a_supergroup_subscribed_after_the_edition_brings_it(
    sandbox: Sandbox,
) -> None:
    old, new = -520, -1000520
    edition_for(sandbox, [old], PARTS)
    # The supergroup subscribed after the edition was built: it has no rows of its own.
    add_subscribers(sandbox.db, [new], created_at=sandbox.clock() + timedelta(minutes=1))
    sandbox.telegram.fail_next(old, 400, migrate_to=new)
    assert await sandbox.deliver_now() == {"sent": 3}
    assert sandbox.telegram.messages_to(new) == ["第一部分 一", "第二部分 二", "第三部分 三"]
    assert {r.chat_id for r in rows(sandbox, new)} == {new}
    assert await sandbox.deliver_now() == {"sent": 3}
    assert len(sandbox.telegram.messages_to(new)) == 3


async def test_a_failed_first_part_withholds_the_rest_of_that_chats_edition(
    database_url: str, clock: Clock
) -> None:
    settings = bot_settings(database_url, max_attempts=2)
    async for sandbox in _open(settings, clock):
        edition_for(sandbox, [1101, 1102], PARTS)
        sandbox.telegram.fail_next(1101, 500, times=2)
        withheld_before = sample("newsdigest_messages_total", outcome="withheld")
        counts = await sandbox.deliver_now()
        assert counts == {"sent": 3, "failed": 1, "withheld": 2}
        assert sandbox.telegram.messages_to(1101) == []
        assert len(sandbox.telegram.messages_to(1102)) == 3
        states = [(r.state, r.last_error) for r in rows(sandbox, 1101)]
        assert [state for state, _error in states] == ["failed", "withheld", "withheld"]
        assert all("part 1 failed" in (error or "") for _state, error in states[1:])
        assert sample("newsdigest_messages_total", outcome="withheld") == withheld_before + 2
        edition_id = rows(sandbox, 1101)[0].edition_id
        assert edition_id is not None
        report = sandbox.engine.delivery_report(sandbox.engine.edition(edition_id))
        assert "failed 1, withheld 2" in delivery_line(report)


async def test_a_later_part_is_never_claimed_before_the_earlier_ones_went(
    sandbox: Sandbox,
) -> None:
    edition_for(sandbox, [1201], PARTS)
    sandbox.engine.plan_deliveries()
    first, second, third = rows(sandbox, 1201)
    with sandbox.db.write() as session:
        assert not ledger.claim(session, second.id, 1201)  # part 1 still waits
        ledger.mark(session, first.id, ledger.UNKNOWN)  # it may have arrived: go on
        assert ledger.claim(session, second.id, 1201)
        assert not ledger.claim(session, third.id, 1201)  # part 2 is in flight
        ledger.mark(session, second.id, ledger.FAILED)
        assert not ledger.claim(session, third.id, 1201)


async def test_a_refused_message_is_tried_once_as_plain_text(sandbox: Sandbox) -> None:
    edition_for(sandbox, [601, 602], PARTS[:1])
    sandbox.telegram.fail_next(601, 400)
    sandbox.telegram.fail_next(602, 400, times=2)
    counts = await sandbox.deliver_now()
    assert counts == {"sent": 1, "failed": 1}
    [message] = sent(sandbox, 601)
    assert message["parse_mode"] is None and message["raw"] == "第一部分 一"
    assert sent(sandbox, 602) == []
    [failed] = rows(sandbox, 602)
    assert failed.state == "failed" and "chat not found" in (failed.last_error or "").lower()


async def test_server_errors_are_retried_with_a_bound(database_url: str, clock: Clock) -> None:
    settings = bot_settings(database_url, max_attempts=3)
    async for sandbox in _open(settings, clock):
        edition_for(sandbox, [701, 702])
        sandbox.telegram.fail_next(701, 500, times=2)
        sandbox.telegram.fail_next(702, 500, times=5)
        assert await sandbox.deliver_now() == {"sent": 1, "failed": 1}
        assert len(sandbox.telegram.messages_to(701)) == 1 and rows(sandbox, 701)[0].attempts == 3
        assert sandbox.telegram.messages_to(702) == [] and rows(sandbox, 702)[0].attempts == 3


async def test_a_timeout_after_sending_is_unknown_and_not_resent(sandbox: Sandbox) -> None:
    edition_for(sandbox, [801, 802])
    sandbox.telegram.fail_next(801, 0)  # the request hangs
    assert await sandbox.deliver_now() == {"sent": 1, "unknown": 1}
    assert sandbox.telegram.attempts[801] == 1
    assert sandbox.services.deliverer.stats.unknown == 1  # type: ignore[union-attr]


async def test_the_resend_policy_retries_a_timeout(database_url: str, clock: Clock) -> None:
    settings = bot_settings(database_url, on_ambiguous="resend")
    async for sandbox in _open(settings, clock):
        edition_for(sandbox, [901])
        sandbox.telegram.fail_next(901, 0)
        assert await sandbox.deliver_now() == {"sent": 1}
        assert len(sandbox.telegram.messages_to(901)) == 1
        assert sandbox.telegram.attempts[901] == 2


async def test_a_personal_delivery_time_is_kept(sandbox: Sandbox, clock: Clock) -> None:
    edition_for(sandbox, [1001, 1002])
    zone = ZoneInfo("Asia/Shanghai")
    later = (clock.now + timedelta(hours=2)).astimezone(zone)
    with sandbox.db.write() as session:
        session.execute(
            update(Subscriber)
            .where(Subscriber.chat_id == 1001)
            .values(delivery_time=f"{later:%H:%M}")
        )
    assert await sandbox.deliver_now() == {"sent": 1, "pending": 1}
    assert sandbox.telegram.messages_to(1001) == []
    [waiting] = rows(sandbox, 1001)
    assert waiting.not_before.astimezone(zone).strftime("%H:%M") == f"{later:%H:%M}"
    clock.now += timedelta(hours=2, minutes=1)
    assert await sandbox.deliver_now() == {"sent": 2}
    assert len(sandbox.telegram.messages_to(1001)) == 1


async def test_unsubscribing_skips_what_was_still_due(sandbox: Sandbox, clock: Clock) -> None:
    edition_for(sandbox, [1101])
    with sandbox.db.write() as session:
        session.execute(
            update(Subscriber).where(Subscriber.chat_id == 1101).values(delivery_time="23:59")
        )
    await sandbox.deliver_now()
    await sandbox.say(1101, "/stop")
    clock.now += timedelta(days=1)
    assert await sandbox.deliver_now() == {"skipped": 1}
    assert sandbox.telegram.messages_to(1101) == ["已退订。想回来时发送 /start。"]


async def test_a_chosen_source_reshapes_the_digest_without_summarizing_again(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    edition_for(sandbox, [1201, 1202])
    harbor = {name: i for i, name in sandbox.engine.source_names().items()}["Harbor Gazette"]
    with sandbox.db.write() as session:
        session.execute(
            update(Subscriber).where(Subscriber.chat_id == 1201).values(sources=[harbor])
        )
        before = [(a.id, a.summary, a.summarized_hash) for a in session.scalars(select(Article))]

    def no_summarizing(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("summaries are computed once, at ingest")

    monkeypatch.setattr("digests.summarize.rank.prepare", no_summarizing)
    monkeypatch.setattr("digests.summarize.stage.prepare", no_summarizing)
    assert await sandbox.deliver_now() == {"sent": 2}
    [harbor_only] = sandbox.telegram.messages_to(1201)
    [everything] = sandbox.telegram.messages_to(1202)
    assert "Harbor Town opens new ferry pier" in harbor_only and "临江" not in harbor_only
    assert "Harbor Town opens new ferry pier" in everything and "临江沿江步道首段建成" in everything
    with sandbox.db.read() as session:
        after = [(a.id, a.summary, a.summarized_hash) for a in session.scalars(select(Article))]
    assert after == before


async def test_each_reader_gets_the_edition_title_of_their_language(sandbox: Sandbox) -> None:
    edition_for(sandbox, [1401])
    add_subscribers(sandbox.db, [1402], created_at=sandbox.clock() - EARLIER, language="en")
    assert await sandbox.deliver_now() == {"sent": 2}
    [chinese] = sandbox.telegram.messages_to(1401)
    [english] = sandbox.telegram.messages_to(1402)
    assert chinese.startswith("今日要闻 · ")
    assert english.startswith("Today's news · ") and "今日要闻" not in english


async def test_a_newer_edition_supersedes_one_not_yet_begun(sandbox: Sandbox, clock: Clock) -> None:
    edition_for(sandbox, [1301])
    with sandbox.db.write() as session:
        session.execute(
            update(Subscriber).where(Subscriber.chat_id == 1301).values(delivery_time="23:59")
        )
    await sandbox.deliver_now()
    clock.now += timedelta(hours=1)
    store_news(sandbox.db, clock.now - timedelta(minutes=5))
    build(sandbox.db, sandbox.settings, clock.now, slot="19:00")
    counts = await sandbox.deliver_now()
    assert counts == {"skipped": 1, "pending": 1}


def test_pacer_spaces_sends_overall_per_chat_and_per_group() -> None:
    now = [0.0]
    pacer = Pacer(10, 1.0, 20, clock=lambda: now[0])
    overall = [pacer.reserve(chat, group=False) for chat in range(5)]
    assert overall == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4])
    same_chat = [pacer.reserve(99, group=False) for _ in range(3)]
    assert same_chat == pytest.approx([0.5, 1.5, 2.5])
    group = [pacer.reserve(-7, group=True) for _ in range(2)]
    assert group == pytest.approx([2.6, 5.6])
    pacer.hold(42, 30)
    assert pacer.reserve(42, group=False) == pytest.approx(30.0)
    unpaced = Pacer(0, 0, 0, clock=lambda: now[0])
    assert {unpaced.reserve(1, group=False) for _ in range(100)} == {0.0}


def _paced_sends(*, admit: bool) -> list[float]:
    """When 2,000 one-message chats' sends leave under a 25/s pacer, on a virtual
    clock whose event loop stalls 0.3 s every 3 s and wakes each send up to 5 ms
    late: the sends whose slots passed during a stall all wake at its end."""
    now = [0.0]
    pacer = Pacer(25, 1.0, 20, clock=lambda: now[0])
    jitter = random.Random(7)
    wakes = []
    for chat in range(2000):
        slot = pacer.reserve(chat, group=False)
        stall_start = 3.0 * (slot // 3.0)
        woken = stall_start + 0.3 if slot < stall_start + 0.3 else slot
        wakes.append((woken + jitter.uniform(0, 0.005), chat))
    heapq.heapify(wakes)
    sent = []
    while wakes:
        at, chat = heapq.heappop(wakes)
        now[0] = max(now[0], at)
        if admit and not pacer.admit():
            heapq.heappush(wakes, (now[0] + pacer.window_wait(), chat))
            continue
        sent.append(now[0])
    return sent


def test_the_pacer_never_lets_a_second_hold_more_than_the_rate() -> None:
    planned_only = _paced_sends(admit=False)
    # Slots alone: a stall's backlog leaves together with the next second's own sends.
    assert busiest_window(planned_only) > 25
    admitted = _paced_sends(admit=True)
    assert len(admitted) == 2000
    assert busiest_window(admitted) == 25
    assert max(admitted) < 2000 / 25 + 1  # and the rate is kept, not lost


def test_busiest_window_counts_half_open_seconds() -> None:
    assert busiest_window([]) == 0
    assert busiest_window([0.0, 0.5, 0.999]) == 3
    assert busiest_window([0.0, 0.5, 1.0, 1.2]) == 3


def test_only_timeouts_before_the_request_left_are_safe_to_resend() -> None:
    def timed_out(cause: Exception) -> TimedOut:
        try:
            raise TimedOut() from cause
        except TimedOut as error:
            return error

    assert never_left(timed_out(httpx.PoolTimeout("pool")))
    assert never_left(timed_out(httpx.ConnectTimeout("connect")))
    assert not never_left(timed_out(httpx.ReadTimeout("read")))
    assert not never_left(timed_out(httpx.WriteTimeout("write")))


async def test_nothing_for_a_subscribers_sources_on_a_skip_day_sends_nothing_once(
    database_url: str, clock: Clock
) -> None:
    settings = bot_settings(database_url)
    settings = settings.model_copy(
        update={"digest": settings.digest.model_copy(update={"empty_edition": "skip"})}
    )
    async for sandbox in _open(settings, clock):
        edition_for(sandbox, [1401, 1402])
        with sandbox.db.write() as session:
            session.add(Source(kind="feed", location="https://quiet.example/", name="Quiet"))
            session.flush()
            quiet = session.scalar(select(Source.id).where(Source.name == "Quiet"))
            session.execute(
                update(Subscriber).where(Subscriber.chat_id == 1401).values(sources=[quiet])
            )
        assert await sandbox.deliver_now() == {"sent": 1, "skipped": 1}
        assert sandbox.telegram.messages_to(1401) == []
        assert sandbox.engine.plan_deliveries() == 0  # not again


async def test_paid_broadcast_is_a_switch(database_url: str, clock: Clock) -> None:
    settings = bot_settings(database_url, allow_paid_broadcast=True)
    async for sandbox in _open(settings, clock):
        edition_for(sandbox, [1501])
        assert await sandbox.deliver_now() == {"sent": 1}
        assert sent(sandbox, 1501)[0]["allow_paid_broadcast"] is True


async def test_free_broadcasts_do_not_ask_to_pay(sandbox: Sandbox) -> None:
    edition_for(sandbox, [1502])
    await sandbox.deliver_now()
    assert sent(sandbox, 1502)[0]["allow_paid_broadcast"] is False
