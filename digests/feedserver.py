"""A small HTTP/1.1 server on 127.0.0.1 that serves feeds and misbehaves on request.

Used by the offline demo (to serve the demo corpus as real feeds) and by the
tests (every fetch path, good and bad, against a real socket). It runs its own
event loop in a background thread so that synchronous code, async tests and
subprocesses can all talk to it.

Routes:
  /files/PATH         a file under ``root`` with realistic headers (type, charset,
                      ETag, Last-Modified, gzip when accepted; 304 on a match).
                      A feedparser test file's ``Header: Content-type:`` comment
                      becomes the real header.
  /mem/NAME           a document registered with ``put`` (changeable by tests)
  /liar/NAME          that document with a lying Content-Length: ``?extra=N`` sends
                      N more bytes after it, ``?missing=N`` declares N more than it
                      sends and closes; gzip when accepted (the length counts the
                      compressed bytes) unless ``plain=1``; ``keepalive=1``: no
                      ``Connection: close``
  /status/CODE        an answer with that status (``?retry_after=V``: that
                      Retry-After header)
  /hang               accepts, then never answers
  /drip               sends headers, then one byte every 0.2 s forever
  /endless            a 200 with an endless chunked body
  /bomb               a small gzip body that inflates to 64 MiB
  /html               an HTML page, not a feed
  /loop/a, /loop/b    redirect to each other
  /redirect/N/PATH    N redirects, then /PATH
  /moved/CODE/PATH    one redirect with status CODE (301, 308: permanent) to /PATH;
                      ``/moved/CODE?url=URL``: to any URL
  /to?url=URL         one redirect to any URL
"""

from __future__ import annotations

import asyncio
import functools
import gzip
import hashlib
import re
import zlib
from dataclasses import dataclass
from email.utils import formatdate
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from digests.localserver import LocalServer, Request

_HEADER_COMMENT = re.compile(rb"^Header:\s*Content-type:\s*(.+)$", re.IGNORECASE | re.MULTILINE)
LAST_MODIFIED = "Wed, 18 Nov 2026 08:00:00 GMT"


def content_type_for(path: str, body: bytes) -> str:
    """The Content-Type a typical web server would send for this file."""
    declared = _HEADER_COMMENT.search(body[:2048])
    if declared:
        return declared.group(1).decode("latin-1").strip().replace("'", "")
    if path.endswith(".json"):
        return "application/feed+json"
    head = body[:2048]
    if b"<feed" in head:
        return "application/atom+xml"
    if b"<rdf:RDF" in head:
        return "application/rdf+xml"
    return "application/rss+xml"


def prepare_costly_bodies() -> None:
    """Make the bodies that take long to build (the gzip bomb: compressing 64 MiB
    takes seconds on a loaded machine) before any client's clock starts; else
    the first request for one builds it inside the client's read timeout."""
    _gzip_bomb()


@functools.cache
def _gzip_bomb() -> bytes:
    """About 64 KiB of gzip that inflates to 64 MiB."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    return compressor.compress(b"<rss>" + b" " * (64 * 1024 * 1024)) + compressor.flush()


@dataclass
class _Document:
    body: bytes
    content_type: str
    etag: str
    last_modified: str = LAST_MODIFIED


class FeedServer(LocalServer):
    name = "feedserver"

    def __init__(self, root: Path | None = None, port: int = 0) -> None:
        super().__init__(port)
        self.root = root
        self._documents: dict[str, _Document] = {}
        self._versions = 0

    def put(self, name: str, body: bytes, content_type: str = "application/rss+xml") -> str:
        """Serve ``body`` at /mem/NAME (replacing what was there); returns its URL."""
        etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
        with self._lock:
            self._versions += 1
            # Every change gets a later Last-Modified, as a real server's would.
            modified = formatdate(1_790_000_000 + self._versions, usegmt=True)
            self._documents[name] = _Document(body, content_type, etag, modified)
        return self.url(f"mem/{name}")

    def hits(self, path: str) -> int:
        with self._lock:
            return sum(1 for r in self.requests if r.path.split("?", 1)[0] == path)

    async def _document(
        self, request: Request, writer: asyncio.StreamWriter, doc: _Document
    ) -> None:
        # RFC 9110: If-None-Match, when sent, decides alone.
        if "if-none-match" in request.headers:
            unchanged = request.headers["if-none-match"] == doc.etag
        else:
            unchanged = request.headers.get("if-modified-since") == doc.last_modified
        if unchanged:
            await self.respond(writer, 304, headers={"ETag": doc.etag})
            return
        headers = {
            "Content-Type": doc.content_type,
            "ETag": doc.etag,
            "Last-Modified": doc.last_modified,
        }
        body = doc.body
        if "gzip" in request.headers.get("accept-encoding", ""):
            body = gzip.compress(body)
            headers["Content-Encoding"] = "gzip"
        await self.respond(writer, 200, body, headers, request.method)

    async def _liar(
        self, request: Request, writer: asyncio.StreamWriter, doc: _Document, query: str
    ) -> None:
        options = {key: values[0] for key, values in parse_qs(query).items()}
        body = doc.body
        headers = {"Content-Type": doc.content_type}
        if options.get("plain") != "1" and "gzip" in request.headers.get("accept-encoding", ""):
            body = gzip.compress(body)
            headers["Content-Encoding"] = "gzip"
        declared = len(body) + int(options.get("missing", "0"))
        if options.get("keepalive") != "1":
            headers["Connection"] = "close"
        head = "HTTP/1.1 200 OK\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        head += f"Content-Length: {declared}\r\n\r\n"
        # One write: the extra bytes are on their way before the client has the body.
        writer.write(head.encode("latin-1") + body + b"x" * int(options.get("extra", "0")))
        await writer.drain()

    async def route(self, request: Request, writer: asyncio.StreamWriter) -> None:
        parts = urlsplit(request.path)
        path = unquote(parts.path)
        if path.startswith("/files/") and self.root is not None:
            file = (self.root / path[len("/files/") :]).resolve()
            if self.root.resolve() not in file.parents or not file.is_file():
                await self.respond(writer, 404)
                return
            body = file.read_bytes()
            etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
            await self._document(
                request, writer, _Document(body, content_type_for(path, body), etag)
            )
        elif path.startswith("/mem/"):
            with self._lock:
                doc = self._documents.get(path[len("/mem/") :])
            if doc is None:
                await self.respond(writer, 404)
            else:
                await self._document(request, writer, doc)
        elif path.startswith("/liar/"):
            with self._lock:
                doc = self._documents.get(path[len("/liar/") :])
            if doc is None:
                await self.respond(writer, 404)
            else:
                await self._liar(request, writer, doc, parts.query)
        elif path.startswith("/status/"):
            wait = parse_qs(parts.query).get("retry_after")
            headers = {"Retry-After": wait[0]} if wait else None
            await self.respond(writer, int(path.rsplit("/", 1)[1]), b"error", headers)
        elif path == "/hang":
            await self.wait_for_stop()
        elif path == "/drip":
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\n"
                b"Content-Length: 100000\r\n\r\n<rss>"
            )
            while not self.stopping:
                writer.write(b" ")
                await writer.drain()
                await asyncio.sleep(0.2)
        elif path == "/endless":
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\n"
                b"Transfer-Encoding: chunked\r\n\r\n"
            )
            chunk = b"<item><title>x</title></item>" * 1000
            frame = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
            while not self.stopping:
                writer.write(frame)
                await writer.drain()
        elif path == "/bomb":
            await self.respond(
                writer,
                200,
                _gzip_bomb(),
                {"Content-Type": "application/rss+xml", "Content-Encoding": "gzip"},
            )
        elif path == "/html":
            await self.respond(
                writer,
                200,
                b"<!DOCTYPE html><html><head><title>Hi</title>"
                b"</head><body><p>Not a feed</p></body></html>",
                {"Content-Type": "text/html; charset=utf-8"},
            )
        elif path in {"/loop/a", "/loop/b"}:
            other = "/loop/b" if path == "/loop/a" else "/loop/a"
            await self.respond(writer, 302, headers={"Location": other})
        elif path.startswith("/redirect/"):
            _, _, count, rest = path.split("/", 3)
            target = f"/redirect/{int(count) - 1}/{rest}" if int(count) > 1 else f"/{rest}"
            await self.respond(writer, 302, headers={"Location": target})
        elif path.startswith("/moved/"):
            code, _, rest = path[len("/moved/") :].partition("/")
            target = parse_qs(parts.query).get("url", [f"/{rest}"])[0]
            await self.respond(writer, int(code), headers={"Location": target})
        elif path == "/to":
            target = parse_qs(parts.query).get("url", ["/"])[0]
            await self.respond(writer, 302, headers={"Location": target})
        else:
            await self.respond(writer, 404)
