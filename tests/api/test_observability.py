"""Operations: request ids (echoed, validated, carried into webhook deliveries) and the
Prometheus metrics endpoint (off by default)."""

import re

import pytest

from tests.conftest import lead_body
from tests.dispatch import drain
from tests.prometheus_text import sample
from tests.webhook_receiver import Receiver, serve_receiver
from tests.webhook_setup import DRIVEN, subscribe

HEX_ID = re.compile(r"[0-9a-f]{32}")


def test_a_request_gets_an_id_or_keeps_a_plausible_one(client):
    mine = client.get("/v1/articles", headers={"X-Request-ID": "edge-7f3a:01HZX/9+="})
    assert mine.headers["x-request-id"] == "edge-7f3a:01HZX/9+="
    for offered in ("", "a" * 129, "has space", "-starts-with-dash", "é"):
        r = client.get("/v1/articles", headers={"X-Request-ID": offered.encode()})
        assert HEX_ID.fullmatch(r.headers["x-request-id"]), offered
    fresh = {client.get("/healthz").headers["x-request-id"] for _ in range(3)}
    assert len(fresh) == 3
    error = client.get("/v1/articles/no-such-article")
    assert error.status_code == 404 and HEX_ID.fullmatch(error.headers["x-request-id"])


def test_browsers_on_other_origins_may_send_and_read_the_request_id(client):
    origin = {"Origin": "https://www.clinic.example"}
    preflight = client.options(
        "/v1/consultation-requests",
        headers={
            **origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type, x-request-id",
        },
    )
    assert preflight.status_code == 200
    assert "x-request-id" in preflight.headers["access-control-allow-headers"].lower()
    exposed = client.get("/v1/articles", headers=origin).headers["access-control-expose-headers"]
    assert "X-Request-ID" in exposed


def test_a_webhook_carries_the_id_of_the_request_that_caused_it(make_client, manage):
    c = make_client(**DRIVEN)
    with serve_receiver(Receiver()) as receiver:
        subscribe(c, manage, receiver)
        created = c.post(
            "/v1/consultation-requests", json=lead_body(), headers={"X-Request-ID": "form-42"}
        )
        assert created.status_code == 201
        assert drain(c.app) == 1
    assert receiver.received[0].headers["clinic-request-id"] == "form-42"


def test_metrics_are_not_served_unless_enabled(client):
    assert client.get("/metrics").status_code == 404
    assert "/metrics" not in client.get("/openapi.json").json()["paths"]


@pytest.fixture
def metered(make_client):
    return make_client(
        metrics_enabled=True,
        leads_rate_limit="2/minute",
        **{k: v for k, v in DRIVEN.items() if k != "leads_rate_limit"},
    )


def test_metrics_count_requests_by_route_cache_and_lead_outcome(metered, manage):
    c = metered
    before = c.get("/metrics").text
    for _ in range(3):
        assert c.get("/v1/articles/iv-ketamine-for-ptsd").status_code == 200
    assert c.get("/v1/articles/nope-nope").status_code == 404
    receiver = Receiver()
    with serve_receiver(receiver):
        subscribe(c, manage, receiver)
        assert c.post("/v1/consultation-requests", json=lead_body(phone="12")).status_code == 422
        ok = c.post(
            "/v1/consultation-requests", json=lead_body(), headers={"Idempotency-Key": "k1"}
        )
        assert ok.status_code == 201
        pending = c.get("/metrics").text
        replayed = c.post(
            "/v1/consultation-requests", json=lead_body(), headers={"Idempotency-Key": "k1"}
        )
        assert replayed.status_code == 201 and replayed.headers["idempotent-replayed"] == "true"
        assert c.post("/v1/consultation-requests", json=lead_body()).status_code == 429
        assert drain(c.app) == 1
    after = c.get("/metrics").text
    assert c.get("/metrics").headers["content-type"].startswith("text/plain")

    def grew(name: str, **labels: str) -> float:
        return sample(after, name, **labels) - sample(before, name, **labels)

    route = "/v1/articles/{slug}"
    assert grew("clinic_http_requests_total", route=route, status="200") == 3
    assert grew("clinic_http_requests_total", route=route, status="404") == 1
    assert grew("clinic_http_request_duration_seconds_count", route=route) == 4
    assert grew("clinic_response_cache_lookups_total", result="hit") >= 2
    assert grew("clinic_response_cache_lookups_total", result="miss") >= 1
    assert grew("clinic_leads_total", outcome="invalid") == 1
    assert grew("clinic_leads_total", outcome="accepted") == 1
    assert grew("clinic_leads_total", outcome="replay") == 1
    assert grew("clinic_leads_total", outcome="rate_limited") >= 1
    assert grew("clinic_webhook_deliveries_total", outcome="delivered") == 1
    assert grew("clinic_webhook_dispatch_lag_seconds_count") == 1
    assert sample(pending, "clinic_outbox_pending_deliveries") == 1
    assert sample(pending, "clinic_outbox_oldest_pending_age_seconds") >= 0
    assert sample(after, "clinic_outbox_pending_deliveries") == 0
    assert "/v1/articles/nope-nope" not in after  # paths never become labels


def test_the_contract_names_the_request_id_on_every_response(client):
    spec = client.get("/openapi.json").json()
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            for status, response in operation["responses"].items():
                header = response.get("headers", {}).get("X-Request-ID")
                assert header and header["required"], (method, path, status)


def test_metric_labels_stay_bounded_and_head_keeps_its_route(metered):
    c = metered
    before = c.get("/metrics").text
    assert c.head("/v1/articles/iv-ketamine-for-ptsd").status_code == 200
    assert c.head("/v1/therapies").status_code == 200
    for verb in ("PROPFIND", "BREW"):
        assert c.request(verb, "/v1/therapies").status_code == 405
    after = c.get("/metrics").text
    assert (
        sample(after, "clinic_http_requests_total", method="HEAD", route="/v1/therapies")
        - (sample(before, "clinic_http_requests_total", method="HEAD", route="/v1/therapies"))
        == 1
    )
    assert sample(after, "clinic_http_requests_total", method="HEAD", route="/v1/articles/{slug}")
    assert "PROPFIND" not in after and "BREW" not in after
    assert sample(after, "clinic_http_requests_total", method="other", status="405") >= 2


def test_a_paused_endpoint_is_no_backlog(metered, manage):
    c = metered
    with serve_receiver(Receiver()) as receiver:
        endpoint = subscribe(c, manage, receiver)
        paused = c.post(f"/v1/admin/webhook-endpoints/{endpoint['id']}/pause", headers=manage)
        assert paused.status_code == 200, paused.text
        assert c.post("/v1/consultation-requests", json=lead_body()).status_code == 201
        assert sample(c.get("/metrics").text, "clinic_outbox_pending_deliveries") == 0
        resumed = c.post(f"/v1/admin/webhook-endpoints/{endpoint['id']}/resume", headers=manage)
        assert resumed.status_code == 200
        assert sample(c.get("/metrics").text, "clinic_outbox_pending_deliveries") == 1
