"""Which hosts a fetch may reach: public addresses only, unless configured.

Checked after DNS resolution and on every redirect hop, so every spelling of
an address (``2130706433``, ``127.1``, ``[::ffff:127.0.0.1]``) is judged by
the address it resolves to.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from urllib.parse import urlsplit

from digests.errors import BlockedAddress, FetchError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(cidrs: Iterable[str]) -> tuple[IPNetwork, ...]:
    return tuple(ipaddress.ip_network(cidr, strict=False) for cidr in cidrs)


def address_allowed(address: IPAddress, allowed: tuple[IPNetwork, ...]) -> bool:
    """Public (globally routable) addresses pass; others only if listed in ``allowed``."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if any(address.version == net.version and address in net for net in allowed):
        return True
    return address.is_global and not address.is_multicast


def check_scheme(url: str) -> tuple[str, int]:
    """Host and port of an http(s) URL; ``BlockedAddress`` for anything else."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise BlockedAddress(f"invalid URL: {exc}") from exc
    scheme = parts.scheme.lower()
    if scheme not in {"http", "https"}:
        raise BlockedAddress(f"scheme {scheme or '(none)'!r} is not allowed, only http and https")
    if not parts.hostname:
        raise BlockedAddress("URL has no host")
    return parts.hostname, port or (443 if scheme == "https" else 80)


def check_literal_address(url: str, allowed: tuple[IPNetwork, ...]) -> None:
    """``BlockedAddress`` when ``url``'s host is an address in any spelling
    (``127.1``, ``2130706433``, ``[::1]``) or ``localhost`` and may not be
    reached: what can be judged without asking DNS (``check_url`` does that)."""
    host, port = check_scheme(url)
    numeric = "127.0.0.1" if host == "localhost" or host.endswith(".localhost") else host
    try:
        infos = socket.getaddrinfo(
            numeric, port, type=socket.SOCK_STREAM, flags=socket.AI_NUMERICHOST
        )
    except (socket.gaierror, UnicodeError):
        return  # a name: judged when it is resolved, at fetch time
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if not address_allowed(address, allowed):
            raise BlockedAddress(f"host {host!r} resolves to non-public address {address}")


async def check_url(url: str, allowed: tuple[IPNetwork, ...]) -> None:
    """Raise ``BlockedAddress`` unless every address ``url``'s host resolves to may be reached."""
    host, port = check_scheme(url)
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise FetchError(f"cannot resolve host {host!r}") from exc
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if not address_allowed(address, allowed):
            raise BlockedAddress(f"host {host!r} resolves to non-public address {address}")
