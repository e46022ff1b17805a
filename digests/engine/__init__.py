"""The engine: built once from ``Settings``, one method per use case.

Every entry point (chat handlers, command-line commands, ``run``, ``worker``,
``run-scheduler``) is an adapter over one ``Engine``: it parses its input,
calls a use case, and presents the result. The engine owns the database, the
search index choice, the segmenter's settings and the clock; it never imports
Telegram (messages are made by the ``Renderer`` its caller passes in).

Use cases are plain blocking functions (database calls, CPU work). An async
caller runs them off its event loop (``asyncio.to_thread``); the one async
use case, ``refresh_sources``, waits on the network and runs its blocking
parts off the loop itself.

The use cases are grouped by who needs them, one module each: ``core`` (what
the engine owns), ``work`` (the periodic work), ``schedules``, ``readers``
(subscribers and their searches), ``web`` (the edition pages) and
``operators``; ``Engine`` is all of them.
"""

from __future__ import annotations

from digests.engine.core import EngineCore, apply_text_settings, utc_now
from digests.engine.operators import FeedImport, Migration, OperatorCases
from digests.engine.readers import LatestEdition, Subscribed
from digests.engine.web import WebCases

__all__ = [
    "Engine",
    "EngineCore",
    "FeedImport",
    "LatestEdition",
    "Migration",
    "Subscribed",
    "apply_text_settings",
    "utc_now",
]


class Engine(OperatorCases, WebCases):
    """One per process; every method is a use case (blocking: call off the loop)."""
