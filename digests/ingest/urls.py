"""URL hygiene: links read from feeds (absolute, http(s) only, no tracking) and
feed addresses an operator types (one spelling per feed)."""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from digests.errors import BlockedAddress, InputError
from digests.ingest.limits import MAX_URL_CHARS
from digests.ingest.netguard import check_scheme

_TRACKING_PARAMS = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "msclkid",
        "mc_cid",
        "mc_eid",
        "igshid",
        "spm",
        "ref_src",
        "at_medium",
        "at_campaign",
    }
)


def safe_link(href: object, base: str | None = None) -> str | None:
    """An absolute http(s) URL, or ``None`` for anything else (javascript:, data:, ...)."""
    if not isinstance(href, str):
        return None
    href = href.strip()
    if not href or len(href) > MAX_URL_CHARS:
        return None
    if base:
        try:
            href = urljoin(base, href)
        except ValueError:
            return None
    try:
        parts = urlsplit(href)
    except ValueError:
        return None
    if parts.scheme.lower() not in {"http", "https"} or not parts.hostname:
        return None
    return href


def canonical_url(url: str) -> str:
    """The URL with tracking parameters and the fragment removed, host lower-cased."""
    parts = urlsplit(url)
    query = [
        (key, value)
        for key, value in parse_qsl(parts.query, keep_blank_values=True)
        if not key.lower().startswith("utm_") and key.lower() not in _TRACKING_PARAMS
    ]
    netloc = parts.netloc.lower()
    if parts.scheme.lower() == "http" and netloc.endswith(":80"):
        netloc = netloc[:-3]
    elif parts.scheme.lower() == "https" and netloc.endswith(":443"):
        netloc = netloc[:-4]
    path = parts.path or "/"
    return urlunsplit((parts.scheme.lower(), netloc, path, urlencode(query), ""))


def redact_url(url: str) -> str:
    """The URL fit for a log line: no user name or password."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<invalid url>"
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))


_HOST_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_DEFAULT_PORTS = {"http": 80, "https": 443}


def normalize_feed_url(url: str) -> str:
    """One spelling per feed address: scheme and host in lower case, no default
    port, no fragment, no trailing slash after a path; ``InputError`` when the
    URL cannot be one (no http(s), no host, a host no DNS name can be)."""
    url = url.strip()
    try:
        host, port = check_scheme(url)  # the fetcher's own reasons
    except BlockedAddress as exc:
        raise InputError(f"{url!r}: {exc}") from exc
    if not _valid_host(host):
        raise InputError(f"{url!r}: {host!r} is not a valid host name")
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    netloc = f"[{host}]" if ":" in host else host
    if parts.username is not None:
        credentials = parts.username + (f":{parts.password}" if parts.password is not None else "")
        netloc = f"{credentials}@{netloc}"
    if port != _DEFAULT_PORTS[scheme]:
        netloc += f":{port}"
    path = parts.path or "/"
    if len(path) > 1:
        path = path.rstrip("/") or "/"
    return urlunsplit((scheme, netloc, path, parts.query, ""))


def _valid_host(host: str) -> bool:
    if not host:
        return False
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        pass
    try:
        ascii_host = host.encode("idna").decode("ascii")
    except UnicodeError:
        return False
    labels = ascii_host.rstrip(".").split(".")
    return all(_HOST_LABEL.match(label) for label in labels)
