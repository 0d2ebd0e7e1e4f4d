"""Serialized public responses, cached per process and dropped when content changes.

A background task reads the content version (one tiny query every `refresh_seconds`), so a
change made by any process is served everywhere within that interval; the cached path itself
never touches the database or the threadpool."""

import asyncio
import contextlib
import logging
import re
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import orjson
from pydantic import BaseModel
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from api.deps import read_only_session
from api.http_cache import CachedBody, cache_control, cached_bytes, reply
from core.config import Settings
from core.metrics import observe_cache
from schemas.vocabulary import SLUG_PATTERN

log = logging.getLogger("clinic.cache")
# What model_dump leaves out: field names, nested as pydantic takes them.
Exclude = dict[str, Any] | set[str] | None


class ResponseCache:
    """An LRU of serialized responses, valid for one content version and one UTC day."""

    def __init__(
        self,
        read_version: Callable[[], int],
        *,
        max_entries: int = 4096,
        refresh_seconds: float = 0.5,
    ):
        self.read_version = read_version
        self.max_entries = max_entries
        self.refresh_seconds = refresh_seconds
        self.version: tuple[int, date] | None = None  # None: not known yet, so no caching
        self._entries: OrderedDict[Hashable, tuple[tuple[int, date], CachedBody]] = OrderedDict()

    def _read_version(self) -> tuple[int, date]:
        return (self.read_version(), datetime.now(UTC).date())

    async def refresh(self) -> None:
        """Re-read the content version; a change empties the cache."""
        version = await asyncio.to_thread(self._read_version)
        if version != self.version:
            self._entries.clear()
            self.version = version

    async def run(self, stop: asyncio.Event) -> None:
        """Keep the version fresh until stopped."""
        while not stop.is_set():
            try:
                await self.refresh()
            except Exception:  # the database may be briefly away; serve uncached meanwhile
                log.warning("content version check failed; caching paused")
                self.version = None
                self._entries.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.refresh_seconds)

    def peek(self, key: Hashable) -> CachedBody | None:
        """The current cached body for `key`, if any (no building)."""
        version = self.version
        hit = self._entries.get(key) if version is not None else None
        if hit is None or hit[0] != version:
            return None
        self._entries.move_to_end(key)
        return hit[1]

    async def get_or_build(
        self, key: Hashable, build: Callable[[], BaseModel], exclude: Exclude = None
    ) -> CachedBody:
        """The cached body for `key`, or build it in the threadpool (and cache it); `exclude`
        leaves fields out of the JSON (then `key` must say so)."""
        version = self.version
        hit = self.peek(key)
        if hit is not None:
            return hit
        cached = await run_in_threadpool(
            lambda: CachedBody.of(orjson.dumps(build().model_dump(mode="json", exclude=exclude)))
        )
        if version is not None and version == self.version:
            self._entries[key] = (version, cached)
            if len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
        return cached


def article_key(slug: str, locale: str, form: str | None = None) -> Hashable:
    """Cache key of a whole article (with every body form, or only `form`)."""
    return ("article", slug, locale, form)


def list_key(query: str) -> tuple[str, str]:
    """Cache key of an article list: the exact query string (its links echo it)."""
    return ("list", query)


@dataclass(frozen=True)
class Route:
    """What the access log and metrics read of a route (`scope["route"].path`)."""

    path: str


_LIST_ROUTE = Route("/v1/articles")
_ARTICLE_ROUTE = Route("/v1/articles/{slug}")
_ARTICLE_PATH = re.compile(r"^/v1/articles/(" + SLUG_PATTERN.strip("^$") + ")$")


class CachedGetMiddleware:
    """Serves hot public GETs straight from the response cache, before routing; on a miss
    (or any other request) the app handles it as usual and fills the cache.

    It sits inside the security-header and CORS middleware, so those still apply."""

    def __init__(self, app: ASGIApp, cache: ResponseCache, settings: Settings) -> None:
        self.app = app
        self.cache = cache
        self.default_locale = settings.default_locale
        self.cache_control = cache_control(settings)
        self.counting = settings.metrics_enabled

    def _key(self, scope: Scope) -> tuple[Hashable, Route] | None:
        path: str = scope["path"]
        query = scope.get("query_string", b"").decode("latin-1")
        if path == "/v1/articles":
            return list_key(query), _LIST_ROUTE
        match = _ARTICLE_PATH.match(path)
        if match and not query:
            return article_key(match.group(1), self.default_locale), _ARTICLE_ROUTE
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            keyed = self._key(scope)
            if keyed is not None:
                hit = self.cache.peek(keyed[0])
                if self.counting:
                    observe_cache(hit is not None)
                if hit is not None:
                    scope["route"] = keyed[1]  # for the access log: the route it stands for
                    await self._send(scope, send, hit)
                    return
        await self.app(scope, receive, send)

    async def _send(self, scope: Scope, send: Send, hit: CachedBody) -> None:
        inm = accept = None
        for name, value in scope["headers"]:
            if name == b"if-none-match":
                inm = value.decode("latin-1")
            elif name == b"accept-encoding":
                accept = value.decode("latin-1")
        status, headers, body = reply(
            hit, if_none_match=inm, accept_encoding=accept, cache_control=self.cache_control
        )
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


async def serve_cached(
    request: Request,
    key: Hashable,
    build: Callable[[Session], BaseModel],
    exclude: Exclude = None,
) -> Response:
    """Answer a public GET from the cache (200 with ETag, or 304), building it on a miss.
    `key` must name everything the body depends on (`exclude` included)."""
    app = request.app

    def run() -> BaseModel:
        with read_only_session(request) as session:
            return build(session)

    cached = await app.state.response_cache.get_or_build(key, run, exclude)
    return cached_bytes(request, cached, app.state.settings)
