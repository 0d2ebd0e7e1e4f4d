"""The scheme and host every absolute URL the API hands out is written on (previews, images,
the privacy notice): `CLINIC_PUBLIC_BASE_URL` when it is set (production requires it), else
the request's own, so that `make run PORT=18200` links to port 18200.

A request's own base is read from its Host header and scheme, or from X-Forwarded-Host and
X-Forwarded-Proto when the peer is a trusted proxy (`CLINIC_TRUSTED_PROXIES`); a header that is
not a plain host[:port] is not believed, and the server's own address is used instead. The
response cache keys each body by the base it was written on, so one host's links are never
served to another."""

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from starlette.types import Scope

from core.net import IPNetwork, authority, is_trusted, parse_http_url, parse_ip

# host[:port] and nothing else: no userinfo, path, query or fragment can ride along.
_HOST_TEXT = re.compile(r"[A-Za-z0-9._\-\[\]:]{1,300}")
_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class PublicBase:
    """Where this API is reached from outside: one configured base, or each request's own."""

    configured: str | None
    trusted: Sequence[IPNetwork]

    def of(self, scope: Scope) -> str:
        """The base URL (no trailing slash) of the links in this request's responses."""
        if self.configured is not None:
            return self.configured
        scheme, host = str(scope.get("scheme", "http")), None
        headers = _headers(scope)
        if self._from_trusted_proxy(scope):
            proto = _last(headers.get(b"x-forwarded-proto"))
            scheme = proto if proto in _DEFAULT_PORTS else scheme
            host = _host(scheme, _last(headers.get(b"x-forwarded-host")))
        host = host or _host(scheme, _last(headers.get(b"host")))
        return f"{scheme}://{host or _server(scope, scheme)}"

    def _from_trusted_proxy(self, scope: Scope) -> bool:
        if not self.trusted:
            return False
        client = scope.get("client")
        peer = parse_ip(client[0]) if client else None
        return peer is not None and is_trusted(peer, self.trusted)


_READ = (b"host", b"x-forwarded-host", b"x-forwarded-proto")


def _headers(scope: Scope) -> dict[bytes, bytes]:
    """The headers this reads: the first Host, and every line of each forwarded header joined
    in order (a proxy may append a line of its own rather than extend the client's)."""
    found: dict[bytes, bytes] = {}
    for name, value in scope.get("headers", ()):
        if name == b"host":
            found.setdefault(name, value)
        elif name in _READ:
            found[name] = found[name] + b"," + value if name in found else value
    return found


def _last(value: bytes | None) -> str | None:
    """The last entry of a comma-separated header: the one the nearest proxy wrote."""
    if value is None:
        return None
    return value.decode("latin-1").rsplit(",", 1)[-1].strip() or None


def _host(scheme: str, text: str | None) -> str | None:
    """`text` when it is a host name or IP literal with an optional port; else None."""
    return None if text is None else _checked_host(scheme, text)


# Every response of a server without CLINIC_PUBLIC_BASE_URL asks this of the same few hosts;
# a client sending many others only churns it.
@lru_cache(maxsize=256)
def _checked_host(scheme: str, text: str) -> str | None:
    if not _HOST_TEXT.fullmatch(text):
        return None
    try:
        url = parse_http_url(f"{scheme}://{text}/")
    except ValueError:
        return None
    return authority(url)


def _server(scope: Scope, scheme: str) -> str:
    """The address the server listens on, as uvicorn reports it."""
    host, port = scope.get("server") or ("127.0.0.1", _DEFAULT_PORTS[scheme])
    shown = f"[{host}]" if ":" in str(host) else str(host)
    return shown if port == _DEFAULT_PORTS.get(scheme) else f"{shown}:{port}"
