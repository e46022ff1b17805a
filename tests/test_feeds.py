"""Feed parsing (no network): formats, encodings, HTML cleaning and hostile input."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from digests.errors import DecodeError, FeedError, UnsafeFeed, UnsupportedFormat
from digests.ingest.format import FeedFormat, sniff_format
from digests.ingest.items import DroppedItems
from digests.ingest.parse import parse_feed_bytes
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
    assert dropped == DroppedItems(malformed=1, empty=1, beyond_cap=0)


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
    assert dropped == DroppedItems(beyond_cap=7)
    assert dropped.lines() == ["7 item(s) beyond the first 3 of the feed not read"]
