"""The cached lane (api/cached_lane.py) answers cached GETs in front of the middleware stack: each
of its answers must be the very answer the stack gives (status, headers, bytes), and whatever
it is not sure of must reach the stack."""

import gc
import itertools
import re
import weakref
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.types import ASGIApp, Receive, Scope, Send

from api.cached_lane import CachedLane
from api.http_cache import CachedBody
from api.response_cache import ResponseCache
from core.logging import REQUEST_ID_PATTERN
from tests.api.test_observability import _sample

ARTICLE = "/v1/articles/iv-ketamine-for-ptsd"
PATHS = [
    ARTICLE,
    ARTICLE + "?format=html",
    ARTICLE + "?locale=es&format=text",
    "/v1/articles/ketamina-intravenosa-para-tept",
    "/v1/articles",
    "/v1/articles?therapy=iv-ketamine",
    "/v1/articles?therapy=iv-ketamine&therapy=sgb",
    "/v1/articles?locale=es",
    "/v1/articles?fields=slug,title&page_size=2",
]
ENCODINGS = [None, "gzip", "br", "gzip, br;q=0.5", "gzip;q=0, br;q=0", "identity"]
LANGUAGES = [None, "es", "es-MX,en;q=0.5", "fr"]
ALLOWED = "https://www.clinic.example"
ORIGINS = [None, ALLOWED, "https://elsewhere.example"]
VARIABLE = {"x-request-id"}


class CountingStack:
    """The middleware stack, counting the requests that reach it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.calls = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.calls += 1
        await self.app(scope, receive, send)


def _answer(response: Any) -> tuple[int, list[tuple[str, str]], bytes]:
    headers = sorted((k.lower(), v) for k, v in response.headers.items() if k not in VARIABLE)
    return response.status_code, headers, response.content


@pytest.fixture
def lane_and_stack(make_client: Callable[..., TestClient]) -> tuple[TestClient, TestClient, Any]:
    """A client of the app (lane in front), a client of its stack alone, and the counter of
    requests that reached the stack."""
    c = make_client(cors_origins=[ALLOWED])
    c.get("/healthz")  # builds the middleware stack
    lane = c.app.middleware_stack  # type: ignore[attr-defined]
    assert isinstance(lane, CachedLane)
    counted = CountingStack(lane.app)
    lane.app = counted
    app = c.app

    async def stack_only(scope: Scope, receive: Receive, send: Send) -> None:
        scope["app"] = app  # as Starlette sets it before its stack
        await counted.app(scope, receive, send)

    assert c.portal is not None
    cache: ResponseCache = app.state.response_cache  # type: ignore[attr-defined]
    c.portal.call(cache.refresh)
    return c, TestClient(stack_only, raise_server_exceptions=False), counted


def test_every_cached_answer_is_the_stacks_own(lane_and_stack):
    c, stack, counted = lane_and_stack
    for path in PATHS:
        for encoding, language, origin in itertools.product(ENCODINGS, LANGUAGES, ORIGINS):
            asked = {"Accept-Encoding": encoding, "Accept-Language": language, "Origin": origin}
            headers = {k: v for k, v in asked.items() if v is not None}
            if encoding is None:
                headers["Accept-Encoding"] = ""  # httpx would send its own default
            c.get(path, headers=headers)  # a miss: the stack fills the cache
            before = counted.calls
            fresh = c.get(path, headers=headers)
            assert counted.calls == before, f"the lane did not answer {path} {headers}"
            a, b = _answer(fresh), _answer(stack.get(path, headers=headers))
            assert a[1] == b[1], (path, headers, set(a[1]) ^ set(b[1]))
            assert a == b, (path, headers)
            etag = fresh.headers["etag"]
            for inm in (etag, f'"nope", W/{etag}', "*", '"nope"'):
                conditional = {**headers, "If-None-Match": inm}
                mine = c.get(path, headers=conditional)
                assert _answer(mine) == _answer(stack.get(path, headers=conditional))
            head = c.head(path, headers=headers)
            assert _answer(head) == _answer(stack.head(path, headers=headers))
            assert head.content == b"" and head.headers["content-length"]
    assert counted.calls > 0


def test_the_lane_gives_each_answer_a_request_id(lane_and_stack):
    c, _, counted = lane_and_stack
    c.get(ARTICLE)
    before = counted.calls
    mine = c.get(ARTICLE, headers={"X-Request-ID": "edge-7f3a:01HZX/9+="})
    assert mine.headers["x-request-id"] == "edge-7f3a:01HZX/9+="
    replaced = c.get(ARTICLE, headers={"X-Request-ID": "forged level=CRITICAL"})
    ids = {c.get(ARTICLE).headers["x-request-id"] for _ in range(3)}
    assert counted.calls == before
    assert replaced.headers["x-request-id"] != "forged level=CRITICAL"
    assert len(ids) == 3
    assert all(
        re.fullmatch(REQUEST_ID_PATTERN, i) for i in [*ids, replaced.headers["x-request-id"]]
    )


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        (ARTICLE, {"Content-Length": str(10**9)}),  # a body over the cap: the guard's 413
        (ARTICLE + "%0A", {}),  # not a slug (Python's `$` would take it)
        (ARTICLE + "?locale=en%0A", {}),  # not a locale, for the same reason
        ("/v1/articles?therapy=iv-ketamine&sort=nope&sort=newest", {}),  # a refused query
        ("/v1/articles?utm_source=x", {}),  # an undocumented parameter
        (ARTICLE + "?format=pdf", {}),  # the route's 422
        (ARTICLE + "?preview=abc.def", {}),  # a draft: never from the cache
        ("/v1/articles?locale=es&locale=en", {}),
    ],
)
def test_what_the_lane_is_not_sure_of_reaches_the_stack(lane_and_stack, path, headers):
    c, stack, counted = lane_and_stack
    c.get(path, headers=headers)
    before = counted.calls
    mine = c.get(path, headers=headers)
    assert counted.calls == before + 1
    assert _answer(mine) == _answer(stack.get(path, headers=headers))


def test_a_content_change_is_not_answered_from_a_kept_answer(lane_and_stack):
    c, _, counted = lane_and_stack
    first = c.get(ARTICLE)
    cache: ResponseCache = c.app.state.response_cache
    cache._entries.clear()  # as a new content version empties it
    before = counted.calls
    again = c.get(ARTICLE)
    assert counted.calls == before + 1  # rebuilt by the route, not replayed by the lane
    assert again.content == first.content


def _cache_lookups(c: TestClient) -> tuple[float, float]:
    text = c.get("/metrics").text
    return (
        _sample(text, "clinic_response_cache_lookups_total", result="hit"),
        _sample(text, "clinic_response_cache_lookups_total", result="miss"),
    )


@pytest.mark.parametrize("tracing", [False, True])
def test_each_cache_lookup_is_counted_once(make_client, monkeypatch, tracing):
    """Hits the lane answers, and the route's own look-ups (a miss; every request when tracing
    keeps the lane off)."""
    if tracing:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9")  # nothing listens
    c = make_client(metrics_enabled=True, cors_origins=[ALLOWED])
    assert isinstance(c.app.middleware_stack, CachedLane) != tracing
    before = _cache_lookups(c)
    for headers in ({}, {}, {"Origin": ALLOWED}):
        assert c.get(ARTICLE, headers=headers).status_code == 200
    hits, misses = (now - then for now, then in zip(_cache_lookups(c), before, strict=True))
    assert (hits, misses) == (2, 1)


def test_the_lane_keeps_no_body_the_cache_has_let_go(lane_and_stack):
    """The cache's bound is the memory its bodies take: an answer the lane keeps goes with the
    body it was made of."""
    c, _, _ = lane_and_stack
    cache: ResponseCache = c.app.state.response_cache
    cache.max_entries = 4
    seen: list[weakref.ref[CachedBody]] = []
    for size in range(1, 31):
        for _ in range(2):  # a miss (the route caches the body), then the lane (keeps a reply)
            assert c.get(f"/v1/articles?page_size={size}").status_code == 200
        seen += [weakref.ref(entry) for _, entry in cache._entries.values()]
    gc.collect()
    alive = {id(ref()) for ref in seen if ref() is not None}
    assert alive <= {id(entry) for _, entry in cache._entries.values()}
    assert len(cache._entries) == 4
