"""The command line as a user runs it: a real process, real files, real exit codes."""

from __future__ import annotations

import argparse
import json
import os
import pkgutil
import re
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

import bot.cli
import digests.cli
from digests.feedserver import FeedServer
from tests.conftest import CORPUS, SAMPLE_ISSUE, needs_shared


def _environment(env: dict[str, str] | None) -> dict[str, str]:
    """This environment without any NEWSDIGEST_ setting, plus ``env``; the
    metrics endpoint is off unless ``env`` names a port (no fixed port in tests)."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("NEWSDIGEST_")}
    environment["NEWSDIGEST_METRICS__PORT"] = "0"
    environment.update(env or {})
    return environment


def start_newsdigest(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.Popen[str]:
    """``newsdigest ARGS`` running in the background (a service: run, run-scheduler)."""
    return subprocess.Popen(
        [sys.executable, "-m", "bot.cli", *args],
        cwd=cwd,
        env=_environment(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def newsdigest(
    *args: str, cwd: Path, env: dict[str, str] | None = None, typed: str | None = None
) -> subprocess.CompletedProcess[str]:
    """``newsdigest ARGS`` run to its end; ``typed`` is its standard input."""
    environment = _environment(env)
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        cwd=cwd,
        env=environment,
        input=typed,
        capture_output=True,
        text=True,
        timeout=120,
    )


def assert_one_line_error(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


COMMANDS = {
    "parse",
    "ingest",
    "fetch",
    "sources",
    "articles",
    "summarize",
    "digest",
    "schedules",
    "editions",
    "subscribers",
    "search",
    "reindex",
    "db",
    "web",
    "run-scheduler",
    "run",
    "worker",
    "chat",
    "demo",
    "doctor",
}


def test_every_command_module_registers_and_help_lists_each_command_once(
    tmp_path: Path,
) -> None:
    """One registration mechanism: every module of ``digests/cli/`` (but its
    helpers) is in the one list, every listed module has ``register``, and
    ``newsdigest --help`` lists each command of the whole program exactly once."""
    in_package = {info.name for info in pkgutil.iter_modules(digests.cli.__path__)}
    listed_modules = {module.__name__.rpartition(".")[2] for module in digests.cli.MODULES}
    assert in_package - {"common", "__main__"} == listed_modules
    modules = [*digests.cli.MODULES, *bot.cli.MODULES]
    for module in modules:
        assert callable(getattr(module, "register", None)), module.__name__
    parser = digests.cli.build_parser(modules)
    (subparsers,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    result = newsdigest("--help", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    shown = re.findall(r"^ {4}(\S+)", result.stdout, flags=re.MULTILINE)
    assert sorted(shown) == sorted(set(shown)) == sorted(subparsers.choices) == sorted(COMMANDS)


@needs_shared
def test_parse_sample_prints_three_articles(tmp_path: Path) -> None:
    result = newsdigest("parse", str(SAMPLE_ISSUE), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["title"][:8] for r in records] == [
        "人民城市建标杆 ",
        "助力城市数字化转",
        "这场久别重逢在杨",
    ]
    for record in records:
        assert set(record) >= {"title", "subtitle", "byline", "lead", "paragraphs", "subheads"}
    assert not list(tmp_path.iterdir())  # touched no database


def test_parse_bad_file_is_one_line_and_others_go_on(tmp_path: Path) -> None:
    result = newsdigest(
        "parse", str(tmp_path / "missing.txt"), str(CORPUS / "issue_2026-11-20.txt"), cwd=tmp_path
    )
    assert_one_line_error(result)
    assert "missing.txt" in result.stderr
    assert len(result.stdout.splitlines()) == 3


@pytest.mark.parametrize(
    ("content", "why"),
    [
        ("Harbor Town opens a new ferry pier on Monday\n", "36 page furniture before the first"),
        ("临江区滨江步道青石湾段正式开放\n", "page furniture before the first article"),
        ("", "it holds no text"),
        (" \n\n\t\n", "it holds no text"),
    ],
    ids=["one-line", "one-line-zh", "empty", "blank"],
)
def test_parse_of_a_file_without_an_article_says_why_and_fails(
    tmp_path: Path, content: str, why: str
) -> None:
    issue = tmp_path / "one.txt"
    issue.write_text(content, "utf-8")
    result = newsdigest("parse", str(issue), cwd=tmp_path)
    assert_one_line_error(result)
    assert result.stderr.startswith(f"newsdigest: no article found in {issue}: ")
    assert why in result.stderr
    assert result.stdout == ""


def test_parse_goes_on_after_a_file_without_an_article(tmp_path: Path) -> None:
    issue = tmp_path / "one.txt"
    issue.write_text("Harbor Town opens a new ferry pier on Monday\n", "utf-8")
    result = newsdigest("parse", str(issue), str(CORPUS / "issue_2026-11-20.txt"), cwd=tmp_path)
    assert_one_line_error(result)
    assert "no article found in" in result.stderr
    assert len(result.stdout.splitlines()) == 3


def test_parse_forced_wrong_encoding(tmp_path: Path) -> None:
    issue = tmp_path / "gbk.txt"
    issue.write_bytes((CORPUS / "issue_2026-11-20.txt").read_text("utf-8").encode("gb18030"))
    assert_one_line_error(newsdigest("parse", "--encoding", "utf-8", str(issue), cwd=tmp_path))
    assert newsdigest("parse", "--encoding", "gb18030", str(issue), cwd=tmp_path).returncode == 0


def test_sources_ingest_fetch_flow(
    tmp_path: Path, database_url: str, feed_server: FeedServer
) -> None:
    env = {
        "NEWSDIGEST_DATABASE_URL": database_url,
        "NEWSDIGEST_FETCH__ALLOWED_NETWORKS": '["127.0.0.0/8"]',
    }
    added = newsdigest(
        "sources",
        "add",
        feed_server.url("files/zh_city.json"),
        "--name",
        "city",
        "--every",
        "15m",
        cwd=tmp_path,
        env=env,
    )
    assert added.returncode == 0, added.stderr
    assert "every 15m" in added.stdout
    assert_one_line_error(
        newsdigest("sources", "add", feed_server.url("files/zh_city.json"), cwd=tmp_path, env=env)
    )
    fetched = newsdigest("fetch", cwd=tmp_path, env=env)
    assert fetched.returncode == 0 and "6 new" in fetched.stdout, fetched.stderr
    ingested = newsdigest("ingest", str(CORPUS / "issue_2026-11-20.txt"), cwd=tmp_path, env=env)
    assert ingested.returncode == 0 and "stored 3 new" in ingested.stdout
    listing = newsdigest("sources", "list", "--json", cwd=tmp_path, env=env)
    rows = [json.loads(line) for line in listing.stdout.splitlines()]
    assert [(r["name"], r["articles"]) for r in rows] == [("city", 6), ("newspaper", 3)]
    removed = newsdigest("sources", "remove", "city", cwd=tmp_path, env=env)
    assert removed.returncode == 0 and "kept" in removed.stdout
    articles = newsdigest("articles", "--json", "--limit", "100", cwd=tmp_path, env=env)
    assert len(articles.stdout.splitlines()) == 9  # removing a source keeps its articles


LONG_URL = "https://news.example.org/regional/feeds/harbor-town/world-and-city/rss.xml?lang=zh"
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _two_sources(tmp_path: Path, database_url: str) -> dict[str, str]:
    env = {"NEWSDIGEST_DATABASE_URL": database_url}
    for args in ([LONG_URL], [LONG_URL.replace("rss.xml", "atom.xml"), "--name", "Harbor\tTown"]):
        added = newsdigest("sources", "add", *args, cwd=tmp_path, env=env)
        assert added.returncode == 0, added.stderr
    return env


def test_sources_list_in_a_pipe_prints_whole_values_tab_separated(
    tmp_path: Path, database_url: str
) -> None:
    env = _two_sources(tmp_path, database_url) | {"COLUMNS": "80"}
    result = newsdigest("sources", "list", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    header, *rows = [line.split("\t") for line in result.stdout.splitlines()]
    assert header == "id name kind location every articles last_check next_check state".split()
    assert [(row[1], row[3]) for row in rows] == [
        (LONG_URL, LONG_URL),
        ("Harbor Town", LONG_URL.replace("rss.xml", "atom.xml")),  # a tab is no field's
    ]
    assert all(len(row) == len(header) for row in rows)
    assert "…" not in result.stdout


def test_sources_list_json_has_every_field_whole(tmp_path: Path, database_url: str) -> None:
    env = _two_sources(tmp_path, database_url) | {"COLUMNS": "80"}
    result = newsdigest("sources", "list", "--json", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [record["location"] for record in records] == [
        LONG_URL,
        LONG_URL.replace("rss.xml", "atom.xml"),
    ]
    for record in records:
        assert set(record) >= {"id", "kind", "name", "location", "interval_seconds", "articles"}
        assert set(record) >= {"last_checked_at", "next_check_at", "last_error", "enabled"}


def test_sources_list_in_an_80_column_terminal_wraps_urls_instead_of_cutting_them(
    tmp_path: Path, database_url: str
) -> None:
    env = _two_sources(tmp_path, database_url) | {"COLUMNS": "80", "FORCE_COLOR": "1"}
    result = newsdigest("sources", "list", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    lines = ANSI.sub("", result.stdout).splitlines()
    assert max(len(line) for line in lines) == 80 and "┃" in result.stdout  # the table
    # the "source" column (the second), read down its wrapped lines
    cells = [line.split("│")[2].strip() for line in lines if line.startswith("│")]
    column = "".join(cells)
    # source 1 is named by its URL (shown once); source 2 has its URL under its name
    assert column.count(LONG_URL) == 1
    assert column.index(LONG_URL) < column.index("Harbor")
    assert column.endswith(LONG_URL.replace("rss.xml", "atom.xml"))
    assert "…" not in result.stdout


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["sources", "add", "not a url"], "neither"),
        (["sources", "add", "ftp://example.org/feed"], "scheme"),
        (["sources", "add", "https://example.org/feed", "--every", "soon"], "--every"),
        (["sources", "remove", "42"], "no source"),
    ],
    ids=["garbage", "scheme", "interval", "unknown-source"],
)
def test_bad_arguments_are_one_line(
    tmp_path: Path, database_url: str, args: list[str], needle: str
) -> None:
    result = newsdigest(*args, cwd=tmp_path, env={"NEWSDIGEST_DATABASE_URL": database_url})
    assert_one_line_error(result)
    assert needle in result.stderr


@pytest.mark.parametrize(
    ("config", "needle"),
    [
        ("databse_url = 'x'\n", "unknown key 'databse_url'"),
        ("[fetch]\nconcurrency = 0\n", "fetch.concurrency"),
        ("[fetch]\ndefault_interval = 'often'\n", "fetch.default_interval"),
        ("[fetch]\nallowed_networks = ['not-a-network']\n", "fetch.allowed_networks"),
        ("database_url = \n", "not valid TOML"),
    ],
    ids=["unknown-key", "range", "duration", "network", "toml"],
)
def test_bad_config_names_the_key(tmp_path: Path, config: str, needle: str) -> None:
    (tmp_path / "config.toml").write_text(config, "utf-8")
    result = newsdigest("sources", "list", cwd=tmp_path)
    assert_one_line_error(result)
    assert needle in result.stderr


def test_database_password_never_printed(tmp_path: Path) -> None:
    result = newsdigest(
        "sources",
        "list",
        cwd=tmp_path,
        env={"NEWSDIGEST_DATABASE_URL": "postgresql+nosuchdriver://user:s3cret@127.0.0.1:1/db"},
    )
    assert_one_line_error(result)
    assert "s3cret" not in result.stderr


def test_a_postgresql_password_is_never_shown(tmp_path: Path, postgres_url: str) -> None:
    url = make_url(postgres_url).set(password="s3cretPW")  # the test server trusts any
    working = url.render_as_string(hide_password=False)
    missing = url.set(database="no_such_database").render_as_string(hide_password=False)
    debug = {"NEWSDIGEST_LOG_LEVEL": "DEBUG"}
    runs = [
        newsdigest(*args, cwd=tmp_path, env=debug | {"NEWSDIGEST_DATABASE_URL": database})
        for args, database in [
            (("db", "upgrade"), working),
            (("sources", "list"), working),
            (("doctor",), working),
            (("sources", "list"), missing),
        ]
    ]
    assert [run.returncode for run in runs[:2]] == [0, 0], runs[0].stderr + runs[1].stderr
    assert_one_line_error(runs[3])
    assert "no_such_database" in runs[3].stderr and ":***@" in runs[3].stderr
    for run in runs:
        assert "s3cretPW" not in run.stdout + run.stderr


@pytest.mark.sqlite_only("the demo keeps its own SQLite database in its data directory")
def test_demo_runs_offline(tmp_path: Path) -> None:
    demo = tmp_path / "demo"
    result = newsdigest("demo", "--data-dir", str(demo), cwd=tmp_path, env={"COLUMNS": "100"})
    assert result.returncode == 0, result.stderr
    assert "19 articles stored" in result.stdout
    assert "not modified" in result.stdout
    # the edition is shown once, as delivered; /today's same edition is one line
    assert result.stdout.count("今日要闻 · ") == 1
    today = result.stdout.index("› /today")
    assert result.stdout.index("今日要闻 · ") < today
    replied = result.stdout[today:].splitlines()[1]
    assert (
        replied
        == "(the bot replies with the same message as above, word for word: not shown again)"
    )
    assert "› harbor ferry" in result.stdout and "Gull Island ferry returns" in result.stdout
    hint = f"NEWSDIGEST_DATABASE_URL=sqlite:///{demo}/newsdigest.db newsdigest chat --copy-database"
    assert hint in result.stdout


@pytest.mark.sqlite_only("the tantivy index lives beside a SQLite file")
def test_reindex_while_another_process_writes_the_index_is_one_line(tmp_path: Path) -> None:
    """A busy search writer (a running bot) is IndexBusy: one line, exit 1."""
    import tantivy

    from digests.config import SearchSettings, Settings
    from digests.search.factory import open_search_index, tantivy_directory
    from digests.store.db import Database

    url = f"sqlite:///{tmp_path / 'news.db'}"
    db = Database(url)
    db.upgrade()
    open_search_index(SearchSettings(), db)  # creates the index directory
    directory = tantivy_directory(Settings().search, db)
    writer = tantivy.Index.open(str(directory)).writer()  # holds the writer lock
    try:
        result = newsdigest("reindex", cwd=tmp_path, env={"NEWSDIGEST_DATABASE_URL": url})
    finally:
        del writer
    assert result.returncode == 1 and "Traceback" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]  # after the routine INFO log line
    assert last.startswith("newsdigest: error: the search index is being written by another")
    db.close()
