"""Absolute URLs follow the server (issue 26, item 5): every link the API writes out (previews,
`og_image`, the JSON-LD image, the hero image's `src` and renditions, the privacy notice) is on
CLINIC_PUBLIC_BASE_URL when it is set, else on the request's own scheme and host, believed from
X-Forwarded-Host and X-Forwarded-Proto only when a trusted proxy sent them."""

from typing import Any

import pytest
from fastapi.testclient import TestClient

ARTICLE = "/v1/articles/iv-ketamine-for-ptsd"


def _links(c: TestClient, **headers: str) -> list[str]:
    """Every absolute URL an article and the consent answer hand out to this request."""
    body = c.get(ARTICLE, headers=headers).json()
    hero = body["hero_image"]
    consent = c.get("/v1/consent-texts/current", headers=headers).json()
    return [
        hero["src"],
        *(r["url"] for r in hero["renditions"]),
        body["seo"]["og_image"]["url"],
        body["json_ld"]["image"]["url"],
        consent["privacy_notice_url"],
    ]


def _preview_url(c: TestClient, key: str, **headers: str) -> str:
    r = c.post(
        "/v1/admin/previews",
        json={"slug": "iv-ketamine-for-ptsd"},
        headers={"Authorization": f"Bearer {key}", **headers},
    )
    assert r.status_code == 201, r.text
    return str(r.json()["url"])


def _all_on(urls: list[str], base: str) -> bool:
    return all(u.startswith(base + "/") for u in urls) and len(urls) > 4


def test_without_a_base_url_links_follow_the_request_host(make_client, issue_key):
    c = make_client()
    key = issue_key("content:write")
    for host in ("127.0.0.1:18200", "api.clinic.example", "[::1]:8443"):
        assert _all_on(_links(c, host=host), f"http://{host}"), host
        assert _preview_url(c, key, host=host).startswith(f"http://{host}/v1/articles/")
    # The default port is left out, as browsers write it.
    assert _all_on(_links(c, host="api.clinic.example:80"), "http://api.clinic.example")


def test_one_hosts_links_are_never_served_from_the_cache_to_another(make_client):
    c = make_client()
    first = c.get(ARTICLE, headers={"host": "a.clinic.example"})
    second = c.get(ARTICLE, headers={"host": "b.clinic.example"})
    again = c.get(ARTICLE, headers={"host": "a.clinic.example"})
    assert first.json()["hero_image"]["src"].startswith("http://a.clinic.example/")
    assert second.json()["hero_image"]["src"].startswith("http://b.clinic.example/")
    assert again.content == first.content
    assert first.headers["etag"] != second.headers["etag"]
    assert again.headers["etag"] == first.headers["etag"]


@pytest.mark.parametrize(
    "host",
    [
        "evil.example/phish?x=",
        "user@evil.example",
        "evil.example:99999",
        "evil example",
        "-bad-.example",
        "a" * 400,
    ],
)
def test_a_host_header_that_is_not_a_host_is_not_believed(make_client, host):
    c = make_client()
    urls = _links(c, host=host)
    assert _all_on(urls, "http://testserver"), urls  # the server's own address instead


def test_forwarded_host_and_proto_only_from_a_trusted_proxy(make_client, issue_key):
    forwarded = {"x-forwarded-host": "www.clinic.example", "x-forwarded-proto": "https"}
    proxied = make_client(peer="10.0.0.1", trusted_proxies=["10.0.0.0/8"])
    assert _all_on(_links(proxied, **forwarded), "https://www.clinic.example")
    key = issue_key("content:write")
    assert _preview_url(proxied, key, **forwarded).startswith("https://www.clinic.example/")
    # The nearest proxy's entry (the last) counts; a bad one is not believed.
    chained = {"x-forwarded-host": "evil.example, www.clinic.example"}
    assert _all_on(_links(proxied, **chained), "http://www.clinic.example")
    # A client's own line first, the proxy's appended after it: the proxy's counts.
    lines = [("x-forwarded-host", "evil.example"), ("x-forwarded-host", "www.clinic.example")]
    body = proxied.get(ARTICLE, headers=lines).json()
    assert body["hero_image"]["src"].startswith("http://www.clinic.example/")
    bad = {"x-forwarded-host": "evil.example/x", "x-forwarded-proto": "gopher"}
    assert _all_on(_links(proxied, **bad), "http://testserver")

    direct = make_client(peer="203.0.113.5", trusted_proxies=["10.0.0.0/8"])
    assert _all_on(_links(direct, **forwarded), "http://testserver")


def test_a_configured_base_url_wins_over_every_header(make_client, issue_key):
    c = make_client(public_base_url="https://api.clinic.example/content/")
    base = "https://api.clinic.example/content"  # the trailing slash is dropped once
    headers: dict[str, Any] = {"host": "evil.example", "x-forwarded-host": "evil.example"}
    assert _all_on(_links(c, **headers), base)
    key = issue_key("content:write")
    assert _preview_url(c, key, **headers).startswith(f"{base}/v1/articles/")
    # And the image it links to is there.
    src = c.get(ARTICLE).json()["hero_image"]["src"]
    assert c.get(src.removeprefix(base)).status_code == 200
