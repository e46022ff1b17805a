"""One exception tree for the engine.

    NewsdigestError
     ├── ConfigError            bad configuration (names the key)
     ├── InputError             a file or argument the user gave cannot be used
     │    └── DecodeError       bytes that no supported encoding can read
     ├── FeedError              a response that is not a usable feed
     │    ├── UnsupportedFormat the body is not RSS/Atom/RDF/JSON Feed
     │    ├── UnsafeFeed        the feed declares XML entities or nests too deep
     │    └── ParseTimeout      parsing ran past its time budget and was stopped
     ├── FetchError             the network part of getting a source
     │    ├── BlockedAddress    private/loopback/link-local target, bad scheme
     │    ├── FetchTimeout      a per-operation timeout or the total deadline
     │    ├── TooLarge          body over the size limit (after decompression)
     │    ├── TooManyRedirects  redirect limit reached or a loop
     │    ├── LengthMismatch    body shorter or longer than its Content-Length
     │    └── HTTPStatusError   a non-2xx, non-304 answer (carries ``status``)
     └── StoreError             the database refused (carries nothing secret)
          ├── Conflict          a row that must be unique exists already
          ├── IndexBusy         another process holds the search index's writer
          └── DatabaseBusy      another long-running process has the SQLite file

Library errors are translated at the boundary with ``raise ... from exc``;
every message is one line fit for a log line or stderr.
"""

from __future__ import annotations


class NewsdigestError(Exception):
    """Base of every error the engine raises on purpose."""


class ConfigError(NewsdigestError):
    pass


class InputError(NewsdigestError):
    pass


class DecodeError(InputError):
    pass


class FeedError(NewsdigestError):
    pass


class UnsupportedFormat(FeedError):
    pass


class UnsafeFeed(FeedError):
    pass


class ParseTimeout(FeedError):
    def __init__(self, budget_seconds: float) -> None:
        super().__init__(
            f"parsing stopped after {budget_seconds:g} s (the time budget): "
            "the feed is too costly to parse"
        )
        self.budget_seconds = budget_seconds


class FetchError(NewsdigestError):
    pass


class BlockedAddress(FetchError):
    pass


class FetchTimeout(FetchError):
    pass


class TooLarge(FetchError):
    pass


class TooManyRedirects(FetchError):
    pass


class LengthMismatch(FetchError):
    """The body is not as long as its ``Content-Length`` said (which counts the
    bytes as sent: compressed, when they are): cut short, or followed by more."""

    def __init__(self, declared: int, *, longer: bool, received: int | None = None) -> None:
        message = (
            f"the body was {'longer' if longer else 'shorter'} than its "
            f"Content-Length ({declared} bytes)"
        )
        if received is not None:
            message += f": the connection closed after {received} bytes"
        super().__init__(message)
        self.declared = declared
        self.longer = longer
        self.received = received


class HTTPStatusError(FetchError):
    """An error status; ``retry_after``: the seconds the server asked us to wait
    (429 and 503 with ``Retry-After``), else None."""

    def __init__(
        self, status: int, message: str | None = None, *, retry_after: float | None = None
    ) -> None:
        if message is None:
            message = f"HTTP status {status}"
            if retry_after is not None:
                message += f"; the server asks to wait {_duration(retry_after)}"
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


def _duration(seconds: float) -> str:
    if seconds >= 3600:
        return f"{seconds / 3600:.3g} h"
    if seconds >= 60:
        return f"{seconds / 60:.3g} min"
    return f"{seconds:.0f} s"


class StoreError(NewsdigestError):
    pass


class Conflict(StoreError):
    pass


class IndexBusy(StoreError):
    pass


class DatabaseBusy(StoreError):
    pass
