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
from urllib.parse import parse_qsl

import orjson
from pydantic import BaseModel
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from api.deps import read_only_session
from api.http_cache import CachedBody, cache_control, cached_bytes, reply
from api.locales import Negotiated, negotiate
from core.config import Settings
from core.metrics import observe_cache
from schemas.articles import ArticleRef
from schemas.vocabulary import LOCALE_PATTERN, SLUG_PATTERN

log = logging.getLogger("clinic.cache")
# What model_dump leaves out: field names, nested as pydantic takes them.
Exclude = dict[str, Any] | set[str] | None


class ResponseCache:
    """An LRU of serialized responses, valid for one content version and one UTC day."""

    def __init__(
        self,
        read_version: Callable[[], int],
        *,
        read_locales: Callable[[], frozenset[str]] = frozenset,
        max_entries: int = 4096,
        refresh_seconds: float = 0.5,
    ):
        self.read_version = read_version
        self.read_locales = read_locales
        # The locales with published content, read with each new content version.
        self.locales: frozenset[str] | None = None
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
            locales = await asyncio.to_thread(self.read_locales)
            self._entries.clear()
            self.version, self.locales = version, locales

    async def available_locales(self) -> frozenset[str]:
        """The locales with published content (read now if not known yet)."""
        if self.locales is None:
            return await asyncio.to_thread(self.read_locales)
        return self.locales

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
        self,
        key: Hashable,
        build: Callable[[], BaseModel],
        language: str | None = None,
        exclude: Exclude = None,
    ) -> CachedBody:
        """The cached body for `key`, or build it in the threadpool (and cache it); `language`
        is its Content-Language unless the body names its own locale; `exclude` leaves fields
        out of the JSON (then `key` must say so)."""
        version = self.version
        hit = self.peek(key)
        if hit is not None:
            return hit
        cached = await run_in_threadpool(lambda: _serialize(build(), language, exclude))
        if version is not None and version == self.version:
            self._entries[key] = (version, cached)
            if len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
        return cached


def _serialize(model: BaseModel, language: str | None, exclude: Exclude) -> CachedBody:
    """The bytes of a response, with the locale it is in (a top-level `locale` field, its
    article's, else the negotiated one) as its Content-Language."""
    said = getattr(model, "locale", None)
    if said is None and isinstance(getattr(model, "article", None), ArticleRef):
        said = model.article.locale  # type: ignore[attr-defined]
    body = orjson.dumps(model.model_dump(mode="json", exclude=exclude))
    return CachedBody.of(body, said or language)


def article_key(slug: str, locale: str, form: str | None = None) -> Hashable:
    """Cache key of a whole article (with every body form, or only `form`)."""
    return ("article", slug, locale, form)


def list_key(query: str, locale: str) -> tuple[str, str, str]:
    """Cache key of an article list: the exact query string (its links echo it) and the
    negotiated locale (never the raw Accept-Language)."""
    return ("list", query, locale)


@dataclass(frozen=True)
class Route:
    """What the access log and metrics read of a route (`scope["route"].path`)."""

    path: str


_LIST_ROUTE = Route("/v1/articles")
_ARTICLE_ROUTE = Route("/v1/articles/{slug}")
_LOCALE = re.compile(LOCALE_PATTERN)
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

    def _key(self, scope: Scope) -> tuple[Hashable, Route, Negotiated] | None:
        path: str = scope["path"]
        locales = self.cache.locales
        if locales is None:
            return None
        query = scope.get("query_string", b"").decode("latin-1")
        match = _ARTICLE_PATH.match(path)
        if path != "/v1/articles" and not (match and not query):
            return None
        explicit = [v for k, v in parse_qsl(query, keep_blank_values=True) if k == "locale"]
        if len(explicit) > 1 or (explicit and not _LOCALE.match(explicit[0])):
            return None  # the route answers that (a 422), never the cache
        header = next((v for k, v in scope["headers"] if k == b"accept-language"), None)
        negotiated = negotiate(
            explicit=explicit[0] if explicit else None,
            header=None if header is None else header.decode("latin-1"),
            available=locales,
            default=self.default_locale,
        )
        if match:
            return article_key(match.group(1), negotiated.locale), _ARTICLE_ROUTE, negotiated
        return list_key(query, negotiated.locale), _LIST_ROUTE, negotiated

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            keyed = self._key(scope)
            if keyed is not None:
                hit = self.cache.peek(keyed[0])
                if self.counting:
                    observe_cache(hit is not None)
                if hit is not None:
                    scope["route"] = keyed[1]  # for the access log: the route it stands for
                    await self._send(scope, send, hit, vary_language=keyed[2].from_header)
                    return
        await self.app(scope, receive, send)

    async def _send(
        self, scope: Scope, send: Send, hit: CachedBody, *, vary_language: bool
    ) -> None:
        inm = accept = None
        for name, value in scope["headers"]:
            if name == b"if-none-match":
                inm = value.decode("latin-1")
            elif name == b"accept-encoding":
                accept = value.decode("latin-1")
        status, headers, body = reply(
            hit,
            if_none_match=inm,
            accept_encoding=accept,
            cache_control=self.cache_control,
            vary_language=vary_language,
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

    negotiated = getattr(request.state, "negotiated", None)
    if not isinstance(negotiated, Negotiated):
        negotiated = None  # a read that does not depend on the locale
    cached = await app.state.response_cache.get_or_build(
        key, run, negotiated.locale if negotiated else None, exclude
    )
    vary = negotiated is not None and negotiated.from_header
    return cached_bytes(request, cached, app.state.settings, vary_language=vary)
