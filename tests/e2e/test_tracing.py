"""OpenTelemetry, as an operator turns it on: OTEL_EXPORTER_OTLP_ENDPOINT set on a real
uvicorn, spans exported over OTLP/HTTP by the real exporter to a collector that decodes them
with OpenTelemetry's own protobuf definitions."""

import re

import httpx
import pytest

from tests.conftest import lead_body
from tests.otlp_collector import CLIENT, SERVER, collecting
from tests.servers import uvicorn_server
from tests.waiting import eventually
from tests.webhook_receiver import Receiver, serve_receiver


@pytest.mark.parametrize("conventions", ["default", "http/dup"])
def test_requests_sql_and_webhook_sends_are_traced_without_personal_data(
    seeded, tmp_path, issue_key, conventions
):
    manage = {"Authorization": f"Bearer {issue_key('webhooks:manage', 'leads:read')}"}
    staff = "/v1/admin/consultation-requests?email=ana.diaz%40example.com"
    with collecting() as (collector, endpoint), serve_receiver(Receiver()) as receiver:
        env = {
            "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
            "OTEL_SERVICE_NAME": "clinic-under-test",
            "OTEL_BSP_SCHEDULE_DELAY": "100",
            "CLINIC_WEBHOOK_ALLOW_PRIVATE_URLS": "true",
            "CLINIC_WEBHOOK_POLL_SECONDS": "0.1",
            "CLINIC_LEADS_RATE_LIMIT": "none",
        }
        if conventions != "default":  # the stable HTTP attribute names too (url.query, …)
            env["OTEL_SEMCONV_STABILITY_OPT_IN"] = conventions
        with uvicorn_server(seeded.url, tmp_path / "server.log", env=env) as base:
            assert httpx.get(f"{base}/v1/articles/iv-ketamine-for-ptsd").status_code == 200
            assert httpx.get(f"{base}/healthz").status_code == 200
            hook = httpx.post(
                f"{base}/v1/admin/webhook-endpoints", json={"url": receiver.url}, headers=manage
            )
            assert hook.status_code == 201, hook.text
            receiver.secrets.append(hook.json()["secret"])
            lead = httpx.post(f"{base}/v1/consultation-requests", json=lead_body())
            assert lead.status_code == 201
            receiver.wait_for(lambda r: len(r.received) == 1)
            found = httpx.get(f"{base}{staff}", headers=manage)
            assert found.status_code == 200 and len(found.json()["data"]) == 1
        # the server has stopped: its last spans were flushed on the way out
        eventually(lambda: any(s["kind"] == CLIENT for s in collector.spans), what="for spans")
    spans = collector.spans
    assert {s["service"] for s in spans} == {"clinic-under-test"}
    names = {s["name"] for s in spans if s["kind"] == SERVER}
    assert "GET /v1/articles/{slug}" in names
    assert "POST /v1/consultation-requests" in names
    assert not [n for n in names if "healthz" in n]  # probes are not traced
    assert any(s["attributes"].get("db.system") in ("sqlite", "postgresql") for s in spans)
    sends = [s for s in spans if s["kind"] == CLIENT and s["name"].startswith("POST")]
    assert sends, "the webhook delivery was traced"
    secret_path = receiver.url.split("/hook/")[1]  # stands for a token in a webhook URL
    assert secret_path not in repr(sends)
    everything = repr(spans)
    assert any(
        s["attributes"].get("http.target") == "/v1/admin/consultation-requests" for s in spans
    )
    urls = [s["attributes"].get(k) for s in spans for k in ("http.url", "url.full")]
    staff_urls = [u for u in urls if u and "/v1/admin/consultation-requests" in u]
    assert staff_urls and all(
        re.fullmatch(r"http://127\.0\.0\.1:\d+/v1/admin/consultation-requests", u)
        for u in staff_urls
    ), staff_urls
    for personal in ("Ana", "ana.diaz", "Diaz", "example.com", "555-0132", "Flashbacks"):
        assert personal not in everything, personal
