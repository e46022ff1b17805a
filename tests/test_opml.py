"""OPML: real-world shapes parsed, hostile XML refused, rendering escaped, and
`sources import` / `sources export` round-tripping through real databases."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from digests.errors import InputError
from digests.feedserver import FeedServer
from digests.ingest.opml import OpmlFeed, parse_opml, render_opml
from digests.ingest.parse import parse_feed_bytes
from tests.conftest import SHARED_FEEDS
from tests.test_cli import newsdigest

NESTED = b"""<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0">
  <head><title>My feeds</title></head>
  <body>
    <outline text="News" title="News">
      <outline text="World">
        <outline type="rss" text="Harbor Gazette" xmlUrl="https://harbor.example/feed.xml"
                 htmlUrl="https://harbor.example/"/>
      </outline>
      <outline type="rss" text="City" xmlUrl="https://city.example/rss"/>
    </outline>
    <outline type="rss" text="Top level" xmlUrl="https://top.example/atom"/>
  </body>
</opml>"""

OPML_1 = b"""<?xml version="1.0" encoding="ISO-8859-1"?>
<opml version="1.0">
  <head><title>Caf\xe9 list</title></head>
  <body>
    <outline title="Caf\xe9 news" xmlurl="http://cafe.example/rss"/>
    <outline xmlURL="http://untitled.example/feed"/>
    <outline text="  spaced
       title  " XMLURL="http://spaced.example/feed"/>
  </body>
</opml>"""

MESSY = b"""<opml version="2.0"><body>
  <outline text="a link, not a feed" type="link" url="https://example.com/page"/>
  <outline text="a note"/>
  <outline text="Empty folder"></outline>
  <outline text="First" xmlUrl="https://dup.example/feed"/>
  <outline text="Folder"><outline text="Again" xmlUrl="https://dup.example/feed"/></outline>
  <outline text="Old scheme" xmlUrl="feed://old.example/rss"/>
  <outline text="Old scheme 2" xmlUrl="feed:https://old2.example/rss"/>
  <outline text="Categorized" xmlUrl="https://cat.example/rss" category="/Tech/Web,/Other"/>
  <outline text="URL as title" title="https://same.example/rss" xmlUrl="https://same.example/rss"/>
  <notoutline xmlUrl="https://ignored.example/"/>
</body></opml>"""

CHINESE_GB = (
    '<?xml version="1.0" encoding="GB2312"?>\n<opml version="1.0"><head><title>订阅</title></head>'
    '<body><outline text="科技"><outline text="阮一峰的网络日志" '
    'xmlUrl="https://www.ruanyifeng.com/blog/atom.xml"/></outline></body></opml>'
).encode("gb2312")

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE opml [
  <!ENTITY lol "lol">
  <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
  <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
  <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
  <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
  <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
  <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
  <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<opml version="2.0"><body><outline text="&lol9;" xmlUrl="https://bomb.example/"/></body></opml>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE opml [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<opml version="2.0"><body><outline text="&secret;" xmlUrl="https://x.example/"/></body></opml>"""


def test_nested_folders_give_each_feed_its_path() -> None:
    document = parse_opml(NESTED)
    assert document.title == "My feeds"
    assert document.feeds == (
        OpmlFeed(
            "https://harbor.example/feed.xml",
            "Harbor Gazette",
            "https://harbor.example/",
            ("News", "World"),
        ),
        OpmlFeed("https://city.example/rss", "City", None, ("News",)),
        OpmlFeed("https://top.example/atom", "Top level", None, ()),
    )
    assert (document.duplicates, document.ignored) == (0, 0)


def test_opml_1_with_any_attribute_case_and_missing_titles() -> None:
    document = parse_opml(OPML_1)
    assert document.title == "Café list"
    assert [(f.url, f.title) for f in document.feeds] == [
        ("http://cafe.example/rss", "Café news"),
        ("http://untitled.example/feed", None),
        ("http://spaced.example/feed", "spaced title"),
    ]


def test_real_world_mess_is_tolerated_and_counted() -> None:
    document = parse_opml(MESSY)
    assert [(f.url, f.title, f.folder) for f in document.feeds] == [
        ("https://dup.example/feed", "First", ()),
        ("http://old.example/rss", "Old scheme", ()),
        ("https://old2.example/rss", "Old scheme 2", ()),
        ("https://cat.example/rss", "Categorized", ("Tech", "Web")),
        ("https://same.example/rss", None, ()),
    ]
    assert document.duplicates == 1  # the second dup.example, inside "Folder"
    # The link, the note and the empty folder (outlines with nothing to import);
    # the folder holding "Again" is not counted.
    assert document.ignored == 3


def test_a_declared_chinese_encoding_is_read() -> None:
    document = parse_opml(CHINESE_GB)
    assert document.title == "订阅"
    assert document.feeds[0].title == "阮一峰的网络日志"
    assert document.feeds[0].folder == ("科技",)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"<opml><body><outline text='x'", "not well-formed XML"),
        (b"<rss version='2.0'><channel/></rss>", "the root element is <rss>"),
        (b"<opml version='2.0'><head/></opml>", "no <body>"),
        (b"", "empty file"),
        (b"   \n", "empty file"),
        (b"\x00\x01\x02\x03" * 64, "binary data"),
        (BILLION_LAUGHS, "declares XML entities (refused)"),
        (EXTERNAL_ENTITY, "declares XML entities (refused)"),
    ],
    ids=["truncated", "a feed", "no body", "empty", "blank", "binary", "bomb", "external"],
)
def test_unusable_files_are_one_clear_line(data: bytes, message: str) -> None:
    with pytest.raises(InputError) as raised:
        parse_opml(data)
    assert message in str(raised.value)
    assert "\n" not in str(raised.value)


def test_render_escapes_and_keeps_chinese_as_utf8() -> None:
    feeds = [
        OpmlFeed("https://a.example/feed?x=1&y=2", 'Tom & Jerry <"news">', None, ("A & B",)),
        OpmlFeed("https://b.example/", "新华社\x00\x1f 快讯\n第二行", "https://b.example/home"),
        OpmlFeed("https://c.example/", None),
    ]
    data = render_opml(feeds, title="Mine & yours")
    text = data.decode("utf-8")
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    assert 'xmlUrl="https://a.example/feed?x=1&amp;y=2"' in text
    assert "Tom &amp; Jerry &lt;&quot;news&quot;&gt;" in text
    assert "新华社" in text  # raw UTF-8, not character references
    assert "\x00" not in text and "\x1f" not in text
    assert 'version="2.0"' in text and "<title>Mine &amp; yours</title>" in text
    back = parse_opml(data)
    assert back.title == "Mine & yours"
    assert [(f.url, f.title, f.html_url, f.folder) for f in back.feeds] == [
        ("https://a.example/feed?x=1&y=2", 'Tom & Jerry <"news">', None, ("A & B",)),
        ("https://b.example/", "新华社 快讯 第二行", "https://b.example/home", ()),
        ("https://c.example/", None, None, ()),
    ]


_words = st.text(
    alphabet=st.sampled_from([*"abcXYZ 新闻日报 &<>\"'\t\n;#", "\x07", "\ud7ff"]),
    min_size=1,
    max_size=20,
)


def _normal(text: str) -> str | None:
    cleaned = " ".join(text.replace("\x07", "").split())
    return cleaned or None


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.text(alphabet="abcdef0123456789-_/.?=&%", max_size=30),
            st.one_of(st.none(), _words),
            st.lists(_words, max_size=3),
        ),
        max_size=12,
    )
)
def test_render_then_parse_gives_the_same_feeds(
    entries: list[tuple[str, str | None, list[str]]],
) -> None:
    feeds = {}
    for path, title, folder in entries:
        url = f"https://example.com/{path}"
        names = tuple(name for name in (_normal(part) for part in folder) if name)
        feeds.setdefault(url, OpmlFeed(url, _normal(title) if title else None, None, names))
    back = parse_opml(render_opml(feeds.values(), title="t"))
    assert sorted(back.feeds, key=lambda f: f.url) == sorted(feeds.values(), key=lambda f: f.url)


# -- the command line ------------------------------------------------------------

IMPORT_FILE = """<?xml version="1.0" encoding="UTF-8"?>
<opml version="1.0">
  <head><title>From another reader</title></head>
  <body>
    <outline text="中文">
      <outline text="临江晚报 &amp; 城市" type="rss" xmlUrl="https://linjiang.example/rss?a=1&amp;b=2"/>
      <outline text="Nested">
        <outline xmlUrl="https://untitled.example/feed"/>
      </outline>
    </outline>
    <outline text="Harbor Gazette" xmlUrl="https://harbor.example/feed.xml"/>
    <outline text="Harbor again" xmlUrl="https://harbor.example/feed.xml"/>
    <outline text="A script" xmlUrl="javascript:alert(1)"/>
    <outline text="A local folder" xmlUrl="/var/news"/>
    <outline text="just a link" type="link" url="https://example.com/"/>
  </body>
</opml>
"""
IMPORTED = {
    ("https://linjiang.example/rss?a=1&b=2", "临江晚报 & 城市"),
    ("https://untitled.example/feed", "https://untitled.example/feed"),
    ("https://harbor.example/feed.xml", "Harbor Gazette"),
}


def _env(database_url: str) -> dict[str, str]:
    # The shared set is served on 127.0.0.1: allowed, as an operator would allow it.
    return {
        "NEWSDIGEST_DATABASE_URL": database_url,
        "NEWSDIGEST_FETCH__ALLOWED_NETWORKS": '["127.0.0.0/8"]',
    }


def _feeds_in(database_url: str, cwd: Path) -> set[tuple[str, str]]:
    listed = newsdigest("sources", "list", "--json", cwd=cwd, env=_env(database_url))
    assert listed.returncode == 0, listed.stderr
    rows = [json.loads(line) for line in listed.stdout.splitlines()]
    return {(row["location"], row["name"]) for row in rows if row["kind"] == "feed"}


def _ok(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return result


def test_import_export_import_round_trip(
    tmp_path: Path, database_url: str, empty_database_url: str
) -> None:
    source = tmp_path / "subscriptions.opml"
    source.write_text(IMPORT_FILE, encoding="utf-8")
    env = _env(database_url)

    imported = _ok(newsdigest("sources", "import", str(source), cwd=tmp_path, env=env))
    assert "added 3, already present 0, invalid 2" in imported.stdout
    assert "1 repeated in the file" in imported.stdout
    problems = imported.stderr.strip().splitlines()
    assert len(problems) == 2
    assert any("A script" in line and "javascript" in line for line in problems)
    assert any("A local folder" in line for line in problems)
    assert _feeds_in(database_url, tmp_path) == IMPORTED

    folder = tmp_path / "issues"
    folder.mkdir()
    _ok(newsdigest("sources", "add", str(folder), cwd=tmp_path, env=env))
    exported_file = tmp_path / "export.opml"
    exported = _ok(newsdigest("sources", "export", str(exported_file), cwd=tmp_path, env=env))
    assert "exported 3 feeds" in exported.stderr and "1 newspaper-folder" in exported.stderr
    assert exported.stdout == ""
    to_stdout = _ok(newsdigest("sources", "export", cwd=tmp_path, env=env))
    assert (
        parse_opml(to_stdout.stdout.encode()).feeds == parse_opml(exported_file.read_bytes()).feeds
    )
    assert str(folder) not in exported_file.read_text(encoding="utf-8")

    second = _env(empty_database_url)
    again = _ok(newsdigest("sources", "import", str(exported_file), cwd=tmp_path, env=second))
    assert "added 3, already present 0, invalid 0" in again.stdout and again.stderr == ""
    assert _feeds_in(empty_database_url, tmp_path) == IMPORTED

    repeat = _ok(newsdigest("sources", "import", str(exported_file), cwd=tmp_path, env=second))
    assert "added 0, already present 3, invalid 0" in repeat.stdout
    assert _feeds_in(empty_database_url, tmp_path) == IMPORTED


def test_dry_run_changes_nothing_and_creates_no_database(tmp_path: Path) -> None:
    source = tmp_path / "subscriptions.opml"
    source.write_text(IMPORT_FILE, encoding="utf-8")
    database = tmp_path / "data" / "fresh.db"
    env = _env(f"sqlite:///{database}")
    dry = _ok(newsdigest("sources", "import", "--dry-run", str(source), cwd=tmp_path, env=env))
    assert "would add 3, already present 0, invalid 2" in dry.stdout
    assert "would add: Harbor Gazette <https://harbor.example/feed.xml>" in dry.stdout
    assert not database.exists() and not database.parent.exists()


def test_import_interval_and_present_sources(tmp_path: Path, database_url: str) -> None:
    source = tmp_path / "subscriptions.opml"
    source.write_text(IMPORT_FILE, encoding="utf-8")
    env = _env(database_url)
    _ok(newsdigest("sources", "add", "https://harbor.example/feed.xml", cwd=tmp_path, env=env))
    dry = _ok(newsdigest("sources", "import", "--dry-run", str(source), cwd=tmp_path, env=env))
    assert "would add 2, already present 1, invalid 2" in dry.stdout
    result = _ok(
        newsdigest("sources", "import", str(source), "--every", "2h", cwd=tmp_path, env=env)
    )
    assert "added 2, already present 1, invalid 2 (every 2h)" in result.stdout
    listed = newsdigest("sources", "list", "--json", cwd=tmp_path, env=env)
    intervals = {
        row["location"]: row["interval_seconds"]
        for row in map(json.loads, listed.stdout.splitlines())
    }
    assert intervals["https://linjiang.example/rss?a=1&b=2"] == 7200
    assert intervals["https://harbor.example/feed.xml"] == 1800  # left as it was


@pytest.mark.parametrize(
    ("content", "args", "message"),
    [
        (None, (), "cannot read"),
        (b"<rss><channel/></rss>", (), "not an OPML file"),
        (b"<opml><body><outline", (), "not well-formed XML"),
        (BILLION_LAUGHS, (), "refused"),
        (b"<opml><body><outline text='a note'/></body></opml>", (), "no feeds in it"),
        (NESTED, ("--every", "soon"), "--every"),
    ],
    ids=["missing file", "a feed", "broken XML", "entity bomb", "no feeds", "bad interval"],
)
def test_unusable_input_is_one_line_and_exit_1(
    tmp_path: Path, content: bytes | None, args: tuple[str, ...], message: str
) -> None:
    path = tmp_path / "in.opml"
    if content is not None:
        path.write_bytes(content)
    database = tmp_path / "never.db"
    result = newsdigest(
        "sources", "import", str(path), *args, cwd=tmp_path, env=_env(f"sqlite:///{database}")
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.stderr
    assert not database.exists()


def test_a_file_of_only_invalid_feeds_exits_1_after_reporting_each(
    tmp_path: Path, database_url: str
) -> None:
    path = tmp_path / "bad.opml"
    path.write_text(
        '<opml version="2.0"><body><outline text="ftp" xmlUrl="ftp://a.example/"/>'
        '<outline text="mail" xmlUrl="mailto:x@example.com"/></body></opml>',
        encoding="utf-8",
    )
    result = newsdigest("sources", "import", str(path), cwd=tmp_path, env=_env(database_url))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "added 0, already present 0, invalid 2" in result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 3 and "every feed in it is invalid" in lines[-1]
    assert _feeds_in(database_url, tmp_path) == set()


def test_feeds_of_the_shared_set_round_trip_with_their_titles(
    tmp_path: Path, database_url: str, shared_feed_server: FeedServer
) -> None:
    """Real Chinese feed titles (read from ../shared at test time) as OPML data."""
    feeds = []
    for path in sorted((SHARED_FEEDS / "zh_real").rglob("*")):
        if not path.is_file():
            continue
        try:
            title = parse_feed_bytes(path.read_bytes()).title
        except Exception:
            continue
        relative = path.relative_to(SHARED_FEEDS).as_posix()
        title = " ".join((title or "").split())[:200] or None
        feeds.append(OpmlFeed(shared_feed_server.url(f"files/{relative}"), title))
    if not feeds:
        pytest.skip("no parsable feed under ../shared/eval/feeds/zh_real")
    source = tmp_path / "shared.opml"
    source.write_bytes(render_opml(feeds, title="共享"))
    env = _env(database_url)
    result = _ok(newsdigest("sources", "import", str(source), cwd=tmp_path, env=env))
    assert f"added {len(feeds)}, already present 0, invalid 0" in result.stdout
    exported = _ok(newsdigest("sources", "export", "-", cwd=tmp_path, env=env))
    back = parse_opml(exported.stdout.encode("utf-8"))
    assert {(f.url, f.title) for f in back.feeds} == {(f.url, f.title) for f in feeds}
