"""The cached lane: a public GET (or HEAD) whose answer the response cache holds is answered in
front of the whole middleware stack, with everything the stack would have added.

A cached article costs a bare Starlette route ~20 us of CPU; through the eight middleware
layers (request context, security headers, CORS, body guard, HEAD, compression, query guard,
cache) it cost ~145 us, most of it in layers that have nothing to do for a cached body. Here
it is one function: the query guard, locale negotiation, the cache look-up, `reply` (the same
status, headers and bytes a route on a miss sends), the stack's own CORS policy, the security
headers, the request id, the access line and the metrics. The answer to each kind of request
is made once per cached body and kept with it (`CachedBody.replies`), so a repeat costs a few
dictionary look-ups. Anything else (a miss, a refused query string, a preview, a request that
declares a body) goes down the stack untouched. `tests/api/test_cached_lane.py` holds each
answer of the lane to the stack's own."""

import logging
import re
import time
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.cors import ProblemCORSMiddleware
from api.http_cache import CachedBody, cache_control, reply
from api.locales import Negotiated, negotiate
from api.middleware import ACCESS_LOG, REQUEST_ID_HEADER, Observer, secured
from api.query_guard import QueryGuard
from api.response_cache import ResponseCache, article_key, list_key
from core.config import Settings
from core.logging import accepted_request_id, describe_exception
from core.metrics import observe_cache
from schemas.vocabulary import ARTICLE_SLUG_MAX, LOCALE_PATTERN, SLUG_PATTERN, BodyForm

log = logging.getLogger("clinic.http")

_LIST_PATH = "/v1/articles"
_ARTICLE_TEMPLATE = "/v1/articles/{slug}"
_LOCALE = re.compile(LOCALE_PATTERN)
_ARTICLE_PATH = re.compile(r"/v1/articles/(" + SLUG_PATTERN.strip("^$") + ")")
_READS = frozenset({"GET", "HEAD"})
_ARTICLE_PARAMS = frozenset({"locale", "format"})
_FORMS = frozenset(form.value for form in BodyForm)
_Headers = list[tuple[bytes, bytes]]

# What an answer depends on besides the cache: method, path, query string, Accept-Language,
# Accept-Encoding, If-None-Match and Origin. Longer requests are answered, not remembered.
_Signature = tuple[str, str, bytes, bytes | None, bytes | None, bytes | None, bytes | None]
_SIGNATURE_MAX = 1024
_KEYS_MAX = 4096  # signatures whose cache key is remembered
_REPLIES_MAX = 64  # answers kept with one cached body


@dataclass(frozen=True)
class _Reply:
    """A cached answer as sent, all but its request id."""

    status: int
    headers: _Headers
    body: bytes
    route: str


@dataclass(frozen=True)
class _Key:
    """Where a request's answer is cached, the route it stands for, and whether Accept-Language
    chose its locale (then the answer varies on that header)."""

    key: Hashable
    route: str
    vary_language: bool


@dataclass(frozen=True)
class _Request:
    """What the lane reads of a request, in one pass over its headers (the first of a
    repeated header, as routes read it)."""

    signature: _Signature
    request_id: bytes | None
    declares_body: bool


def _read(scope: Scope) -> _Request:
    language = encoding = inm = request_id = origin = None
    declares_body = False
    for name, value in scope["headers"]:
        if name == b"accept-encoding":
            encoding = value if encoding is None else encoding
        elif name == b"if-none-match":
            inm = value if inm is None else inm
        elif name == b"accept-language":
            language = value if language is None else language
        elif name == REQUEST_ID_HEADER:
            request_id = value if request_id is None else request_id
        elif name == b"origin":
            origin = value if origin is None else origin
        elif name == b"transfer-encoding" or (name == b"content-length" and value != b"0"):
            declares_body = True  # the stack's guard answers a body over the cap (413)
    query: bytes = scope.get("query_string", b"")
    signature = (scope["method"], scope["path"], query, language, encoding, inm, origin)
    return _Request(signature, request_id, declares_body)


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
        cors: dict[str, Any],
        observe: Observer | None = None,
    ) -> None:
        self.app = app
        self.cache = cache
        self.guard = guard
        # The stack's CORS policy, applied to the lane's answers by the very same code.
        self.cors = ProblemCORSMiddleware(app, **cors)
        self.default_locale = settings.default_locale
        self.cache_control = cache_control(settings)
        self.observe = observe
        self._keys: dict[_Signature, _Key] = {}
        self._version = cache.version

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in _READS:
            start = time.perf_counter()
            try:
                answer = await self._answer(scope)
            except Exception as exc:  # a defect here must not cost the client its answer
                log.error("cached lane failed", extra={"error": describe_exception(exc)})
                answer = None
            if answer is not None:
                await self._send(scope, send, start, *answer)
                return
        await self.app(scope, receive, send)

    async def _answer(self, scope: Scope) -> tuple[_Reply, str] | None:
        """The cached answer and its request id, or None when the stack must answer."""
        request = _read(scope)
        if request.declares_body:
            return None
        if self._version != self.cache.version:  # new content: keys may name other entries
            self._keys.clear()
            self._version = self.cache.version
        signature = request.signature
        known = self._keys.get(signature)
        if known is None:
            known = self._key(scope, signature)
            if known is None:
                return None
            if sum(len(part or b"") for part in signature[1:]) <= _SIGNATURE_MAX:
                if len(self._keys) >= _KEYS_MAX:
                    self._keys.clear()
                self._keys[signature] = known
        entry = self.cache.peek(known.key)
        if entry is None:
            return None  # the route builds it, and counts the miss
        if self.cache.counting:  # a hit; a miss is the route's look-up, counted there
            observe_cache(True)
        answer: _Reply | None = entry.replies.get(signature)
        if answer is None:
            answer = await self._reply(signature, entry, known)
            if len(entry.replies) >= _REPLIES_MAX:
                entry.replies.clear()
            entry.replies[signature] = answer
        return answer, accepted_request_id(_text(request.request_id))

    def _key(self, scope: Scope, signature: _Signature) -> _Key | None:
        """Where the answer to a request of this signature is cached, or None when it is the
        route's to answer."""
        _, path, query, language, *_ = signature
        if path == _LIST_PATH:
            route, slug = _LIST_PATH, None
        else:
            match = _ARTICLE_PATH.fullmatch(path)
            if match is None or len(match.group(1)) > ARTICLE_SLUG_MAX:
                return None
            route, slug = _ARTICLE_TEMPLATE, match.group(1)
        if self.guard.refusal(scope) is not None:
            return None
        keyed = self._cache_key(query.decode("latin-1"), slug, _text(language))
        return None if keyed is None else _Key(keyed[0], route, keyed[1].from_header)

    def _cache_key(
        self, query: str, slug: str | None, language: str | None
    ) -> tuple[Hashable, Negotiated] | None:
        locales = self.cache.locales
        if locales is None:
            return None
        params = parse_qsl(query, keep_blank_values=True) if query else []
        explicit = [v for k, v in params if k == "locale"]
        if len(explicit) > 1 or (explicit and not _LOCALE.fullmatch(explicit[0])):
            return None  # the route answers that (a 422), never the cache
        negotiated = negotiate(
            explicit=explicit[0] if explicit else None,
            header=language,
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

    async def _reply(self, signature: _Signature, entry: CachedBody, known: _Key) -> _Reply:
        """The answer the stack gives to a request of this signature from `entry`."""
        method, path, _, _, encoding, inm, origin = signature
        status, headers, body = reply(
            entry,
            if_none_match=_text(inm),
            accept_encoding=_text(encoding),
            cache_control=self.cache_control,
            vary_language=known.vary_language,
        )
        start: Message = {"type": "http.response.start", "status": status, "headers": headers}
        sent: list[Message] = []

        async def keep(message: Message) -> None:
            sent.append(message)

        request_headers = Headers(raw=[(b"origin", origin)] if origin is not None else [])
        await self.cors.send(start, keep, request_headers)
        body = b"" if method == "HEAD" else body
        return _Reply(status, secured(sent[0]["headers"], path), body, known.route)

    async def _send(
        self, scope: Scope, send: Send, start: float, answer: _Reply, request_id: str
    ) -> None:
        headers = [*answer.headers, (REQUEST_ID_HEADER, request_id.encode())]
        await send({"type": "http.response.start", "status": answer.status, "headers": headers})
        await send({"type": "http.response.body", "body": answer.body})
        seconds = time.perf_counter() - start
        ACCESS_LOG.write(
            request_id, scope["method"], scope["path"], answer.route, answer.status, seconds
        )
        if self.observe is not None:
            self.observe(scope["method"], answer.route, answer.status, seconds)
