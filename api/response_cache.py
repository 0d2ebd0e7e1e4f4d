"""Serialized public responses, cached per process and dropped when content changes.

A background task reads the content version (one tiny query every `refresh_seconds`), so a
change made by any process is served everywhere within that interval; the cached path itself
never touches the database or the threadpool."""

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import Callable, Hashable
from datetime import UTC, date, datetime
from typing import Any

import orjson
from pydantic import BaseModel
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from api.deps import read_only_session
from api.http_cache import CachedBody, cached_bytes
from api.locales import Negotiated
from core.metrics import observe_cache
from schemas.articles import ArticleRef

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
        counting: bool = False,
    ):
        self.read_version = read_version
        self.read_locales = read_locales
        # The locales with published content, read with each new content version.
        self.locales: frozenset[str] | None = None
        self.max_entries = max_entries
        self.refresh_seconds = refresh_seconds
        self.counting = counting  # each look-up of a route counted (the metrics are on)
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
        """Keep the version fresh until stopped, from `refresh_seconds` after its caller's
        first read (`refresh_or_pause`, before serving)."""
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.refresh_seconds)
            if stop.is_set():
                return
            await self.refresh_or_pause()

    async def refresh_or_pause(self) -> None:
        """`refresh`, or pause caching while the version cannot be read. The app calls it once
        before serving, so that its first requests are cached (not only after the refresher's
        first turn, which a busy machine may delay)."""
        try:
            await self.refresh()
        except Exception:  # the database may be briefly away; serve uncached meanwhile
            log.warning("content version check failed; caching paused")
            self.version = None
            self._entries.clear()

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
        if self.counting:
            observe_cache(hit is not None)
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
