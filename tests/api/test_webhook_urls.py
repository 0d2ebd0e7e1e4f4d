"""Endpoint URLs are parsed, not pattern-matched: whitespace, control and non-ASCII characters
are refused up front, and a bad URL already stored fails its own deliveries only."""

import uuid

import pytest
from sqlalchemy import update
from sqlmodel import Session, col, select

from db.webhook_models import WebhookAttempt, WebhookEndpoint
from tests.conftest import lead_body
from tests.dispatch import drain
from tests.webhook_receiver import Receiver, serve_receiver

HOOKS = "/v1/admin/webhook-endpoints"
# The test sends due deliveries itself (tests.dispatch.drain).
DRIVEN = {
    "leads_rate_limit": "none",
    "webhook_dispatcher_enabled": False,
    "webhook_timeout_seconds": 2,
}
BAD_URLS = [
    "http://127.0.0.1:9/\u0001bad",
    "http://127.0.0.1:9/\x00bad",
    "http://127.0.0.1:9/a\x7fb",
    "http://127.0.0.1:9/a b",
    "http://127.0.0.1:9/a\tb",
    "http://127.0.0.1:9/hook\n",
    "http://127.0.0.1:9/hook\r\nX-Injected: 1",
    "http://exämple.com/hook",
    "http://example.com/\u200bhook",
    "http://127.0.0.1:9/\u0085",
    "http://127.0.0.1:99999/hook",
    "http:///hook",
    "http://[::1/hook",
    "javascript:alert(1)//",
]


@pytest.fixture
def manage(issue_key):
    return {"Authorization": f"Bearer {issue_key('webhooks:manage', 'leads:read')}"}


@pytest.mark.parametrize("url", BAD_URLS)
def test_a_url_with_bad_characters_is_refused_on_create_and_update(make_client, manage, url):
    c = make_client(webhook_dispatcher_enabled=False)
    created = c.post(HOOKS, json={"url": url}, headers=manage)
    assert created.status_code == 422, created.text
    assert created.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in created.json()["errors"]] == ["body.url"]
    good = c.post(HOOKS, json={"url": "http://127.0.0.1:9/hook"}, headers=manage)
    assert good.status_code == 201
    patched = c.patch(f"{HOOKS}/{good.json()['id']}", json={"url": url}, headers=manage)
    assert patched.status_code == 422, patched.text
    assert [e["field"] for e in patched.json()["errors"]] == ["body.url"]


def test_a_bad_url_already_stored_fails_alone(make_client, manage, seeded):
    c = make_client(**DRIVEN)
    legacy = c.post(HOOKS, json={"url": "http://127.0.0.1:9/legacy"}, headers=manage).json()
    engine = seeded.engine()
    with Session(engine) as s:  # as if stored before URLs were checked this closely
        s.execute(
            update(WebhookEndpoint)
            .where(col(WebhookEndpoint.id) == uuid.UUID(legacy["id"]))
            .values(url="http://127.0.0.1:9/\u0001bad")
        )
        s.commit()
    with serve_receiver(Receiver()) as receiver:
        r = c.post(HOOKS, json={"url": receiver.url}, headers=manage)
        receiver.secrets.append(r.json()["secret"])
        c.post("/v1/consultation-requests", json=lead_body())
        assert drain(c.app) == 2
        assert len(receiver.received) == 1
    with Session(engine) as s:
        attempts = s.exec(select(WebhookAttempt)).all()
    engine.dispose()
    [failed] = [a for a in attempts if not a.succeeded]
    assert failed.error and failed.status_code is None
    assert sum(a.succeeded for a in attempts) == 1
