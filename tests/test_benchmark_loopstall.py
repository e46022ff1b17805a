"""The loop-stall benchmark's arithmetic: the longest stall seen from outside
(no reply while a command waits), latencies with unanswered commands as lower
bounds, nearest-rank percentiles; and the documents it serves."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET

import pytest

from benchmarks.loopstall import (
    HOSTILE_CHARS,
    Command,
    Stall,
    hostile_feed,
    latencies,
    longest_stall,
    lower_bound,
    opml,
    percentile,
)
from digests.ingest.opml import parse_opml


def test_no_commands_no_stall() -> None:
    assert longest_stall([], end=10.0) == Stall(0.0, None, False)


def test_one_at_a_time_the_stall_is_the_slowest_reply() -> None:
    commands = [Command(0.00, 0.01), Command(0.02, 0.05), Command(0.06, 0.07)]
    stall = longest_stall(commands, end=1.0)
    assert stall.seconds == pytest.approx(0.03) and stall.start == 0.02
    assert not stall.censored


def test_idle_time_with_nothing_outstanding_is_no_stall() -> None:
    commands = [Command(0.0, 0.01), Command(5.0, 5.02)]
    assert longest_stall(commands, end=6.0).seconds == pytest.approx(0.02)


def test_a_frozen_loop_is_one_stall_from_the_last_reply_to_the_next() -> None:
    """Open loop every 20 ms; the bot answers in 5 ms until it freezes at 0.1 s for
    one second, then drains the backlog a reply every 2 ms."""
    sends = [round(0.02 * k, 2) for k in range(100)]
    commands = []
    thawed = 1.1
    drained = 0
    for sent in sends:
        if sent + 0.005 < 0.1:
            commands.append(Command(sent, sent + 0.005))
        elif sent < thawed:
            drained += 1
            commands.append(Command(sent, thawed + 0.002 * drained))
        else:
            commands.append(Command(sent, max(sent, thawed + 0.002 * drained) + 0.005))
    stall = longest_stall(commands, end=3.0)
    # From the first command the frozen bot left waiting (0.1 s; nothing was
    # outstanding since the reply at 0.085) to the first reply after the thaw.
    assert stall.start == pytest.approx(0.1)
    assert stall.seconds == pytest.approx(1.102 - 0.1)
    assert not stall.censored
    values = [value for value, _censored in latencies(commands, end=3.0)]
    assert max(values) == pytest.approx(stall.seconds)
    assert percentile(values, 0.5) < 0.2 < percentile(values, 0.95)


def test_a_stall_still_going_at_the_end_is_a_lower_bound() -> None:
    commands = [Command(0.0, 0.01), Command(0.02, None), Command(0.04, None)]
    stall = longest_stall(commands, end=180.0)
    assert stall == Stall(pytest.approx(180.0 - 0.02), 0.02, True)
    measured = latencies(commands, end=180.0)
    assert measured == [
        (pytest.approx(0.01), False),
        (pytest.approx(179.98), True),
        (pytest.approx(179.96), True),
    ]
    assert lower_bound(measured, percentile([v for v, _ in measured], 0.95))
    assert not lower_bound(measured, 0.01)


def test_a_reply_after_the_end_does_not_count() -> None:
    stall = longest_stall([Command(0.0, 12.0)], end=10.0)
    assert stall == Stall(10.0, 0.0, True)
    assert latencies([Command(0.0, 12.0)], end=10.0) == [(10.0, True)]


def test_a_reply_before_its_command_is_refused() -> None:
    with pytest.raises(ValueError):
        longest_stall([Command(1.0, 0.5)], end=2.0)


def test_nearest_rank_percentiles() -> None:
    values = [float(v) for v in range(20, 0, -1)]
    assert percentile(values, 0.50) == 10.0
    assert percentile(values, 0.95) == 19.0
    assert percentile(values, 1.0) == 20.0
    assert percentile([3.0], 0.95) == 3.0
    assert math.isnan(percentile([], 0.5))


def test_the_hostile_feed_is_well_formed_with_two_long_person_fields() -> None:
    root = ET.fromstring(hostile_feed())
    items = root.findall("./channel/item")
    assert len(items) == 3
    author = items[0].find("AUTHOR")
    publisher = items[1].find("{http://purl.org/dc/elements/1.1/}publisher")
    assert author is not None and len(author.text or "") == HOSTILE_CHARS
    assert publisher is not None and len(publisher.text or "") == HOSTILE_CHARS


def test_the_source_list_is_opml_the_command_line_reads() -> None:
    feeds = [("feed 0", "http://127.0.0.1:1/mem/feed-0.json"), ("a & b", "http://x/?a=1&b=2")]
    document = parse_opml(opml(feeds))
    assert [(f.title, f.url) for f in document.feeds] == feeds
