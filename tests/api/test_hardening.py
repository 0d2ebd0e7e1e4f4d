"""Edges a review found: a withheld article never costs a patient's request, a forged cursor is
a 422, a disabled endpoint is not pinged, and a manage-only key cannot widen lead delivery."""

import base64
import uuid

from sqlmodel import select

from db.models import Disclaimer
from db.session import unit_of_work
from db.webhook_models import WebhookEndpoint
from schemas.vocabulary import EndpointStatus
from tests.conftest import lead_body

HOOKS = "/v1/admin/webhook-endpoints"


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_request_from_a_withheld_article_is_still_taken(seeded, make_client):
    engine = seeded.engine()
    with unit_of_work(engine) as s:
        s.exec(
            select(Disclaimer).where(
                Disclaimer.key == "crisis-resources", Disclaimer.locale == "en"
            )
        ).one().active = False
    engine.dispose()
    c = make_client(leads_rate_limit="none")
    assert c.get("/v1/articles/iv-ketamine-for-ptsd").status_code == 503
    r = c.post("/v1/consultation-requests", json=lead_body())
    assert r.status_code == 201, r.text


def test_a_forged_cursor_is_a_422(make_client, issue_key):
    c = make_client()
    forged = base64.urlsafe_b64encode(b'{"c":"2026-01-01T00:00:00+00:00","i":123}').decode()
    naive = base64.urlsafe_b64encode(b'{"c":"2026-01-01T00:00:00","i":"0" }').decode()
    for cursor in (forged, naive):
        r = c.get(
            f"/v1/admin/consultation-requests?cursor={cursor}",
            headers=_bearer(issue_key("leads:read")),
        )
        assert r.status_code == 422, r.text
        assert r.json()["errors"][0]["field"] == "query.cursor"


def test_a_disabled_endpoint_is_not_pinged(make_client, issue_key):
    c = make_client(webhook_dispatcher_enabled=False)
    trusted = _bearer(issue_key("webhooks:manage", "leads:read"))
    endpoint = c.post(HOOKS, json={"url": "http://127.0.0.1:9/x"}, headers=trusted).json()
    with unit_of_work(c.app.state.engine) as s:
        s.get_one(WebhookEndpoint, uuid.UUID(endpoint["id"])).status = EndpointStatus.DISABLED
    r = c.post(f"{HOOKS}/{endpoint['id']}/test", headers=trusted)
    assert r.status_code == 409 and r.json()["code"] == "webhook_endpoint_disabled"


def test_a_manage_only_key_cannot_subscribe_a_full_endpoint_to_leads(make_client, issue_key):
    c = make_client(webhook_dispatcher_enabled=False)
    trusted = _bearer(issue_key("webhooks:manage", "leads:read"))
    manager = _bearer(issue_key("webhooks:manage"))
    made = c.post(
        HOOKS,
        json={"url": "http://127.0.0.1:9/x", "event_types": ["article.published"]},
        headers=trusted,
    ).json()
    path = f"{HOOKS}/{made['id']}"
    for widened in ([], ["consultation_request.created"]):
        r = c.patch(path, json={"event_types": widened}, headers=manager)
        assert r.status_code == 403 and r.json()["code"] == "insufficient_scope"
    ok = c.patch(path, json={"event_types": ["article.updated"]}, headers=manager)
    assert ok.status_code == 200
    assert c.patch(path, json={"event_types": []}, headers=trusted).status_code == 200
