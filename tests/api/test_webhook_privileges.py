"""A `webhooks:manage` key must not become a way to read leads: pointing an endpoint somewhere
new, asking for full payloads (names, contact details) or turning health data on needs
`leads:read` too, a redelivery never sends more than its
delivery was created with, and every change to endpoints is audited with the acting key."""

import pytest
from sqlmodel import Session, select

from db.lead_models import ApiKey
from tests.conftest import lead_body
from tests.dispatch import drain
from tests.webhook_receiver import Receiver, serve_receiver

# The tests send due deliveries themselves (tests.dispatch.drain).
DRIVEN = {
    "leads_rate_limit": "none",
    "webhook_dispatcher_enabled": False,
    "webhook_timeout_seconds": 2,
}
HOOKS = "/v1/admin/webhook-endpoints"
HEALTH_FIELDS = ("therapies", "conditions", "message", "article_slug", "page_url")


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def manager(issue_key):
    """A key that manages webhooks and nothing else."""
    return _bearer(issue_key("webhooks:manage"))


@pytest.fixture
def trusted(issue_key):
    """A key that manages webhooks and may read leads."""
    return _bearer(issue_key("webhooks:manage", "leads:read"))


def _subscribe(c, headers, receiver, **fields):
    r = c.post(HOOKS, json={"url": receiver.url, **fields}, headers=headers)
    assert r.status_code == 201, r.text
    receiver.secrets.append(r.json()["secret"])
    return r.json()


def _assert_forbidden(response) -> None:
    assert response.status_code == 403, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "insufficient_scope"


def test_a_manage_only_key_cannot_turn_an_endpoint_towards_health_data(
    make_client, manager, trusted
):
    c = make_client(**DRIVEN)
    other = "http://127.0.0.1:9/attacker"
    _assert_forbidden(
        c.post(HOOKS, json={"url": other, "include_health_data": True}, headers=manager)
    )
    _assert_forbidden(c.post(HOOKS, json={"url": "http://127.0.0.1:9/crm"}, headers=manager))
    created = c.post(
        HOOKS, json={"url": "http://127.0.0.1:9/crm", "payload_mode": "thin"}, headers=manager
    )
    assert created.status_code == 201  # ids and links only stay allowed
    endpoint = f"{HOOKS}/{created.json()['id']}"
    _assert_forbidden(c.patch(endpoint, json={"url": other}, headers=manager))
    _assert_forbidden(c.patch(endpoint, json={"include_health_data": True}, headers=manager))
    _assert_forbidden(c.patch(endpoint, json={"url": other, "description": "x"}, headers=manager))
    state = c.get(endpoint, headers=manager).json()
    assert state["url"] == "http://127.0.0.1:9/crm" and state["include_health_data"] is False
    same_url = c.patch(endpoint, json={"url": state["url"], "description": "CRM"}, headers=manager)
    assert same_url.status_code == 200 and same_url.json()["description"] == "CRM"
    _assert_forbidden(c.patch(endpoint, json={"payload_mode": "full"}, headers=manager))
    moved = c.patch(endpoint, json={"url": other, "include_health_data": True}, headers=trusted)
    assert moved.status_code == 200 and moved.json()["include_health_data"] is True
    off = c.patch(endpoint, json={"include_health_data": False}, headers=manager)
    assert off.status_code == 200 and off.json()["include_health_data"] is False
    made = c.post(HOOKS, json={"url": other, "include_health_data": True}, headers=trusted)
    assert made.status_code == 201


def test_a_redelivery_sends_no_more_than_its_delivery_was_created_with(
    make_client, manager, trusted
):
    c = make_client(**DRIVEN)
    with serve_receiver(Receiver()) as receiver:
        endpoint = _subscribe(c, trusted, receiver)
        c.post("/v1/consultation-requests", json=lead_body())
        assert drain(c.app) == 1 and len(receiver.received) == 1
        first = receiver.received[0].payload["data"]
        assert not set(HEALTH_FIELDS) & set(first)
        # Health data is switched on (by a key allowed to), then the old delivery is redelivered.
        turned = c.patch(
            f"{HOOKS}/{endpoint['id']}", json={"include_health_data": True}, headers=trusted
        )
        assert turned.status_code == 200
        [old] = c.get(f"{HOOKS}/{endpoint['id']}/deliveries", headers=manager).json()["data"]
        again = c.post(f"/v1/admin/webhook-deliveries/{old['id']}/redeliver", headers=manager)
        assert again.status_code == 202
        assert drain(c.app) == 1 and len(receiver.received) == 2
        replayed = receiver.received[1].payload["data"]
        assert receiver.received[1].msg_id == receiver.received[0].msg_id
        assert not set(HEALTH_FIELDS) & set(replayed), replayed
        assert "Flashbacks" not in str(receiver.received[1].payload)
        # A lead that arrives after the change is sent with health data, as configured.
        c.post("/v1/consultation-requests", json=lead_body())
        assert drain(c.app) == 1 and len(receiver.received) == 3
        assert receiver.received[2].payload["data"]["therapies"] == ["iv-ketamine"]


def test_a_redelivery_honours_a_policy_narrowed_since(make_client, trusted):
    c = make_client(**DRIVEN)
    with serve_receiver(Receiver()) as receiver:
        endpoint = _subscribe(c, trusted, receiver, include_health_data=True)
        c.post("/v1/consultation-requests", json=lead_body())
        assert drain(c.app) == 1
        assert receiver.received[0].payload["data"]["message"]
        narrowed = c.patch(
            f"{HOOKS}/{endpoint['id']}",
            json={"include_health_data": False, "payload_mode": "thin"},
            headers=trusted,
        )
        assert narrowed.status_code == 200
        [old] = c.get(f"{HOOKS}/{endpoint['id']}/deliveries", headers=trusted).json()["data"]
        c.post(f"/v1/admin/webhook-deliveries/{old['id']}/redeliver", headers=trusted)
        assert drain(c.app) == 1 and len(receiver.received) == 2
        assert set(receiver.received[1].payload["data"]) == {"id", "links"}


def _key_id(db, token_headers: dict[str, str]):
    prefix = token_headers["Authorization"].split("_")[1]
    engine = db.engine()
    with Session(engine) as s:
        key = s.exec(select(ApiKey).where(ApiKey.prefix == prefix)).one()
    engine.dispose()
    return str(key.id)


def test_every_endpoint_operation_is_audited_with_the_acting_key(
    make_client, manager, trusted, issue_key, seeded
):
    c = make_client(**DRIVEN)
    reader = _bearer(issue_key("leads:read"))
    with serve_receiver(Receiver()) as receiver:
        endpoint = _subscribe(c, manager, receiver, description="CRM", payload_mode="thin")
        path = f"{HOOKS}/{endpoint['id']}"
        assert c.patch(path, json={"description": "CRM 2"}, headers=manager).status_code == 200
        full = {"include_health_data": True, "payload_mode": "full"}
        assert c.patch(path, json=full, headers=trusted).status_code == 200
        assert c.post(f"{path}/pause", headers=manager).status_code == 200
        assert c.post(f"{path}/resume", headers=manager).status_code == 200
        rotated = c.post(f"{path}/rotate-secret", headers=manager)
        receiver.secrets.append(rotated.json()["secret"])
        assert c.post(f"{path}/test", headers=manager).status_code == 202
        lead_id = c.post("/v1/consultation-requests", json=lead_body()).json()["id"]
        assert drain(c.app) == 2 and len(receiver.received) == 2
        deliveries = c.get(f"{path}/deliveries", headers=manager).json()["data"]
        lead_delivery = next(d for d in deliveries if d["event_type"].startswith("consultation"))
        redelivered = c.post(
            f"/v1/admin/webhook-deliveries/{lead_delivery['id']}/redeliver", headers=manager
        )
        assert redelivered.status_code == 202
        assert c.delete(path, headers=manager).status_code == 204
    entries = c.get("/v1/admin/audit?page_size=200", headers=reader).json()["data"]
    webhook_entries = [e for e in reversed(entries) if e["action"].startswith("webhook")]
    assert [e["action"] for e in webhook_entries] == [
        "webhook_endpoint.create",
        "webhook_endpoint.update",
        "webhook_endpoint.update",
        "webhook_endpoint.pause",
        "webhook_endpoint.resume",
        "webhook_endpoint.rotate_secret",
        "webhook_endpoint.test",
        "webhook_delivery.redeliver",
        "webhook_endpoint.delete",
    ]
    manager_id, trusted_id = _key_id(seeded, manager), _key_id(seeded, trusted)
    actors = [e["api_key_id"] for e in webhook_entries]
    assert actors == [manager_id, manager_id, trusted_id, *[manager_id] * 6]
    assert all(e["detail"]["endpoint_id"] == endpoint["id"] for e in webhook_entries)
    create, _, health_on, *_ = webhook_entries
    assert create["detail"]["include_health_data"] is False
    assert sorted(health_on["detail"]["changed"]) == ["include_health_data", "payload_mode"]
    assert health_on["detail"]["include_health_data"] is True
    # A redelivery of a lead's event shows up in that lead's own audit trail.
    for_lead = c.get(f"/v1/admin/audit?lead_id={lead_id}", headers=reader).json()["data"]
    assert [e["action"] for e in for_lead] == ["webhook_delivery.redeliver"]
    assert for_lead[0]["detail"]["delivery_id"] == lead_delivery["id"]
    assert "whsec_" not in str(entries)
