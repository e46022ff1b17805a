"""Polite, bounded HTTP fetching of one source URL.

httpx gives per-operation timeouts; this module adds what it lacks: a total
deadline per fetch (a server dripping one byte at a time still ends), a body
limit enforced while streaming and after decompression (we decompress
ourselves, bounded), a redirect limit with loop detection, an address check on
every hop, and conditional GET. Errors come out as ``digests.errors.FetchError``.
"""

from __future__ import annotations

import asyncio
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import Message
from urllib.parse import urljoin

import httpx

from digests import __version__
from digests.errors import (
    FetchError,
    FetchTimeout,
    HTTPStatusError,
    LengthMismatch,
    TooLarge,
    TooManyRedirects,
)
from digests.ingest.netguard import IPNetwork, check_url
from digests.ingest.retry_after import STATUSES_WITH_RETRY_AFTER, retry_after_seconds
from digests.ingest.urls import redact_url

USER_AGENT = f"newsdigest/{__version__} (feed reader; +https://github.com/newsdigest/newsdigest)"
_REDIRECTS = {301, 302, 303, 307, 308}
_PERMANENT_REDIRECTS = {301, 308}
# How long a read past the body's end may wait once the socket shows something:
# bytes already there come at once; a TLS record that is not data (a session
# ticket) would otherwise hold the fetch for a whole read timeout.
_PAST_THE_END_WAIT = 1.0
_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, application/json;q=0.9, "
    "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
)


@dataclass(frozen=True, slots=True)
class FetchPolicy:
    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    total_deadline: float = 60.0
    max_bytes: int = 10 * 1024 * 1024
    max_redirects: int = 5
    allowed_networks: tuple[IPNetwork, ...] = ()
    user_agent: str = USER_AGENT


@dataclass(frozen=True, slots=True)
class FetchResult:
    url: str
    status: int
    body: bytes | None
    content_type: str | None
    charset: str | None
    etag: str | None
    last_modified: str | None
    # Where the leading permanent redirects (301, 308) led: the feed's new
    # address. None without any, or when the first redirect was temporary.
    moved_to: str | None = None

    @property
    def not_modified(self) -> bool:
        return self.status == 304


def make_client(policy: FetchPolicy) -> httpx.AsyncClient:
    """One client per run: connection pooling across sources, no automatic redirects."""
    timeout = httpx.Timeout(
        connect=policy.connect_timeout,
        read=policy.read_timeout,
        write=policy.read_timeout,
        pool=policy.total_deadline,
    )
    return httpx.AsyncClient(
        timeout=timeout,
        follow_redirects=False,
        headers={"User-Agent": policy.user_agent},
        trust_env=False,
    )


def _content_type(headers: httpx.Headers) -> tuple[str | None, str | None]:
    raw = headers.get("content-type")
    if not raw:
        return None, None
    message = Message()
    message["content-type"] = raw
    charset = message.get_param("charset")
    return message.get_content_type(), charset if isinstance(charset, str) else None


class _Decompressor:
    """gzip/deflate decoding that never expands past the room left under the size cap."""

    def __init__(self, content_encoding: str) -> None:
        encoding = content_encoding.strip().lower()
        self._zlib: zlib._Decompress | None
        if encoding in {"", "identity"}:
            self._zlib = None
        elif encoding in {"gzip", "x-gzip"}:
            self._zlib = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif encoding == "deflate":
            self._zlib = zlib.decompressobj()
        else:
            raise FetchError(f"unsupported content encoding {encoding!r}")
        self._raw_deflate_retry = encoding == "deflate"

    def feed(self, chunk: bytes, room: int) -> bytes:
        if self._zlib is None:
            return chunk
        try:
            out = self._zlib.decompress(chunk, room + 1)
        except zlib.error as exc:
            if self._raw_deflate_retry:
                # "deflate" is sometimes sent raw, without the zlib header.
                self._raw_deflate_retry = False
                self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
                return self.feed(chunk, room)
            raise FetchError(f"corrupt compressed body: {exc}") from exc
        self._raw_deflate_retry = False
        if self._zlib.unconsumed_tail:
            raise TooLarge("body exceeds the size limit after decompression")
        return out

    def finish(self, room: int) -> bytes:
        if self._zlib is None:
            return b""
        rest = self._zlib.flush()
        if len(rest) > room:
            raise TooLarge("body exceeds the size limit after decompression")
        return rest


def _declared_length(headers: httpx.Headers) -> int | None:
    """The Content-Length that frames the body (chunked framing ignores it)."""
    declared = headers.get("content-length", "").strip()
    if "chunked" in headers.get("transfer-encoding", "").lower() or not declared.isdigit():
        return None
    return int(declared)


def _parser_leftover(response: httpx.Response) -> bytes:
    """Bytes the HTTP/1.1 parser (h11) has read from the socket and not yet
    used: with the body complete, what the server sent past its end. Neither
    httpx nor httpcore shows them, so this follows their private attributes
    (httpx is pinned below 0.29; tests/test_source_health.py fails if the path
    moves); a path not found reads as nothing left over."""
    node: object = response.stream
    for name in ("_stream", "_httpcore_stream", "_stream", "_connection", "_h11_state"):
        node = getattr(node, name, None)
        if node is None:
            return b""
    leftover = getattr(node, "trailing_data", (b"", False))[0]
    return leftover if isinstance(leftover, bytes) else b""


async def _sent_past_the_end(response: httpx.Response) -> bool:
    """Whether the server sent more than the declared length: bytes the parser
    read already, or bytes waiting on the socket (a closed socket is readable
    too, and reads as b"")."""
    if _parser_leftover(response):
        return True
    stream = response.extensions.get("network_stream")
    if stream is None or not stream.get_extra_info("is_readable"):
        return False
    try:
        return bool(await stream.read(1, timeout=_PAST_THE_END_WAIT))
    except Exception:  # the transport's own errors (not httpx's): nothing more to read
        return False


async def _read_body(response: httpx.Response, limit: int) -> bytes:
    """The body, decompressed within ``limit``; exactly as long as declared."""
    declared = _declared_length(response.headers)
    if declared is not None and declared > limit:
        raise TooLarge(f"body of {declared} bytes exceeds the limit of {limit}")
    decoder = _Decompressor(response.headers.get("content-encoding", ""))
    chunks: list[bytes] = []
    size = 0
    received = 0  # as sent (compressed), which is what Content-Length counts
    try:
        # Checked as the last declared byte arrives, before the connection is
        # let go: past that point nothing tells what else the server sent.
        if declared == 0 and await _sent_past_the_end(response):
            raise LengthMismatch(declared, longer=True)
        async for chunk in response.aiter_raw():
            received += len(chunk)
            if received == declared and await _sent_past_the_end(response):
                raise LengthMismatch(declared, longer=True)
            data = decoder.feed(chunk, limit - size)
            size += len(data)
            if size > limit:
                raise TooLarge(f"body exceeds the limit of {limit} bytes")
            chunks.append(data)
    except httpx.RemoteProtocolError as exc:
        if declared is not None and received < declared:
            raise LengthMismatch(declared, longer=False, received=received) from exc
        raise
    chunks.append(decoder.finish(limit - size))
    return b"".join(chunks)


async def _fetch(
    client: httpx.AsyncClient,
    url: str,
    policy: FetchPolicy,
    etag: str | None,
    last_modified: str | None,
) -> FetchResult:
    headers = {"Accept": _ACCEPT, "Accept-Encoding": "gzip, deflate"}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    seen: set[str] = set()
    current = url
    moved_to: str | None = None
    moving = True  # every redirect so far was permanent
    for _hop in range(policy.max_redirects + 1):
        if current in seen:
            raise TooManyRedirects(f"redirect loop at {redact_url(current)}")
        seen.add(current)
        await check_url(current, policy.allowed_networks)
        async with client.stream("GET", current, headers=headers) as response:
            if response.status_code in _REDIRECTS and "location" in response.headers:
                current = urljoin(current, response.headers["location"])
                moving = moving and response.status_code in _PERMANENT_REDIRECTS
                if moving:
                    moved_to = current
                continue
            if response.status_code == 304:
                return FetchResult(
                    current, 304, None, None, None, etag, last_modified, moved_to=moved_to
                )
            if response.status_code >= 400 or response.status_code < 200:
                wait = None
                if response.status_code in STATUSES_WITH_RETRY_AFTER:
                    wait = retry_after_seconds(
                        response.headers.get("retry-after"), datetime.now(UTC)
                    )
                raise HTTPStatusError(response.status_code, retry_after=wait)
            body = await _read_body(response, policy.max_bytes)
            content_type, charset = _content_type(response.headers)
            return FetchResult(
                url=current,
                status=response.status_code,
                body=body,
                content_type=content_type,
                charset=charset,
                etag=response.headers.get("etag"),
                last_modified=response.headers.get("last-modified"),
                moved_to=moved_to,
            )
    raise TooManyRedirects(f"more than {policy.max_redirects} redirects")


async def fetch_url(
    client: httpx.AsyncClient,
    url: str,
    policy: FetchPolicy,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
) -> FetchResult:
    """GET ``url`` within ``policy``; a 304 comes back with ``body=None``."""
    try:
        async with asyncio.timeout(policy.total_deadline):
            return await _fetch(client, url, policy, etag, last_modified)
    except TimeoutError as exc:
        raise FetchTimeout(f"no complete answer within {policy.total_deadline:g} s") from exc
    except httpx.TimeoutException as exc:
        raise FetchTimeout(f"{type(exc).__name__} (no data within the timeout)") from exc
    except httpx.InvalidURL as exc:
        raise FetchError(f"invalid URL: {exc}") from exc
    except httpx.HTTPError as exc:
        detail = " ".join(str(exc).split())[:200] or "connection failed"
        raise FetchError(f"{type(exc).__name__}: {detail}") from exc
