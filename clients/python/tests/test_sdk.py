"""The built Python SDK, installed from its wheel into an empty virtual environment, against a
real API (clients/run-sdk-test.sh sets API_URL and KEY: content:write + webhooks:manage)."""

import json
import os
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import httpx
import pytest
from clinic_api import (
    Resync,
    SyncResult,
    WebhookVerificationError,
    all_articles,
    changes_since,
    create_preview,
    picture_sources,
    preview_url,
    srcset,
    verify_webhook,
)
from clinic_api_client import AuthenticatedClient, Client
from clinic_api_client.api.articles import get_article
from clinic_api_client.models import ArticlePublic, HeroImage

API_URL = os.environ["API_URL"]
KEY = os.environ["KEY"]


@pytest.fixture
def api() -> Iterator[Client]:
    with Client(base_url=API_URL) as client:
        yield client


def test_all_articles_walks_every_page(api: Client) -> None:
    first = httpx.get(f"{API_URL}/v1/articles", params={"locale": "en"}).json()
    slugs = [a.slug for a in all_articles(api, page_size=1, locale="en")]
    assert len(slugs) == first["meta"]["total"] >= 2
    assert slugs == [a["slug"] for a in first["data"]]


def test_changes_since_follows_has_more(api: Client) -> None:
    feed = httpx.get(f"{API_URL}/v1/changes", params={"limit": 100}).json()
    assert len(feed["data"]) >= 3
    result = changes_since(api, feed["data"][0]["cursor"], limit=2)
    assert isinstance(result, SyncResult)
    assert [c.cursor for c in result.changes] == [c["cursor"] for c in feed["data"][1:]]
    idle = changes_since(api, result.cursor)
    assert isinstance(idle, SyncResult) and idle.changes == [] and idle.cursor == result.cursor
    assert not isinstance(idle, Resync)


def test_a_preview_opens_the_draft() -> None:
    with AuthenticatedClient(base_url=API_URL, token=KEY) as staff:
        preview = create_preview(staff, "ketamine-for-chronic-pain", expires_in=300)
    assert preview_url(API_URL, "ketamine-for-chronic-pain", preview.token, "en") == preview.url
    draft = httpx.get(preview.url)
    assert draft.status_code == 200 and draft.json()["published_at"] is None


def test_srcset_and_picture_sources(api: Client) -> None:
    article = get_article.sync(client=api, slug="iv-ketamine-for-ptsd")
    assert isinstance(article, ArticlePublic) and isinstance(article.hero_image, HeroImage)
    hero = article.hero_image
    webp = srcset(hero.renditions, "image/webp").split(", ")
    widths = [int(part.split(" ")[1].removesuffix("w")) for part in webp]
    assert widths == [480, 960, 1600]
    picture = picture_sources(hero)
    assert "image/webp" in dict(picture.sources) and picture.src == hero.src
    assert " 1600w" in picture.img_srcset


def test_verify_webhook_accepts_a_real_delivery_and_refuses_a_forged_one() -> None:
    received: list[tuple[bytes, dict[str, str]]] = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((body, dict(self.headers.items())))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        auth = {"Authorization": f"Bearer {KEY}"}
        url = f"http://127.0.0.1:{server.server_address[1]}/hook"
        made = httpx.post(
            f"{API_URL}/v1/admin/webhook-endpoints", json={"url": url}, headers=auth
        ).json()
        secret = made["secret"]
        sent = httpx.post(f"{API_URL}/v1/admin/webhook-endpoints/{made['id']}/test", headers=auth)
        assert sent.status_code == 202, sent.text
        deadline = time.monotonic() + 10
        while not received and time.monotonic() < deadline:
            time.sleep(0.1)
        body, headers = received[0]
        event = verify_webhook(secret, body, headers)
        assert event["type"] == "ping"
        with pytest.raises(WebhookVerificationError):
            verify_webhook(secret, body.replace(b"ping", b"pong"), headers)
        assert json.loads(body)["type"] == "ping"
    finally:
        server.shutdown()
