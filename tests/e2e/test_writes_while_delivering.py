"""Red team: admin writes while the API's own dispatcher delivers, on a real uvicorn. On
SQLite, every attempt was recorded from a worker thread that queued for the process's write
lock apart from the requests: a request holding SQLite's write lock then waited for a thread
to commit in, behind attempts busy-waiting for that lock, and every write (public lead intake
included) froze for 20 s to over 100 s. All writers now queue on the event loop, one lock."""

import httpx

from tests.conftest import lead_body
from tests.servers import uvicorn_server
from tests.webhook_receiver import Receiver, serve_receiver

HOOKS = "/v1/admin/webhook-endpoints"
LEADS = "/v1/admin/consultation-requests"


def test_admin_writes_and_lead_intake_go_on_while_webhooks_are_delivered(
    seeded, tmp_path, issue_key
):
    staff = {"Authorization": f"Bearer {issue_key('leads:read', 'leads:write', 'webhooks:manage')}"}
    env = {
        "CLINIC_LEADS_RATE_LIMIT": "none",
        "CLINIC_WEBHOOK_DISPATCHER_ENABLED": "true",
        "CLINIC_WEBHOOK_ALLOW_PRIVATE_URLS": "true",
    }
    with (
        serve_receiver(Receiver()) as first,
        serve_receiver(Receiver()) as second,
        uvicorn_server(seeded.url, tmp_path / "server.log", env=env) as base,
        # A write that waits this long is frozen: the red team saw 20 s to over 100 s.
        httpx.Client(base_url=base, timeout=30) as client,
    ):
        for receiver in (first, second):
            made = client.post(HOOKS, json={"url": receiver.url}, headers=staff)
            assert made.status_code == 201, made.text
            receiver.secrets.append(made.json()["secret"])
        for n in range(25):
            lead = client.post("/v1/consultation-requests", json=lead_body(message=f"L{n}."))
            assert lead.status_code == 201, lead.text
            for change in ({"status": "contacted"}, {"notes": f"Called {n}."}):
                answer = client.patch(f"{LEADS}/{lead.json()['id']}", json=change, headers=staff)
                assert answer.status_code == 200, answer.text
        # Every event reached both endpoints: 25 created and 50 updated each.
        for receiver in (first, second):
            receiver.wait_for(lambda r: len(r.unique()) == 75, timeout=60)
    assert "could not be recorded" not in (tmp_path / "server.log").read_text()
