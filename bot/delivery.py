"""Deliver editions to subscribers through the ledger: exactly once, paced.

Planning is the engine's (``Engine.plan_deliveries``, run off the event loop);
this module sends, and every ledger write it makes runs off the loop too, the
claims and marks of all messages in flight grouped into shared transactions
(``bot.ledger_writes``).

Sending: due rows are claimed (``sending``, committed) right before the
message leaves and marked after Telegram answers. Parts of one chat go in
order. What Telegram says decides what happens next:

- 429 RetryAfter: wait exactly as long as asked (that chat only), then again;
- 403 Forbidden (blocked, kicked): the subscriber becomes inactive, the rest
  of its messages are skipped;
- ChatMigrated: the subscription moves to the new chat id and is sent there
  (merged into the new chat's own subscription, if it has one: each part once);
- 400 BadRequest: logged with chat and reason, sent once more as plain text,
  then failed;
- 5xx and network errors: retried with doubling waits, at most
  ``max_attempts`` times;
- a part that fails for good withholds the later parts of its edition to that
  chat (``withheld``): a reader never gets an edition without its beginning;
- a timeout after the request left is ambiguous (Telegram has no idempotency
  key): ``on_ambiguous = "skip"`` marks it ``unknown`` and never resends;
  "resend" tries again. A pool or connect timeout never left: retried.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from itertools import groupby

import httpx
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

from bot.ledger_writes import LedgerWrites
from bot.pacing import Pacer
from bot.render import plain_text
from bot.services import offload
from digests.engine import Engine
from digests.metrics import MessageOutcome, observe_delivery_latency, record_message
from digests.store import deliveries as ledger
from digests.store.workers import WorkerPresence

log = logging.getLogger("newsdigest.delivery")

# Chats claimed at a time (with all their due messages): enough to keep every
# in-flight slot busy, few enough that several workers share a broadcast.
CLAIM_CHATS = 128
MAX_RATE_LIMIT_WAITS = 20
# Channels get the group pace too: Telegram documents 20/min for groups only,
# and a digest is a few messages a day, so caution costs nothing.
GROUP_TYPES = ("group", "supergroup", "channel")


@dataclass
class DeliveryStats:
    sent: int = 0
    failed: int = 0
    skipped: int = 0
    unknown: int = 0  # ambiguous timeouts, not resent
    withheld: int = 0  # parts after a part that failed
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
    """Sends due ledger rows (the engine plans them); one per process. Every
    database call runs off the event loop."""

    def __init__(
        self,
        bot: Bot,
        engine: Engine,
        *,
        poll_seconds: float = 5.0,
        worker_id: int | None = None,
    ) -> None:
        self.bot = bot
        self.engine = engine
        self.db = engine.db
        self.settings = engine.settings
        self.delivery = engine.settings.delivery
        self.clock = engine.clock
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
        self.presence = WorkerPresence(self.db, worker_id)
        self.ledger_writes = LedgerWrites(self.db)
        self._claim_chats = max(CLAIM_CHATS, 2 * self.delivery.concurrency)

    def recover(self) -> int:
        """Settle rows left mid-send by worker processes that are gone (a crash;
        on SQLite, any earlier run of this one process). Blocking."""
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
                # Counted here, in the worker thread, so that a failure later in
                # the round cannot lose the count (no other code touches this field).
                self._counted("unknown", count)
        return count

    def _prepare(self) -> int:
        """A round's blocking part: presence, recovery, planning. Returns how many
        interrupted messages were settled."""
        self.presence.start()
        recovered = self.recover()
        self.engine.plan_deliveries()
        return recovered

    def _release(self) -> None:
        # Unsent rows this worker claimed are free for others at once (were
        # this to fail, the next worker's recovery releases them).
        with contextlib.suppress(Exception), self.db.write() as session:
            ledger.release_claims(session, [self.presence.id])
        self.presence.close()

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until ``stop``: on every wake-up (a new edition), else every poll.
        Stopping leaves unsent rows pending for the next start."""
        self.stopping = stop
        try:
            while not stop.is_set():
                try:
                    await self.tick()
                except Exception:  # one bad round never ends delivery
                    log.exception("delivery round failed")
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
            await offload(self._release)
            await offload(self.ledger_writes.close)

    async def tick(self) -> int:
        """Plan what is missing, then send everything due. Returns messages handled."""
        await offload(self._prepare)
        handled = await self.send_due()
        if handled:
            stats = self.stats
            log.info(
                "delivery: %d handled; since start sent %d, failed %d, withheld %d, skipped %d, "
                "unknown %d (ambiguous timeouts, not resent), rate-limited %d, retried %d, "
                "blocked %d, migrated %d, plain-text retries %d",
                handled,
                stats.sent,
                stats.failed,
                stats.withheld,
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
                due = await offload(self._claim_due, busy)
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
            if outcome == "taken" and message.edition_id is not None:
                # Another worker has it, or an earlier part has not gone out yet
                # (a row a crash left mid-send, settled by the next round's
                # recovery): the rest of the chat waits for a later round.
                await self.ledger_writes.run(
                    partial(
                        ledger.release_chat,
                        subscriber_id=message.subscriber_id,
                        worker=self.presence.id,
                    )
                )
                return

    def _claim_due(self, busy: list[int]) -> list[ledger.DueMessage]:
        with self.db.write() as session:
            return ledger.claim_due(
                session, self.presence.id, self.clock(), chats=self._claim_chats, busy=busy
            )

    async def _claim(self, message: ledger.DueMessage, chat_id: int) -> bool:
        worker, now = self.presence.id, self.clock()
        return await self.ledger_writes.run(
            lambda connection: ledger.claim(connection, message.id, chat_id, worker, now)
        )

    async def _mark(
        self,
        message: ledger.DueMessage,
        state: str,
        *,
        counted: MessageOutcome | None = None,
        **values: object,
    ) -> None:
        if counted is not None:  # before the row settles: whoever sees it settled sees it counted
            self._counted(counted)
        await self.ledger_writes.run(
            lambda connection: ledger.mark(connection, message.id, state, **values)  # type: ignore[arg-type]
        )

    async def _fail(self, message: ledger.DueMessage, error: str, where: str) -> None:
        """The message failed for good; the later parts of its edition are withheld."""
        self._counted("failed")
        withheld = await self.ledger_writes.run(
            lambda connection: ledger.fail(connection, message.id, error)
        )
        if withheld:
            self._counted("withheld", withheld)
            log.warning(
                "%s failed; the %d later part(s) of the edition are withheld", where, withheld
            )

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
                if not await self._claim(message, chat_id):
                    return "taken", chat_id  # no longer pending: someone else has it
                # The last check before it leaves, after every other wait (the
                # claim's shared write may release many sends at once).
                while not self.pacer.admit():
                    await self._pause(self.pacer.window_wait())
                    if self.stopping.is_set():  # it never left: pending again
                        await self._mark(message, ledger.PENDING)
                        return "stopped", chat_id
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
                observe_delivery_latency((self.clock() - message.due).total_seconds())
                await self._mark(message, ledger.SENT, counted="sent", message_id=sent.message_id)
                return "sent", chat_id
            try:
                raise failure
            except RetryAfter as error:
                seconds = _seconds(error.retry_after)
                await self._mark(
                    message, ledger.PENDING, error=f"rate limited: retry after {seconds:g}s"
                )
                self.stats.rate_limited += 1
                waits += 1
                if waits > MAX_RATE_LIMIT_WAITS:
                    await self._fail(message, "rate limited too many times", where)
                    return "failed", chat_id
                self.pacer.hold(chat_id, seconds)
                continue
            except Forbidden as error:
                await self._mark(
                    message, ledger.SKIPPED, counted="skipped", error=f"forbidden: {error.message}"
                )
                await offload(
                    self.engine.chat_blocked, message.subscriber_id, f"forbidden: {error.message}"
                )
                log.info("%s: %s; subscriber marked inactive", where, error.message)
                self.stats.blocked += 1
                return "blocked", chat_id
            except ChatMigrated as error:
                new_chat = int(error.new_chat_id)
                await self._mark(message, ledger.PENDING, error=f"chat migrated to {new_chat}")
                await offload(self.engine.move_chat, chat_id, new_chat)
                log.info("%s: chat migrated to %s; delivering there", where, new_chat)
                self.stats.migrated += 1
                chat_id = new_chat
                where = _where(chat_id, message)
                continue
            except BadRequest as error:
                log.warning("%s: refused: %s", where, error.message)
                self._count_error("bad request")
                if as_html:
                    await self._mark(message, ledger.PENDING, error=f"bad request: {error.message}")
                    text, as_html = plain_text(text), False
                    self.stats.plain_text_fallbacks += 1
                    continue
                await self._fail(message, f"bad request: {error.message}", where)
                return "failed", chat_id
            except TimedOut as error:
                self._count_error("timeout")
                if not never_left(error) and self.delivery.on_ambiguous == "skip":
                    await self._mark(
                        message,
                        ledger.UNKNOWN,
                        counted="unknown",
                        error="timed out after sending: may have arrived",
                    )
                    log.warning("%s: timed out after sending; marked unknown, not resent", where)
                    return "unknown", chat_id
                failures += 1
                if failures >= self.delivery.max_attempts:
                    await self._fail(message, "timed out", where)
                    return "failed", chat_id
                await self._mark(message, ledger.PENDING, counted="retried", error="timed out")
                await self._backoff(failures)
                continue
            except NetworkError as error:
                self._count_error("network")
                failures += 1
                if failures >= self.delivery.max_attempts:
                    await self._fail(message, f"network: {error.message}", where)
                    log.warning("%s: giving up after %d tries: %s", where, failures, error.message)
                    return "failed", chat_id
                await self._mark(
                    message, ledger.PENDING, counted="retried", error=f"network: {error.message}"
                )
                await self._backoff(failures)
                continue
            except TelegramError as error:
                await self._fail(message, f"{type(error).__name__}: {error.message}", where)
                log.warning("%s: failed: %s", where, error.message)
                return "failed", chat_id
