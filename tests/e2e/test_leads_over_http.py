"""Leads against real uvicorn processes: concurrency, shared rate limits, and clean logs."""

import asyncio
import threading
import uuid
from datetime import timedelta

import httpx
import pytest
from sqlmodel import Session, func, select

from core.logging import JsonFormatter
from db.lead_models import ConsultationRequest
from db.session import unit_of_work
from schemas.leads import ConsultationRequestCreate
from services.leads import intake
from tests.conftest import lead_body
from tests.servers import redis_answers, uvicorn_server, uvicorn_servers
from tests.vault_helpers import ring

CTX = intake.SubmissionContext(
    client_ip="192.0.2.1", user_agent="t", default_region="US", default_locale="en"
)


def _count(db) -> int:
    engine = db.engine()
    with Session(engine) as s:
        n = s.exec(select(func.count()).select_from(ConsultationRequest)).one()
    engine.dispose()
    return int(n)


async def _burst(base: str, n: int, key: str) -> list[httpx.Response]:
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        return await asyncio.gather(
            *[
                client.post(
                    "/v1/consultation-requests", json=lead_body(), headers={"Idempotency-Key": key}
                )
                for _ in range(n)
            ]
        )


def test_fifty_concurrent_identical_requests_create_one_lead(seeded, tmp_path):
    key = str(uuid.uuid4())
    with uvicorn_server(
        seeded.url, tmp_path / "server.log", env={"CLINIC_LEADS_RATE_LIMIT": "none"}
    ) as base:
        responses = asyncio.run(_burst(base, 50, key))
        statuses = [r.status_code for r in responses]
        assert set(statuses) <= {201, 409}, statuses
        created = [r for r in responses if r.status_code == 201]
        assert created, statuses
        assert len({r.json()["id"] for r in created}) == 1
        assert sum(1 for r in created if "idempotent-replayed" not in r.headers) == 1
        for r in responses:
            if r.status_code == 409:
                assert r.json()["code"] == "idempotency_in_flight"
        # after the dust settles, a retry replays the one answer
        with httpx.Client() as http:
            retry = http.post(
                f"{base}/v1/consultation-requests",
                json=lead_body(),
                headers={"Idempotency-Key": key},
            )
        assert retry.status_code == 201 and retry.headers["idempotent-replayed"] == "true"
        assert retry.json()["id"] == created[0].json()["id"]
    assert _count(seeded) == 1


def test_a_request_while_the_first_is_in_flight_waits_for_it_and_replays_it(seeded, make_client):
    """The key is claimed in the lead's own transaction: a second request with it blocks on
    the database until the first commits, then answers with the first lead."""
    body = lead_body()
    client = make_client(leads_rate_limit="none")
    engine = seeded.engine()
    answers: list[httpx.Response] = []
    second = threading.Thread(
        target=lambda: answers.append(
            client.post("/v1/consultation-requests", json=body, headers={"Idempotency-Key": "k1"})
        )
    )
    with unit_of_work(engine) as session:
        first = intake.intake(
            session=session,
            ring=ring(),
            data=ConsultationRequestCreate.model_validate(body),
            ctx=CTX,
            idempotency_key="k1",
            idempotency_ttl=timedelta(hours=24),
        )
        session.flush()
        second.start()
        second.join(timeout=1.0)
        assert second.is_alive(), "the second request must wait while the first is uncommitted"
    second.join(timeout=30)
    engine.dispose()
    assert not first.replayed and len(answers) == 1
    assert answers[0].status_code == 201, answers[0].text
    assert answers[0].headers["idempotent-replayed"] == "true"
    assert answers[0].json()["id"] == str(first.lead_id)
    assert _count(seeded) == 1


@pytest.mark.skipif(not redis_answers(), reason="no Redis on 127.0.0.1:6379")
def test_two_processes_share_one_rate_limit_through_redis(seeded, tmp_path):
    env = {
        "CLINIC_REDIS_URL": "redis://127.0.0.1:6379/0",
        "CLINIC_RATE_LIMIT_NAMESPACE": f"test-{uuid.uuid4().hex}",
        "CLINIC_LEADS_RATE_LIMIT": "3/minute",
    }
    with (
        uvicorn_servers(seeded.url, [tmp_path / "a.log", tmp_path / "b.log"], env=env) as (a, b),
        httpx.Client() as http,
    ):
        statuses = [
            http.post(f"{base}/v1/consultation-requests", json=lead_body()).status_code
            for base in (a, b, a, b, a)
        ]
    assert statuses == [201, 201, 201, 429, 429]
    assert _count(seeded) == 3


def test_two_processes_without_redis_each_keep_their_own_budget(seeded, tmp_path):
    env = {"CLINIC_LEADS_RATE_LIMIT": "1/minute"}
    with (
        uvicorn_servers(seeded.url, [tmp_path / "a.log", tmp_path / "b.log"], env=env) as (a, b),
        httpx.Client() as http,
    ):
        statuses = [
            http.post(f"{base}/v1/consultation-requests", json=lead_body()).status_code
            for base in (a, b, a)
        ]
    assert statuses == [201, 201, 429]


def test_personal_data_never_reaches_the_logs(seeded, tmp_path, issue_key, caplog):
    caplog.set_level("DEBUG")
    token = issue_key("leads:read", "leads:write")
    auth = {"Authorization": f"Bearer {token}"}
    log_path = tmp_path / "server.log"
    secrets = {
        "first_name": "Zephyrine",
        "last_name": "Quillfeather",
        "email": "zq.private@example.org",
        "phone": "+1 (415) 555-0199",
        "message": "Nightmares about the convoy every week",
    }
    with (
        uvicorn_server(
            seeded.url,
            log_path,
            args=("--log-level", "debug"),
            env={"CLINIC_LEADS_RATE_LIMIT": "none", "CLINIC_LOG_LEVEL": "DEBUG"},
        ) as base,
        httpx.Client(base_url=base) as c,
    ):
        created = c.post(
            "/v1/consultation-requests",
            json=lead_body(**secrets),
            headers={"Idempotency-Key": "pii-1"},
        )
        assert created.status_code == 201
        c.post(
            "/v1/consultation-requests",
            json=lead_body(**secrets),
            headers={"Idempotency-Key": "pii-1"},
        )
        c.post("/v1/consultation-requests", json=lead_body(**{**secrets, "phone": "12"}))
        lead_id = created.json()["id"]
        assert c.get("/v1/admin/consultation-requests", headers=auth).status_code == 200
        assert c.get(f"/v1/admin/consultation-requests/{lead_id}", headers=auth).status_code == 200
        assert (
            c.patch(
                f"/v1/admin/consultation-requests/{lead_id}",
                headers=auth,
                json={"status": "contacted", "notes": "Zephyrine prefers mornings"},
            ).status_code
            == 200
        )
        export = c.get("/v1/admin/consultation-requests/export.csv", headers=auth)
        assert "Zephyrine" in export.text  # the export itself carries the data...
        assert (
            c.delete(f"/v1/admin/consultation-requests/{lead_id}", headers=auth).status_code == 204
        )
    logs = log_path.read_text() + "\n".join(JsonFormatter().format(r) for r in caplog.records)
    # ...and the logs did record the traffic
    assert '"method":"POST","path":"/v1/consultation-requests"' in logs
    for value in [*secrets.values(), "+14155550199", "zq.private", "Quillfeather", "convoy"]:
        assert value not in logs, value
