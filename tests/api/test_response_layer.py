"""The response cache as a layer in front of the router (api/response_cache.py): a hit is the
answer the route gives, through the same layers (request id, CORS, security headers, HEAD);
every spelling of one query is one entry; the cache is bounded by bytes; and what no route
accepted is never answered from it."""

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event

from api.response_cache import Alias, ResponseCache, article_key
from tests.prometheus_text import sample

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
    "/v1/therapies",
]
ENCODINGS = [None, "gzip", "br", "gzip;q=0, br;q=0"]
LANGUAGES = [None, "es-MX,en;q=0.5"]
ALLOWED = "https://www.clinic.example"
ORIGINS = [None, ALLOWED, "https://elsewhere.example"]
VARIABLE = {"x-request-id"}


def _answer(response: Any) -> tuple[int, list[tuple[str, str]], bytes]:
    headers = sorted((k.lower(), v) for k, v in response.headers.items() if k not in VARIABLE)
    return response.status_code, headers, response.content


def _cache(c: TestClient) -> ResponseCache:
    cache: ResponseCache = c.app.state.response_cache  # type: ignore[attr-defined]
    assert c.portal is not None
    c.portal.call(cache.refresh)
    return cache


@contextmanager
def _statements(c: TestClient) -> Iterator[list[str]]:
    """The SQL the app runs meanwhile, but the periodic content-version check (its query, and
    on SQLite its BEGIN: a BEGIN alone reads nothing)."""
    engine = c.app.state.engine  # type: ignore[attr-defined]
    seen: list[str] = []

    def record(*args: object) -> None:
        statement = str(args[2])
        if "contentstate" not in statement.lower() and not statement.startswith("BEGIN"):
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_a_hit_is_the_routes_own_answer(make_client):
    """For each request form: the first answer is built by the route (it reads the database),
    the second comes from the cache (it does not); both are the same status, headers and
    bytes, and so are their 304s and HEADs."""
    c = make_client(cors_origins=[ALLOWED])
    cache = _cache(c)
    for path in PATHS:
        for encoding, language, origin in itertools.product(ENCODINGS, LANGUAGES, ORIGINS):
            asked = {"Accept-Encoding": encoding, "Accept-Language": language, "Origin": origin}
            headers = {k: v for k, v in asked.items() if v is not None}
            headers.setdefault("Accept-Encoding", "")  # httpx would send its own default
            cache.clear()
            with _statements(c) as routed:
                miss = c.get(path, headers=headers)
            with _statements(c) as cached:
                hit = c.get(path, headers=headers)
            assert miss.status_code == 200, (path, miss.text)
            assert routed and not cached, (path, headers)
            assert _answer(hit) == _answer(miss), (path, headers)
            etag = hit.headers["etag"]
            for inm in (etag, f'"nope", W/{etag}', "*", '"nope"'):
                conditional = {**headers, "If-None-Match": inm}
                cache.clear()
                first = c.get(path, headers=conditional)
                assert _answer(c.get(path, headers=conditional)) == _answer(first)
            cache.clear()
            head = c.head(path, headers=headers)
            assert _answer(c.head(path, headers=headers)) == _answer(head)
            assert head.content == b"" and head.headers["content-length"]
            assert [k for k, _ in _answer(head)[1]] == [k for k, _ in _answer(hit)[1]]


def test_a_hit_gets_its_own_request_id(make_client):
    c = make_client()
    _cache(c)
    c.get(ARTICLE)
    mine = c.get(ARTICLE, headers={"X-Request-ID": "edge-7f3a:01HZX/9+="})
    assert mine.headers["x-request-id"] == "edge-7f3a:01HZX/9+="
    ids = {c.get(ARTICLE).headers["x-request-id"] for _ in range(3)}
    assert len(ids) == 3


def test_every_spelling_of_one_list_query_is_one_entry(make_client):
    """Security III item 6: equivalent `updated_since` instants, repeated or reordered filters
    and `fields` names are one body (its links in one spelling), not one entry each."""
    c = make_client()
    cache = _cache(c)
    spellings = [
        "updated_since=2026-01-01T00:00:00Z&therapy=sgb&therapy=iv-ketamine",
        "updated_since=2026-01-01T00:00:00%2B00:00&therapy=iv-ketamine&therapy=sgb",
        "therapy=sgb&updated_since=2026-01-01T01:00:00%2B01:00&therapy=iv-ketamine&therapy=sgb",
        "updated_since=2025-12-31T19:00:00.000-05:00&therapy=iv-ketamine&therapy=sgb",
    ]
    bodies = set()
    before = len(cache.held())
    for query in spellings:
        r = c.get(f"/v1/articles?{query}&fields=title,slug,summary,title")
        assert r.status_code == 200, r.text
        bodies.add(r.content)
    assert len(bodies) == 1 and len(cache.held()) == before + 1
    links = c.get(f"/v1/articles?{spellings[1]}").json()["links"]
    assert links["self"] == (
        "/v1/articles?therapy=iv-ketamine&therapy=sgb&updated_since=2026-01-01T00%3A00%3A00Z"
        "&page_size=20&page=1"
    )


def test_equivalent_fields_orders_and_spaces_are_one_entry(make_client):
    """Red team (Security III retest): `fields=` naming an always-listed field, the default
    `sort`, and spaces around `q` made entries of their own."""
    c = make_client()
    cache = _cache(c)
    groups = [
        ["fields=title,summary", "fields=id,title,summary", "fields=summary,disclaimers,title"],
        [
            "therapy=iv-ketamine",
            "therapy=iv-ketamine&sort=newest",
            "sort=relevance&therapy=iv-ketamine",
        ],
        ["q=fear", "q=fear%20", "q=%20fear&sort=relevance"],
    ]
    for group in groups:
        before = len(cache.held())
        bodies = {c.get(f"/v1/articles?{query}").content for query in group}
        assert len(bodies) == 1 and len(cache.held()) == before + 1, group
    newest = c.get("/v1/articles?q=fear&sort=newest")
    assert newest.status_code == 200 and "sort=newest" in newest.json()["links"]["self"]


def test_a_body_keeps_a_few_replies_whatever_its_clients_send(make_client):
    """Red team (Security III retest): replies were kept per If-None-Match and Accept-Encoding
    text, outside the byte bound: 19,200 requests grew a server by 256 MB. They are kept per
    outcome (representation, 304 or not, Vary), a dozen at most."""
    c = make_client()
    cache = _cache(c)
    assert c.get(ARTICLE).status_code == 200
    key = (article_key("iv-ketamine-for-ptsd", "en"), "http://testserver")  # with its base
    assert key in cache.held()
    held_at_first = cache.bytes_held
    for n in range(200):
        headers = {
            "If-None-Match": f'"{n}-' + "a" * 2000 + '"',
            "Accept-Encoding": f"gzip;q=0.{n % 9 + 1}, x{n}",
        }
        assert c.get(ARTICLE, headers=headers).status_code == 200
    body = cache.peek(key)
    assert body is not None and len(body.replies) <= 12
    # The bound counted every reply the body may keep when it was stored (red-team recheck:
    # replies made later were outside it): making them changed nothing it counts, and what
    # they hold beside the shared body bytes is within what was counted for them.
    assert cache.bytes_held == held_at_first
    kept = sum(len(n) + len(v) + 64 for _, headers, _ in body.replies.values() for n, v in headers)
    assert kept < cache.bytes_held - body.size


def test_a_form_worked_out_under_an_older_version_is_not_remembered(make_client):
    """Review finding: a request that negotiated its locale before an import added one
    finished after the refresh, and mapped the new locale's readers to the old answer."""
    c = make_client()
    cache = _cache(c)
    current = cache.version
    assert current is not None
    form = ("/v1/articles/iv-ketamine-for-ptsd", b"", b"de", "http://testserver")
    older = (current[0] - 1, current[1])
    cache.remember(form, Alias(article_key("iv-ketamine-for-ptsd", "en"), None, True, older))
    assert cache.alias(form) is None
    cache.remember(form, Alias(article_key("iv-ketamine-for-ptsd", "en"), None, True, current))
    assert cache.alias(form) is not None


def test_the_cache_is_bounded_by_bytes(make_client):
    """`CLINIC_RESPONSE_CACHE_MB`: the bodies held (every encoding) stay within it, the oldest
    go first, and the newest is served from the cache."""
    c = make_client(response_cache_mb=1)
    cache = _cache(c)
    for size in range(1, 101):
        assert c.get(f"/v1/articles?page_size={size}&locale=es").status_code == 200
        assert c.get(ARTICLE + f"?format=html&locale={'en' if size % 2 else 'es'}").is_success
    assert 0 < cache.bytes_held <= 1024 * 1024
    keys = [key[0] for key in cache.held() if isinstance(key, tuple)]  # (route key, base)
    assert len(keys) < 200
    assert ("list", "es", (("locale", "es"),), 1, 1) not in keys
    assert ("list", "es", (("locale", "es"),), 1, 100) in keys
    with _statements(c) as routed:
        assert c.get("/v1/articles?page_size=100&locale=es").status_code == 200
    assert not routed


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        (ARTICLE + "%0A", {}),  # not a slug
        (ARTICLE + "?locale=en%0A", {}),  # not a locale
        ("/v1/articles?therapy=iv-ketamine&sort=nope&sort=newest", {}),  # a refused query
        ("/v1/articles?utm_source=x", {}),  # an undocumented parameter
        (ARTICLE + "?format=pdf", {}),  # the route's 422
        (ARTICLE + "?preview=abc.def", {}),  # a draft: never from the cache
        ("/v1/articles?locale=es&locale=en", {}),
        (ARTICLE, {"Content-Length": str(10**9)}),  # a body over the cap: the guard's 413
    ],
)
def test_what_no_route_accepted_is_never_answered_from_the_cache(make_client, path, headers):
    c = make_client()
    cache = _cache(c)
    first = c.get(path, headers=headers)
    assert first.status_code >= 400
    keys = cache.held()
    again = c.get(path, headers=headers)
    assert _answer(again) == _answer(first)
    assert cache.held() == keys


def test_a_content_change_is_not_answered_from_a_kept_form(make_client):
    c = make_client()
    cache = _cache(c)
    first = c.get(ARTICLE)
    cache.clear()  # as a new content version does
    with _statements(c) as routed:
        again = c.get(ARTICLE)
    assert routed and again.content == first.content


def _counts(c: TestClient) -> tuple[float, float, float]:
    """Cache hits, cache misses, and 200s counted for the article route."""
    text = c.get("/metrics").text
    return (
        sample(text, "clinic_response_cache_lookups_total", result="hit"),
        sample(text, "clinic_response_cache_lookups_total", result="miss"),
        sample(
            text,
            "clinic_http_requests_total",
            method="GET",
            route="/v1/articles/{slug}",
            status="200",
        ),
    )


@pytest.mark.parametrize("tracing", [False, True])
def test_each_lookup_is_counted_once_and_names_its_route(make_client, monkeypatch, tracing):
    """Traced or not, the same layers: a miss counted by the route, each hit by the layer, and
    the request metrics name the route of a hit as of a miss."""
    if tracing:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9")  # nothing listens
    c = make_client(metrics_enabled=True, cors_origins=[ALLOWED])
    _cache(c)
    before = _counts(c)
    for headers in ({}, {}, {"Origin": ALLOWED}):
        assert c.get(ARTICLE, headers=headers).status_code == 200
    counted = tuple(now - then for now, then in zip(_counts(c), before, strict=True))
    assert counted == (2, 1, 3)
