"""``newsdigest doctor``: is this installation ready to run?

One row per check (ok, warn, FAIL, or skip with the reason), exit 1 when any
check failed. A failed check never stops the others: a bad configuration
still reports itself in a row (the command loads the configuration on its
own for that), a broken database still leaves the token checked. The doctor
only looks: it creates no database file, upgrades no schema and records
nothing on sources. Sources paused after permanent failures are a warning
row with their reasons. ``--online`` asks the Bot API (getMe) and fetches every
enabled source; ``--sources`` fetches the sources only. No secret is printed:
every detail passes through ``digests.redact`` and the token is registered
as a secret before anything can mention it.
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import ipaddress
import json
import os
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from rich.console import Console
from rich.table import Table
from rich.text import Text

from digests.config import ENV_PREFIX, MetricsSettings, Settings, load_settings
from digests.errors import ConfigError, NewsdigestError
from digests.plurals import counted
from digests.redact import redact, register_secret

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from digests.store.sources import SourceRow

OK, WARN, FAIL, SKIP = "ok", "warn", "FAIL", "skip"
CONNECT_TIMEOUT = 10  # seconds, for PostgreSQL and the Bot API
_STYLE = {OK: "green", WARN: "yellow", FAIL: "bold red", SKIP: "dim"}
_LISTED_FAILURES = 5
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Check:
    check: str
    status: str
    detail: str


def _row(check: str, status: str, detail: str) -> Check:
    return Check(check, status, " ".join(redact(detail).split()))


def _unexpected(check: str, exc: Exception) -> Check:
    return _row(check, FAIL, f"unexpected error: {type(exc).__name__}: {exc}")


def _attempt(check: str, run: Callable[[], tuple[T, Check]], failed: T) -> tuple[T, Check]:
    """A check that fails unexpectedly is a FAIL row, never a traceback."""
    try:
        return run()
    except Exception as exc:
        return failed, _unexpected(check, exc)


def _guarded(check: str, run: Callable[[], Check]) -> Check:
    try:
        return run()
    except Exception as exc:
        return _unexpected(check, exc)


# -- configuration -------------------------------------------------------------


def config_origin(path: Path | None, environ: Mapping[str, str]) -> str:
    """The file ``load_settings`` reads (the same lookup order); "" for none."""
    if path is not None:
        return str(path)
    if environ.get(f"{ENV_PREFIX}CONFIG"):
        return environ[f"{ENV_PREFIX}CONFIG"]
    if Path("config.toml").is_file():
        return "config.toml"
    return ""


def _overridden_keys(environ: Mapping[str, str]) -> list[str]:
    """Names of the keys the environment sets (never their values)."""
    return sorted(
        name[len(ENV_PREFIX) :].lower().replace("__", ".")
        for name in environ
        if name.startswith(ENV_PREFIX) and name != f"{ENV_PREFIX}CONFIG"
    )


def check_config(path: Path | None, environ: Mapping[str, str]) -> tuple[Settings | None, Check]:
    try:
        settings = load_settings(path, environ)
    except ConfigError as exc:
        return None, _row("configuration", FAIL, str(exc))
    origin = config_origin(path, environ)
    detail = f"from {origin}" if origin else "defaults (no config file)"
    keys = _overridden_keys(environ)
    if keys:
        detail += f"; the environment sets {', '.join(keys)}"
    return settings, _row("configuration", OK, detail)


# -- database and schema -------------------------------------------------------


def check_database(url: str) -> tuple[Engine | None, Check]:
    """An engine on the database if it is there and answers; never creates it."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, SQLAlchemyError
    from sqlalchemy.pool import NullPool

    from digests.store.db import describe_url

    try:
        parsed = make_url(url)
    except ArgumentError:
        return None, _row("database", FAIL, "database_url is not a valid database URL")
    if parsed.password:
        register_secret(str(parsed.password))
    shown = describe_url(url)
    backend = parsed.get_backend_name()
    connect_args: dict[str, Any] = {}
    if backend == "sqlite":
        if not parsed.database or parsed.database == ":memory:":
            return None, _row("database", FAIL, f"{shown}: in memory, nothing would be kept")
        path = Path(parsed.database).expanduser()
        if not path.is_file():
            return None, _row(
                "database", FAIL, f"no database file {path} (`newsdigest db upgrade` creates it)"
            )
    elif backend == "postgresql":
        connect_args["connect_timeout"] = CONNECT_TIMEOUT
    try:
        engine = create_engine(parsed, connect_args=connect_args, poolclass=NullPool)
        with engine.connect() as connection:
            # SQLite opens any file lazily: reading its catalogue proves it is a database.
            probe = "SELECT count(*) FROM sqlite_master" if backend == "sqlite" else "SELECT 1"
            connection.execute(text(probe))
    except (ArgumentError, ImportError) as exc:
        return None, _row("database", FAIL, f"{shown}: cannot use it: {exc}")
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        return None, _row("database", FAIL, f"{shown}: cannot connect: {reason}")
    version = ".".join(str(part) for part in engine.dialect.server_version_info or ())
    detail = f"{shown} ({engine.dialect.name} {version})"
    if backend == "sqlite":
        detail += f", {path.stat().st_size / 1e6:.1f} MB"
    return engine, _row("database", OK, detail)


def check_schema(engine: Engine) -> tuple[bool, Check]:
    """The schema's Alembic revision against the newest; True when current."""
    from alembic.config import Config
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    from digests.store.db import MIGRATIONS

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    script = ScriptDirectory.from_config(config)
    heads = set(script.get_heads())
    with engine.connect() as connection:
        current = set(MigrationContext.configure(connection).get_current_heads())
    newest = ", ".join(sorted(heads))
    at = ", ".join(sorted(current))
    if not current:
        return False, _row("schema", FAIL, "no schema yet: run `newsdigest db upgrade`")
    if current == heads:
        return True, _row("schema", OK, f"at {at} (the newest)")
    for revision in current:
        try:
            script.get_revision(revision)
        except CommandError:
            return False, _row(
                "schema",
                FAIL,
                f"at {revision}, which this newsdigest does not know (written by a newer version?)",
            )
    return False, _row(
        "schema",
        WARN,
        f"behind: at {at}, the newest is {newest}: run `newsdigest db upgrade` "
        "(the bot also upgrades at start)",
    )


# -- the bot ---------------------------------------------------------------------


async def _ask_telegram(token: str, api_url: str) -> Check:
    from telegram import Bot
    from telegram.error import InvalidToken, TelegramError
    from telegram.request import HTTPXRequest

    request = HTTPXRequest(connect_timeout=CONNECT_TIMEOUT, read_timeout=CONNECT_TIMEOUT)
    try:
        async with Bot(token, base_url=api_url, request=request) as bot:
            me = bot.bot
    except InvalidToken:
        return _row("bot token", FAIL, f"rejected by the Bot API at {api_url} (401 Unauthorized)")
    except TelegramError as exc:
        return _row("bot token", FAIL, f"cannot reach the Bot API at {api_url}: {exc.message}")
    return _row("bot token", OK, f"accepted: @{me.username} (id {me.id}) at {api_url}")


def check_bot_token(settings: Settings, *, online: bool) -> Check:
    from bot.app import check_token

    try:
        token = check_token(settings.bot_token.get_secret_value())  # registers it as a secret
    except ConfigError as exc:
        return _row("bot token", FAIL, str(exc))
    if not online:
        return _row("bot token", OK, "set and well-formed (not shown); --online asks Telegram")
    return asyncio.run(_ask_telegram(token, settings.bot.api_url))


def check_admins(settings: Settings) -> Check:
    count = len(settings.bot.admin_ids)
    if not count:
        return _row("admins", WARN, "none in bot.admin_ids: admin commands will refuse everyone")
    return _row("admins", OK, f"{count} in bot.admin_ids")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_metrics(metrics: MetricsSettings) -> Check:
    """The metrics port can be listened on (bound for a moment, then let go)."""
    if metrics.port == 0:
        return _row("metrics", OK, "off (metrics.port = 0)")
    where = f"{metrics.host}:{metrics.port}"
    try:
        infos = socket.getaddrinfo(
            metrics.host, metrics.port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
    except socket.gaierror:
        return _row("metrics", FAIL, f"metrics.host {metrics.host!r} does not resolve")
    family, kind, proto, _name, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return _row(
                    "metrics", WARN, f"{where} is in use (a running bot, or another program)"
                )
            return _row("metrics", FAIL, f"cannot listen on {where}: {exc.strerror or exc}")
    if not _is_loopback(metrics.host):
        return _row("metrics", WARN, f"{where} is free, and open to other machines: firewall it")
    return _row("metrics", OK, f"{where} is free")


# -- sources -----------------------------------------------------------------------


def _label(row: SourceRow) -> str:
    from digests.ingest.urls import redact_url

    return row.name if row.name != row.location else redact_url(row.location)


def _stored_state(rows: list[SourceRow]) -> Check:
    """Without fetching: what the sources' last checks recorded."""
    feeds = sum(row.kind == "feed" for row in rows)
    folders = counted("en", len(rows) - feeds, "folder", "folders")
    detail = f"{len(rows)} enabled ({counted('en', feeds, 'feed', 'feeds')}, {folders})"
    failing = [row for row in rows if row.error_count]
    if failing:
        listed = "; ".join(
            f"#{row.id} {_label(row)}: {row.last_error}" for row in failing[:_LISTED_FAILURES]
        )
        more = (
            f"; and {len(failing) - _LISTED_FAILURES} more"
            if len(failing) > _LISTED_FAILURES
            else ""
        )
        return _row(
            "sources",
            WARN,
            f"{detail}; {len(failing)} failed at their last check: {listed}{more} "
            "(--sources tries them now)",
        )
    return _row("sources", OK, f"{detail}; not fetched now (--sources tries them)")


async def _probe_all(
    rows: list[SourceRow], settings: Settings, on_done: Callable[[], None]
) -> dict[int, str | None]:
    """Each source's problem (None when reachable): feeds fetched with the
    engine's guarded fetcher and parsed; folders looked at. Nothing is stored."""
    from digests.ingest.fetch import fetch_url, make_client
    from digests.ingest.parse import parse_feed_bytes
    from digests.sources.refresh import policy_from_settings

    policy = policy_from_settings(settings.fetch)
    limit = asyncio.Semaphore(settings.fetch.concurrency)

    async def probe(row: SourceRow, client: Any) -> str | None:
        if row.kind == "folder":
            folder = Path(row.location)
            if not folder.is_dir():
                return f"folder {row.location} does not exist"
            return None if os.access(folder, os.R_OK | os.X_OK) else "folder is not readable"
        result = await fetch_url(client, row.location, policy)
        if result.body is not None:
            await asyncio.to_thread(
                parse_feed_bytes,
                result.body,
                content_type=result.content_type,
                charset=result.charset,
                base_url=result.url,
            )
        return None

    async def one(row: SourceRow, client: Any) -> tuple[int, str | None]:
        async with limit:
            try:
                problem = await probe(row, client)
            except NewsdigestError as exc:
                problem = str(exc) or type(exc).__name__
            except Exception as exc:  # one source's surprise never stops the others
                problem = f"internal error: {type(exc).__name__}: {exc}"
        on_done()
        return row.id, problem

    async with make_client(policy) as client:
        return dict(await asyncio.gather(*(one(row, client) for row in rows)))


def _probe_with_progress(rows: list[SourceRow], settings: Settings) -> dict[int, str | None]:
    from digests.cli.common import progress_bar

    with progress_bar("checking sources") as progress:
        task = progress.add_task("sources", total=len(rows))
        return asyncio.run(_probe_all(rows, settings, lambda: progress.advance(task)))


def _paused(rows: list[SourceRow]) -> list[Check]:
    """A warning listing the sources paused after permanent failures, if any."""
    paused = [row for row in rows if row.paused]
    if not paused:
        return []
    listed = "; ".join(
        f"#{row.id} {_label(row)}: {row.disabled_reason}" for row in paused[:_LISTED_FAILURES]
    )
    if len(paused) > _LISTED_FAILURES:
        listed += f"; and {len(paused) - _LISTED_FAILURES} more"
    return [
        _row(
            "paused sources",
            WARN,
            f"{len(paused)} paused after permanent failures: {listed} "
            "(`newsdigest sources enable ID` resumes one)",
        )
    ]


def check_sources(engine: Engine, settings: Settings, *, fetch: bool) -> list[Check]:
    from sqlalchemy.orm import Session

    from digests.store.sources import list_sources

    with Session(engine) as session:
        listed = list_sources(session)
    paused = _paused(listed)
    rows = [row for row in listed if row.enabled and row.kind != "files"]
    if not rows:
        none = _row("sources", WARN, "none enabled: add one with `newsdigest sources add URL`")
        return [none, *paused]
    if not fetch:
        return [_stored_state(rows), *paused]
    problems = _probe_with_progress(rows, settings)
    failed = [row for row in rows if problems.get(row.id)]
    if not failed:
        return [_row("sources", OK, f"all {len(rows)} enabled sources reachable"), *paused]
    summary = _row("sources", FAIL, f"{len(failed)} of {len(rows)} enabled sources unreachable")
    unreachable = [
        _row(f"source #{row.id}", FAIL, f"{_label(row)}: {problems[row.id]}") for row in failed
    ]
    return [summary, *unreachable, *paused]


# -- the command -----------------------------------------------------------------------


def run_checks(
    config: Path | None, environ: Mapping[str, str], *, online: bool, sources: bool
) -> list[Check]:
    settings, config_row = check_config(config, environ)
    checks = [config_row]
    if settings is None:
        reason = "the configuration did not load"
        names = ("database", "schema", "bot token", "admins", "metrics", "sources")
        return checks + [_row(name, SKIP, reason) for name in names]
    if settings.bot_token.get_secret_value():
        register_secret(settings.bot_token.get_secret_value().strip())
    engine, row = _attempt("database", partial(check_database, settings.database_url), None)
    checks.append(row)
    current = False
    if engine is None:
        checks.append(_row("schema", SKIP, "no database to look at"))
    else:
        current, row = _attempt("schema", partial(check_schema, engine), False)
        checks.append(row)
    checks.append(_guarded("bot token", partial(check_bot_token, settings, online=online)))
    checks.append(_guarded("admins", partial(check_admins, settings)))
    checks.append(_guarded("metrics", partial(check_metrics, settings.metrics)))
    if engine is None or not current:
        checks.append(_row("sources", SKIP, "needs a database at the newest schema"))
    else:
        try:
            checks.extend(check_sources(engine, settings, fetch=online or sources))
        except Exception as exc:
            checks.append(_unexpected("sources", exc))
    if engine is not None:
        engine.dispose()
    return checks


def show(checks: list[Check], *, as_json: bool) -> None:
    if as_json:
        for check in checks:
            print(
                json.dumps(
                    {"check": check.check, "status": check.status, "detail": check.detail},
                    ensure_ascii=False,
                )
            )
        return
    table = Table(title="newsdigest doctor")
    for column in ("check", "status", "detail"):
        table.add_column(column)
    for check in checks:
        table.add_row(
            check.check, Text(check.status, style=_STYLE[check.status]), Text(check.detail)
        )
    Console().print(table)
    failed = sum(check.status == FAIL for check in checks)
    warned = sum(check.status == WARN for check in checks)
    warnings = counted("en", warned, "warning", "warnings")
    print(f"{failed} failed, {warnings}" if failed or warned else "all good")


def cmd_doctor(args: argparse.Namespace, _defaults: Settings) -> int:
    checks = run_checks(args.config, os.environ, online=args.online, sources=args.sources)
    show(checks, as_json=args.json)
    return 1 if any(check.status == FAIL for check in checks) else 0


def register(commands: Any, groups: dict[str, Any]) -> None:
    doctor = commands.add_parser(
        "doctor", help="check the configuration, database, bot token and sources"
    )
    doctor.add_argument(
        "--online", action="store_true", help="also ask Telegram (getMe) and fetch every source"
    )
    doctor.add_argument(
        "--sources", action="store_true", help="fetch every enabled source (no Telegram)"
    )
    doctor.add_argument("--json", action="store_true", help="one JSON object per check")
    # The configuration is loaded by the doctor itself: a bad one is a row, not an exit.
    doctor.set_defaults(run=cmd_doctor, needs_settings=False)
