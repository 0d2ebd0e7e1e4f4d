"""Caching, errors, CORS, security headers, body cap and health probes."""

import json

import pytest
from fastapi.testclient import TestClient

from core.logging import JsonFormatter
from db.migrate import upgrade
from main import create_app
from tests.conftest import lead_body, settings_for

PUBLIC_GETS = [
    "/v1/articles",
    "/v1/articles/iv-ketamine-for-ptsd",
    "/v1/articles/iv-ketamine-for-ptsd/sections/overview",
    "/v1/therapies",
    "/v1/therapies/iv-ketamine",
    "/v1/conditions",
    "/v1/conditions/ptsd",
    "/v1/disclaimers",
]


@pytest.mark.parametrize("path", PUBLIC_GETS)
def test_every_public_get_has_strong_etag_and_answers_304(client, path):
    r = client.get(path)
    assert r.status_code == 200
    etag = r.headers["etag"]
    assert etag.startswith('"') and not etag.startswith("W/")
    assert "public" in r.headers["cache-control"]
    assert "max-age=60" in r.headers["cache-control"]
    assert "stale-while-revalidate=300" in r.headers["cache-control"]
    again = client.get(path, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == etag
    weak = client.get(path, headers={"If-None-Match": f'"other", W/{etag}'})
    assert weak.status_code == 304
    stale = client.get(path, headers={"If-None-Match": '"stale"'})
    assert stale.status_code == 200 and stale.content == r.content


def test_etag_differs_between_resources(client):
    a = client.get("/v1/articles/iv-ketamine-for-ptsd").headers["etag"]
    b = client.get("/v1/articles/nad-plus-iv-therapy").headers["etag"]
    assert a != b


def test_cache_control_comes_from_settings(make_client):
    c = make_client(cache_max_age=5, cache_stale_while_revalidate=7)
    cc = c.get("/v1/articles").headers["cache-control"]
    assert cc == "public, max-age=5, stale-while-revalidate=7"


def test_unknown_route_and_wrong_method_are_problems(client):
    r = client.get("/v1/nothing-here")
    assert r.status_code == 404
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["code"] == "not_found" and r.json()["instance"] == "/v1/nothing-here"
    r = client.post("/v1/articles", json={})
    assert r.status_code == 405 and r.headers["allow"] == "GET, HEAD"
    assert r.json()["code"] == "method_not_allowed"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/articles/iv-ketamine-for-ptsd/"),
        ("GET", "/v1/articles/"),
        ("POST", "/v1/consultation-requests/"),
    ],
)
def test_a_trailing_slash_is_a_404_not_a_redirect_to_the_host_the_client_named(
    client, method, path
):
    """No 307 built from the request's Host and scheme: behind a TLS proxy it would point to
    plain http, and a 307 makes the client send a lead's body there again."""
    kwargs = {"json": lead_body()} if method == "POST" else {}
    r = client.request(
        method, path, headers={"Host": "evil.example"}, follow_redirects=False, **kwargs
    )
    assert r.status_code == 404 and "location" not in r.headers
    assert r.headers["content-type"] == "application/problem+json"


def test_unhandled_errors_are_500_problems_without_internals(make_client, caplog):
    c = make_client()

    @c.app.get("/boom")  # type: ignore[untyped-decorator]
    def boom() -> None:
        raise RuntimeError("secret internal detail /etc/passwd")

    r = c.get("/boom")
    assert r.status_code == 500
    assert r.headers["content-type"] == "application/problem+json"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert "secret" not in r.text and "Traceback" not in r.text
    assert r.json()["code"] == "internal_error"
    logged = "\n".join(JsonFormatter().format(record) for record in caplog.records)
    assert "builtins.RuntimeError at" in logged  # logged: what and where...
    assert "secret internal detail" not in logged  # ...but not the message
    assert r.headers["x-request-id"] in logged  # and which request it was


def test_security_headers_on_json_and_docs(client):
    r = client.get("/v1/articles")
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "no-referrer"
    assert r.headers["content-security-policy"].startswith("default-src 'none'")
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    docs = client.get("/docs")
    assert docs.status_code == 200
    assert "script-src 'self' 'unsafe-inline'" in docs.headers["content-security-policy"]
    assert client.get("/v1/nope").headers["x-frame-options"] == "DENY"


def test_a_browser_form_reads_the_rate_limit_and_may_send_trace_context(client):
    lead_form = {
        "Origin": "https://www.clinic.example",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type, idempotency-key, traceparent, tracestate",
    }
    preflight = client.options("/v1/consultation-requests", headers=lead_form)
    assert preflight.status_code == 200, preflight.text
    r = client.get("/v1/articles", headers={"Origin": "https://www.clinic.example"})
    exposed = {h.strip().lower() for h in r.headers["access-control-expose-headers"].split(",")}
    assert {"ratelimit-policy", "ratelimit-remaining", "retry-after"} <= exposed


def test_cors_allows_listed_origins_only(client):
    ok = client.get("/v1/articles", headers={"Origin": "https://www.clinic.example"})
    assert ok.headers["access-control-allow-origin"] == "https://www.clinic.example"
    assert "ETag" in ok.headers["access-control-expose-headers"]
    other = client.get("/v1/articles", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in other.headers
    preflight = client.options(
        "/v1/articles",
        headers={
            "Origin": "https://www.clinic.example",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "if-none-match",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "https://www.clinic.example"
    denied = client.options(
        "/v1/articles",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
    )
    assert denied.status_code == 400
    assert denied.headers["content-type"] == "application/problem+json"
    assert denied.json()["code"] == "cors_refused"
    assert denied.json()["refused"] == ["origin"]
    assert "access-control-allow-origin" not in denied.headers


def test_a_preflight_asking_for_a_header_the_api_does_not_take_is_refused_naming_it(client):
    denied = client.options(
        "/v1/consultation-requests",
        headers={
            "Origin": "https://www.clinic.example",
            "Access-Control-Request-Method": "PUT",
            "Access-Control-Request-Headers": "content-type, x-evil",
        },
    )
    assert denied.status_code == 400
    assert denied.headers["content-type"] == "application/problem+json"
    assert denied.json()["refused"] == ["method", "headers"]
    assert "CLINIC_CORS_ORIGINS" in denied.json()["detail"]


def test_cors_origins_read_from_environment_as_json_list(monkeypatch):
    from core.config import Settings

    monkeypatch.setenv("CLINIC_CORS_ORIGINS", '["https://a.example", "https://b.example"]')
    assert Settings().cors_origins == ["https://a.example", "https://b.example"]


def test_oversized_bodies_are_413_before_parsing(client):
    r = client.post(
        "/v1/articles", content=b"x" * (16 * 1024 + 1), headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 413
    assert r.json()["code"] == "payload_too_large"

    def chunks():
        for _ in range(40):
            yield b"x" * 1024

    # Streamed without a Content-Length, to routes that parse JSON and to one that does not.
    for path in ("/v1/integrations/crm/events", "/v1/consultation-requests", "/v1/articles"):
        r = client.post(path, content=chunks(), headers={"Content-Type": "application/json"})
        assert "content-length" not in r.request.headers
        assert r.status_code == 413, (path, r.status_code)
        assert r.json()["code"] == "payload_too_large"


def test_a_small_streamed_body_reaches_the_route_whole(make_client):
    c = make_client(leads_rate_limit="none")
    raw = json.dumps(lead_body()).encode()

    def chunks():
        for i in range(0, len(raw), 100):
            yield raw[i : i + 100]

    r = c.post(
        "/v1/consultation-requests", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert "content-length" not in r.request.headers
    assert r.status_code == 201, r.text


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/v1/articles?q=fear%00", 422),
        ("/v1/articles?q=%00", 422),
        ("/v1/articles/iv-ketamine%00", 422),
        ("/v1/articles?therapy=iv%00", 422),
        ("/v1/conditions/pt%00sd", 422),
    ],
)
def test_nul_bytes_in_urls_never_reach_the_database_as_errors(client, path, status):
    r = client.get(path)
    assert r.status_code == status


def test_health_and_readiness(client):
    assert client.get("/healthz").json()["status"] == "ok"
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["status"] == "ready"


def test_readiness_fails_until_migrated(database):
    with TestClient(create_app(settings_for(database.url))) as c:
        r = c.get("/readyz")
        assert r.status_code == 503
        assert r.json()["code"] == "migrations_pending"
        upgrade(database.url)
        assert c.get("/readyz").status_code == 200


def test_readiness_fails_when_database_is_unreachable():
    settings = settings_for("postgresql+psycopg://nobody@127.0.0.1:1/none")
    with TestClient(create_app(settings)) as c:
        r = c.get("/readyz")
        assert r.status_code == 503 and r.json()["code"] == "database_unavailable"


@pytest.mark.parametrize("path", ["/v1/articles", "/v1/articles/iv-ketamine-for-ptsd", "/healthz"])
def test_head_answers_like_get_without_a_body(client, path):
    for encoding in ("identity", "gzip"):
        with client.stream("GET", path, headers={"Accept-Encoding": encoding}) as get:
            sent = b"".join(get.iter_raw())  # as sent, not as httpx would decode it
        head = client.head(path, headers={"Accept-Encoding": encoding})
        assert head.status_code == 200 and head.content == b""
        assert head.headers.get("etag") == get.headers.get("etag")
        assert head.headers.get("content-encoding") == get.headers.get("content-encoding")
        assert head.headers["content-length"] == str(len(sent))
    assert client.head("/v1/articles/no-such-article").status_code == 404
