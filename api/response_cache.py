"""Serialized public responses, cached per process and dropped when content changes, and the
layer that answers from them just in front of the router.

A background task reads the content version (one tiny query every `refresh_seconds`), so a
change made by any process is served everywhere within that interval; the cached path itself
never touches the database or the threadpool.

Bodies are kept by the key their route gives them, built from its validated, normalised
parameters (`?updated_since=2026-11-01T00:00:00Z` and `…+00:00` are one entry), and the whole
cache is bounded by bytes (`CLINIC_RESPONSE_CACHE_MB`). The layer does not parse a query
string itself: it answers a request whose exact form (path, query string, Accept-Language) a
route has already mapped to a key, and learns that mapping from the route on the request's
first pass. So a request no route accepted (a refused query, a preview, a 404) is never
answered from the cache, and every cross-cutting layer outside it (request id, access log,
metrics, security headers, CORS, compression, HEAD) treats a hit and a miss alike."""

import asyncio
import contextlib
import logging
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import orjson
from cachetools import LRUCache
from pydantic import BaseModel
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from api.deps import read_only_session
from api.http_cache import CachedBody, Reply, reply
from api.locales import Negotiated
from api.public_base import PublicBase
from core.metrics import observe_cache
from schemas.articles import ArticleRef
from services.content.state import VERSION_REFRESH_SECONDS

log = logging.getLogger("clinic.cache")
# What model_dump leaves out: field names, nested as pydantic takes them.
Exclude = dict[str, Any] | set[str] | None
Version = tuple[int, date]
# What a cached answer depends on besides its body: the path, the query string,
# Accept-Language and the public base URL (api/public_base.py: the links are written on it)
# choose the body; Accept-Encoding and If-None-Match choose the reply.
Signature = tuple[str, bytes, bytes | None, str]
_SIGNATURE_MAX = 1024  # longer requests are answered, their form not remembered
# Request forms whose key is remembered: each form is at most 1 KiB, its key a few KiB more
# for a long list query (kept after its body left the cache): tens of MiB at the very most.
_ALIASES_MAX = 4096
# Bytes counted for an entry beside its bodies: its key and objects (~2 KiB), and each reply it
# may keep (~1.2 KiB of headers: one per representation, 304 or not, Vary or not), counted
# at their most so that replies made later are inside the bound (a red-team retest measured
# 3.6 times the bytes held that a flat 1 KiB counted).
_ENTRY_BASE = 2048
_REPLY_BYTES = 1280
# Where a route tells the layer which key answered this request (request.state).
_CACHED_AS = "cached_as"


@dataclass(frozen=True)
class Alias:
    """Which cached body answers a request form, the route that named it, whether
    Accept-Language chose its locale (then the answer varies on that header), and the content
    version the route worked the key out under (its locale among that version's locales)."""

    key: Hashable
    route: Any
    vary_language: bool
    version: Version | None


@dataclass(frozen=True)
class _Entry:
    version: Version
    body: CachedBody


def _size(entry: _Entry) -> int:
    body = entry.body
    replies = (1 + len(body.encoded)) * 2 * 2
    return body.size + _ENTRY_BASE + replies * _REPLY_BYTES


class ResponseCache:
    """An LRU of serialized responses bounded by bytes, valid for one content version and one
    UTC day, and the request forms (`Alias`) routes have mapped to its keys."""

    def __init__(
        self,
        read_version: Callable[[], int],
        *,
        read_locales: Callable[[], frozenset[str]] = frozenset,
        max_bytes: int = 64 * 1024 * 1024,
        refresh_seconds: float = VERSION_REFRESH_SECONDS,
        counting: bool = False,
        cache_control: str = "public, max-age=60",
    ):
        self.read_version = read_version
        self.read_locales = read_locales
        # The locales with published content, read with each new content version.
        self.locales: frozenset[str] | None = None
        self.refresh_seconds = refresh_seconds
        self.counting = counting  # each look-up counted (the metrics are on)
        self.cache_control = cache_control
        self.version: Version | None = None  # None: not known yet, so no caching
        self._entries: LRUCache[Hashable, _Entry] = LRUCache(max_bytes, getsizeof=_size)
        self._aliases: LRUCache[Signature, Alias] = LRUCache(_ALIASES_MAX)

    def _read_version(self) -> Version:
        return (self.read_version(), datetime.now(UTC).date())

    async def refresh(self) -> None:
        """Re-read the content version; a change empties the cache (the locales requests
        negotiate among may have changed too, and with them what a request form means)."""
        version = await asyncio.to_thread(self._read_version)
        if version != self.version:
            locales = await asyncio.to_thread(self.read_locales)
            self.clear()
            self.version, self.locales = version, locales

    def clear(self) -> None:
        """Let every body and request form go (a new version does)."""
        self._entries.clear()
        self._aliases.clear()

    async def available_locales(self) -> tuple[frozenset[str], Version | None]:
        """The locales with published content (read now if not known yet), and the version
        they are of (None: not known)."""
        if self.locales is None:
            return await asyncio.to_thread(self.read_locales), None
        return self.locales, self.version

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
            self.clear()

    def held(self) -> list[Hashable]:
        """The keys of the bodies held now."""
        return list(self._entries)

    @property
    def bytes_held(self) -> int:
        """What the held bodies count against the bound."""
        return int(self._entries.currsize)

    def peek(self, key: Hashable) -> CachedBody | None:
        """The current cached body for `key`, if any (no building)."""
        entry = self._entries.get(key) if self.version is not None else None
        if entry is None or entry.version != self.version:
            return None
        return entry.body

    def alias(self, signature: Signature) -> Alias | None:
        """Which key a route mapped this request form to, if one did under this version."""
        return self._aliases.get(signature)

    def remember(self, signature: Signature, alias: Alias) -> None:
        """Map a request form to the key its route answered it from, unless the route worked
        the key out under an older version: a request that negotiated its locale before an
        import added one must not map the new locale's readers to the old answer."""
        if self.version is not None and alias.version == self.version:
            self._aliases[signature] = alias

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
            with contextlib.suppress(ValueError):  # one body over the whole bound: not kept
                self._entries[key] = _Entry(version, cached)
        return cached


def _serialize(model: BaseModel, language: str | None, exclude: Exclude) -> CachedBody:
    """The bytes of a response, with the locale it is in (a top-level `locale` field, its
    article's, else the negotiated one) as its Content-Language."""
    said = getattr(model, "locale", None)
    if said is None and isinstance(getattr(model, "article", None), ArticleRef):
        said = model.article.locale  # type: ignore[attr-defined]
    body = orjson.dumps(model.model_dump(mode="json", exclude=exclude))
    return CachedBody.of(body, said or language)


def article_key(
    slug: str, locale: str, form: str | None = None, left_out: tuple[str, ...] = ()
) -> Hashable:
    """Cache key of a whole article (with every body form, or only `form`; every field, or
    all but those `left_out`)."""
    return ("article", slug, locale, form, *((left_out,) if left_out else ()))


def _request_headers(scope: Scope) -> tuple[bytes | None, bytes | None, bytes | None]:
    """Accept-Language, Accept-Encoding and If-None-Match (the first of each, as routes read
    them), in one pass."""
    language = encoding = inm = None
    for name, value in scope["headers"]:
        if name == b"accept-encoding":
            encoding = value if encoding is None else encoding
        elif name == b"if-none-match":
            inm = value if inm is None else inm
        elif name == b"accept-language":
            language = value if language is None else language
    return language, encoding, inm


def _text(value: bytes | None) -> str | None:
    return None if value is None else value.decode("latin-1")


def cached_reply(
    cached: CachedBody,
    *,
    cache_control: str,
    accept_encoding: str | None,
    if_none_match: str | None,
    vary_language: bool,
) -> Reply:
    """The reply to one request from `cached`, made once per outcome (the representation
    chosen, 304 or not, Vary: Accept-Language or not) and kept with the body; keyed by the
    outcome, never by the request's header text, so that what a body keeps stays a few
    replies however many spellings clients send (it goes when the body leaves the cache)."""
    chosen = cached.choose(accept_encoding)
    not_modified = cached.matches(if_none_match)
    memo = (chosen.encoding, not_modified, vary_language)
    made: Reply | None = cached.replies.get(memo)
    if made is None:
        made = reply(
            cached,
            chosen,
            not_modified=not_modified,
            cache_control=cache_control,
            vary_language=vary_language,
        )
        cached.replies[memo] = made
    return made


class ResponseCacheMiddleware:
    """Answers a GET from the cache when a route has already mapped its exact form to a body
    the cache holds; else passes it to the router and learns the mapping the route reports."""

    def __init__(self, app: ASGIApp, cache: ResponseCache, base: PublicBase) -> None:
        self.app = app
        self.cache = cache
        self.base = base

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        language, encoding, inm = _request_headers(scope)
        signature: Signature = (
            scope["path"],
            scope["query_string"],
            language,
            self.base.of(scope),
        )
        known = self.cache.alias(signature)
        cached = None if known is None else self.cache.peek(known.key)
        if known is None or cached is None:
            await self.app(scope, receive, send)
            self._learn(scope, signature)
            return
        if self.cache.counting:  # a hit; a miss is the route's look-up, counted there
            observe_cache(True)
        scope["route"] = known.route  # the access line and metrics name it, as routed
        status, headers, body = cached_reply(
            cached,
            cache_control=self.cache.cache_control,
            accept_encoding=_text(encoding),
            if_none_match=_text(inm),
            vary_language=known.vary_language,
        )
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def _learn(self, scope: Scope, signature: Signature) -> None:
        state = scope.get("state")
        alias = state.get(_CACHED_AS) if isinstance(state, dict) else None
        if not isinstance(alias, Alias):
            return
        path, query, language, base = signature
        if len(path) + len(query) + len(language or b"") + len(base) <= _SIGNATURE_MAX:
            self.cache.remember(signature, alias)


async def serve_cached(
    request: Request,
    key: Hashable,
    build: Callable[[Session], BaseModel],
    exclude: Exclude = None,
) -> Response:
    """Answer a public GET from the cache (200 with ETag, or 304), building it on a miss.
    `key` must name everything the body depends on (`exclude` included), in normalised form:
    the layer in front answers every later request of this exact form from the same body.
    (The public base URL the body's links are written on is added to it here.)"""
    cache: ResponseCache = request.app.state.response_cache
    key = (key, request.app.state.public_base.of(request.scope))
    started = cache.version

    def run() -> BaseModel:
        with read_only_session(request) as session:
            return build(session)

    negotiated = getattr(request.state, "negotiated", None)
    if not isinstance(negotiated, Negotiated):
        negotiated = None  # a read that does not depend on the locale
    cached = await cache.get_or_build(key, run, negotiated.locale if negotiated else None, exclude)
    vary = negotiated is not None and negotiated.from_header
    # The version the key was worked out under: the locales' when the route negotiated one.
    version = getattr(request.state, "locales_version", started)
    setattr(request.state, _CACHED_AS, Alias(key, request.scope.get("route"), vary, version))
    status, headers, body = cached_reply(
        cached,
        cache_control=cache.cache_control,
        accept_encoding=request.headers.get("accept-encoding"),
        if_none_match=request.headers.get("if-none-match"),
        vary_language=vary,
    )
    return Response(
        content=body, status_code=status, headers={k.decode(): v.decode() for k, v in headers}
    )
