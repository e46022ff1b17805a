"""The before/after helpers of the benchmarks: where code came from, the change
of two medians, a spread, records of an older revision, and the tables built
from passes (delivery) and runs (scale)."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

from benchmarks.delivery import Outcome as DeliveryOutcome
from benchmarks.delivery import Pass, comparison_rows, median_outcomes, outcomes_of
from benchmarks.revisions import change, known_fields, outside, spread
from benchmarks.scale import SETUPS, Cpu, Delivered, Phase, outcome_from
from benchmarks.scale import Outcome as ScaleOutcome
from benchmarks.scale import comparison_rows as scale_rows


def test_outside_names_only_files_not_under_the_root(tmp_path: Path) -> None:
    root = tmp_path / "tree"
    inside = root / "digests" / "__init__.py"
    other = tmp_path / "elsewhere" / "digests" / "__init__.py"
    assert outside([str(inside)], root) == []
    assert outside([str(inside), str(other)], root) == [str(other)]
    # a sibling whose name starts like the root is not under it
    assert outside([str(tmp_path / "tree2" / "x.py")], root) == [str(tmp_path / "tree2" / "x.py")]


def test_change_is_signed_and_relative_to_before() -> None:
    assert change(200.0, 250.0) == "+25.0%"
    assert change(200.0, 150.0) == "-25.0%"
    assert change(0.0, 10.0) == "-"


def test_spread_shows_the_median_and_the_range() -> None:
    assert spread([]) == "-"
    assert spread([12.34]) == "12.3"
    assert spread([3.0, 1.0, 2.0]) == "2.0 (1.0–3.0)"
    assert spread([1000.0, 3000.0]) == "2,000.0 (1,000.0–3,000.0)"


def test_known_fields_drops_what_the_dataclass_does_not_have() -> None:
    values = {"run": "x", "chats": 1, "added_later": True}
    assert known_fields(DeliveryOutcome, values) == {"run": "x", "chats": 1}


def _outcome(run: str, rate: float, exactly_once: int = 100, **counts: int) -> DeliveryOutcome:
    values = {
        "duplicated": 0,
        "lost": 0,
        "blocked": 0,
        "ambiguous": 0,
        "ambiguous_arrived": 0,
        "attempts": 100,
        **counts,
    }
    return DeliveryOutcome(run, 100, rate, 1.0, exactly_once, **values)


def test_delivery_json_of_an_older_revision_and_of_this_one() -> None:
    one = _outcome("ledger", 200.0)
    assert outcomes_of([asdict(one)]) == [one]
    record = {"passes": [{"side": "after", "pass": 1, "outcomes": [asdict(one)]}]}
    assert outcomes_of(record) == [one]


def test_the_median_pass_per_run_keeps_its_own_numbers() -> None:
    outcomes = [
        _outcome("ledger", 300.0, exactly_once=90),
        _outcome("anchor", 500.0),
        _outcome("ledger", 100.0, exactly_once=80),
        _outcome("ledger", 200.0, exactly_once=70),
    ]
    chosen = median_outcomes(outcomes)
    assert [(o.run, o.messages_per_second, o.exactly_once) for o in chosen] == [
        ("ledger", 200.0, 70),
        ("anchor", 500.0, 100),
    ]


def test_delivery_comparison_takes_medians_and_each_side_s_worst_pass() -> None:
    passes = [
        Pass("before", 1, [_outcome("ledger", 200.0, duplicated=1)]),
        Pass("after", 1, [_outcome("ledger", 250.0, exactly_once=98, lost=2)]),
        Pass("before", 2, [_outcome("ledger", 220.0)]),
        Pass("after", 2, [_outcome("ledger", 230.0)]),
    ]
    [row] = comparison_rows(passes)
    assert row == (
        "ledger",
        "2 / 2",
        "210.0 (200.0–220.0)",
        "240.0 (230.0–250.0)",
        "+14.3%",
        "100 / 98",
        "1 / 0",
        "0 / 2",
        "0 / 0",
    )


def _phase(items: int, seconds: float) -> Phase:
    return Phase(items, 1.0, 0.5, seconds, Cpu((1.0, 2.0), None, 0.3, 0.5, 0.0))


def _scale(setup_index: int, ingest_s: float, delivery_s: float, missing: int = 0) -> ScaleOutcome:
    delivered = Delivered(_phase(100, delivery_s), 100 - missing, 0, missing, [60, 40])
    return ScaleOutcome(SETUPS[setup_index], _phase(1000, ingest_s), delivered)


def test_a_scale_outcome_survives_its_record() -> None:
    outcome = _scale(2, 5.0, 2.0)
    assert outcome_from(asdict(outcome)) == outcome


def test_scale_comparison_per_setup() -> None:
    before = [_scale(0, 10.0, 1.0), _scale(0, 5.0, 1.0, missing=3)]
    after = [_scale(0, 4.0, 0.5), _scale(0, 4.0, 0.5)]
    [row] = scale_rows(before, after)
    assert row == [
        SETUPS[0].name,
        "2 / 2",
        "150.0 (100.0–200.0)",
        "250.0 (250.0–250.0)",
        "+66.7%",
        "100.0 (100.0–100.0)",
        "200.0 (200.0–200.0)",
        "+100.0%",
        "97 / 100",
        "0 / 0",
        "3 / 0",
    ]
