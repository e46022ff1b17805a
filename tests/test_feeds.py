"""Feed parsing (no network): formats, encodings, HTML cleaning and hostile input."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from digests.errors import DecodeError, FeedError, UnsafeFeed, UnsupportedFormat
from digests.ingest.dates import CLOCK_SKEW, EARLIEST_DATE, read_date, settle_dates
from digests.ingest.format import FeedFormat, sniff_format
from digests.ingest.items import ItemNotes
from digests.ingest.parse import parse_feed_bytes
from digests.records import RawArticle
from digests.text.html import html_to_paragraphs
from tests.builders import rss
from tests.conftest import CORPUS


def test_demo_json_feed_cleans_html() -> None:
    parsed = parse_feed_bytes(
        (CORPUS / "zh_city.json").read_bytes(), content_type="application/feed+json"
    )
    assert parsed.format is FeedFormat.JSON
    assert parsed.title and len(parsed.articles) == 6
    body = "\n".join(p for a in parsed.articles for p in a.paragraphs)
    assert "<script" not in body and "alert(" not in body
    assert "医保&商保" in body and "&amp;" not in body
    assert "\u3000" not in body
    assert all(a.published is not None and a.published.tzinfo for a in parsed.articles)


def test_demo_atom_feed() -> None:
    parsed = parse_feed_bytes((CORPUS / "en_world.xml").read_bytes())
    assert parsed.title == "Harbor Town Gazette"
    assert [a.title.split()[0] for a in parsed.articles] == [
        "Gull",
        "Pell",
        "Three",
        "Gale",
        "Local",
    ]
    assert all(a.url and a.url.startswith("https://gazette.example.com/") for a in parsed.articles)


@pytest.mark.parametrize(
    ("markup", "expected"),
    [
        ("<p>One</p><p>Two &amp; three</p>", ["One", "Two & three"]),
        ("<p>a<script>alert(1)</script>b</p><style>p{}</style>", ["ab"]),
        ("<div>\u3000\u3000全角缩进\u00a0段落</div>", ["全角缩进 段落"]),
        ("first<br>second<br/>third", ["first", "second", "third"]),
        ("plain text\n\nsecond paragraph", ["plain text", "second paragraph"]),
        ("<p onerror=alert(1)>x&#x4e2d;&#25991;</p>", ["x中文"]),
        ("<p>zero\u200bwidth</p>", ["zerowidth"]),
    ],
    ids=["paragraphs", "script-style", "full-width-space", "br", "plain", "entities", "zero-width"],
)
def test_html_to_paragraphs(markup: str, expected: list[str]) -> None:
    assert html_to_paragraphs(markup) == expected


@pytest.mark.parametrize(
    ("body", "content_type", "expected"),
    [
        ('{"version": "https://jsonfeed.org/version/1.1", "items": []}', None, FeedFormat.JSON),
        ("\ufeff  <?xml version='1.0'?><rss></rss>", "text/html", FeedFormat.XML),
        ("<feed xmlns='http://www.w3.org/2005/Atom'></feed>", None, FeedFormat.XML),
        ("<rdf:RDF xmlns:rdf='x'></rdf:RDF>", None, FeedFormat.XML),
    ],
    ids=["json", "xml-with-bom", "atom", "rdf"],
)
def test_sniff_format(body: str, content_type: str | None, expected: FeedFormat) -> None:
    assert sniff_format(body, content_type) is expected


@pytest.mark.parametrize(
    "body",
    ["<!DOCTYPE html><html><body>hi</body></html>", "", "just words", "<note>x</note>"],
    ids=["html", "empty", "text", "other-xml"],
)
def test_sniff_rejects_non_feeds(body: str) -> None:
    with pytest.raises(UnsupportedFormat):
        sniff_format(body)


def test_entity_declarations_are_refused_fast() -> None:
    bomb = (
        '<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "' + "x" * 1000 + '">'
        '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        "<rss><channel><item><title>t</title><description>"
        + "&b;" * 5000
        + "</description></item></channel></rss>"
    ).encode()
    with pytest.raises(UnsafeFeed):
        parse_feed_bytes(bomb)


@pytest.mark.parametrize("wrap", ["{}", "<![CDATA[{}]]>"], ids=["text", "cdata"])
def test_huge_author_field_is_capped_before_parsing(wrap: str) -> None:
    from digests.ingest.feeds import _guard

    author = wrap.format("a" * 40_000 + "@" + "b" * 40_000)
    text = (
        "<rss><channel><title>t</title><item><title>x</title>"
        f"<author>{author}</author><description>d</description></item></channel></rss>"
    )
    guarded = _guard(text)
    assert len(guarded) < 1_000  # what feedparser's quadratic regex gets to see
    parsed = parse_feed_bytes(text.encode())
    assert parsed.articles[0].author is not None and len(parsed.articles[0].author) <= 200


def test_unsafe_links_and_markup_in_titles_are_neutralised() -> None:
    data = rss(
        (
            "1",
            "javascript:alert(1)",
            "<script>alert(1)</script>Title",
            "<img src=x onerror=alert(1)>body",
        ),
        ("2", "data:text/html,hi", "Second", "text"),
        ("3", "/relative/path", "Third", "text"),
    )
    articles = parse_feed_bytes(data).articles
    assert articles[0].url is None and articles[1].url is None
    assert articles[2].url == "https://example.org/relative/path"
    assert "script" not in articles[0].title and "alert" not in articles[0].title
    assert "onerror" not in articles[0].body


def test_invalid_utf8_byte_does_not_turn_chinese_into_mojibake() -> None:
    data = rss(("1", "https://e.org/1", "中文标题", "正文内容")).replace(
        b"</channel>", b"\xff</channel>"
    )
    assert parse_feed_bytes(data).articles[0].title == "中文标题"


def test_wrong_http_charset_is_not_trusted_over_valid_bytes() -> None:
    text = (
        '<?xml version="1.0" encoding="gb2312"?><rss><channel><title>体育新闻</title>'
        "<item><title>主队主场二比一取胜</title><description>比赛在周六晚进行</description>"
        "</item></channel></rss>"
    )
    parsed = parse_feed_bytes(text.encode("gb18030"), charset="utf-8")
    assert parsed.encoding == "gb18030" and parsed.title == "体育新闻"
    assert parsed.articles[0].title == "主队主场二比一取胜"


def test_gbk_bytes_declared_as_utf8_decode_correctly() -> None:
    text = (
        '<?xml version="1.0" encoding="utf-8"?><rss><channel><title>新闻频道</title>'
        "<item><title>上海发布数字化转型方案</title><description>正文内容很多很多</description>"
        "</item></channel></rss>"
    )
    parsed = parse_feed_bytes(text.encode("gbk"))
    assert parsed.articles[0].title == "上海发布数字化转型方案"


@pytest.mark.parametrize(
    ("document", "error"),
    [
        ("[1, 2]", FeedError),
        ('{"title": "no items or version"}', FeedError),
        ('{"version": "https://jsonfeed.org/version/1", "items": {"a": 1}}', FeedError),
        (
            '{"version": "https://jsonfeed.org/version/1", "items": ['
            + "[" * 5000
            + "]" * 5000
            + "]}",
            UnsafeFeed,
        ),
        ('{"version": "https://jsonfeed.org/version/1", "items": [}', FeedError),
    ],
    ids=["array", "no-version", "items-not-list", "deep-nesting", "broken-json"],
)
def test_bad_json_feeds(document: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        parse_feed_bytes(document.encode(), content_type="application/feed+json")


def test_json_feed_wrong_field_types_drop_the_field_not_the_feed() -> None:
    document = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": 42,
        "items": [
            "not an object",
            {
                "id": 7,
                "title": ["list"],
                "content_text": "Only <text>\nSecond &amp; line",
                "url": 5,
            },
            {
                "id": "b",
                "title": "Fine",
                "content_html": "<p>ok</p>",
                "tags": ["t", 3, None],
                "date_published": "not a date",
                "authors": [{"name": 9}, {"name": "Ann"}],
            },
        ],
    }
    articles = parse_feed_bytes(json.dumps(document).encode()).articles
    assert [a.guid for a in articles] == ["7", "b"]
    assert articles[0].paragraphs == ("Only <text>", "Second &amp; line")  # text, not markup
    assert articles[0].url is None
    assert (
        articles[1].tags == ("t",) and articles[1].published is None and articles[1].author == "Ann"
    )


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=2000))
def test_any_bytes_give_articles_or_a_feed_error(data: bytes) -> None:
    """Only the engine's own errors may come out; anything else fails the test."""
    try:
        parsed = parse_feed_bytes(data)
    except (FeedError, DecodeError) as exc:
        assert str(exc)
    else:
        assert all(a.title or a.paragraphs for a in parsed.articles)


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=300))
def test_any_text_as_rss_item_is_handled(text: str) -> None:
    escaped = text.replace("&", "&amp;").replace("<", "&lt;")
    try:
        parsed = parse_feed_bytes(rss(("g", "https://e.org/x", escaped, escaped)))
    except DecodeError:
        return  # control characters everywhere: refused as binary
    for article in parsed.articles:
        assert article.guid == "g" and article.url == "https://e.org/x"
        assert "\n" not in article.title and "\u3000" not in article.title


def test_one_malformed_item_is_skipped_alone() -> None:
    from digests.ingest.items import convert_items
    from digests.records import RawArticle

    def convert(item: int) -> RawArticle | None:
        if item == 2:
            raise ValueError("bad item")
        return None if item == 3 else RawArticle(title=str(item), paragraphs=())

    articles, dropped = convert_items(range(5), convert)
    assert [a.title for a in articles] == ["0", "1", "4"]
    assert dropped == ItemNotes(malformed=1, empty=1, beyond_cap=0)


def test_items_beyond_the_cap_are_counted_not_read(monkeypatch: pytest.MonkeyPatch) -> None:
    from digests.ingest import limits
    from digests.ingest.items import convert_items
    from digests.records import RawArticle

    monkeypatch.setattr(limits, "MAX_ITEMS_PER_FEED", 3)
    read: list[int] = []

    def convert(item: int) -> RawArticle:
        read.append(item)
        return RawArticle(title=str(item), paragraphs=())

    articles, dropped = convert_items(iter(range(10)), convert)
    assert read == [0, 1, 2] and len(articles) == 3
    assert dropped == ItemNotes(beyond_cap=7)
    assert dropped.lines() == ["7 item(s) beyond the first 3 of the feed not read"]


# --- dates -----------------------------------------------------------------

PLUS_8 = timezone(timedelta(hours=8))
FETCHED = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Fri, 20 Nov 2026 07:30:00 +0800", datetime(2026, 11, 20, 7, 30, tzinfo=PLUS_8)),
        ("Fri, 20 Nov 2026 07:30:00", datetime(2026, 11, 20, 7, 30)),
        ("Fri, 20 Nov 2026 07:30:00 GMT", datetime(2026, 11, 20, 7, 30, tzinfo=UTC)),
        ("Fri, 20 Nov 2026 07:30:00 -0000", datetime(2026, 11, 20, 7, 30, tzinfo=UTC)),
        (
            "20 Nov 26 07:30 EST",
            datetime(2026, 11, 20, 7, 30, tzinfo=timezone(timedelta(hours=-5))),
        ),
        ("Fri, 20 Nov 2026 07:30:00 +0800 (CST)", datetime(2026, 11, 20, 7, 30, tzinfo=PLUS_8)),
        ("Mon, 01 Jan 0001 00:00:00 +0800", datetime(1, 1, 1, tzinfo=PLUS_8)),
        ("2026-11-20T07:30:00+08:00", datetime(2026, 11, 20, 7, 30, tzinfo=PLUS_8)),
        ("2026-11-20T07:30:00Z", datetime(2026, 11, 20, 7, 30, tzinfo=UTC)),
        ("2026-11-20T07:30:00", datetime(2026, 11, 20, 7, 30)),
        ("2026-11-20", datetime(2026, 11, 20)),
        (
            "9999-12-31T23:59:59-05:00",
            datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone(timedelta(hours=-5))),
        ),
        ("Fri, 20 Nov 2026 07:30:00 XYZ", None),
        ("Fri, 31 Feb 2026 07:30:00 GMT", None),
        ("yesterday", None),
        ("", None),
    ],
    ids=[
        "rfc822-offset",
        "rfc822-no-zone",
        "rfc822-gmt",
        "rfc822-minus-zero-is-utc",
        "rfc822-named-zone-two-digit-year",
        "rfc822-trailing-comment",
        "rfc822-year-1-kept-as-written",
        "iso-offset",
        "iso-z",
        "iso-no-zone",
        "iso-date-only",
        "iso-year-9999",
        "unknown-zone-name",
        "no-such-day",
        "words",
        "empty",
    ],
)
def test_read_date(text: str, expected: datetime | None) -> None:
    read = read_date(text)
    assert read == expected
    if expected is not None and read is not None:  # aware stays aware, naive stays naive
        assert (read.utcoffset() is None) == (expected.utcoffset() is None)


def dated(*dates: datetime | None) -> list[RawArticle]:
    return [RawArticle(title=f"item {n}", paragraphs=(), published=d) for n, d in enumerate(dates)]


def test_a_naive_date_takes_the_offset_most_of_the_document_carries() -> None:
    plus_9 = timezone(timedelta(hours=9))
    settled = settle_dates(
        dated(
            datetime(2026, 11, 19, 9, 0, tzinfo=plus_9),
            datetime(2026, 11, 19, 10, 0, tzinfo=PLUS_8),
            datetime(2026, 11, 19, 11, 0, tzinfo=PLUS_8),
            datetime(2026, 11, 19, 12, 0),
        ),
        default_zone="America/New_York",
        fetched_at=FETCHED,
    )
    assert [a.published for a in settled.articles] == [
        datetime(2026, 11, 19, 0, 0, tzinfo=UTC),
        datetime(2026, 11, 19, 2, 0, tzinfo=UTC),
        datetime(2026, 11, 19, 3, 0, tzinfo=UTC),
        datetime(2026, 11, 19, 4, 0, tzinfo=UTC),  # 12:00 at +08:00
    ]
    assert (settled.future, settled.implausible) == (0, 0)


@pytest.mark.parametrize(
    ("zone", "expected"),
    [
        ("America/New_York", datetime(2026, 11, 19, 17, 0, tzinfo=UTC)),  # EST, -05:00
        ("Asia/Shanghai", datetime(2026, 11, 19, 4, 0, tzinfo=UTC)),
        ("UTC", datetime(2026, 11, 19, 12, 0, tzinfo=UTC)),
    ],
    ids=["new-york", "shanghai", "utc"],
)
def test_naive_dates_of_a_document_without_offsets_take_the_default_zone(
    zone: str, expected: datetime
) -> None:
    settled = settle_dates(
        dated(datetime(2026, 11, 19, 12, 0), None), default_zone=zone, fetched_at=FETCHED
    )
    assert [a.published for a in settled.articles] == [expected, None]


@pytest.mark.parametrize(
    ("published", "expected", "future", "implausible"),
    [
        (FETCHED + CLOCK_SKEW, FETCHED + CLOCK_SKEW, 0, 0),
        (FETCHED + CLOCK_SKEW + timedelta(seconds=1), FETCHED, 1, 0),
        (FETCHED + timedelta(days=400), FETCHED, 1, 0),
        (datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone(timedelta(hours=-5))), FETCHED, 1, 0),
        (datetime(9999, 12, 31, 23, 59, 59), FETCHED, 1, 0),  # naive, in the default zone
        (datetime(1, 1, 1, tzinfo=PLUS_8), None, 0, 1),
        (datetime(1, 1, 1), None, 0, 1),
        (datetime(1970, 1, 1, tzinfo=UTC), None, 0, 1),
        (EARLIEST_DATE, EARLIEST_DATE, 0, 0),
    ],
    ids=[
        "skew-kept",
        "past-skew-clamped",
        "next-year-clamped",
        "year-9999-behind-utc",
        "year-9999-naive",
        "year-1",
        "year-1-naive",
        "unix-epoch",
        "earliest-kept",
    ],
)
def test_future_dates_are_clamped_and_implausible_ones_dropped(
    published: datetime, expected: datetime | None, future: int, implausible: int
) -> None:
    settled = settle_dates(dated(published), default_zone="Asia/Shanghai", fetched_at=FETCHED)
    assert [a.published for a in settled.articles] == [expected]
    assert (settled.future, settled.implausible) == (future, implausible)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.none(),
            st.datetimes(),
            st.datetimes(
                timezones=st.timedeltas(
                    min_value=timedelta(hours=-23, minutes=-59),
                    max_value=timedelta(hours=23, minutes=59),
                ).map(timezone)
            ),
        ),
        max_size=6,
    ),
    st.one_of(st.none(), st.datetimes(min_value=datetime(2000, 1, 1), timezones=st.just(UTC))),
)
def test_any_dates_settle_without_error(
    dates: list[datetime | None], fetched_at: datetime | None
) -> None:
    settled = settle_dates(dated(*dates), default_zone="Pacific/Kiritimati", fetched_at=fetched_at)
    for article in settled.articles:
        if article.published is not None:
            assert article.published.utcoffset() is not None
            assert article.published >= EARLIEST_DATE
            if fetched_at is not None:
                assert article.published <= fetched_at + CLOCK_SKEW


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60))
def test_any_date_text_is_read_or_refused(text: str) -> None:
    assert read_date(text) is None or isinstance(read_date(text), datetime)


def test_feed_dates_without_a_zone_take_the_feeds_offset_and_are_noted() -> None:
    items = [
        ("Fri, 20 Nov 2026 07:30:00 +0800", "zoned"),
        ("Fri, 20 Nov 2026 07:45:00", "naive"),
        ("Fri, 31 Dec 9999 23:59:59 -0500", "far future"),
        ("Mon, 01 Jan 0001 00:00:00 +0800", "year one"),
    ]
    body = "".join(
        f"<item><guid>{title}</guid><title>{title}</title><pubDate>{date}</pubDate>"
        "<description>text</description></item>"
        for date, title in items
    )
    document = f'<rss version="2.0"><channel><title>t</title>{body}</channel></rss>'
    parsed = parse_feed_bytes(document.encode(), default_zone="UTC", fetched_at=FETCHED)
    assert [a.published for a in parsed.articles] == [
        datetime(2026, 11, 19, 23, 30, tzinfo=UTC),
        datetime(2026, 11, 19, 23, 45, tzinfo=UTC),
        FETCHED,
        None,
    ]
    assert parsed.notes == ItemNotes(future_dates=1, implausible_dates=1)
    assert parsed.notes.lines() == [
        "item dates: 1 in the future set to the fetch time, 1 before 1990 taken as missing"
    ]


def test_an_atom_entry_without_published_uses_its_updated_date() -> None:
    document = (
        '<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>'
        "<entry><id>urn:a</id><title>a</title><updated>2026-11-19T09:00:00</updated></entry>"
        "</feed>"
    )
    [entry] = parse_feed_bytes(document.encode(), default_zone="Asia/Tokyo").articles
    assert entry.published == datetime(2026, 11, 19, 0, 0, tzinfo=UTC)


def test_json_feed_dates_without_a_zone_take_the_default_zone() -> None:
    document = {
        "version": "https://jsonfeed.org/version/1.1",
        "items": [
            {"id": "1", "title": "naive", "date_published": "2026-11-19T12:00:00"},
            {"id": "2", "title": "rfc 3339", "date_published": "2026-11-19T12:00:00-05:00"},
            {"id": "3", "title": "modified only", "date_modified": "2026-11-19T13:00:00"},
        ],
    }
    parsed = parse_feed_bytes(json.dumps(document).encode(), default_zone="Asia/Shanghai")
    # The document's one offset (-05:00) is the source's zone, not the default.
    assert [a.published for a in parsed.articles] == [
        datetime(2026, 11, 19, 17, 0, tzinfo=UTC),
        datetime(2026, 11, 19, 17, 0, tzinfo=UTC),
        datetime(2026, 11, 19, 18, 0, tzinfo=UTC),
    ]


def test_item_notes_give_one_line_for_all_dates() -> None:
    assert ItemNotes().lines() == []
    assert ItemNotes(future_dates=3).lines() == [
        "item dates: 3 in the future set to the fetch time"
    ]
    assert ItemNotes(empty=1, implausible_dates=2).lines() == [
        "1 item(s) with neither a title nor any text dropped",
        "item dates: 2 before 1990 taken as missing",
    ]


def test_nul_characters_never_leave_the_parser() -> None:
    # JSON can write NUL (\u0000) where decoding the bytes cannot see it; PostgreSQL's
    # text cannot hold one.
    feed = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "Wire\u0000 news",
        "items": [
            {
                "id": "item\u00001",
                "url": "https://wire.example/a\u0000b",
                "title": "Har\u0000bor",
                "content_text": "Fer\u0000ries run again.",
                "authors": [{"name": "A\u0000B"}],
                "tags": ["ports\u0000"],
            }
        ],
    }
    parsed = parse_feed_bytes(json.dumps(feed).encode(), base_url="https://wire.example/feed.json")
    assert "\x00" not in repr(parsed)
    [item] = parsed.articles
    assert (item.title, item.guid, item.tags) == ("Harbor", "item1", ("ports",))
