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

A reserved slot is a plan: when the event loop is late (a stall, a slow
database write), every send whose slot passed meanwhile wakes at once and
they would leave together. So right before a message leaves, ``admit``
checks the sends of the last second as they really happened, and a send
waits (``window_wait``) while ``messages_per_second`` of them already went:
no one-second window ever holds more sends than the rate, however late the
loop ran (``tests/test_delivery.py`` proves it on a virtual clock).
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable, Iterable

WINDOW_SECONDS = 1.0


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
        # Sends allowed in any window of WINDOW_SECONDS, and when the last ones left.
        self.window_limit = (
            max(1, math.floor(messages_per_second * WINDOW_SECONDS))
            if messages_per_second > 0
            else 0
        )
        self._sent: deque[float] = deque()

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

    def window_wait(self) -> float:
        """Seconds until one more send keeps every window within the rate (0: now)."""
        if self.window_limit <= 0:
            return 0.0
        now = self._clock()
        while self._sent and self._sent[0] <= now - WINDOW_SECONDS:
            self._sent.popleft()
        if len(self._sent) < self.window_limit:
            return 0.0
        # A microsecond's margin: float rounding never squeezes one more send in.
        return self._sent[-self.window_limit] + WINDOW_SECONDS - now + 1e-6

    def admit(self) -> bool:
        """Record a send leaving now, if the window allows it (``window_wait`` is 0)."""
        if self.window_wait() > 0.0:
            return False
        if self.window_limit > 0:
            self._sent.append(self._clock())
        return True

    def hold(self, chat_id: int, seconds: float) -> None:
        """Telegram asked us to wait ``seconds`` before writing to this chat again."""
        self._chat_ready[chat_id] = max(self._chat_ready.get(chat_id, 0.0), self._clock() + seconds)

    def _forget_idle(self, now: float) -> None:
        for chat_id in [c for c, ready in self._chat_ready.items() if ready < now]:
            del self._chat_ready[chat_id]


def busiest_window(times: Iterable[float], seconds: float = WINDOW_SECONDS) -> int:
    """The most of ``times`` in any window ``[t, t + seconds)``."""
    ordered = sorted(times)
    most = start = 0
    for end, at in enumerate(ordered):
        while ordered[start] <= at - seconds:
            start += 1
        most = max(most, end - start + 1)
    return most
