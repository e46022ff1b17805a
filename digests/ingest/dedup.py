"""Article identity and near-duplicate detection. Pure functions.

Identity (same article, updated in place) is fixed per feed document, see
``identity_keys``: guid, else canonical URL, else a hash of title + body; a URL
that several items of the document share identifies none of them alone.
Near-duplicates (same story, both kept): a bottom-k
MinHash sketch over character 4-grams estimates the Jaccard similarity of two
texts; at or above ``NEAR_DUPLICATE_JACCARD`` they are recorded as one story.
Character n-grams need no segmenter, so Chinese and English work alike.
"""

from __future__ import annotations

import hashlib
import math
import re
import zlib
from collections import Counter, deque
from collections.abc import Hashable, Sequence
from itertools import chain

from digests.ingest.urls import canonical_url
from digests.records import RawArticle

SHINGLE_SIZE = 4
SKETCH_SIZE = 64
# Re-edits of one story share most 4-grams (measured 0.8+ on a re-edited
# pair); unrelated articles share almost none (< 0.05).
NEAR_DUPLICATE_JACCARD = 0.5
MIN_SKETCH_CHARS = 40
# Two sketches at the Jaccard threshold share about a third of their values;
# candidates sharing fewer than this are not worth an estimate.
MIN_SHARED_VALUES = SKETCH_SIZE // 8

_NOT_TEXT = re.compile(r"[\W_]+", re.UNICODE)


def identity_keys(document: Sequence[RawArticle]) -> list[tuple[str, str]]:
    """``(kind, value)`` for each article of one feed document (or newspaper
    issue): its identity within its source.

    The guid when the item has one. Else its canonical URL, when no other item
    of the document has that URL too. Items sharing a URL (a site's home page,
    an article's comments page) are told apart by URL + title: unlike a hash
    of the text, a title survives a corrected body, so a refetch of an item
    finds it again whether or not its text changed. Only items sharing both
    fall back to URL + a hash of title and body. No URL: the hash of title and
    body. Two items with the same key are the same item, however they differ.
    """
    urls = [canonical_url(article.url) if article.url else None for article in document]
    per_url = Counter(url for url in urls if url)
    items = list(zip(document, urls, strict=True))
    per_url_title = Counter(
        (url, article.title) for article, url in items if url and per_url[url] > 1
    )
    keys: list[tuple[str, str]] = []
    for article, url in items:
        if article.guid:
            keys.append(("guid", article.guid))
        elif url is None:
            keys.append(("hash", content_hash(article)))
        elif per_url[url] == 1:
            keys.append(("url", url))
        elif per_url_title[(url, article.title)] == 1:
            keys.append(("url+title", f"{url}\x00{article.title}"))
        else:
            keys.append(("url+hash", f"{url}\x00{content_hash(article)}"))
    return keys


def identity_digest(kind: str, value: str) -> str:
    return hashlib.sha256(f"{kind}\x00{value}".encode()).hexdigest()


def content_hash(article: RawArticle) -> str:
    return hashlib.sha256(f"{article.title}\x00{article.body}".encode()).hexdigest()


def sketch(text: str) -> tuple[int, ...]:
    """Bottom-k MinHash sketch: the ``SKETCH_SIZE`` smallest 4-gram hashes."""
    compact = _NOT_TEXT.sub("", text.lower())
    if len(compact) < MIN_SKETCH_CHARS:
        return ()
    hashes = {
        zlib.crc32(compact[i : i + SHINGLE_SIZE].encode())
        for i in range(len(compact) - SHINGLE_SIZE + 1)
    }
    return tuple(sorted(hashes)[:SKETCH_SIZE])


def estimated_jaccard(first: Sequence[int], second: Sequence[int]) -> float:
    """Jaccard similarity estimated from two bottom-k sketches (0 when either is empty)."""
    if not first or not second:
        return 0.0
    k = min(SKETCH_SIZE, len(set(first) | set(second)))
    union_bottom = sorted(set(first) | set(second))[:k]
    shared = set(first) & set(second)
    return sum(1 for value in union_bottom if value in shared) / k


def encode_sketch(values: Sequence[int]) -> str:
    return " ".join(f"{value:x}" for value in values)


def decode_sketch(text: str | None) -> tuple[int, ...]:
    return tuple(int(part, 16) for part in text.split()) if text else ()


class StoryIndex:
    """Finds the story a new sketch belongs to without comparing against everything.

    An inverted index from sketch value to the entries holding it: only entries
    sharing several values are candidates, and only those that could reach the
    threshold (the estimate is at most shared values / k) are estimated. With
    ``limit`` it keeps the newest ``limit`` entries and drops the oldest, so the
    cost of a lookup and the memory stay bounded however long the run.
    """

    def __init__(self, limit: int | None = None) -> None:
        self._limit = limit
        self._postings: dict[int, deque[int]] = {}
        # position -> (story, values, how many distinct values); oldest first
        self._entries: dict[int, tuple[Hashable, tuple[int, ...], int]] = {}
        self._next = 0

    def __len__(self) -> int:
        return len(self._entries)

    def add(self, story: Hashable, values: Sequence[int]) -> int | None:
        """Index ``values`` as ``story``'s; returns the entry's position (None if empty)."""
        if not values:
            return None
        position = self._next
        self._next += 1
        values = tuple(values)
        self._entries[position] = (story, values, len(set(values)))
        for value in values:
            postings = self._postings.get(value)
            if postings is None:
                postings = self._postings[value] = deque()
            postings.append(position)
        if self._limit is not None and len(self._entries) > self._limit:
            self._drop_oldest()
        return position

    def relabel(self, position: int, story: Hashable) -> None:
        """Name the entry at ``position`` by another key for its story (its id, once known)."""
        entry = self._entries.get(position)
        if entry is not None:
            self._entries[position] = (story, entry[1], entry[2])

    def _drop_oldest(self) -> None:
        position = next(iter(self._entries))
        _story, values, _distinct = self._entries.pop(position)
        for value in values:  # positions only grow: the oldest is first in every list
            postings = self._postings[value]
            postings.popleft()
            if not postings:
                del self._postings[value]

    def find(self, values: Sequence[int]) -> Hashable | None:
        """The best-matching story at or above ``NEAR_DUPLICATE_JACCARD``, if any."""
        if not values:
            return None
        distinct = len(set(values))
        shared = Counter(chain.from_iterable(self._postings.get(value, ()) for value in values))
        # The estimate counts the shared values among the union's k smallest
        # (k >= this sketch's own size, up to SKETCH_SIZE), so it is at most
        # hits / k: a candidate sharing fewer values than this cannot reach
        # the threshold, and one that cannot beat the best so far is skipped.
        need = max(
            MIN_SHARED_VALUES, math.ceil(NEAR_DUPLICATE_JACCARD * min(SKETCH_SIZE, distinct))
        )
        best: tuple[float, Hashable] | None = None
        for position, hits in shared.items():
            if hits < need:
                continue
            story, other, other_distinct = self._entries[position]
            bound = hits / max(1, min(SKETCH_SIZE, distinct + other_distinct - hits))
            if bound < NEAR_DUPLICATE_JACCARD or (best is not None and bound <= best[0]):
                continue
            score = estimated_jaccard(values, other)
            if score >= NEAR_DUPLICATE_JACCARD and (best is None or score > best[0]):
                best = (score, story)
        return best[1] if best else None
