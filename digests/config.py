"""The one typed configuration schema, read from TOML and overridden by the environment.

Lookup: ``--config PATH``, else ``$NEWSDIGEST_CONFIG``, else ``./config.toml``
when it exists, else the defaults. Any key can be overridden by an environment
variable: ``NEWSDIGEST_DATABASE_URL`` for a top-level key,
``NEWSDIGEST_FETCH__CONCURRENCY`` (two underscores) for a key in a table.
``config.example.toml`` mirrors this schema key for key (a test keeps them in step).
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, SecretStr, ValidationError

from digests.errors import ConfigError
from digests.zones import canonical_zone, closest_zone

ENV_PREFIX = "NEWSDIGEST_"
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)?\s*$", re.IGNORECASE)
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(value: object) -> int:
    """Seconds in ``"90s"``, ``"30m"``, ``"6h"``, ``"1d"`` or a plain number of seconds."""
    if isinstance(value, bool):
        raise ValueError("a duration is a number of seconds or text like '30m'")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        match = _DURATION.match(str(value))
        if not match:
            raise ValueError(f"{value!r} is not a duration (use e.g. '90s', '30m', '6h', '1d')")
        seconds = float(match.group(1)) * _UNIT_SECONDS[(match.group(2) or "s").lower()]
    if seconds < 1:
        raise ValueError("a duration must be at least one second")
    return int(seconds)


def format_duration(seconds: int) -> str:
    """The shortest exact spelling parse_duration reads back: 1800 -> '30m'."""
    for unit in ("d", "h", "m"):
        size = _UNIT_SECONDS[unit]
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


Duration = Annotated[int, BeforeValidator(parse_duration)]


def _networks(value: object) -> list[str]:
    if isinstance(value, str):
        value = [part for part in value.split(",") if part.strip()]
    if not isinstance(value, list):
        raise ValueError("a list of networks like ['127.0.0.0/8']")
    for cidr in value:
        ipaddress.ip_network(str(cidr).strip(), strict=False)
    return [str(cidr).strip() for cidr in value]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _timezone(value: object) -> str:
    name = str(value)
    zone = canonical_zone(name)
    if zone is None:
        near = closest_zone(name)
        hint = f"did you mean {near!r}?" if near else "use an IANA name like 'Asia/Shanghai'"
        raise ValueError(f"unknown time zone {name!r} ({hint})")
    return zone


def _optional_timezone(value: object) -> str:
    return "" if value in ("", None) else _timezone(value)


class FetchSettings(_Strict):
    connect_timeout: float = Field(10.0, gt=0)
    read_timeout: float = Field(30.0, gt=0)
    total_deadline: float = Field(60.0, gt=0)
    max_bytes: int = Field(10 * 1024 * 1024, gt=0)
    max_redirects: int = Field(5, ge=0, le=20)
    concurrency: int = Field(8, ge=1, le=256)
    default_interval: Duration = 1800
    max_backoff: Duration = 86400
    allowed_networks: Annotated[list[str], BeforeValidator(_networks)] = Field(default_factory=list)
    user_agent: str = ""
    parse_budget: float = Field(30.0, gt=0)
    # Consecutive permanent failures (410, repeated 5xx, 404...) before a source is paused.
    disable_after: int = Field(5, ge=1, le=1000)
    # Zone of feed dates written without one; empty means ``digest.timezone``.
    timezone: Annotated[str, BeforeValidator(_optional_timezone)] = ""


class TextSettings(_Strict):
    user_dictionary: str = ""


# An edition's title in each interface language (the header reads "title · date").
DEFAULT_TITLES = {"zh": "今日要闻", "en": "Today's news"}


def _titles(value: object) -> dict[str, str]:
    """``title = "临江日报"`` (one name, every language) or
    ``title = { zh = "…", en = "…" }`` (the languages left out keep their default)."""
    if isinstance(value, str):
        if not value.strip():
            raise ValueError("the title is empty")
        return dict.fromkeys(DEFAULT_TITLES, value.strip())
    if not isinstance(value, dict):
        raise ValueError('a title, or one per language like { zh = "今日要闻", en = "Today" }')
    unknown = sorted(set(value) - set(DEFAULT_TITLES))
    if unknown:
        raise ValueError(f"no interface language {unknown[0]!r} (there are zh and en)")
    titles = dict(DEFAULT_TITLES)
    for language, title in value.items():
        if not isinstance(title, str) or not title.strip():
            raise ValueError(f"the {language} title is empty")
        titles[language] = title.strip()
    return titles


class DigestSettings(_Strict):
    title: Annotated[dict[str, str], BeforeValidator(_titles)] = Field(
        default_factory=lambda: dict(DEFAULT_TITLES)
    )
    language: str = Field("zh", pattern=r"^(zh|en)$")
    timezone: Annotated[str, BeforeValidator(_timezone)] = "Asia/Shanghai"
    max_items: int = Field(20, ge=1, le=200)
    max_items_per_source: int = Field(5, ge=1, le=200)
    sections: str = Field("source", pattern=r"^(source|topic|none)$")
    summary_sentences: int = Field(2, ge=1, le=3)
    empty_edition: str = Field("note", pattern=r"^(note|skip)$")
    first_edition_lookback: Duration = 86400
    source_priority: dict[str, float] = Field(default_factory=dict)

    def title_for(self, language: str) -> str:
        """The edition title readers of ``language`` see."""
        return self.title.get(language) or self.title[self.language]


_CLOCK = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


def _times(value: object) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value:
        raise ValueError("a list of local times like ['07:30']")
    times = []
    for item in value:
        match = _CLOCK.match(str(item).strip())
        if not match:
            raise ValueError(f"{item!r} is not a time like '07:30'")
        times.append(f"{int(match.group(1)):02d}:{match.group(2)}")
    if len(set(times)) != len(times):
        raise ValueError("the same time is listed twice")
    return sorted(times)


class ScheduleSettings(_Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9_-]{1,40}$")
    times: Annotated[list[str], BeforeValidator(_times)] = Field(default_factory=lambda: ["07:30"])
    timezone: Annotated[str, BeforeValidator(_timezone)] = "Asia/Shanghai"
    sources: list[str] = Field(default_factory=list)  # empty: every source


def _ids(value: object) -> list[int]:
    if isinstance(value, int) and not isinstance(value, bool):
        value = [value]
    if isinstance(value, str):
        value = [part.strip() for part in value.split(",") if part.strip()]
    if not isinstance(value, list):
        raise ValueError("a list of Telegram user ids like [123456789]")
    ids = []
    for item in value:
        try:
            ids.append(int(str(item).strip()))
        except ValueError as exc:
            raise ValueError(f"{item!r} is not a Telegram user id (a number)") from exc
    return ids


class BotSettings(_Strict):
    # The Bot API endpoint the token is appended to: Telegram's, a local Bot API
    # server, or the offline sandbox.
    api_url: str = Field("https://api.telegram.org/bot", pattern=r"^https?://")
    # The schedule /start subscribes to unless its deep-link payload names another.
    default_schedule: str = "daily"
    # Telegram user ids allowed to run the admin commands (/addsource, /send, ...).
    admin_ids: Annotated[list[int], BeforeValidator(_ids)] = Field(default_factory=list)


class DeliverySettings(_Strict):
    # Telegram's limits: ~30 messages/s overall, 1/s per chat, 20/min per group.
    # 0 turns the overall pace off (benchmarks; a local Bot API server).
    messages_per_second: float = Field(25.0, ge=0, le=1000)
    per_chat_interval: float = Field(1.0, ge=0)
    group_messages_per_minute: int = Field(20, ge=0)
    # Paid broadcasts: Telegram lifts the overall limit to 1000 messages/s and
    # charges Telegram Stars per message above the free limit. Raise
    # messages_per_second together with this switch.
    allow_paid_broadcast: bool = False
    # Tries per message for retryable errors (5xx, network) before it is failed.
    max_attempts: int = Field(5, ge=1, le=50)
    retry_backoff: float = Field(1.0, gt=0)  # seconds, doubled per try
    max_retry_backoff: float = Field(60.0, gt=0)
    # Seconds to wait for Telegram's answer to one send.
    send_timeout: float = Field(15.0, gt=0)
    # A send that timed out after it left may have arrived (the Bot API has no
    # idempotency key): "skip" marks it unknown and never resends (at most once);
    # "resend" tries again (at least once: a subscriber may get it twice).
    on_ambiguous: str = Field("skip", pattern=r"^(skip|resend)$")
    # Chats sent to at the same time (the pace still applies).
    concurrency: int = Field(64, ge=1, le=1024)


class SearchSettings(_Strict):
    # The index on SQLite: "tantivy" (a directory beside the database file;
    # fast at any size) or "fts5" (inside the database file). PostgreSQL always
    # uses its own tsvector index. Run `newsdigest reindex` after a change.
    engine: str = Field("tantivy", pattern=r"^(tantivy|fts5)$")
    # Where the tantivy index lives; empty: beside the database, "<file>.search".
    index_dir: str = ""
    # Keyword alerts: at most this many pushes per alert and hour (the rest of
    # an hour's matches are dropped, not queued), and alerts per chat.
    alerts_per_hour: int = Field(5, ge=1, le=100)
    max_alerts: int = Field(10, ge=1, le=100)
    # /mute and /follow words per chat.
    max_filters: int = Field(30, ge=1, le=200)


class MetricsSettings(_Strict):
    # The HTTP endpoint serving /metrics (Prometheus) and /healthz while the bot
    # runs. 0 turns it off. Keep the host local unless a firewall guards the port.
    host: str = "127.0.0.1"
    port: int = Field(9464, ge=0, le=65535)


class WebSettings(_Strict):
    # Where the edition pages are published, as readers reach them (the
    # metrics endpoint's server serves them): e.g. "https://news.example.org".
    # Empty: editions carry no link to the web.
    base_url: str = Field("", pattern=r"^(https?://[^\s?#]+)?$")
    # Schedules whose pages and archive anyone may read; the others' pages need
    # the unguessable token their links carry.
    public: list[str] = Field(default_factory=list)
    # /search?q= over every stored article, for anyone who reaches the server:
    # off by default (the articles of a private schedule's sources are there too).
    search: bool = False


def _default_schedules() -> list[ScheduleSettings]:
    return [ScheduleSettings(name="daily")]


class Settings(_Strict):
    database_url: str = "sqlite:///data/newsdigest.db"
    # Never logged or shown: SecretStr keeps it out of reprs and messages.
    bot_token: SecretStr = SecretStr("")
    log_level: str = Field("INFO", pattern=r"^(?i:debug|info|warning|error|critical)$")
    # One JSON object per log line (time, level, logger, message, exception).
    log_json: bool = False
    fetch: FetchSettings = Field(default_factory=FetchSettings)
    text: TextSettings = Field(default_factory=TextSettings)
    digest: DigestSettings = Field(default_factory=DigestSettings)
    schedules: list[ScheduleSettings] = Field(default_factory=_default_schedules)
    bot: BotSettings = Field(default_factory=BotSettings)
    delivery: DeliverySettings = Field(default_factory=DeliverySettings)
    search: SearchSettings = Field(default_factory=SearchSettings)
    metrics: MetricsSettings = Field(default_factory=MetricsSettings)
    web: WebSettings = Field(default_factory=WebSettings)
    # Seconds an APScheduler job may start late and still run; the DB-driven
    # catch-up covers anything later (python-telegram-bot's default is 1 s).
    misfire_grace: Duration = 3600


def _env_overrides(environ: Mapping[str, str]) -> dict[str, Any]:
    overrides: dict[str, Any] = {}
    for name, raw in environ.items():
        if not name.startswith(ENV_PREFIX) or name == f"{ENV_PREFIX}CONFIG":
            continue
        path = name[len(ENV_PREFIX) :].lower().split("__")
        value: Any = raw
        if raw.strip().startswith("["):
            try:
                value = json.loads(raw)
            except ValueError:
                value = raw
        target = overrides
        for key in path[:-1]:
            target = target.setdefault(key, {})
        target[path[-1]] = value
    return overrides


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _describe(error: ValidationError, origin: str) -> str:
    first = error.errors()[0]
    key = ".".join(str(part) for part in first["loc"]) or "(top level)"
    if first["type"] == "extra_forbidden":
        return f"{origin}: unknown key {key!r}"
    return f"{origin}: {key}: {first['msg']}"


def load_settings(path: Path | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    """Settings from file and environment; ``ConfigError`` names the bad key."""
    environ = os.environ if environ is None else environ
    if path is None and environ.get(f"{ENV_PREFIX}CONFIG"):
        path = Path(environ[f"{ENV_PREFIX}CONFIG"])
    if path is None and Path("config.toml").is_file():
        path = Path("config.toml")
    data: dict[str, Any] = {}
    origin = "defaults"
    if path is not None:
        origin = str(path)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from exc
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    data = _merge(data, _env_overrides(environ))
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, origin + " (or NEWSDIGEST_* environment)")) from exc
