"""The offline demo: the project's own corpus served as real feeds on 127.0.0.1,
fetched, parsed and stored exactly as a real deployment would; then the real
bot, against a local stand-in for the Telegram Bot API, delivers the day's
edition to a simulated subscriber, and the terminal shows what they see.

No token, no network: the feeds come from ``digests/demo_corpus`` through the
same local HTTP server the tests use, and a newspaper issue arrives in a
watched folder the way a daily e-paper does.
"""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from bot.sandbox import Sandbox, show_entries
from digests.cli.common import configure_logging, run_fetch
from digests.config import FetchSettings, Settings
from digests.engine import Engine
from digests.feedserver import FeedServer
from digests.store.db import Database

CORPUS = Path(__file__).resolve().parents[1] / "digests" / "demo_corpus"
DEMO_FEEDS = (
    ("zh_city.json", "临江新闻网"),
    ("zh_wire.xml", "临江晚报"),
    ("en_world.xml", "Harbor Town Gazette"),
)
ISSUE = "issue_2026-11-20.txt"


def _summary(outcomes: list) -> str:
    lines = []
    for outcome in outcomes:
        if outcome.error:
            lines.append(f"  {outcome.name}: error: {outcome.error}")
        elif outcome.not_modified:
            lines.append(f"  {outcome.name}: not modified (HTTP 304, nothing parsed or stored)")
        else:
            saved = outcome.saved
            extra = f", {outcome.files} new issue file(s)" if outcome.files else ""
            lines.append(
                f"  {outcome.name}: {saved.new} new, {saved.updated} updated, "
                f"{saved.same_story} recognised as an already-known story{extra}"
            )
    return "\n".join(lines)


def run_demo(data_dir: Path) -> int:
    console = Console()
    configure_logging("WARNING")
    if data_dir.exists():
        shutil.rmtree(data_dir)
    epaper = data_dir / "epaper"
    epaper.mkdir(parents=True)
    settings = Settings(
        database_url=f"sqlite:///{data_dir / 'newsdigest.db'}",
        fetch=FetchSettings(allowed_networks=["127.0.0.0/8"]),
    )
    engine = Engine.open(settings)
    db = engine.db
    with FeedServer(root=CORPUS) as server:
        for file, name in DEMO_FEEDS:
            engine.add_source(server.url(f"files/{file}"), name=name, interval_seconds=1800)
        engine.add_source(str(epaper.resolve()), name="临江区报 e-paper", interval_seconds=600)
        shutil.copy(CORPUS / ISSUE, epaper / ISSUE)
        console.rule("newsdigest demo: first fetch")
        console.print(f"feeds served on 127.0.0.1:{server.port}; e-paper folder {epaper}")
        console.print(_summary(run_fetch(engine, force=True)), markup=False)
        console.rule("second fetch: unchanged feeds cost one conditional GET each")
        console.print(_summary(run_fetch(engine, force=True)), markup=False)

    rows = engine.recent_articles(limit=100)
    sources = engine.sources()
    table = Table(title=f"{len(rows)} articles stored in {data_dir / 'newsdigest.db'}")
    for column in ("id", "source", "title / one-line summary / keywords", "same story as"):
        table.add_column(column, overflow="fold")
    for row in sorted(rows, key=lambda r: r["id"]):
        story = "" if row["story_id"] == row["id"] else f"#{row['story_id']}"
        text = Text(row["title"], style="bold")
        text.append(f"\n{row['summary_line'] or ''}")
        text.append(f"\n{', '.join(row['keywords'][:6])}", style="dim")
        table.add_row(str(row["id"]), row["source"], text, story)
    console.print(table)
    console.print(
        "sources: " + ", ".join(f"{s.name} ({s.articles})" for s in sources), markup=False
    )
    console.rule("Telegram, offline: the real bot against a local Bot API server")
    asyncio.run(_conversation(console, settings, db))
    console.print(
        "Try it yourself: "
        f"NEWSDIGEST_DATABASE_URL=sqlite:///{data_dir}/newsdigest.db "
        "newsdigest chat --copy-database",
        markup=False,
        soft_wrap=True,  # one line, to copy
    )
    engine.close()
    return 0


READER = 10001


REPEATED = (
    "[dim](the bot replies with the same message as above, word for word: not shown again)[/dim]"
)


def _show_new(console: Console, sandbox: Sandbox, shown: set[str]) -> None:
    """The conversation since it was last shown; a bot message the reader has
    seen already (``/today`` answers with the edition just delivered, a
    hundred lines and more) is one line saying so. ``shown``: texts shown."""
    entries: list[dict[str, Any]] = []
    for entry in sandbox.new_entries():
        text = Sandbox.shown(entry).text if entry["by"] == "bot" else ""
        if text and text in shown:
            show_entries(console, entries)
            entries = []
            console.print(REPEATED)
            continue
        shown.add(text)
        entries.append(entry)
    show_entries(console, entries)


async def _conversation(console: Console, settings: Settings, db: Database) -> None:
    """A subscriber starts the bot, receives the day's edition, asks for /today,
    searches, sets an alert, switches to English and searches again. The
    edition is shown once."""
    shown: set[str] = set()
    async with Sandbox(settings, db) as sandbox:
        await sandbox.say(READER, "/start", first_name="Lin")
        _show_new(console, sandbox, shown)
        console.print("[dim]… the edition's time comes: it is built and delivered[/dim]")
        sandbox.engine.build_due_editions()
        await sandbox.deliver_now()
        _show_new(console, sandbox, shown)
        await sandbox.say(READER, "/today")
        _show_new(console, sandbox, shown)
        console.print("[dim]… words typed in a private chat are a search[/dim]")
        await sandbox.say(READER, "滨江 步道")
        await sandbox.say(READER, "/alert 马拉松")
        await sandbox.say(READER, "/lang en")
        await sandbox.say(READER, "harbor ferry")
        _show_new(console, sandbox, shown)
