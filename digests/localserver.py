"""A minimal HTTP/1.1 server on 127.0.0.1 in a background thread with its own
event loop: the plumbing shared by the local feed server and the fake Telegram
Bot API (demo, sandbox and tests). Subclasses implement ``route``."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field
from typing import Self

REASONS = {
    200: "OK",
    301: "Moved Permanently",
    302: "Found",
    304: "Not Modified",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    410: "Gone",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}
MAX_BODY = 10 * 1024 * 1024


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes = field(default=b"", repr=False)


class LocalServer:
    name = "localserver"

    def __init__(self, port: int = 0) -> None:
        self.port = port
        self.requests: list[Request] = []
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stop: asyncio.Event | None = None
        self._lock = threading.RLock()  # re-entrant: predicates read state under it

    # -- control (from any thread) ------------------------------------------
    def start(self, timeout: float = 10.0) -> Self:
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise RuntimeError(f"{self.name} did not start in time")
        return self

    def stop(self) -> None:
        """Stop serving (idempotent)."""
        if self._loop is not None and self._stop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(timeout=10)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}/{path.lstrip('/')}"

    @property
    def stopping(self) -> bool:
        return self._stop is None or self._stop.is_set()

    async def wait_for_stop(self) -> None:
        assert self._stop is not None
        await self._stop.wait()

    # -- server ---------------------------------------------------------------
    def _run(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._loop.run_until_complete(self._serve())
        self._loop.close()

    async def _serve(self) -> None:
        self._stop = asyncio.Event()
        server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        async with server:
            await self._stop.wait()
            server.close()
        # Connections still open (a long poll, a deliberate hang) end here,
        # while the loop is alive, instead of being collected after it closed.
        pending = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, target, _version = lines[0].split(" ", 2)
            headers = {}
            for line in lines[1:]:
                if ":" in line:
                    key, value = line.split(":", 1)
                    headers[key.strip().lower()] = value.strip()
            length = int(headers.get("content-length", "0") or 0)
            body = await reader.readexactly(min(length, MAX_BODY)) if length else b""
            request = Request(method, target, headers, body)
            with self._lock:
                self.requests.append(request)
            await self.route(request, writer)
        except (
            asyncio.IncompleteReadError,
            ConnectionError,
            asyncio.LimitOverrunError,
            ValueError,
        ):
            pass
        except asyncio.CancelledError:
            # Only _serve cancels handlers, when the server stops: end quietly
            # (asyncio's stream callback would log a cancelled handler as an error).
            pass
        finally:
            try:
                writer.close()
                await writer.wait_closed()
            except (ConnectionError, OSError):
                pass

    async def respond(
        self,
        writer: asyncio.StreamWriter,
        status: int,
        body: bytes = b"",
        headers: dict[str, str] | None = None,
        method: str = "GET",
    ) -> None:
        all_headers = {"Content-Length": str(len(body)), "Connection": "close"}
        all_headers.update(headers or {})
        head = f"HTTP/1.1 {status} {REASONS.get(status, 'Status')}\r\n" + "".join(
            f"{k}: {v}\r\n" for k, v in all_headers.items()
        )
        writer.write(head.encode("latin-1") + b"\r\n" + (b"" if method == "HEAD" else body))
        await writer.drain()

    async def route(self, request: Request, writer: asyncio.StreamWriter) -> None:
        await self.respond(writer, 404)
