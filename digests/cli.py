"""The ``newsdigest`` command line: thin wiring over the engine.

Bad input is one line on stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import html
import json
import logging
import signal
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from digests import __version__
from digests.config import Settings, format_duration, load_settings, parse_duration
from digests.engine import Engine, apply_search_settings, apply_text_settings
from digests.errors import InputError, NewsdigestError
from digests.redact import install_filter, redact
from digests.sources.adding import add_from_location, source_kind
from digests.sources.refresh import (
    SourceOutcome,
    fetch_due,
    ingest_files,
    read_issue,
    read_issue_file,
)
from digests.store.db import Database
from digests.store.queries import recent_articles
from digests.store.sources import list_sources, remove_source

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2
err_console = Console(stderr=True)


def say_error(message: str) -> None:
    """One line on stderr, never wrapped or styled."""
    print(" ".join(redact(message).split()), file=sys.stderr)


def configure_logging(level: str, json_lines: bool = False) -> None:
    from digests.logformat import PLAIN_FORMAT, JsonLinesFormatter

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLinesFormatter() if json_lines else logging.Formatter(PLAIN_FORMAT))
    logging.basicConfig(level=level.upper(), handlers=[handler])
    logging.getLogger().setLevel(level.upper())  # also when logging was set up before
    # httpx logs every request URL at INFO; URLs can carry secrets (tokens).
    for noisy in ("httpx", "httpcore", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    install_filter()


def progress_bar(
    label: str = "[progress.description]{task.description}", *, quiet: bool = False
) -> Progress:
    """A progress bar on stderr for long work (count, elapsed time), gone when
    done; off when ``quiet`` or when stderr is not a terminal."""
    return Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        disable=quiet or not err_console.is_terminal,
        transient=True,
    )


def open_database(settings: Settings) -> Database:
    db = Database(settings.database_url)
    db.upgrade()
    return db


def open_engine(settings: Settings) -> Engine:
    """The engine for a command: database opened and upgraded."""
    return Engine(settings, open_database(settings))


# -- commands ----------------------------------------------------------------


def cmd_parse(args: argparse.Namespace, _settings: Settings) -> int:
    failed = False
    for path in args.files:
        try:
            articles = read_issue_file(Path(path), args.encoding)
        except InputError as exc:
            say_error(f"newsdigest: {exc}")
            failed = True
            continue
        for article in articles:
            record = {
                "file": str(path),
                "title": article.title,
                "subtitle": article.subtitle,
                "byline": article.byline,
                "lead": article.lead,
                "paragraphs": list(article.paragraphs),
                "subheads": list(article.subheads),
            }
            sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")
    return EXIT_ERROR if failed else EXIT_OK


def cmd_ingest(args: argparse.Namespace, settings: Settings) -> int:
    db = open_database(settings)
    totals, errors = ingest_files(
        db, [Path(p) for p in args.files], source_name=args.source, encoding=args.encoding
    )
    for line in errors:
        say_error(f"newsdigest: {line}")
    print(
        f"stored {totals.new} new, {totals.updated} updated, {totals.unchanged} unchanged "
        f"articles ({totals.same_story} joined an existing story)"
    )
    return EXIT_ERROR if errors else EXIT_OK


def cmd_sources_add(args: argparse.Namespace, settings: Settings) -> int:
    source_kind(args.location)  # a bad location is reported before the database is opened
    try:
        interval = parse_duration(args.every) if args.every else settings.fetch.default_interval
    except ValueError as exc:
        raise InputError(f"--every: {exc}") from exc
    db = open_database(settings)
    with db.write() as session:
        source = add_from_location(
            session, args.location, name=args.name, interval_seconds=interval
        )
        print(
            f"added source #{source.id}: {source.name} "
            f"({source.kind}, every {format_duration(interval)})"
        )
    return EXIT_OK


def _when(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M") if moment else "-"


def cmd_sources_list(args: argparse.Namespace, settings: Settings) -> int:
    db = open_database(settings)
    with db.read() as session:
        rows = list_sources(session)
    if args.json:
        for row in rows:
            print(
                json.dumps(
                    {
                        "id": row.id,
                        "kind": row.kind,
                        "name": row.name,
                        "location": row.location,
                        "interval_seconds": row.interval_seconds,
                        "articles": row.articles,
                        "last_checked_at": row.last_checked_at.isoformat()
                        if row.last_checked_at
                        else None,
                        "next_check_at": row.next_check_at.isoformat()
                        if row.next_check_at
                        else None,
                        "last_error": row.last_error,
                        "error_count": row.error_count,
                    },
                    ensure_ascii=False,
                )
            )
        return EXIT_OK
    table = Table(title="Sources")
    for column in (
        "id",
        "name",
        "kind",
        "every",
        "articles",
        "last check",
        "next check",
        "last error",
    ):
        table.add_column(column)
    for row in rows:
        table.add_row(
            str(row.id),
            row.name,
            row.kind,
            format_duration(row.interval_seconds),
            str(row.articles),
            _when(row.last_checked_at),
            _when(row.next_check_at),
            f"{row.last_error} (x{row.error_count})" if row.last_error else "",
        )
    Console().print(table)
    return EXIT_OK


def cmd_sources_remove(args: argparse.Namespace, settings: Settings) -> int:
    db = open_database(settings)
    with db.write() as session:
        source = remove_source(session, args.source, purge=args.purge, now=datetime.now(UTC))
        kept = "its articles deleted" if args.purge else "its articles kept"
        print(f"removed source #{source.id}: {source.name} ({kept})")
    if args.purge:
        from digests.summarize.stage import index_stored

        index_stored(db)  # the search index forgets them too
    return EXIT_OK


def run_fetch(
    db: Database, settings: Settings, *, force: bool, quiet: bool = False
) -> list[SourceOutcome]:
    with progress_bar(quiet=quiet) as progress:
        task = progress.add_task("fetching sources", total=None)

        def start(total: int) -> None:
            progress.update(task, total=total)

        def done(_outcome: SourceOutcome) -> None:
            progress.advance(task)

        return asyncio.run(fetch_due(db, settings.fetch, force=force, on_start=start, on_done=done))


def cmd_fetch(args: argparse.Namespace, settings: Settings) -> int:
    db = open_database(settings)
    outcomes = run_fetch(db, settings, force=args.all)
    for outcome in outcomes:
        if outcome.error:
            status = f"error: {outcome.error}"
        elif outcome.not_modified:
            status = "not modified"
        else:
            saved = outcome.saved
            status = f"{saved.new} new, {saved.updated} updated, {saved.unchanged} unchanged"
        print(f"#{outcome.source_id} {outcome.name}: {status}")
    if not outcomes:
        print("no source is due (use --all to fetch every source now)")
    return EXIT_OK


def cmd_db_upgrade(_args: argparse.Namespace, settings: Settings) -> int:
    open_database(settings)
    print("database schema is up to date")
    return EXIT_OK


def cmd_articles(args: argparse.Namespace, settings: Settings) -> int:
    db = open_database(settings)
    with db.read() as session:
        rows = recent_articles(session, limit=args.limit)
    if args.json:
        for row in rows:
            print(json.dumps(row, ensure_ascii=False, default=str))
        return EXIT_OK
    table = Table(title=f"Latest {len(rows)} stored articles")
    for column in ("id", "source", "title", "story", "chars"):
        table.add_column(column)
    for row in rows:
        story = "" if row["story_id"] == row["id"] else f"same as #{row['story_id']}"
        table.add_row(str(row["id"]), row["source"], row["title"], story, str(row["chars"]))
    Console().print(table)
    return EXIT_OK


SEARCH_PROBLEMS = {
    "empty": "empty query: give a word to search for",
    "only_excluded": "only excluded words: add a word to search for",
    "nothing_searchable": "nothing to search for: the query has only punctuation or common words",
}


def cmd_search(args: argparse.Namespace, settings: Settings) -> int:
    from digests.search.snippet import snippet

    engine = open_engine(settings)
    found = engine.search(" ".join(args.query), page=max(0, args.page - 1), per_page=args.limit)
    if found.problem is not None:
        raise InputError(SEARCH_PROBLEMS[found.problem])
    hits = found.results.hits
    if args.json:
        for hit in hits:
            record = {
                "id": hit.article_id,
                "title": hit.title,
                "source": hit.source,
                "link": hit.link,
                "date": hit.when.isoformat(),
            }
            print(json.dumps(record, ensure_ascii=False))
        return EXIT_OK
    console = Console()
    console.print(
        f"{found.results.total} found"
        + (" (by substring: no indexed word matched)" if found.results.fallback else "")
        + f"; page {found.page + 1} of {found.pages}",
        markup=False,
    )
    for number, hit in enumerate(hits, start=found.page * found.per_page + 1):
        plain = snippet(hit.body, found.results.needles).replace("<b>", "").replace("</b>", "")
        console.print(f"\n{number}. {hit.title}", style="bold", markup=False)
        console.print(f"   {hit.source} · {hit.when:%Y-%m-%d} · {hit.link or ''}", markup=False)
        console.print(f"   {html.unescape(plain)}", markup=False)
    return EXIT_OK


def cmd_reindex(_args: argparse.Namespace, settings: Settings) -> int:
    engine = open_engine(settings)
    with progress_bar("reindexing") as progress:
        task = progress.add_task("reindex", total=None)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        done = engine.reindex(on_progress=advance)
    say_error(f"newsdigest: reindexed {done} articles")
    return EXIT_OK


def _summarize_jsonl(args: argparse.Namespace) -> int:
    from digests.summarize.jsonl import BadLine, jsonl_records, read_jsonl

    source = sys.stdin if args.jsonl == "-" else None
    try:
        handle = source or open(args.jsonl, encoding="utf-8")  # noqa: SIM115 - closed below
    except OSError as exc:
        raise InputError(f"{args.jsonl}: cannot read ({exc.strerror or exc})") from exc
    items = []
    bad = 0
    with handle:
        try:
            for entry in read_jsonl(handle):
                if isinstance(entry, BadLine):
                    say_error(f"newsdigest: {args.jsonl}: line {entry.number}: {entry.reason}")
                    bad += 1
                else:
                    items.append(entry)
        except UnicodeDecodeError as exc:
            raise InputError(f"{args.jsonl}: not UTF-8 text") from exc
    for record in jsonl_records(items, sentences=args.sentences, chars=args.chars):
        sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")
    return EXIT_ERROR if bad else EXIT_OK


def cmd_summarize(args: argparse.Namespace, _settings: Settings) -> int:
    from digests.summarize.keywords import keywords
    from digests.summarize.rank import prepare, summarize_document
    from digests.summarize.stage import summary_products

    if args.sentences is not None and args.sentences < 1:
        raise InputError("--sentences must be at least 1")
    if args.chars is not None and args.chars < 1:
        raise InputError("--chars must be at least 1")
    if args.jsonl:
        return _summarize_jsonl(args)
    if args.file is None:
        raise InputError("give a FILE (or - for standard input), or --jsonl IN.jsonl")
    if args.file == "-":
        data = sys.stdin.buffer.read()
        articles = read_issue(data, "stdin", args.encoding)
    else:
        articles = read_issue_file(Path(args.file), args.encoding)
    for article in articles:
        document = prepare(article.body, article.title)
        if args.sentences or args.chars:
            summary = summarize_document(document, sentences=args.sentences, chars=args.chars)
            line = summary[0] if summary else ""
        else:
            line, summary = summary_products(document)
        if args.json:
            print(
                json.dumps(
                    {
                        "title": article.title,
                        "line": line,
                        "summary": summary,
                        "keywords": keywords(document),
                    },
                    ensure_ascii=False,
                )
            )
            continue
        print(f"# {article.title}")
        for sentence in summary:
            print(f"  - {sentence}")
        print(f"  keywords: {', '.join(keywords(document))}")
        print()
    return EXIT_OK


def cmd_digest(args: argparse.Namespace, settings: Settings) -> int:
    from digests.editions.build import build_edition
    from digests.editions.pages import render_page, render_text
    from digests.editions.schedule import current_schedules, latest_slot, next_slot
    from digests.summarize.stage import summarize_stored

    db = open_database(settings)
    schedules = [state.spec for state in current_schedules(db, settings)]
    spec = next((s for s in schedules if s.name == args.schedule), None)
    if spec is None:
        names = ", ".join(s.name for s in schedules)
        raise InputError(f"no schedule {args.schedule!r} (configured: {names})")
    now = datetime.now(UTC)
    # A preview shows the next edition; a build makes the latest due one.
    slot = next_slot(spec, now) if args.preview else latest_slot(spec, now)
    if slot is None:
        raise InputError(f"no edition of {spec.name!r} is due yet (try --preview)")
    summarize_stored(db)  # anything stored but not yet summarized
    # The edition the scheduler builds (or has built) for the latest due slot:
    # building by hand and by schedule is the same, idempotent, act.
    built = build_edition(
        db,
        settings.digest,
        now=now,
        schedule=spec.name,
        edition_date=slot.edition_date,
        slot=slot.slot,
        preview=args.preview,
        sources=list(spec.sources) or None,
    )
    language, title = settings.digest.language, settings.digest.title
    zone = ZoneInfo(settings.digest.timezone)
    print(render_text(built.digest, language=language, title=title, tz=zone))
    if args.html:
        page = render_page(built.digest, language=language, title=title, tz=zone)
        try:
            Path(args.html).write_text(page, encoding="utf-8")
        except OSError as exc:
            raise InputError(f"--html: cannot write {args.html} ({exc.strerror or exc})") from exc
    if args.preview:
        state = "preview, not saved"
    elif built.created:
        state = "built and saved"
    elif built.stored:
        state = "already built; shown as saved"
    else:
        state = "nothing new; no edition saved (digest.empty_edition = skip)"
    say_error(f"newsdigest: edition {args.schedule} {built.digest.edition_date}: {state}")
    return EXIT_OK


def cmd_run_scheduler(_args: argparse.Namespace, settings: Settings) -> int:
    from digests.runtime import run_scheduler

    engine = open_engine(settings)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await run_scheduler(engine, stop)

    try:
        asyncio.run(main())
    finally:
        engine.close()
    return EXIT_OK


# -- wiring ------------------------------------------------------------------


def build_parser(
    add_commands: Callable[[Any], None] | None = None,
) -> argparse.ArgumentParser:
    """The engine's commands; ``add_commands`` adds more to the same subparsers."""
    parser = argparse.ArgumentParser(prog="newsdigest", description="Reads the news for you.")
    parser.add_argument("--version", action="version", version=f"newsdigest {__version__}")
    parser.add_argument("--config", type=Path, help="config file (default: ./config.toml)")
    parser.add_argument(
        "--log-json", action="store_true", help="log one JSON object per line (or log_json = true)"
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    parse = commands.add_parser(
        "parse", help="print the articles in newspaper issue files as JSON lines"
    )
    parse.add_argument("files", nargs="+", metavar="FILE")
    parse.add_argument("--encoding", help="force the file encoding (default: detect)")
    parse.set_defaults(run=cmd_parse, needs_settings=False)

    ingest = commands.add_parser("ingest", help="store the articles of newspaper issue files")
    ingest.add_argument("files", nargs="+", metavar="FILE")
    ingest.add_argument("--source", default="newspaper", help="source name to file them under")
    ingest.add_argument("--encoding", help="force the file encoding (default: detect)")
    ingest.set_defaults(run=cmd_ingest)

    sources = commands.add_parser("sources", help="add, list or remove sources")
    source_commands = sources.add_subparsers(
        dest="sources_command", required=True, metavar="ACTION"
    )
    add = source_commands.add_parser("add", help="add a feed URL or a folder of newspaper issues")
    add.add_argument("location", metavar="URL_OR_FOLDER")
    add.add_argument("--name", help="display name")
    add.add_argument("--every", help="fetch interval, e.g. 30m, 2h (default from config)")
    add.set_defaults(run=cmd_sources_add)
    listing = source_commands.add_parser("list", help="list sources with their state")
    listing.add_argument("--json", action="store_true", help="one JSON object per line")
    listing.set_defaults(run=cmd_sources_list)
    remove = source_commands.add_parser("remove", help="stop fetching a source")
    remove.add_argument("source", metavar="ID_OR_URL")
    remove.add_argument("--purge", action="store_true", help="also delete its stored articles")
    remove.set_defaults(run=cmd_sources_remove)

    fetch = commands.add_parser("fetch", help="fetch every due source now")
    fetch.add_argument("--all", action="store_true", help="fetch every source, due or not")
    fetch.set_defaults(run=cmd_fetch)

    articles = commands.add_parser("articles", help="list the latest stored articles")
    articles.add_argument("--limit", type=int, default=20)
    articles.add_argument("--json", action="store_true")
    articles.set_defaults(run=cmd_articles)

    db = commands.add_parser("db", help="database maintenance")
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    upgrade = db_commands.add_parser("upgrade", help="migrate the schema to the newest version")
    upgrade.set_defaults(run=cmd_db_upgrade)

    summarize = commands.add_parser(
        "summarize", help="summarize the articles of a text/newspaper file, or a JSONL batch"
    )
    summarize.add_argument("file", nargs="?", metavar="FILE", help="a text or newspaper file, or -")
    summarize.add_argument(
        "--jsonl", metavar="IN.jsonl", help='lines {"id","text","title"?}; - for stdin'
    )
    budget = summarize.add_mutually_exclusive_group()
    budget.add_argument("--sentences", type=int, help="summary length in sentences")
    budget.add_argument("--chars", type=int, help="summary length in visible characters")
    summarize.add_argument("--encoding", help="force the file encoding (default: detect)")
    summarize.add_argument("--json", action="store_true", help="one JSON object per article")
    summarize.set_defaults(run=cmd_summarize)

    digest = commands.add_parser("digest", help="build (or preview) an edition and print it")
    digest.add_argument("--schedule", default="daily", help="schedule name (default: daily)")
    digest.add_argument("--preview", action="store_true", help="compose without saving")
    digest.add_argument("--html", metavar="FILE", help="also write the edition as an HTML page")
    digest.set_defaults(run=cmd_digest)

    search = commands.add_parser("search", help="search stored articles")
    search.add_argument(
        "query", nargs="+", metavar="QUERY", help='words, "phrase", -not, OR, source:, since:'
    )
    search.add_argument("--page", type=int, default=1)
    search.add_argument("--limit", type=int, default=10, help="results per page")
    search.add_argument("--json", action="store_true", help="one JSON object per result")
    search.set_defaults(run=cmd_search)
    reindex = commands.add_parser("reindex", help="rebuild the search index")
    reindex.set_defaults(run=cmd_reindex)

    scheduler = commands.add_parser(
        "run-scheduler", help="build editions on schedule and fetch due sources (no bot)"
    )
    scheduler.set_defaults(run=cmd_run_scheduler)
    from digests.commands import register_all

    register_all(commands, {"sources": source_commands, "db": db_commands})
    if add_commands is not None:
        add_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None, parser: argparse.ArgumentParser | None = None) -> int:
    """Run one command; ``parser`` may add commands (the bot's, see bot/cli.py)."""
    args = (parser or build_parser()).parse_args(argv)
    try:
        settings = (
            load_settings(args.config) if getattr(args, "needs_settings", True) else Settings()
        )
        configure_logging(settings.log_level, json_lines=args.log_json or settings.log_json)
        apply_text_settings(settings)
        apply_search_settings(settings)
        return int(args.run(args, settings))
    except NewsdigestError as exc:
        say_error(f"newsdigest: error: {exc}")
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
