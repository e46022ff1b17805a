"""The process's HTTP endpoint: the ASGI app (``digests.web.app``) on uvicorn,
in a thread of its own with its own event loop, so that serving pages never
waits on the bot's loop nor the bot on a page.

The socket is bound before the thread starts: a port in use is a
``ConfigError`` naming the key, at start, as before.
"""

from __future__ import annotations

import errno
import logging
import socket
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Self

import uvicorn
from prometheus_client import CollectorRegistry

from digests.config import MetricsSettings
from digests.errors import ConfigError
from digests.metrics import HEALTH_TIMEOUT, METRICS, HealthCheck
from digests.web.app import http_app

if TYPE_CHECKING:
    from digests.engine import Engine

log = logging.getLogger("newsdigest.web")


class HttpServer:
    """A running endpoint: ``port`` is the bound one; ``close()`` stops it."""

    def __init__(self, sock: socket.socket, app: object) -> None:
        self._socket = sock
        address = sock.getsockname()
        self.host: str = str(address[0])
        self.port: int = int(address[1])
        config = uvicorn.Config(
            app,  # type: ignore[arg-type]
            log_config=None,  # its loggers go through ours (one format, JSON lines too)
            log_level="warning",
            access_log=False,
            lifespan="off",
            server_header=False,
            timeout_graceful_shutdown=2,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name="http", daemon=True
        )
        self._thread.start()

    def url(self, path: str = "/metrics") -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}{path}"

    def close(self) -> None:
        """Stop serving and free the port (idempotent)."""
        if self._thread.is_alive():
            self._server.should_exit = True
            self._thread.join()
        self._socket.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _listening_socket(host: str, port: int) -> socket.socket:
    try:
        family, _type, proto, _name, _address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM
        )[0]
    except OSError as exc:
        raise ConfigError(f"metrics.host: cannot resolve {host!r}") from exc
    # Made with its protocol named (IPPROTO_TCP), as asyncio's own servers are:
    # only then does asyncio set TCP_NODELAY on the connections it accepts, and
    # without it every response's body waits for the client's delayed ACK (~40 ms).
    sock = socket.socket(family, socket.SOCK_STREAM, proto or socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(128)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise ConfigError(
                f"metrics.port: {port} is already in use on {host} "
                "(pick a free port, or 0 to turn the endpoint off)"
            ) from exc
        raise ConfigError(
            f"metrics.host: cannot listen on {host}:{port} ({exc.strerror or exc})"
        ) from exc
    sock.setblocking(False)
    return sock


def start_server(
    host: str,
    port: int,
    healthy: Callable[[], bool],
    *,
    registry: CollectorRegistry | None = None,
    health_timeout: float = HEALTH_TIMEOUT,
    engine: Engine | None = None,
) -> HttpServer:
    """Serve /metrics and /healthz (and, with ``engine``, the edition pages) on
    ``host:port`` (0: any free port). A port in use or an unusable host is a
    ``ConfigError``."""
    app = http_app(registry or METRICS.registry, HealthCheck(healthy, health_timeout), engine)
    return HttpServer(_listening_socket(host, port), app)


def serve_http(
    settings: MetricsSettings,
    healthy: Callable[[], bool],
    *,
    engine: Engine | None = None,
    registry: CollectorRegistry | None = None,
) -> HttpServer | None:
    """The configured endpoint, or None when ``metrics.port`` is 0 (off)."""
    if settings.port == 0:
        return None
    server = start_server(settings.host, settings.port, healthy, registry=registry, engine=engine)
    pages = f", edition pages on {server.url('/e/')}" if engine is not None else ""
    log.info("metrics on %s, health on %s%s", server.url("/metrics"), server.url("/healthz"), pages)
    return server
