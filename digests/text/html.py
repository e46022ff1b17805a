"""HTML (from feeds) to clean plain-text paragraphs."""

from __future__ import annotations

from html.parser import HTMLParser

from digests.text.normalize import normalize_line

_BLOCK_TAGS = frozenset(
    [
        "address",
        "article",
        "aside",
        "blockquote",
        "br",
        "dd",
        "div",
        "dl",
        "dt",
        "figcaption",
        "figure",
        "footer",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hr",
        "li",
        "main",
        "nav",
        "ol",
        "p",
        "pre",
        "section",
        "table",
        "tbody",
        "td",
        "th",
        "thead",
        "tr",
        "ul",
    ]
)
_SKIPPED_TAGS = frozenset(
    [
        "script",
        "style",
        "noscript",
        "template",
        "iframe",
        "object",
        "embed",
        "svg",
        "math",
        "head",
        "title",
        "select",
        "button",
        "form",
        "canvas",
        "audio",
        "video",
    ]
)
_VOID_TAGS = frozenset(
    [
        "area",
        "base",
        "br",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "link",
        "meta",
        "source",
        "track",
        "wbr",
    ]
)


class _TextCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED_TAGS and tag not in _VOID_TAGS:
            self._skip_depth += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED_TAGS and tag not in _VOID_TAGS:
            self._skip_depth = max(0, self._skip_depth - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip_depth:
            self.parts.append(data.replace("\n", " "))


def html_to_paragraphs(markup: str) -> list[str]:
    """Paragraphs of visible text; scripts, styles and entities dealt with.

    Text without any tag is split on its own line breaks instead.
    """
    if "<" not in markup and "&" not in markup:
        return text_to_paragraphs(markup)
    collector = _TextCollector()
    try:
        collector.feed(markup)
        collector.close()
    except (AssertionError, ValueError):  # pathological markup: keep what was read
        pass
    text = "".join(collector.parts)
    lines = (normalize_line(line) for line in text.split("\n"))
    return [line for line in lines if line]


def text_to_paragraphs(text: str) -> list[str]:
    """Paragraphs of plain text: one per non-blank line, normalized."""
    lines = (normalize_line(line) for line in text.splitlines())
    return [line for line in lines if line]


def html_to_text(markup: str) -> str:
    """One line of text (for titles and other inline fields)."""
    return " ".join(html_to_paragraphs(markup))
