"""The loop probe's arithmetic: phases from the bot's marks, numbers per phase,
and what overlapped a stall."""

from __future__ import annotations

import pytest

from benchmarks.loopprobe import coinciding, longest_stall_from, phase_numbers, phase_windows
from benchmarks.loopstall import Command, Stall, longest_stall

MARKS = [
    {"kind": "mark", "at": 10.0, "text": "refresh_sources begins"},
    {"kind": "mark", "at": 13.0, "text": "refresh_sources ends"},
    {"kind": "mark", "at": 13.1, "text": "summarize_new begins"},
]


def test_phases_from_marks_and_a_stage_still_running_at_the_end() -> None:
    windows = phase_windows(MARKS, end=20.0)
    assert windows["fetch round"] == (10.0, 13.0)
    assert windows["summarize"] == (13.1, 20.0)
    assert windows["before the round"][1] == 10.0


def test_no_marks_leaves_everything_before_the_round() -> None:
    windows = phase_windows([], end=5.0)
    assert windows["fetch round"] == (5.0, 5.0)
    assert windows["before the round"][1] == 5.0


def test_numbers_count_only_what_began_in_the_window() -> None:
    commands = [Command(9.0, 9.01), Command(11.0, 11.1), Command(12.0, 12.3), Command(14.0, None)]
    lags = [{"at": 9.5, "ms": 50.0}, {"at": 11.5, "ms": 4.0}, {"at": 12.5, "ms": 6.0}]
    collections = [
        {"at": 11.2, "ms": 80.0, "generation": 2, "thread": "asyncio_0"},
        {"at": 12.2, "ms": 12.0, "generation": 1, "thread": "MainThread"},
    ]
    numbers = phase_numbers(commands, 15.0, lags, collections, (10.0, 13.0))
    assert numbers.commands == 2
    assert numbers.max_ms == pytest.approx(300.0)
    assert numbers.sleeps == 2 and numbers.late_max_ms == 6.0
    assert numbers.late_mean_ms == pytest.approx(5.0)
    assert numbers.full_collections == 1 and numbers.full_collection_max_ms == 80.0
    assert numbers.collection_threads == ["asyncio_0"]


def test_a_collection_overlapping_the_stall_is_named() -> None:
    windows = phase_windows(MARKS, end=20.0)
    collections = [
        {"at": 11.95, "ms": 90.0, "generation": 2, "thread": "asyncio_1"},
        {"at": 5.0, "ms": 90.0, "generation": 2, "thread": "MainThread"},
        {"at": 12.0, "ms": 30.0, "generation": 0, "thread": "MainThread"},
    ]
    found = coinciding(Stall(0.12, 12.0, False), collections, windows)
    assert found[0] == "phase: fetch round"
    assert len(found) == 2 and "90 ms in asyncio_1" in found[1] and "-50 ms" in found[1]
    assert coinciding(Stall(0.0, None, False), collections, windows) == []


def test_stalls_are_those_of_all_commands_by_where_they_began() -> None:
    # a backlog: the command at 2.0 waits behind the one at 1.0, which is slow
    commands = [Command(0.0, 0.01), Command(1.0, 1.5), Command(2.0, 2.1), Command(3.0, 3.02)]
    everything = (float("-inf"), float("inf"))
    assert longest_stall_from(commands, 4.0, everything) == pytest.approx(
        longest_stall(commands, 4.0).seconds
    )
    assert longest_stall_from(commands, 4.0, (0.9, 1.9)) == pytest.approx(0.5)
    assert longest_stall_from(commands, 4.0, (1.9, 2.5)) == pytest.approx(0.1)
    # one never answered: censored at the end
    assert longest_stall_from([Command(5.0, None)], 6.0, (4.0, 5.5)) == pytest.approx(1.0)
