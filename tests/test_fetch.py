"""The bounded fetcher against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import pytest

from digests.config import FetchSettings
from digests.errors import (
    BlockedAddress,
    FetchTimeout,
    HTTPStatusError,
    TooLarge,
    TooManyRedirects,
)
from digests.feedserver import FeedServer
from digests.ingest.fetch import USER_AGENT, fetch_url, make_client
from digests.ingest.netguard import address_allowed, parse_networks
from digests.sources.refresh import policy_from_settings


async def _fetch(settings: FetchSettings, url: str, **kwargs: str | None):
    policy = policy_from_settings(settings)
    async with make_client(policy) as client:
        return await fetch_url(client, url, policy, **kwargs)  # type: ignore[arg-type]


async def test_fetch_gzip_feed_with_validators(
    feed_server: FeedServer, fetch_settings: FetchSettings
) -> None:
    result = await _fetch(fetch_settings, feed_server.url("files/zh_wire.xml"))
    assert result.status == 200 and result.body is not None
    assert result.body.startswith(b"<?xml") and "临江晚报".encode() in result.body
    assert result.content_type == "application/rss+xml" and result.etag
    sent = [r for r in feed_server.requests if r.path == "/files/zh_wire.xml"][-1]
    assert sent.headers["user-agent"] == USER_AGENT
    assert "gzip" in sent.headers["accept-encoding"]


async def test_second_fetch_is_a_304(
    feed_server: FeedServer, fetch_settings: FetchSettings
) -> None:
    already = len(feed_server.requests)  # the server is shared by the whole session
    first = await _fetch(fetch_settings, feed_server.url("files/en_world.xml"))
    second = await _fetch(
        fetch_settings,
        feed_server.url("files/en_world.xml"),
        etag=first.etag,
        last_modified=first.last_modified,
    )
    assert second.not_modified and second.body is None
    by_date = await _fetch(
        fetch_settings, feed_server.url("files/en_world.xml"), last_modified=first.last_modified
    )
    assert by_date.not_modified
    sent = [r for r in feed_server.requests[already:] if r.path == "/files/en_world.xml"]
    assert sent[1].headers["if-none-match"] == first.etag
    assert sent[2].headers["if-modified-since"] == first.last_modified


@pytest.mark.parametrize("status", [404, 410, 500, 503])
async def test_error_status(
    feed_server: FeedServer, fetch_settings: FetchSettings, status: int
) -> None:
    with pytest.raises(HTTPStatusError) as caught:
        await _fetch(fetch_settings, feed_server.url(f"status/{status}"))
    assert caught.value.status == status


@pytest.mark.parametrize("path", ["hang", "drip"])
async def test_total_deadline_ends_slow_servers(
    feed_server: FeedServer, fetch_settings: FetchSettings, path: str
) -> None:
    settings = fetch_settings.model_copy(update={"read_timeout": 60.0, "total_deadline": 1.0})
    # Ended by the total deadline (its own message), not by a per-read timeout.
    with pytest.raises(FetchTimeout, match="no complete answer within 1 s"):
        await _fetch(settings, feed_server.url(path))


async def test_redirects_are_followed_within_the_limit(
    feed_server: FeedServer, fetch_settings: FetchSettings
) -> None:
    result = await _fetch(fetch_settings, feed_server.url("redirect/2/files/zh_wire.xml"))
    assert result.status == 200 and result.url.endswith("/files/zh_wire.xml")
    with pytest.raises(TooManyRedirects):
        await _fetch(fetch_settings, feed_server.url("redirect/5/files/zh_wire.xml"))


async def test_redirect_loop(feed_server: FeedServer, fetch_settings: FetchSettings) -> None:
    with pytest.raises(TooManyRedirects, match="loop"):
        await _fetch(fetch_settings, feed_server.url("loop/a"))


@pytest.mark.parametrize("path", ["endless", "bomb"])
async def test_size_limit_while_streaming_and_after_decompression(
    feed_server: FeedServer, fetch_settings: FetchSettings, path: str
) -> None:
    with pytest.raises(TooLarge):
        await _fetch(fetch_settings, feed_server.url(path))


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:{port}/files/zh_wire.xml",
        "http://2130706433:{port}/files/zh_wire.xml",
        "http://127.1:{port}/files/zh_wire.xml",
        "http://[::ffff:127.0.0.1]:{port}/files/zh_wire.xml",
        "http://localhost:{port}/files/zh_wire.xml",
        "http://0.0.0.0:{port}/files/zh_wire.xml",
    ],
    ids=["dotted", "decimal", "short", "ipv4-mapped-ipv6", "localhost", "unspecified"],
)
async def test_private_addresses_refused_in_every_spelling(
    feed_server: FeedServer, url: str
) -> None:
    before = len(feed_server.requests)
    with pytest.raises(BlockedAddress):
        await _fetch(FetchSettings(), url.format(port=feed_server.port))
    assert len(feed_server.requests) == before  # refused before connecting


async def test_redirect_to_private_address_is_refused(
    feed_server: FeedServer, fetch_settings: FetchSettings
) -> None:
    # Only the first hop's network is allowed: 127.0.0.2 is not in 127.0.0.1/32.
    settings = fetch_settings.model_copy(update={"allowed_networks": ["127.0.0.1/32"]})
    target = f"http://127.0.0.2:{feed_server.port}/files/zh_wire.xml"
    with pytest.raises(BlockedAddress):
        await _fetch(settings, feed_server.url(f"to?url={target}"))


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.org/feed", "gopher://x/"])
async def test_only_http_and_https(fetch_settings: FetchSettings, url: str) -> None:
    with pytest.raises(BlockedAddress, match="scheme"):
        await _fetch(fetch_settings, url)


@pytest.mark.parametrize(
    ("address", "allowed"),
    [
        ("8.8.8.8", True),
        ("10.1.2.3", False),
        ("192.168.0.1", False),
        ("169.254.169.254", False),
        ("100.64.0.1", False),
        ("::1", False),
        ("fe80::1", False),
        ("fd00::1", False),
        ("::ffff:10.0.0.1", False),
        ("2001:4860:4860::8888", True),
    ],
)
def test_address_policy(address: str, allowed: bool) -> None:
    import ipaddress

    assert address_allowed(ipaddress.ip_address(address), ()) is allowed


def test_configured_networks_are_allowed() -> None:
    import ipaddress

    assert address_allowed(ipaddress.ip_address("127.0.0.1"), parse_networks(["127.0.0.0/8"]))


@pytest.mark.parametrize(
    ("encoding", "compress"),
    [
        ("gzip", lambda data: __import__("gzip").compress(data)),
        ("deflate", lambda data: __import__("zlib").compress(data)),
        ("deflate", lambda data: __import__("zlib").compress(data)[2:-4]),  # raw, no header
        ("identity", lambda data: data),
    ],
    ids=["gzip", "zlib-deflate", "raw-deflate", "identity"],
)
def test_decompressor_formats(encoding: str, compress) -> None:
    from digests.ingest.fetch import _Decompressor

    data = "新闻 news ".encode() * 1000
    decoder = _Decompressor(encoding)
    packed = compress(data)
    out = decoder.feed(packed[:100], 10**6) + decoder.feed(packed[100:], 10**6)
    assert out + decoder.finish(10**6) == data


def test_decompressor_refuses_corrupt_and_unknown() -> None:
    from digests.errors import FetchError
    from digests.ingest.fetch import _Decompressor

    with pytest.raises(FetchError, match="corrupt"):
        _Decompressor("gzip").feed(b"not gzip at all", 1000)
    with pytest.raises(FetchError, match="unsupported"):
        _Decompressor("br")


async def test_connection_refused_is_a_fetch_error(fetch_settings: FetchSettings) -> None:
    import socket

    from digests.errors import FetchError

    with socket.socket() as probe:  # a port that nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(FetchError, match="ConnectError"):
        await _fetch(fetch_settings, f"http://127.0.0.1:{port}/feed.xml")
