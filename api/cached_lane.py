"""The cached lane: a public GET (or HEAD) whose answer the response cache holds is answered in
front of the whole middleware stack, with everything the stack would have added.

A cached article costs a bare Starlette route ~20 us of CPU; through the eight middleware
layers (request context, security headers, CORS, body guard, HEAD, compression, query guard,
cache) it cost ~145 us, most of it in layers that have nothing to do for a cached body. Here
it is one function: the query guard, locale negotiation, the cache look-up, `reply` (the same
status, headers and bytes a route on a miss sends), the security headers, the request id, the
access line and the metrics. Anything else (a miss, a refused query string, a request with an
`Origin`, whose CORS headers the stack's middleware decides) goes down the stack untouched.
`tests/api/test_cached_lane.py` holds each answer of the lane to the stack's own."""

import logging
import re
import time
from collections.abc import Hashable
from dataclasses import dataclass
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Receive, Scope, Send

from api.http_cache import CachedBody, cache_control, reply
from api.locales import Negotiated, negotiate
from api.middleware import ACCESS_LOG, REQUEST_ID_HEADER, Observer, secured
from api.query_guard import QueryGuard
from api.response_cache import ResponseCache, article_key, list_key
from core.config import Settings
from core.logging import accepted_request_id, describe_exception
from core.metrics import observe_cache
from schemas.vocabulary import LOCALE_PATTERN, SLUG_PATTERN, BodyForm

log = logging.getLogger("clinic.http")

_LIST_PATH = "/v1/articles"
_ARTICLE_TEMPLATE = "/v1/articles/{slug}"
_LOCALE = re.compile(LOCALE_PATTERN)
_ARTICLE_PATH = re.compile(r"^/v1/articles/(" + SLUG_PATTERN.strip("^$") + ")$")
_READS = frozenset({"GET", "HEAD"})
_ARTICLE_PARAMS = frozenset({"locale", "format"})
_FORMS = frozenset(form.value for form in BodyForm)


_Headers = list[tuple[bytes, bytes]]


@dataclass(frozen=True)
class _Prepared:
    """A cached answer as sent (all but the request id), and the cache entry it was made of:
    it stands while the cache still holds that very entry."""

    key: Hashable
    entry: CachedBody
    status: int
    headers: _Headers
    body: bytes
    route: str


# What the answer depends on, besides the cache: method, path, query string, Accept-Language,
# Accept-Encoding, If-None-Match. Longer requests are answered without keeping their answer.
_Signature = tuple[str, str, bytes, bytes | None, bytes | None, bytes | None]
_SIGNATURE_MAX = 1024
_PREPARED_MAX = 4096


def _signature(scope: Scope) -> tuple[_Signature, bytes | None, bool]:
    """The request's signature, its X-Request-ID and whether it has an Origin (one pass over
    the headers)."""
    language = encoding = inm = request_id = None
    origin = False
    for name, value in scope["headers"]:  # the first of a repeated header, as routes read it
        if name == b"accept-encoding":
            encoding = value if encoding is None else encoding
        elif name == b"if-none-match":
            inm = value if inm is None else inm
        elif name == b"accept-language":
            language = value if language is None else language
        elif name == REQUEST_ID_HEADER:
            request_id = value if request_id is None else request_id
        elif name == b"origin":
            origin = True
    method: str = scope["method"]
    path: str = scope["path"]
    query: bytes = scope.get("query_string", b"")
    return (method, path, query, language, encoding, inm), request_id, origin


def _vary_on_origin(headers: _Headers) -> _Headers:
    """`headers` with Origin added to Vary, as the stack's CORS middleware (Starlette's) does for
    a request without an Origin: a shared cache must not hand this answer to a browser on an
    origin the answer would have named."""
    if not any(name == b"vary" for name, _ in headers):
        return [*headers, (b"vary", b"Origin")]
    return [(name, value + b", Origin" if name == b"vary" else value) for name, value in headers]


def _text(value: bytes | None) -> str | None:
    return None if value is None else value.decode("latin-1")


class CachedLane:
    """Answers cached public GETs before `app` (the whole middleware stack); passes every other
    request to it."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        cache: ResponseCache,
        guard: QueryGuard,
        settings: Settings,
        observe: Observer | None = None,
    ) -> None:
        self.app = app
        self.cache = cache
        self.guard = guard
        self.default_locale = settings.default_locale
        self.cache_control = cache_control(settings)
        self.observe = observe
        self._prepared: dict[_Signature, _Prepared] = {}
        self._version = cache.version

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in _READS:
            start = time.perf_counter()
            try:
                answer = self._answer(scope)
            except Exception as exc:  # a defect here must not cost the client its answer
                log.error("cached lane failed", extra={"error": describe_exception(exc)})
                answer = None
            if answer is not None:
                await self._send(scope, send, start, *answer)
                return
        await self.app(scope, receive, send)

    def _answer(self, scope: Scope) -> tuple[int, _Headers, bytes, str, str] | None:
        """Status, headers, body, route template and request id of the cached answer, or
        None when the stack must answer."""
        signature, offered_id, origin = _signature(scope)
        if origin:
            return None
        if self._version != self.cache.version:  # keep no answer made of emptied entries
            self._prepared.clear()
            self._version = self.cache.version
        prepared = self._prepared.get(signature)
        if prepared is None or self.cache.peek(prepared.key) is not prepared.entry:
            prepared = self._prepare(scope, signature)
        elif self.observe is not None:
            observe_cache(True)
        if prepared is None:
            return None
        request_id = accepted_request_id(_text(offered_id))
        headers = [*prepared.headers, (REQUEST_ID_HEADER, request_id.encode())]
        return prepared.status, headers, prepared.body, prepared.route, request_id

    def _prepare(self, scope: Scope, signature: _Signature) -> _Prepared | None:
        """The answer to a request of this signature from the cache (kept for the next such
        request), or None when the stack must answer."""
        method, path, query, language, encoding, inm = signature
        if path == _LIST_PATH:
            route, slug = _LIST_PATH, None
        else:
            match = _ARTICLE_PATH.match(path)
            if match is None:
                return None
            route, slug = _ARTICLE_TEMPLATE, match.group(1)
        if self.guard.refusal(scope) is not None:
            return None
        keyed = self._key(query.decode("latin-1"), slug, _text(language))
        if keyed is None:
            return None
        key, negotiated = keyed
        entry = self.cache.peek(key)
        if self.observe is not None:
            observe_cache(entry is not None)
        if entry is None:
            return None
        status, headers, body = reply(
            entry,
            if_none_match=_text(inm),
            accept_encoding=_text(encoding),
            cache_control=self.cache_control,
            vary_language=negotiated.from_header,
        )
        headers = secured(_vary_on_origin(headers), path)
        prepared = _Prepared(key, entry, status, headers, b"" if method == "HEAD" else body, route)
        if sum(len(part or b"") for part in signature[1:]) <= _SIGNATURE_MAX:
            if len(self._prepared) >= _PREPARED_MAX:
                self._prepared.clear()
            self._prepared[signature] = prepared
        return prepared

    def _key(
        self, query: str, slug: str | None, accept_language: str | None
    ) -> tuple[Hashable, Negotiated] | None:
        locales = self.cache.locales
        if locales is None:
            return None
        params = parse_qsl(query, keep_blank_values=True) if query else []
        explicit = [v for k, v in params if k == "locale"]
        if len(explicit) > 1 or (explicit and not _LOCALE.match(explicit[0])):
            return None  # the route answers that (a 422), never the cache
        negotiated = negotiate(
            explicit=explicit[0] if explicit else None,
            header=accept_language,
            available=locales,
            default=self.default_locale,
        )
        if slug is None:
            return list_key(query, negotiated.locale), negotiated
        # An article is cached whole or in one body form; anything else (a preview token, a
        # form the route refuses) is the route's.
        forms = [v for k, v in params if k == "format"]
        if any(k not in _ARTICLE_PARAMS for k, _ in params) or not set(forms) <= _FORMS:
            return None
        return article_key(slug, negotiated.locale, forms[0] if forms else None), negotiated

    async def _send(
        self,
        scope: Scope,
        send: Send,
        start: float,
        status: int,
        headers: _Headers,
        body: bytes,
        route: str,
        request_id: str,
    ) -> None:
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        seconds = time.perf_counter() - start
        ACCESS_LOG.write(request_id, scope["method"], scope["path"], route, status, seconds)
        if self.observe is not None:
            self.observe(scope["method"], route, status, seconds)
