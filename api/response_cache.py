"""Serialized public responses, cached per process and dropped when content changes.

A background task reads the content version (one tiny query every `refresh_seconds`), so a
change made by any process is served everywhere within that interval; the cached path itself
never touches the database or the threadpool."""

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import UTC, date, datetime

import orjson
from pydantic import BaseModel
from sqlalchemy import Engine
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from api.http_cache import cached_bytes, make_etag
from db.models import ContentState

log = logging.getLogger("clinic.cache")


@dataclass(frozen=True)
class CachedBody:
    """Response bytes and their strong ETag."""

    body: bytes
    etag: str


class ResponseCache:
    """An LRU of serialized responses, valid for one content version and one UTC day."""

    def __init__(self, engine: Engine, *, max_entries: int = 4096, refresh_seconds: float = 0.5):
        self.engine = engine
        self.max_entries = max_entries
        self.refresh_seconds = refresh_seconds
        self.version: tuple[int, date] | None = None  # None: not known yet, so no caching
        self._entries: OrderedDict[Hashable, tuple[tuple[int, date], CachedBody]] = OrderedDict()

    def _read_version(self) -> tuple[int, date]:
        with Session(self.engine) as session:
            state = session.get(ContentState, 1)
        return (state.version if state else 0, datetime.now(UTC).date())

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

    async def get_or_build(self, key: Hashable, build: Callable[[], BaseModel]) -> CachedBody:
        """The cached body for `key`, or build it in the threadpool (and cache it)."""
        version = self.version
        if version is not None:
            hit = self._entries.get(key)
            if hit is not None and hit[0] == version:
                self._entries.move_to_end(key)
                return hit[1]
        body = await run_in_threadpool(lambda: orjson.dumps(build().model_dump(mode="json")))
        cached = CachedBody(body, make_etag(body))
        if version is not None and version == self.version:
            self._entries[key] = (version, cached)
            if len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
        return cached


async def serve_cached(
    request: Request, key: Hashable, build: Callable[[Session], BaseModel]
) -> Response:
    """Answer a public GET from the cache (200 with ETag, or 304), building it on a miss."""
    app = request.app

    def run() -> BaseModel:
        with Session(app.state.engine) as session:
            return build(session)

    cached = await app.state.response_cache.get_or_build(key, run)
    return cached_bytes(request, cached.body, cached.etag, app.state.settings)
