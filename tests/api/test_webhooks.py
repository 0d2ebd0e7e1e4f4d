"""Webhook endpoints and deliveries end to end: real HTTP to a receiver that verifies every
signature with the public standardwebhooks package."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import update
from sqlmodel import Session, col, select
from standardwebhooks import Webhook

from db.lead_models import AuditEntry, ConsultationRequest
from db.models import utcnow
from db.webhook_models import WebhookDelivery, WebhookEvent
from services.leads import vault
from tests.conftest import CRM_SECRET, lead_body
from tests.dispatch import drain
from tests.vault_helpers import ring
from tests.waiting import eventually
from tests.webhook_receiver import Receiver, serve_receiver
from tests.webhook_setup import DRIVEN, FAST, HOOKS, subscribe


def _make_due(db) -> None:
    """Move every pending delivery's next attempt to now (as if its wait had passed)."""
    engine = db.engine()
    with Session(engine) as s:
        s.execute(
            update(WebhookDelivery)
            .where(col(WebhookDelivery.status) == "pending")
            .values(next_attempt_at=utcnow())
        )
        s.commit()
    engine.dispose()


def test_endpoint_management_and_secrets(make_client, manage, receiver, issue_key):
    c = make_client(**DRIVEN)
    created = subscribe(
        c,
        manage,
        receiver,
        description="CRM",
        event_types=["consultation_request.created"],
        payload_mode="thin",
    )
    assert created["secret"].startswith("whsec_") and len(created["secret"]) >= 6 + 32
    assert created["status"] == "active" and created["payload_mode"] == "thin"
    listed = c.get(HOOKS, headers=manage).json()["data"]
    assert [e["id"] for e in listed] == [created["id"]] and "secret" not in listed[0]
    one = c.get(f"{HOOKS}/{created['id']}", headers=manage).json()
    assert "secret" not in one
    patched = c.patch(
        f"{HOOKS}/{created['id']}",
        json={"payload_mode": "full", "include_health_data": True},
        headers=manage,
    ).json()
    assert patched["payload_mode"] == "full" and patched["include_health_data"]
    assert c.post(f"{HOOKS}/{created['id']}/pause", headers=manage).json()["status"] == "paused"
    assert c.post(f"{HOOKS}/{created['id']}/resume", headers=manage).json()["status"] == "active"
    rotated = c.post(f"{HOOKS}/{created['id']}/rotate-secret", headers=manage).json()
    assert rotated["secret"] != created["secret"] and rotated["secret"].startswith("whsec_")
    assert c.get(HOOKS).status_code == 401
    reader = {"Authorization": f"Bearer {issue_key('leads:read')}"}
    assert c.get(HOOKS, headers=reader).status_code == 403
    bad = c.post(HOOKS, json={"url": receiver.url, "event_types": ["lead.nope"]}, headers=manage)
    assert bad.status_code == 422
    assert c.delete(f"{HOOKS}/{created['id']}", headers=manage).status_code == 204
    assert c.get(f"{HOOKS}/{created['id']}", headers=manage).status_code == 404


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com/hook",
        "https://127.0.0.1/hook",
        "https://localhost/hook",
        "https://10.1.2.3/hook",
        "https://169.254.169.254/latest",
        "https://[::1]/x",
        "https://user:pw@example.com/x",
        "ftp://example.com/x",
        "https://0.0.0.0/x",
    ],
)
def test_ssrf_guard_refuses_non_https_and_private_targets(make_client, manage, url):
    c = make_client(**DRIVEN, webhook_allow_private_urls=False)
    r = c.post(HOOKS, json={"url": url}, headers=manage)
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == "body.url"


def test_lead_is_delivered_signed_and_health_data_only_where_allowed(make_client, manage, seeded):
    c = make_client(**FAST)
    with (
        serve_receiver(Receiver()) as plain,
        serve_receiver(Receiver()) as health,
        serve_receiver(Receiver()) as thin,
    ):
        subscribe(c, manage, plain)
        subscribe(c, manage, health, include_health_data=True)
        subscribe(c, manage, thin, payload_mode="thin")
        lead_id = c.post("/v1/consultation-requests", json=lead_body()).json()["id"]
        for r in (plain, health, thin):
            r.wait_for(lambda r: len(r.received) == 1)
        assert plain.rejected == health.rejected == thin.rejected == 0
    full = plain.received[0].payload
    assert full["type"] == "consultation_request.created"
    assert full["data"]["id"] == lead_id and full["data"]["email"] == "ana.diaz@example.com"
    for field in ("therapies", "conditions", "message", "article_slug", "page_url"):
        assert field not in full["data"]
    assert "Flashbacks" not in str(full)
    with_health = health.received[0].payload["data"]
    assert with_health["therapies"] == ["iv-ketamine"] and with_health["conditions"] == ["ptsd"]
    assert with_health["article_slug"] == "iv-ketamine-for-ptsd" and with_health["message"]
    slim = thin.received[0].payload["data"]
    assert set(slim) == {"id", "links"} and slim["links"]["self"].endswith(lead_id)
    assert plain.received[0].msg_id == health.received[0].msg_id  # one event, one webhook-id


def test_spam_and_unsubscribed_types_are_not_delivered(make_client, manage, receiver):
    c = make_client(**DRIVEN)
    endpoint = subscribe(c, manage, receiver, event_types=["consultation_request.updated"])
    c.post("/v1/consultation-requests", json=lead_body(website="bot"))
    lead_id = c.post("/v1/consultation-requests", json=lead_body()).json()["id"]
    c.patch(
        f"/v1/admin/consultation-requests/{lead_id}", json={"status": "contacted"}, headers=manage
    )
    assert drain(c.app) == 1
    assert [r.payload["type"] for r in receiver.received] == ["consultation_request.updated"]
    assert receiver.received[0].payload["data"]["status"] == "contacted"
    deliveries = c.get(f"{HOOKS}/{endpoint['id']}/deliveries", headers=manage).json()["data"]
    assert len(deliveries) == 1


def test_a_receiver_that_is_down_gets_everything_when_it_recovers(make_client, manage, receiver):
    c = make_client(**FAST)
    endpoint = subscribe(c, manage, receiver)
    calls = {"n": 0}

    def flaky(_):
        calls["n"] += 1
        return (500, {}) if calls["n"] <= 4 else (200, {})

    receiver.respond = flaky
    ids = [c.post("/v1/consultation-requests", json=lead_body()).json()["id"] for _ in range(2)]
    receiver.wait_for(lambda r: len(r.unique()) == 2)
    assert {r.payload["data"]["id"] for r in receiver.received} == set(ids)

    def log() -> list[dict[str, Any]]:
        return list(c.get(f"{HOOKS}/{endpoint['id']}/deliveries", headers=manage).json()["data"])

    # the receiver has answered; the dispatcher records the answers right after
    eventually(lambda: {d["status"] for d in log()} == {"succeeded"})
    attempts = [a for d in log() for a in d["attempt_log"]]
    assert sum(not a["succeeded"] for a in attempts) == 4
    assert all(
        a["status_code"] == 500 and a["next_attempt_at"] for a in attempts if not a["succeeded"]
    )
    assert sum(a["succeeded"] for a in attempts) == 2


def test_retry_after_is_honoured(make_client, manage, receiver, seeded):
    c = make_client(**DRIVEN)
    endpoint = subscribe(c, manage, receiver)
    answers = iter([(429, {"Retry-After": "60"}), (200, {})])
    receiver.respond = lambda _: next(answers)
    c.post("/v1/consultation-requests", json=lead_body())
    assert drain(c.app) == 1  # answered 429; the retry waits for Retry-After, not the schedule
    [delivery] = c.get(f"{HOOKS}/{endpoint['id']}/deliveries", headers=manage).json()["data"]
    first = delivery["attempt_log"][0]
    waited = datetime.fromisoformat(first["next_attempt_at"]) - datetime.fromisoformat(
        first["attempted_at"]
    )
    assert first["status_code"] == 429 and waited >= timedelta(seconds=60)
    assert delivery["status"] == "pending"
    assert drain(c.app) == 0 and receiver.received == []  # not due before then
    _make_due(seeded)  # the minute has passed
    assert drain(c.app) == 1 and len(receiver.received) == 1
    [delivery] = c.get(f"{HOOKS}/{endpoint['id']}/deliveries", headers=manage).json()["data"]
    assert delivery["status"] == "succeeded" and delivery["attempts"] == 2


def test_gone_disables_the_endpoint(make_client, manage, receiver):
    c = make_client(**DRIVEN)
    endpoint = subscribe(c, manage, receiver)
    receiver.respond = lambda _: (410, {})
    c.post("/v1/consultation-requests", json=lead_body())
    assert drain(c.app) == 1
    state = c.get(f"{HOOKS}/{endpoint['id']}", headers=manage).json()
    assert state["status"] == "disabled" and "410" in state["disabled_reason"]
    [delivery] = c.get(f"{HOOKS}/{endpoint['id']}/deliveries", headers=manage).json()["data"]
    assert delivery["status"] == "failed" and delivery["attempts"] == 1


def test_an_endpoint_failing_for_the_configured_period_is_disabled(make_client, manage, receiver):
    c = make_client(
        **{**FAST, "webhook_disable_after_hours": 0.3 / 3600, "webhook_retry_schedule": [0.2] * 20}
    )
    endpoint = subscribe(c, manage, receiver)
    receiver.respond = lambda _: (500, {})
    c.post("/v1/consultation-requests", json=lead_body())
    eventually(
        lambda: c.get(f"{HOOKS}/{endpoint['id']}", headers=manage).json()["status"] == "disabled"
    )
    [delivery] = c.get(f"{HOOKS}/{endpoint['id']}/deliveries", headers=manage).json()["data"]
    assert delivery["attempts"] >= 2 and delivery["status"] == "pending"
    receiver.respond = lambda _: (200, {})
    assert c.post(f"{HOOKS}/{endpoint['id']}/resume", headers=manage).json()["status"] == "active"
    receiver.wait_for(lambda r: len(r.received) == 1)


def test_paused_endpoints_wait_and_redeliver_and_ping_work(make_client, manage, receiver):
    c = make_client(**DRIVEN)
    endpoint = subscribe(c, manage, receiver)
    c.post(f"{HOOKS}/{endpoint['id']}/pause", headers=manage)
    c.post("/v1/consultation-requests", json=lead_body())
    assert drain(c.app) == 0 and receiver.received == []
    c.post(f"{HOOKS}/{endpoint['id']}/resume", headers=manage)
    assert drain(c.app) == 1 and len(receiver.received) == 1
    [delivery] = c.get(f"{HOOKS}/{endpoint['id']}/deliveries", headers=manage).json()["data"]
    again = c.post(f"/v1/admin/webhook-deliveries/{delivery['id']}/redeliver", headers=manage)
    assert again.status_code == 202 and again.json()["id"] != delivery["id"]
    assert drain(c.app) == 1 and len(receiver.received) == 2
    assert receiver.received[1].msg_id == receiver.received[0].msg_id
    ping = c.post(f"{HOOKS}/{endpoint['id']}/test", headers=manage)
    assert ping.status_code == 202 and ping.json()["event_type"] == "ping"
    assert drain(c.app) == 1 and len(receiver.received) == 3
    assert receiver.received[2].payload["type"] == "ping"
    missing = c.post(f"/v1/admin/webhook-deliveries/{uuid.uuid4()}/redeliver", headers=manage)
    assert missing.status_code == 404


def test_rotation_signs_with_both_secrets_during_the_grace(make_client, manage, receiver):
    c = make_client(**FAST)
    endpoint = subscribe(c, manage, receiver)
    old_secret = receiver.secrets[0]
    new_secret = c.post(f"{HOOKS}/{endpoint['id']}/rotate-secret", headers=manage).json()["secret"]
    receiver.secrets = [old_secret]  # a receiver that has not switched yet still verifies
    c.post("/v1/consultation-requests", json=lead_body())
    receiver.wait_for(lambda r: len(r.received) == 1)
    signatures = receiver.received[0].headers["webhook-signature"].split(" ")
    assert len(signatures) == 2 and all(s.startswith("v1,") for s in signatures)
    receiver.secrets = [new_secret]
    c.post("/v1/consultation-requests", json=lead_body())
    receiver.wait_for(lambda r: len(r.received) == 2)
    assert receiver.rejected == 0


def _signed(body: str, msg_id: str, secret: str = CRM_SECRET, when: datetime | None = None):
    when = when or datetime.now(UTC)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(when.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id, when, body),
        "content-type": "application/json",
    }


def test_inbound_crm_status_change(make_client, manage, receiver, seeded):
    import orjson

    c = make_client(**DRIVEN)
    subscribe(c, manage, receiver, event_types=["consultation_request.updated"])
    lead_id = c.post("/v1/consultation-requests", json=lead_body()).json()["id"]
    body = orjson.dumps(
        {
            "type": "consultation_request.status_changed",
            "data": {"id": lead_id, "status": "contacted", "note": "Called"},
        }
    ).decode()
    url = "/v1/integrations/crm/events"
    ok = c.post(url, content=body, headers=_signed(body, "crm-1"))
    assert ok.status_code == 200 and ok.json() == {"status": "applied", "id": lead_id}
    dup = c.post(url, content=body, headers=_signed(body, "crm-1"))
    assert dup.status_code == 200 and dup.json()["status"] == "duplicate"
    assert drain(c.app) == 1  # one change, one event: the duplicate emitted nothing
    assert len(receiver.received) == 1
    assert receiver.received[0].payload["data"]["status"] == "contacted"
    engine = seeded.engine()
    with Session(engine) as s:
        lead = s.get(ConsultationRequest, uuid.UUID(lead_id))
        assert lead is not None and lead.status == "contacted"
        assert vault.open_one(session=s, ring=ring(), lead=lead).notes == "Called"
        audit = s.exec(select(AuditEntry).where(AuditEntry.action == "lead.update.crm")).all()
        assert len(audit) == 1
    engine.dispose()
    assert (
        c.post(
            url, content=body, headers=_signed(body, "crm-2", secret="whsec_" + "QUJD" * 8)
        ).status_code
        == 401
    )
    assert (
        c.post(url, content=body, headers={"content-type": "application/json"}).status_code == 401
    )
    stale = _signed(body, "crm-3", when=datetime.now(UTC) - timedelta(minutes=10))
    assert c.post(url, content=body, headers=stale).status_code == 401
    tampered = _signed(body, "crm-4")
    assert (
        c.post(url, content=body.replace("contacted", "closed"), headers=tampered).status_code
        == 401
    )
    back = orjson.dumps(
        {"type": "consultation_request.status_changed", "data": {"id": lead_id, "status": "spam"}}
    ).decode()
    assert c.post(url, content=back, headers=_signed(back, "crm-5")).status_code == 200
    unknown = orjson.dumps(
        {
            "type": "consultation_request.status_changed",
            "data": {"id": str(uuid.uuid4()), "status": "closed"},
        }
    ).decode()
    assert c.post(url, content=unknown, headers=_signed(unknown, "crm-6")).status_code == 404
    wrong = orjson.dumps({"type": "nope", "data": {}}).decode()
    assert c.post(url, content=wrong, headers=_signed(wrong, "crm-7")).status_code == 422


def test_erasure_scrubs_stored_events(make_client, manage, seeded):
    c = make_client(**DRIVEN)
    lead_id = c.post("/v1/consultation-requests", json=lead_body()).json()["id"]
    assert c.delete(f"/v1/admin/consultation-requests/{lead_id}", headers=manage).status_code == 204
    engine = seeded.engine()
    with Session(engine) as s:
        events = s.exec(select(WebhookEvent).where(WebhookEvent.subject_id == lead_id)).all()
    engine.dispose()
    assert len(events) == 2  # created, then updated (erased)
    for evt in events:
        for personal in ("Diaz", "ana.diaz", "+14155550132", "Flashbacks", "iv-ketamine"):
            assert personal not in str(evt.data)
        assert evt.data["erased"] is True
