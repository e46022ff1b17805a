"""Configuration: the example file mirrors the schema; the environment overrides."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from digests.config import (
    FetchSettings,
    ScheduleSettings,
    Settings,
    load_settings,
    parse_duration,
)
from digests.errors import ConfigError
from tests.conftest import REPO

EXAMPLE = REPO / "config.example.toml"


def _keys(model: type, prefix: str = "") -> set[str]:
    keys: set[str] = set()
    for name, field in model.model_fields.items():  # type: ignore[attr-defined]
        annotation = field.annotation
        if isinstance(annotation, type) and hasattr(annotation, "model_fields"):
            keys |= _keys(annotation, f"{prefix}{name}.")
        else:
            keys.add(prefix + name)
    return keys


def _flatten(data: dict, prefix: str = "", leaves: frozenset[str] = frozenset()) -> set[str]:
    """The dotted keys of ``data``; a key in ``leaves`` is one even when its value
    is a table (``digest.title = { zh = …, en = … }``)."""
    keys: set[str] = set()
    for name, value in data.items():
        if isinstance(value, dict) and value and prefix + name not in leaves:
            keys |= _flatten(value, f"{prefix}{name}.", leaves)
        else:
            keys.add(prefix + name)
    return keys


def test_example_config_mirrors_the_schema_key_for_key() -> None:
    example = tomllib.loads(EXAMPLE.read_text("utf-8"))
    schema = _keys(Settings)
    assert _flatten(example, leaves=frozenset(schema)) == schema
    assert set(example["schedules"][0]) == set(ScheduleSettings.model_fields)


def test_example_config_values_are_the_defaults() -> None:
    assert load_settings(EXAMPLE, environ={}) == Settings()


def test_environment_overrides_file(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("database_url = 'sqlite:///file.db'\n[fetch]\nconcurrency = 3\n", "utf-8")
    settings = load_settings(
        path,
        environ={
            "NEWSDIGEST_DATABASE_URL": "sqlite:///env.db",
            "NEWSDIGEST_FETCH__MAX_REDIRECTS": "2",
            "NEWSDIGEST_FETCH__ALLOWED_NETWORKS": "127.0.0.0/8,::1/128",
        },
    )
    assert settings.database_url == "sqlite:///env.db"
    assert settings.fetch == FetchSettings(
        concurrency=3, max_redirects=2, allowed_networks=["127.0.0.0/8", "::1/128"]
    )


def test_unknown_environment_key_is_reported() -> None:
    with pytest.raises(ConfigError, match=r"unknown key 'fetch\.colour'"):
        load_settings(None, environ={"NEWSDIGEST_FETCH__COLOUR": "blue"})


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90), ("30m", 1800), ("6h", 21600), ("1d", 86400), (45, 45), ("1.5h", 5400)],
)
def test_durations(text: object, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("seconds", [1, 59, 60, 90, 1800, 3600, 5400, 86400, 90000])
def test_formatted_durations_read_back(seconds: int) -> None:
    from digests.config import format_duration

    assert parse_duration(format_duration(seconds)) == seconds


@pytest.mark.parametrize("text", ["soon", "0s", "-5m", True, "10 parsecs"])
def test_bad_durations(text: object) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


@pytest.mark.parametrize(
    ("schedule", "needle"),
    [
        ({"name": "x", "times": ["25:00"]}, "schedules.0.times"),
        ({"name": "x", "timezone": "Mars/Olympus"}, "unknown time zone"),
        ({"name": "x", "timezone": "localtime"}, "unknown time zone 'localtime'"),
        ({"name": "x", "timezone": "Asia/Shangai"}, "did you mean 'Asia/Shanghai'?"),
        ({"name": "bad name!"}, "schedules.0.name"),
        ({"name": "x", "times": ["07:30", "7:30"]}, "twice"),
        ({"name": "x", "every": "1h"}, "unknown key 'schedules.0.every'"),
    ],
    ids=["time", "zone", "not-a-zone", "typo", "name", "duplicate", "unknown"],
)
def test_bad_schedules_name_the_key(tmp_path: Path, schedule: dict, needle: str) -> None:
    import json

    lines = [f"{k} = {json.dumps(v)}" for k, v in schedule.items()]
    path = tmp_path / "c.toml"
    path.write_text("[[schedules]]\n" + "\n".join(lines) + "\n", "utf-8")
    with pytest.raises(ConfigError, match=re.escape(needle)):
        load_settings(path, environ={})


def test_schedule_time_zones_are_read_in_any_case_and_kept_as_iana_spells_them() -> None:
    assert ScheduleSettings(name="x", timezone="europe/LONDON").timezone == "Europe/London"


def test_schedule_times_are_normalized_and_sorted() -> None:
    assert ScheduleSettings(name="x", times=["18:00", "7:05"]).times == ["07:05", "18:00"]


def test_edition_titles_are_per_language_with_a_default_in_both(tmp_path: Path) -> None:
    from digests.config import DigestSettings

    default = DigestSettings()
    assert (default.title_for("zh"), default.title_for("en")) == ("今日要闻", "Today's news")
    one_name = DigestSettings(title="临江日报")
    assert one_name.title_for("zh") == one_name.title_for("en") == "临江日报"
    path = tmp_path / "c.toml"
    path.write_text('[digest]\ntitle = { en = "Riverside daily" }\n', "utf-8")
    partial = load_settings(path, environ={}).digest
    assert (partial.title_for("zh"), partial.title_for("en")) == ("今日要闻", "Riverside daily")
    path.write_text('[digest]\ntitle = { fr = "Le journal" }\n', "utf-8")
    with pytest.raises(ConfigError, match="no interface language 'fr'"):
        load_settings(path, environ={})
