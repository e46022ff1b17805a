"""Deliver editions to subscribers through the ledger: exactly once, paced.

Planning: for each schedule's newest edition, every active subscriber without
ledger rows gets one row per message part, due at the edition's time or at the
subscriber's own time. Subscribers who read the same variant (language, time
zone, sources) share one stored rendering, made once.

Sending: due rows are claimed (``sending``, committed) right before the
message leaves and marked after Telegram answers. Parts of one chat go in
order. What Telegram says decides what happens next:

- 429 RetryAfter: wait exactly as long as asked (that chat only), then again;
- 403 Forbidden (blocked, kicked): the subscriber becomes inactive, the rest
  of its messages are skipped;
- ChatMigrated: the subscription moves to the new chat id and is sent there;
- 400 BadRequest: logged with chat and reason, sent once more as plain text,
  then failed;
- 5xx and network errors: retried with doubling waits, at most
  ``max_attempts`` times;
- a timeout after the request left is ambiguous (Telegram has no idempotency
  key): ``on_ambiguous = "skip"`` marks it ``unknown`` and never resends;
  "resend" tries again. A pool or connect timeout never left: retried.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from itertools import groupby
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import select
from telegram import Bot, LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)

from bot.alerts import plan_alerts
from bot.pacing import Pacer
from bot.render import plain_text, render_html
from digests.config import ScheduleSettings, Settings
from digests.edition import edition_variant
from digests.filters import apply_filters
from digests.metrics import MessageOutcome, observe_delivery_latency, record_message
from digests.present import strings_for
from digests.schedule import current_schedules, edition_instant, next_local_time
from digests.store import deliveries as ledger
from digests.store.db import Database
from digests.store.models import Delivery, Edition, Source, Subscriber
from digests.store.subscribers import deactivate, move_chat, word_filters
from digests.store.workers import WorkerPresence, planning_lock

log = logging.getLogger("newsdigest.delivery")

# Editions older than this are not pushed to subscribers who have not had them
# (a bot started after days away sends today's news, not last week's).
PLAN_WINDOW = timedelta(days=1)
# Chats claimed at a time (with all their due messages): enough to keep every
# in-flight slot busy, few enough that several workers share a broadcast.
CLAIM_CHATS = 128
MAX_RATE_LIMIT_WAITS = 20
# Channels get the group pace too: Telegram documents 20/min for groups only,
# and a digest is a few messages a day, so caution costs nothing.
GROUP_TYPES = ("group", "supergroup", "channel")


@dataclass(frozen=True, slots=True)
class Variant:
    """What makes two subscribers' copies of an edition differ."""

    language: str
    timezone: str
    sources: tuple[str, ...] | None  # None: every source of the schedule
    mutes: tuple[str, ...] = ()
    follows: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        chosen = "*" if self.sources is None else ",".join(sorted(self.sources))
        words = ""
        if self.mutes or self.follows:
            words = "|-" + ",".join(sorted(self.mutes)) + "|+" + ",".join(sorted(self.follows))
        key = f"{self.language}|{self.timezone}|{chosen}{words}"
        if len(key) > 300:
            digest = hashlib.sha256(f"{chosen}{words}".encode()).hexdigest()
            key = f"{self.language}|{self.timezone}|#{digest}"
        return key


Filters = dict[int, tuple[tuple[str, ...], tuple[str, ...]]]


def variant_of(
    subscriber: Subscriber,
    spec: ScheduleSettings,
    names: dict[int, str],
    filters: Filters | None = None,
) -> Variant:
    chosen: tuple[str, ...] | None = None
    if subscriber.sources is not None:
        chosen = tuple(sorted(names[i] for i in subscriber.sources if i in names))
    mutes, follows = (filters or {}).get(subscriber.id, ((), ()))
    return Variant(
        subscriber.language, subscriber.timezone or spec.timezone, chosen, mutes, follows
    )


def render_variant(
    db: Database, settings: Settings, edition: Edition, variant: Variant
) -> list[str]:
    """The Telegram messages of ``edition`` for ``variant`` (summaries reused, not
    rebuilt); none when the variant is empty and empty editions are not sent."""
    digest = edition_variant(
        db, settings.digest, edition, list(variant.sources) if variant.sources is not None else None
    )
    digest = apply_filters(
        digest, variant.mutes, variant.follows, strings_for(variant.language).following
    )
    if digest.empty and settings.digest.empty_edition == "skip":
        return []
    return render_html(
        digest,
        language=variant.language,
        title=settings.digest.title,
        tz=ZoneInfo(variant.timezone),
    )


def personal_due(instant: datetime, subscriber: Subscriber, spec: ScheduleSettings) -> datetime:
    """When a subscriber gets an edition due at ``instant``: then, or at their own time."""
    if not subscriber.delivery_time:
        return instant
    zone = ZoneInfo(subscriber.timezone or spec.timezone)
    return next_local_time(instant, subscriber.delivery_time, zone)


def source_names(db: Database) -> dict[int, str]:
    with db.read() as session:
        return dict(session.execute(select(Source.id, Source.name)).all())


def plan_deliveries(db: Database, settings: Settings, now: datetime) -> int:
    """Ledger rows for every subscriber still missing their schedule's newest edition."""
    planned = 0
    names = source_names(db)
    for state in current_schedules(db, settings):
        spec = state.spec
        with db.read() as session:
            edition = ledger.latest_edition(session, spec.name, now - PLAN_WINDOW)
            subscribers = [] if edition is None else ledger.subscribers_to_plan(session, edition)
        if edition is None or not subscribers:
            continue
        instant = edition_instant(
            spec.timezone, edition.edition_date, edition.slot, edition.built_at
        )
        with db.read() as session:
            filters = word_filters(session, [s.id for s in subscribers])
        variants = {s.id: variant_of(s, spec, names, filters) for s in subscribers}
        unique = {v.key: v for v in variants.values()}
        with db.write() as session:
            planning_lock(session)  # another worker may be planning the same edition
            still = {s.id for s in ledger.subscribers_to_plan(session, edition)}
            subscribers = [s for s in subscribers if s.id in still]
            if not subscribers:
                continue
            stored = {
                key: ledger.render_for(
                    session, edition.id, key, partial(render_variant, db, settings, edition, v)
                )
                for key, v in unique.items()
            }
            waiting = set(
                session.scalars(
                    select(Delivery.subscriber_id).where(
                        Delivery.state == ledger.PENDING, Delivery.edition_id != edition.id
                    )
                )
            )
            rows = []
            for subscriber in subscribers:
                if subscriber.id in waiting:
                    ledger.supersede(session, subscriber.id, edition.id)
                due = personal_due(instant, subscriber, spec)
                rows.append((subscriber.id, stored[variants[subscriber.id].key], due))
            count = ledger.plan(session, edition.id, rows, now)
        planned += count
        log.info(
            "edition %s %s %s: planned %d messages for %d subscribers (%d variants)",
            spec.name,
            edition.edition_date,
            edition.slot or "-",
            count,
            len(subscribers),
            len(unique),
        )
    return planned


@dataclass
class DeliveryStats:
    sent: int = 0
    failed: int = 0
    skipped: int = 0
    unknown: int = 0  # ambiguous timeouts, not resent
    retried: int = 0
    rate_limited: int = 0
    blocked: int = 0
    migrated: int = 0
    plain_text_fallbacks: int = 0
    errors: dict[str, int] = field(default_factory=dict)


def never_left(error: TimedOut) -> bool:
    """A pool or connect timeout: the request was not sent, so resending is safe."""
    return isinstance(error.__cause__, httpx.PoolTimeout | httpx.ConnectTimeout)


def _seconds(retry_after: object) -> float:
    if isinstance(retry_after, timedelta):
        return retry_after.total_seconds()
    return float(retry_after)  # type: ignore[arg-type]


def _where(chat_id: int, message: ledger.DueMessage) -> str:
    if message.alert_id is not None:
        return f"chat {chat_id}, alert #{message.alert_id}"
    if message.broadcast_id is not None:
        return f"chat {chat_id}, broadcast #{message.broadcast_id}"
    return f"chat {chat_id}, edition #{message.edition_id} part {message.part + 1}/{message.parts}"


class Deliverer:
    """Plans and sends due ledger rows; one per process."""

    def __init__(
        self,
        bot: Bot,
        db: Database,
        settings: Settings,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        poll_seconds: float = 5.0,
        worker_id: int | None = None,
    ) -> None:
        self.bot = bot
        self.db = db
        self.settings = settings
        self.delivery = settings.delivery
        self.clock = clock
        self.poll_seconds = poll_seconds
        self.pacer = Pacer(
            self.delivery.messages_per_second,
            self.delivery.per_chat_interval,
            self.delivery.group_messages_per_minute,
        )
        self.stats = DeliveryStats()
        self.wake = asyncio.Event()
        self.stopping = asyncio.Event()
        self._in_flight = asyncio.Semaphore(self.delivery.concurrency)
        self.presence = WorkerPresence(db, worker_id)
        self._claim_chats = max(CLAIM_CHATS, 2 * self.delivery.concurrency)

    def recover(self) -> int:
        """Settle rows left mid-send by worker processes that are gone (a crash;
        on SQLite, any earlier run of this one process)."""
        with self.db.read() as session:
            stranded = ledger.stranded_workers(session, self.presence.id, self.clock())
        gone = self.presence.gone(stranded) if stranded else []
        if not gone:
            return 0
        with self.db.write() as session:
            ledger.release_claims(session, gone)
            count = ledger.recover_interrupted(
                session, resend=self.delivery.on_ambiguous == "resend", workers=gone
            )
        if count:
            log.warning(
                "delivery: %d message(s) were mid-send when the last process stopped; %s",
                count,
                "resending them (on_ambiguous = resend)"
                if self.delivery.on_ambiguous == "resend"
                else "marked unknown, not resent (on_ambiguous = skip)",
            )
            if self.delivery.on_ambiguous != "resend":
                self._counted("unknown", count)
        return count

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until ``stop``: on every wake-up (a new edition), else every poll.
        Stopping leaves unsent rows pending for the next start."""
        self.stopping = stop
        try:
            while not stop.is_set():
                try:
                    await self.tick()
                except Exception as exc:  # one bad round never ends delivery
                    log.error("delivery round failed: %s: %s", type(exc).__name__, exc)
                self.wake.clear()
                waiters = [
                    asyncio.ensure_future(stop.wait()),
                    asyncio.ensure_future(self.wake.wait()),
                ]
                await asyncio.wait(
                    waiters, timeout=self.poll_seconds, return_when="FIRST_COMPLETED"
                )
                for waiter in waiters:
                    waiter.cancel()
        finally:
            # Unsent rows this worker claimed are free for others at once (were
            # this to fail, the next worker's recovery releases them).
            with contextlib.suppress(Exception), self.db.write() as session:
                ledger.release_claims(session, [self.presence.id])
            self.presence.close()

    async def tick(self) -> int:
        """Plan what is missing, then send everything due. Returns messages handled."""
        self.presence.start()
        self.recover()
        plan_deliveries(self.db, self.settings, self.clock())
        plan_alerts(self.db, self.settings, self.clock())
        with self.db.write() as session:
            ledger.skip_inactive(session)
        handled = await self.send_due()
        if handled:
            stats = self.stats
            log.info(
                "delivery: %d handled; since start sent %d, failed %d, skipped %d, "
                "unknown %d (ambiguous timeouts, not resent), rate-limited %d, retried %d, "
                "blocked %d, migrated %d, plain-text retries %d",
                handled,
                stats.sent,
                stats.failed,
                stats.skipped,
                stats.unknown,
                stats.rate_limited,
                stats.retried,
                stats.blocked,
                stats.migrated,
                stats.plain_text_fallbacks,
            )
        return handled

    async def send_due(self) -> int:
        """Send everything due. Chats are worked on as a stream, not in lockstep
        batches: a chat stuck in a timeout or a RetryAfter never holds back the
        others, and one chat is never worked on by two tasks at once."""
        handled = 0
        active: dict[asyncio.Task[None], tuple[int, int]] = {}  # task -> (subscriber, rows)
        more = True
        while not self.stopping.is_set():
            busy = [subscriber for subscriber, _rows in active.values()]
            if more and len(active) < self._claim_chats // 2:
                with self.db.write() as session:
                    due = ledger.claim_due(
                        session, self.presence.id, self.clock(), chats=self._claim_chats, busy=busy
                    )
                claimed = 0
                for subscriber, group in groupby(due, key=lambda m: m.subscriber_id):
                    messages = list(group)
                    claimed += 1
                    task = asyncio.create_task(self._deliver_chat(messages))
                    active[task] = (subscriber, len(messages))
                more = claimed >= self._claim_chats
            if not active:
                break
            done, _pending = await asyncio.wait(active, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                _subscriber, rows = active.pop(task)
                handled += rows
                if task.exception() is not None:
                    raise task.exception()  # type: ignore[misc]
        for task in active:  # stopping: they end at their next pause
            await task
        return handled

    async def _deliver_chat(self, messages: Sequence[ledger.DueMessage]) -> None:
        chat_id = messages[0].chat_id
        for message in messages:
            outcome, chat_id = await self._deliver(message, chat_id)
            if outcome in ("blocked", "stopped"):
                return

    def _mark(self, message: ledger.DueMessage, state: str, **values: object) -> None:
        with self.db.write_statements() as connection:
            ledger.mark(connection, message.id, state, **values)  # type: ignore[arg-type]

    def _counted(self, outcome: MessageOutcome, count: int = 1) -> None:
        setattr(self.stats, outcome, getattr(self.stats, outcome) + count)
        for _ in range(count):
            record_message(outcome)

    def _count_error(self, name: str) -> None:
        self.stats.errors[name] = self.stats.errors.get(name, 0) + 1

    async def _backoff(self, attempt: int) -> None:
        delay = min(
            self.delivery.retry_backoff * 2 ** (attempt - 1), self.delivery.max_retry_backoff
        )
        await self._pause(delay)

    async def _pause(self, seconds: float) -> None:
        """Sleep, but wake at once when delivery is stopping (rows stay pending)."""
        if seconds > 0 and not self.stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), seconds)

    async def _deliver(self, message: ledger.DueMessage, chat_id: int) -> tuple[str, int]:
        """Send one part; returns (outcome, the chat id it ended up with)."""
        group = message.chat_type in GROUP_TYPES
        text, as_html = message.text, True
        failures = waits = 0
        where = _where(chat_id, message)
        while True:
            await self._pause(self.pacer.delay(chat_id, group=group))
            if self.stopping.is_set():
                return "stopped", chat_id
            # Only the request itself holds an in-flight slot: waits for a
            # RetryAfter or a backoff do not keep other chats waiting.
            async with self._in_flight:
                with self.db.write_statements() as connection:
                    if not ledger.claim(
                        connection, message.id, chat_id, self.presence.id, self.clock()
                    ):
                        return "taken", chat_id  # no longer pending: someone else has it
                failure: TelegramError | None = None
                try:
                    sent = await self.bot.send_message(
                        chat_id,
                        text,
                        parse_mode=ParseMode.HTML if as_html else None,
                        link_preview_options=LinkPreviewOptions(is_disabled=True),
                        allow_paid_broadcast=True if self.delivery.allow_paid_broadcast else None,
                        read_timeout=self.delivery.send_timeout,
                        write_timeout=self.delivery.send_timeout,
                        connect_timeout=self.delivery.send_timeout,
                        pool_timeout=self.delivery.send_timeout,
                    )
                except TelegramError as error:
                    failure = error
            if failure is None:
                self._mark(message, ledger.SENT, message_id=sent.message_id)
                self._counted("sent")
                observe_delivery_latency((self.clock() - message.due).total_seconds())
                return "sent", chat_id
            try:
                raise failure
            except RetryAfter as error:
                seconds = _seconds(error.retry_after)
                self._mark(message, ledger.PENDING, error=f"rate limited: retry after {seconds:g}s")
                self.stats.rate_limited += 1
                waits += 1
                if waits > MAX_RATE_LIMIT_WAITS:
                    self._mark(message, ledger.FAILED, error="rate limited too many times")
                    self._counted("failed")
                    return "failed", chat_id
                self.pacer.hold(chat_id, seconds)
                continue
            except Forbidden as error:
                self._mark(message, ledger.SKIPPED, error=f"forbidden: {error.message}")
                with self.db.write() as session:
                    subscriber = session.get(Subscriber, message.subscriber_id)
                    if subscriber is not None:
                        deactivate(session, subscriber, f"forbidden: {error.message}")
                    ledger.skip_remaining(
                        session, message.subscriber_id, "subscriber blocked the bot"
                    )
                log.info("%s: %s; subscriber marked inactive", where, error.message)
                self.stats.blocked += 1
                self._counted("skipped")
                return "blocked", chat_id
            except ChatMigrated as error:
                new_chat = int(error.new_chat_id)
                self._mark(message, ledger.PENDING, error=f"chat migrated to {new_chat}")
                with self.db.write() as session:
                    move_chat(session, chat_id, new_chat)
                log.info("%s: chat migrated to %s; delivering there", where, new_chat)
                self.stats.migrated += 1
                chat_id = new_chat
                where = _where(chat_id, message)
                continue
            except BadRequest as error:
                log.warning("%s: refused: %s", where, error.message)
                self._count_error("bad request")
                if as_html:
                    self._mark(message, ledger.PENDING, error=f"bad request: {error.message}")
                    text, as_html = plain_text(text), False
                    self.stats.plain_text_fallbacks += 1
                    continue
                self._mark(message, ledger.FAILED, error=f"bad request: {error.message}")
                self._counted("failed")
                return "failed", chat_id
            except TimedOut as error:
                self._count_error("timeout")
                if not never_left(error) and self.delivery.on_ambiguous == "skip":
                    self._mark(
                        message, ledger.UNKNOWN, error="timed out after sending: may have arrived"
                    )
                    log.warning("%s: timed out after sending; marked unknown, not resent", where)
                    self._counted("unknown")
                    return "unknown", chat_id
                failures += 1
                if failures >= self.delivery.max_attempts:
                    self._mark(message, ledger.FAILED, error="timed out")
                    self._counted("failed")
                    return "failed", chat_id
                self._mark(message, ledger.PENDING, error="timed out")
                self._counted("retried")
                await self._backoff(failures)
                continue
            except NetworkError as error:
                self._count_error("network")
                failures += 1
                if failures >= self.delivery.max_attempts:
                    self._mark(message, ledger.FAILED, error=f"network: {error.message}")
                    log.warning("%s: giving up after %d tries: %s", where, failures, error.message)
                    self._counted("failed")
                    return "failed", chat_id
                self._mark(message, ledger.PENDING, error=f"network: {error.message}")
                self._counted("retried")
                await self._backoff(failures)
                continue
            except TelegramError as error:
                self._mark(message, ledger.FAILED, error=f"{type(error).__name__}: {error.message}")
                log.warning("%s: failed: %s", where, error.message)
                self._counted("failed")
                return "failed", chat_id
