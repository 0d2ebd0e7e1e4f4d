"""Red team: slow clients against a real uvicorn. A client that sends its headers and then
trickles (or withholds) its body must hold no session, transaction or lock meanwhile: every other
client's writes go ahead, and the slow one gets a 408 problem once `CLINIC_BODY_TIMEOUT` has
passed, on a connection the server then closes.

The finding (Security III, HIGH): `POST /v1/integrations/crm/events` with `Content-Length: 1000`
and one byte sent resolved its session, taking SQLite's write lock, before it read the body, so
lead POSTs and admin routes waited for as long as the socket stayed open."""

import json
from contextlib import ExitStack
from urllib.parse import urlsplit

import httpx
import pytest

from tests.conftest import lead_body
from tests.raw_http import read_until_closed, stalled, unanswered
from tests.servers import uvicorn_server

# Every route that takes a body, public or not (the admin ones are refused without a key, but
# only once the body has come).
BODY_ROUTES = (
    ("POST", "/v1/integrations/crm/events"),
    ("POST", "/v1/consultation-requests"),
    ("POST", "/v1/admin/webhook-endpoints"),
    ("POST", "/v1/admin/previews"),
    ("PATCH", "/v1/admin/consultation-requests/00000000-0000-4000-8000-000000000000"),
)


def _port(base: str) -> int:
    port = urlsplit(base).port
    assert port is not None
    return port


def test_stalled_bodies_on_every_route_hold_up_no_one_elses_writes(seeded, tmp_path, issue_key):
    writer = {"Authorization": f"Bearer {issue_key('leads:read', 'leads:write')}"}
    # A deadline far beyond what the other requests need: they must finish while the stalled
    # connections are still waiting, which is what this test asserts (an order, not a time).
    env = {"CLINIC_BODY_TIMEOUT": "120", "CLINIC_LEADS_RATE_LIMIT": "none"}
    with uvicorn_server(seeded.url, tmp_path / "server.log", env=env) as base, ExitStack() as held:
        port = _port(base)
        slow = [held.enter_context(stalled(port, m, p)) for m, p in BODY_ROUTES]
        slow.append(held.enter_context(stalled(port, *BODY_ROUTES[0], chunked=True)))
        with httpx.Client(base_url=base, timeout=60) as client:
            for n in range(3):
                lead = client.post(
                    "/v1/consultation-requests", json=lead_body(message=f"While stalled {n}.")
                )
                assert lead.status_code == 201, lead.text
                changed = client.patch(
                    f"/v1/admin/consultation-requests/{lead.json()['id']}",
                    json={"status": "contacted"},
                    headers=writer,
                )
                assert changed.status_code == 200, changed.text
        assert all(unanswered(s) for s in slow), "the stalled clients were still waiting"


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_body_late_past_the_timeout_is_a_408_and_the_connection_is_closed(
    seeded, tmp_path, chunked
):
    env = {"CLINIC_BODY_TIMEOUT": "1"}
    with uvicorn_server(seeded.url, tmp_path / "server.log", env=env) as base:
        with stalled(_port(base), *BODY_ROUTES[0], chunked=chunked) as s:
            answer = read_until_closed(s, timeout=30)  # b"" once the server closes: it must close
        head, _, body = answer.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        assert lines[0] == "HTTP/1.1 408 Request Timeout"
        headers = {k.lower(): v.strip() for k, v in (x.split(":", 1) for x in lines[1:])}
        assert headers["content-type"] == "application/problem+json"
        assert headers["connection"] == "close"
        problem = json.loads(body)
        assert problem["status"] == 408 and problem["code"] == "request_timeout"
        # The server is well: the next client is served.
        assert httpx.get(f"{base}/readyz", timeout=30).status_code == 200
