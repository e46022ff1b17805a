"""Broadcast pacing below Telegram's limits, our own (not PTB's AIORateLimiter).

PTB 22.8's limiter knows 30 messages/s overall and 20/min per group only (no
per-private-chat limit), re-raises RetryAfter with its default
``max_retries=0``, and pauses every request on one RetryAfter. Here each send
reserves the next free slot under three limits at once: the overall rate,
one message per ``per_chat_interval`` in a private chat, and
``group_messages_per_minute`` in a group (spread evenly). A RetryAfter holds
only the chat it was about, for exactly as long as Telegram asked.

Reservations are O(1) and fair: a send waits for its own slot, never polls;
the caller sleeps (and can be woken to stop).
"""

from __future__ import annotations

import time
from collections.abc import Callable


class Pacer:
    def __init__(
        self,
        messages_per_second: float,
        per_chat_interval: float,
        group_messages_per_minute: int,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.spacing = 1.0 / messages_per_second if messages_per_second > 0 else 0.0
        self.chat_spacing = per_chat_interval
        self.group_spacing = 60.0 / group_messages_per_minute if group_messages_per_minute else 0.0
        self._clock = clock
        self._next_slot = 0.0
        self._chat_ready: dict[int, float] = {}
        self._reservations = 0

    def reserve(self, chat_id: int, *, group: bool) -> float:
        """Book the next send to ``chat_id``; returns the clock time it may go."""
        now = self._clock()
        at = max(now, self._chat_ready.get(chat_id, 0.0), self._next_slot)
        if self.spacing:
            self._next_slot = at + self.spacing
        self._chat_ready[chat_id] = at + (self.group_spacing if group else self.chat_spacing)
        self._reservations += 1
        if self._reservations % 4096 == 0:
            self._forget_idle(now)
        return at

    def delay(self, chat_id: int, *, group: bool) -> float:
        """Book the next send to ``chat_id``; returns how many seconds to wait for it."""
        return max(0.0, self.reserve(chat_id, group=group) - self._clock())

    def hold(self, chat_id: int, seconds: float) -> None:
        """Telegram asked us to wait ``seconds`` before writing to this chat again."""
        self._chat_ready[chat_id] = max(self._chat_ready.get(chat_id, 0.0), self._clock() + seconds)

    def _forget_idle(self, now: float) -> None:
        for chat_id in [c for c, ready in self._chat_ready.items() if ready < now]:
            del self._chat_ready[chat_id]
