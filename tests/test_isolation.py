"""Parsing in worker processes: hostile feeds stay cheap, a runaway parse is stopped.

No assertion here is about seconds (machines are noisy): the hostile feeds below
took minutes (80 KB) or hours (1 MB) before their guards, so the tests simply
have to finish; the budgets are far above what a normal parse needs, except the
one second given to a function that never returns.
"""

from __future__ import annotations

import os
import pickle
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import digests
from digests.errors import FeedError, HTTPStatusError, NewsdigestError, ParseTimeout, UnsafeFeed
from digests.ingest import limits
from digests.ingest.feeds import _guard
from digests.ingest.isolation import ParserPool
from digests.ingest.parse import parse_feed_bytes
from tests.builders import rss

# Not from tests.conftest: workers import this module, and conftest is heavy.
CORPUS = Path(digests.__file__).parent / "demo_corpus"
KB = 1_000
MB = 1_000_000
SMALL = rss(("1", "https://example.org/1", "Title", "A body."))


def _feed(*, channel: str = "", item: str = "") -> str:
    return (
        '<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"'
        ' xmlns:it="http://www.itunes.com/dtds/podcast-1.0.dtd"><channel><title>t</title>'
        f"{channel}<item><title>x</title>{item}<description>d</description></item>"
        "</channel></rss>"
    )


def _word(size: int) -> str:
    """One long word: the worst case for feedparser's e-mail regex."""
    return "a" * size


# (feed, whether the item's author carries the field)
HOSTILE = {
    "AUTHOR-80KB": (_feed(item=f"<AUTHOR>{_word(80 * KB)}</AUTHOR>"), True),
    "dc:publisher-80KB": (_feed(channel=f"<dc:publisher>{_word(80 * KB)}</dc:publisher>"), False),
    "AUTHOR-1MB": (_feed(item=f"<AUTHOR>{_word(MB)}</AUTHOR>"), True),
    "DC:PUBLISHER-attributes-CDATA-1MB": (
        _feed(item=f'<DC:PUBLISHER x="1">\n <![CDATA[{_word(MB)}]]></DC:PUBLISHER>'),
        False,
    ),
    "other-prefix-itunes-author-1MB": (_feed(item=f"<it:author>{_word(MB)}</it:author>"), True),
    "webMaster-1MB": (_feed(channel=f"<WebMaster>{_word(MB)}</WebMaster>"), False),
    "itunes-owner-name-1MB": (
        _feed(channel=f"<it:owner><it:name>{_word(MB)}</it:name></it:owner>"),
        False,
    ),
    "atom-author-name-1MB": (
        '<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title><entry><title>x</title>'
        f"<id>urn:x</id><author><name>{_word(MB)}</name></author></entry></feed>",
        True,
    ),
}

# Text the guard cannot see as one run; feedparser joins it before its regex.
SPLIT = {
    "author-split-by-child-elements-1MB": _feed(
        item="<author>" + ("a" * 300 + "<x/>") * (MB // 300) + "</author>"
    ),
    "author-split-by-comments-1MB": _feed(
        item="<author>" + ("a" * 300 + "<!---->") * (MB // 300) + "</author>"
    ),
    "author-split-by-CDATA-1MB": _feed(
        item="<author>" + ("<![CDATA[" + "a" * 300 + "]]>") * (MB // 300) + "</author>"
    ),
}


def block_forever() -> None:
    """Never returns: waits for an event nobody sets."""
    threading.Event().wait()


def kill_own_process() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


class TwoArguments(Exception):
    """Pickles but cannot be unpickled (``__init__`` wants two arguments)."""

    def __init__(self, first: str, second: str) -> None:
        super().__init__(f"{first}/{second}")


def raise_error(error: BaseException) -> None:
    raise error


def raise_two_arguments() -> None:
    raise TwoArguments("a", "b")


def raise_http_status() -> None:
    raise HTTPStatusError(404, "gone")


def return_a_lock() -> threading.Lock:
    return threading.Lock()


_warmed_at: float | None = None  # set in a worker by ``warm_up_worker``


def warm_up_worker() -> None:
    global _warmed_at
    _warmed_at = time.monotonic()


def warmed() -> bool:
    return _warmed_at is not None


def warm_up_fails() -> None:
    raise RuntimeError("no dictionary")


@pytest.fixture(scope="module")
def pool() -> Iterator[ParserPool]:
    with ParserPool(workers=2, budget_seconds=30) as parser_pool:
        parser_pool.start()
        yield parser_pool


@pytest.mark.parametrize("name", list(HOSTILE), ids=list(HOSTILE))
def test_hostile_person_fields_parse_and_are_capped(name: str) -> None:
    text, in_author = HOSTILE[name]
    assert len(_guard(text)) < 2 * KB  # what feedparser gets to see
    parsed = parse_feed_bytes(text.encode())
    assert [a.title for a in parsed.articles] == ["x"]
    author = parsed.articles[0].author
    if in_author:
        assert author == "a" * limits.MAX_AUTHOR_CHARS
    else:
        assert author is None


@pytest.mark.parametrize("name", list(SPLIT), ids=list(SPLIT))
def test_person_text_split_by_markup_reaches_the_regex_capped(name: str) -> None:
    parsed = parse_feed_bytes(SPLIT[name].encode())
    author = parsed.articles[0].author
    assert author is not None and 0 < len(author) <= limits.MAX_AUTHOR_CHARS


def test_xml_declaration_attributes_repeated_on_one_long_line_parse() -> None:
    # feedparser's encoding regex backtracks over the whole first line.
    text = _feed(item="<description>" + 'encoding="x ' * (MB // 12) + "</description>")
    parsed = parse_feed_bytes(text.encode())
    assert parsed.articles[0].body.startswith('encoding="x')


def test_results_pickle() -> None:
    parsed = parse_feed_bytes((CORPUS / "en_world.xml").read_bytes())
    assert parsed.articles
    assert pickle.loads(pickle.dumps(parsed)) == parsed


async def test_pool_parses_like_the_parser(pool: ParserPool) -> None:
    body = (CORPUS / "en_world.xml").read_bytes()
    assert await pool.run(parse_feed_bytes, body) == parse_feed_bytes(body)
    hostile = HOSTILE["AUTHOR-1MB"][0].encode()
    pooled = await pool.run(parse_feed_bytes, hostile, content_type="application/rss+xml")
    assert pooled.articles[0].author == "a" * limits.MAX_AUTHOR_CHARS
    assert pool.run_sync(parse_feed_bytes, SMALL).articles[0].title == "Title"


async def test_runaway_parse_is_stopped_and_the_pool_goes_on() -> None:
    with ParserPool(workers=1, budget_seconds=1) as pool:
        with pytest.raises(ParseTimeout, match=r"^parsing stopped after 1 s \(the time budget\)"):
            await pool.run(block_forever)
        pool.budget_seconds = 30  # what follows is a normal parse: never short of time
        assert (await pool.run(parse_feed_bytes, SMALL)).articles[0].title == "Title"


async def test_dead_worker_is_a_feed_error_and_the_pool_goes_on(pool: ParserPool) -> None:
    # Usually "the parser process died (killed by SIGKILL, ...)"; when the death
    # is seen before the worker's receipt of the task, pebble calls the pool broken.
    with pytest.raises(
        FeedError, match=r"^the parser (process died \(killed by SIGKILL|pool broke)"
    ):
        await pool.run(kill_own_process)
    assert (await pool.run(parse_feed_bytes, SMALL)).articles[0].title == "Title"


@pytest.mark.parametrize(
    ("call", "message", "cause"),
    [
        (
            (raise_error, ValueError("bad\nvalue")),
            "parser failed: ValueError: bad value",
            ValueError,
        ),
        ((raise_two_arguments,), "parser failed: TwoArguments: a/b", None),
        ((raise_error, SystemExit(3)), "parser failed: SystemExit: 3", SystemExit),
        (
            (return_a_lock,),
            "parser failed: TypeError: cannot pickle '_thread.lock' object",
            TypeError,
        ),
    ],
    ids=["exception", "exception-that-does-not-unpickle", "system-exit", "unpicklable-result"],
)
async def test_other_errors_in_the_worker_become_feed_errors(
    pool: ParserPool, call: tuple, message: str, cause: type[BaseException] | None
) -> None:
    fn, *args = call
    with pytest.raises(FeedError) as caught:
        await pool.run(fn, *args)
    assert type(caught.value) is FeedError
    assert str(caught.value) == message
    if cause is None:
        assert caught.value.__cause__ is None
    else:
        assert type(caught.value.__cause__) is cause
    assert any("in the parser process" in note for note in caught.value.__notes__)
    assert pool.run_sync(parse_feed_bytes, SMALL).articles  # the worker lived on


async def test_engine_errors_cross_as_themselves(pool: ParserPool) -> None:
    bomb = b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "aaaa">]><rss><channel/></rss>'
    with pytest.raises(UnsafeFeed) as direct:
        parse_feed_bytes(bomb)
    with pytest.raises(UnsafeFeed) as pooled:
        await pool.run(parse_feed_bytes, bomb)
    assert str(pooled.value) == str(direct.value)

    # HTTPStatusError's __init__ differs from its args: rebuilt, not re-constructed.
    with pytest.raises(HTTPStatusError) as caught:
        pool.run_sync(raise_http_status)
    assert (str(caught.value), caught.value.status) == ("gone", 404)
    assert isinstance(caught.value, NewsdigestError)


async def test_closed_pool_refuses_work() -> None:
    pool = ParserPool(workers=1, budget_seconds=30)
    pool.close()
    with pytest.raises(FeedError, match="closed"):
        await pool.run(parse_feed_bytes, SMALL)


def test_every_worker_runs_warm_before_its_first_task_restarted_ones_too() -> None:
    with ParserPool(workers=1, budget_seconds=30, warm=warm_up_worker) as warm_pool:
        warm_pool.start()
        assert warm_pool.run_sync(warmed) is True
        warm_pool.budget_seconds = 0.5
        with pytest.raises(ParseTimeout):
            warm_pool.run_sync(block_forever)  # the worker is killed; a new one starts
        assert warm_pool.run_sync(warmed) is True
    with ParserPool(workers=1, budget_seconds=30) as plain_pool:
        assert plain_pool.run_sync(warmed) is False


def test_a_warm_up_that_fails_leaves_the_worker_serving() -> None:
    with ParserPool(workers=1, budget_seconds=30, warm=warm_up_fails) as failing_pool:
        failing_pool.start()
        assert failing_pool.run_sync(warmed) is False
