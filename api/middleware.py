"""Pure ASGI middleware: security headers, body cap, input guard, last-resort 500, request ids
and the access log."""

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.problems import problem_response
from core.logging import AccessLog, accepted_request_id, describe_exception, request_context
from db.errors import is_unavailable

log = logging.getLogger("clinic.http")
ADMIN_PREFIX = "/v1/admin/"
# How much of a body over its cap is read (and dropped) before the 413, so that the connection
# closes cleanly.
DRAIN_BYTES = 1024 * 1024
# A staff JSON body's cap: an article of 40 sections of 30,000 characters fits, with room.
ADMIN_JSON_BYTES = 2 * 1024 * 1024
# Seconds a client is told to wait before retrying while the database is away.
RETRY_AFTER_UNAVAILABLE = 2
# Told of each finished request: method, route template (or None), status, seconds.
Observer = Callable[[str, str | None, int, float], None]

STRICT_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'"
# The interactive docs run Swagger UI / ReDoc from this server's own files (DOCS_ASSETS) and an
# inline bootstrap script; nothing may load from another host (air-gapped deployments).
DOCS_CSP = (
    "default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "font-src 'self' data:; img-src 'self' data:; worker-src blob:; connect-src 'self'; "
    "frame-ancestors 'none'"
)
DOCS_PATHS = ("/docs", "/redoc")
DOCS_ASSETS = "/docs-assets"
DOCS_ASSETS_CACHE = b"public, max-age=86400"
STRICT_CSP_BYTES = STRICT_CSP.encode()
DOCS_CSP_BYTES = DOCS_CSP.encode()
_SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"strict-transport-security", b"max-age=63072000; includeSubDomains"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
]


class SecurityHeadersMiddleware:
    """Adds security headers, a strict CSP everywhere but the interactive docs, and
    `Cache-Control: no-store` wherever a route did not choose caching itself."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = secured(message.get("headers", []), path)
            await send(message)

        await self.app(scope, receive, send_with_headers)


_ADDED_NAMES = frozenset(n for n, _ in _SECURITY_HEADERS) | {
    b"content-security-policy",
    b"cache-control",
}


def secured(headers: Iterable[tuple[bytes, bytes]], path: str) -> list[tuple[bytes, bytes]]:
    """`headers` with the security headers and the CSP for `path` they lack, and
    `Cache-Control: no-store` unless they chose caching."""
    secured = list(headers)
    present = {n for n, _ in secured if n in _ADDED_NAMES}  # names come lower-cased (ASGI)
    if not present:  # the usual case: every header to add, in one step
        csp = DOCS_CSP_BYTES if path.startswith(DOCS_PATHS) else STRICT_CSP_BYTES
        secured += _SECURITY_HEADERS
        secured += ((b"content-security-policy", csp), (b"cache-control", _cache_control(path)))
        return secured
    secured += [(n, v) for n, v in _SECURITY_HEADERS if n not in present]
    if b"content-security-policy" not in present:
        secured.append(
            (
                b"content-security-policy",
                DOCS_CSP_BYTES if path.startswith(DOCS_PATHS) else STRICT_CSP_BYTES,
            )
        )
    if b"cache-control" not in present:
        secured.append((b"cache-control", _cache_control(path)))
    return secured


def _cache_control(path: str) -> bytes:
    """Only public GETs opt in to caching (leads and errors must not be kept), and the docs'
    own scripts and styles: a day, then revalidated by their ETag (they change with the
    fastapi-offline release, not by name)."""
    return DOCS_ASSETS_CACHE if path.startswith(DOCS_ASSETS + "/") else b"no-store"


_BODYLESS = frozenset({"GET", "HEAD", "OPTIONS", "DELETE"})


async def _read_capped(receive: Receive, cap: int) -> Message | None:
    """The whole request body as one message, or None as soon as it grows past `cap`. A client
    that goes away before its last chunk sent no request: the app is told it went away, as
    when a body with a Content-Length stops short, and never sees the part that came."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return message
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > cap:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return {"type": "http.request", "body": b"".join(chunks), "more_body": False}


async def _drain(receive: Receive, limit: int) -> None:
    """Read and drop the request body until it ends, the client goes, or `limit` bytes."""
    size = 0
    while size <= limit:
        message = await receive()
        if message["type"] != "http.request" or not message.get("more_body", False):
            return
        size += len(message.get("body", b""))


def _replaying(first: Message, receive: Receive) -> Receive:
    """A receive that hands the app the message already read (the whole body, or the client's
    going away), then the client's later messages."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return first

    return replay


class RequestGuardMiddleware:
    """Reads every request body whole, within `body_timeout` seconds and `max_body_bytes`
    (more for a staff request that may carry an article or an image: `_cap`),
    before the app sees the request: no route can open a session or take SQLite's write lock
    and then wait on a slow client (a 408 closes such a connection). Answers 413 for bodies over
    the cap, 415 for a compressed request body (it would otherwise fail as "not JSON"), and a
    problem+json 500 for anything unhandled, without internals."""

    def __init__(
        self, app: ASGIApp, max_body_bytes: int, keyed_max_body_bytes: int, body_timeout: float
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.keyed_max_body_bytes = keyed_max_body_bytes
        self.body_timeout = body_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        framing = _framing(scope)
        cap = self._cap(scope)
        if framing.length is not None and framing.length > cap:
            await self._too_large(scope, receive, send, cap)
            return
        if scope["method"] not in _BODYLESS and framing.encoded:
            await problem_response(
                status=415,
                title="Unsupported Media Type",
                code="unsupported_content_encoding",
                detail="Send the request body uncompressed (no Content-Encoding).",
                instance=path,
                headers={"Accept-Encoding": "identity"},  # RFC 7694
            )(scope, receive, send)
            return
        if framing.has_body:
            try:
                async with asyncio.timeout(self.body_timeout):
                    first = await _read_capped(receive, cap)
            except TimeoutError:
                await self._timed_out(scope, receive, send)
                return
            if first is None:
                await self._too_large(scope, receive, send, cap)
                return
            receive = _replaying(first, receive)
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            if is_unavailable(exc):  # a fault the client may retry, not a bug
                log.warning(
                    "database unavailable", extra={"path": path, "error": describe_exception(exc)}
                )
                if not started:
                    await problem_response(
                        status=503,
                        title="Service Unavailable",
                        code="database_unavailable",
                        detail="The database cannot be reached just now; retry shortly.",
                        instance=path,
                        headers={"Retry-After": str(RETRY_AFTER_UNAVAILABLE)},
                    )(scope, receive, send)
                return
            log.error("unhandled error", extra={"path": path, "error": describe_exception(exc)})
            if not started:
                await problem_response(
                    status=500,
                    title="Internal Server Error",
                    code="internal_error",
                    detail="The server could not complete the request.",
                    instance=path,
                )(scope, receive, send)

    def _cap(self, scope: Scope) -> int:
        """The default cap, except for a staff request (the `/v1/admin/` namespace, with an
        `Authorization` header) that may send an article (JSON, up to `admin_json_bytes`) or an
        image (a multipart form, up to `keyed_max_body_bytes`). The route checks the key, and
        an article's bounded fields and an upload's size check the rest."""
        if not scope["path"].startswith(ADMIN_PREFIX):
            return self.max_body_bytes
        headers = dict(scope["headers"])
        if b"authorization" not in headers:
            return self.max_body_bytes
        if headers.get(b"content-type", b"").lower().startswith(b"multipart/form-data"):
            return self.keyed_max_body_bytes
        return max(self.max_body_bytes, ADMIN_JSON_BYTES)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send, cap: int) -> None:
        # Read the rest of a body that is not much over (it is on its way): a server that
        # closes with unread bytes makes the kernel reset the connection, and a client that is
        # still sending may then lose the 413 itself. A far larger body is not waited for.
        length = _framing(scope).length
        if length is None or length <= DRAIN_BYTES:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.body_timeout):
                    await _drain(receive, DRAIN_BYTES)
        await problem_response(
            status=413,
            title="Content Too Large",
            code="payload_too_large",
            detail=f"Request bodies are limited to {cap} bytes.",
            instance=scope["path"],
        )(scope, receive, send)

    async def _timed_out(self, scope: Scope, receive: Receive, send: Send) -> None:
        # The rest of the body may still come: the connection cannot carry another request.
        await problem_response(
            status=408,
            title="Request Timeout",
            code="request_timeout",
            detail=f"The request body did not arrive within {self.body_timeout:g} seconds.",
            instance=scope["path"],
            headers={"Connection": "close"},
        )(scope, receive, send)


@dataclass(frozen=True)
class _Framing:
    """What a request's headers say of its body."""

    length: int | None  # Content-Length, when it is a number
    chunked: bool  # a Transfer-Encoding other than identity
    encoded: bool  # a Content-Encoding (gzip…) the API does not decode

    @property
    def has_body(self) -> bool:
        """Whether a body follows (a length over 0, or chunks)."""
        return self.length > 0 if self.length is not None else self.chunked


def _framing(scope: Scope) -> _Framing:
    """The body framing, read in one pass over the headers (the first Content-Length)."""
    length: int | None = None
    seen_length = chunked = encoded = False
    for name, value in scope["headers"]:
        if name == b"content-length" and not seen_length:
            seen_length = True
            try:
                length = int(value)
            except ValueError:
                length = None
        elif name == b"transfer-encoding":
            chunked = chunked or value.strip().lower() != b"identity"
        elif name == b"content-encoding":
            encoded = encoded or value.strip().lower() not in (b"", b"identity")
    return _Framing(length, chunked, encoded)


REQUEST_ID_HEADER = b"x-request-id"


class RequestContextMiddleware:
    """Gives each request an id (the client's `X-Request-ID` when plausible, else a new one),
    echoes it in the response, tags every log line written meanwhile with it, and writes one
    line per request to `access_log`: method, path, route, status, duration. Never bodies or
    queries. `observe` (metrics) is told of each finished request."""

    def __init__(
        self, app: ASGIApp, access_log: AccessLog, observe: Observer | None = None
    ) -> None:
        self.app = app
        self.access_log = access_log
        self.observe = observe

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        offered = None
        for name, value in scope["headers"]:
            if name == REQUEST_ID_HEADER:
                offered = value.decode("latin-1")
                break
        request_id = accepted_request_id(offered)
        status = 500

        async def tagged_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [
                    *message.get("headers", []),
                    (REQUEST_ID_HEADER, request_id.encode()),
                ]
            await send(message)

        with request_context(request_id):
            try:
                await self.app(scope, receive, tagged_send)
            finally:
                duration = time.perf_counter() - start
                route = route_template(scope)
                self.access_log.write(
                    request_id, scope["method"], scope["path"], route, status, duration
                )
                if self.observe is not None:
                    self.observe(scope["method"], route, status, duration)


def route_template(scope: Scope) -> str | None:
    """The path template the router matched (`/v1/articles/{slug}`), or None when it matched
    nothing (a 404); a cached answer carries the route that first answered its form."""
    route = scope.get("route")
    return getattr(route, "path", None)


class HeadAsGetMiddleware:
    """Answers HEAD like GET without the body (CDNs and link checkers use it)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def send_without_body(message: Message) -> None:
            if message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        as_get = {**scope, "method": "GET"}
        try:
            await self.app(as_get, receive, send_without_body)
        finally:
            if "route" in as_get:  # the access log and metrics name the route it matched
                scope["route"] = as_get["route"]
