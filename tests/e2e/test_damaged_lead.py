"""Red team: one flipped byte in one lead's sealed data, against a real uvicorn. The list and
the export must still answer whole, that lead marked `unreadable` with its personal data
absent; its id is logged once and counted in a metric; it can be erased, never re-sealed.

The finding (Security III, LOW): the flipped byte made the staff list a 500 and `export.csv` a
truncated 200."""

import csv
import io
import uuid

import httpx
from sqlalchemy import text

from tests.conftest import lead_body
from tests.servers import uvicorn_server

LEADS = "/v1/admin/consultation-requests"


def _flip_a_byte(database, lead_id: str) -> None:
    ident = uuid.UUID(lead_id).hex if database.backend == "sqlite" else uuid.UUID(lead_id)
    engine = database.engine()
    try:
        with engine.begin() as conn:
            sealed = conn.execute(
                text("SELECT sealed FROM consultationrequest WHERE id = :id"), {"id": ident}
            ).scalar_one()
            damaged = bytearray(sealed)
            damaged[len(damaged) // 2] ^= 0x01
            conn.execute(
                text("UPDATE consultationrequest SET sealed = :s WHERE id = :id"),
                {"s": bytes(damaged), "id": ident},
            )
    finally:
        engine.dispose()


def test_one_damaged_lead_is_listed_as_unreadable_and_breaks_nothing(seeded, tmp_path, issue_key):
    staff = {"Authorization": f"Bearer {issue_key('leads:read', 'leads:write')}"}
    env = {"CLINIC_LEADS_RATE_LIMIT": "none", "CLINIC_METRICS_ENABLED": "true"}
    log = tmp_path / "server.log"
    with (
        uvicorn_server(seeded.url, log, env=env) as base,
        httpx.Client(base_url=base, timeout=60) as client,
    ):
        ids = []
        for n in range(3):
            r = client.post("/v1/consultation-requests", json=lead_body(first_name=f"Ana{n}"))
            assert r.status_code == 201
            ids.append(r.json()["id"])
        _flip_a_byte(seeded, ids[1])
        for _ in range(2):  # listed twice: logged and counted once
            listed = client.get(LEADS, headers=staff)
            assert listed.status_code == 200, listed.text
        by_id = {lead["id"]: lead for lead in listed.json()["data"]}
        assert set(by_id) == set(ids)
        damaged = by_id[ids[1]]
        assert damaged["unreadable"] is True
        assert damaged["first_name"] is None and damaged["email"] is None
        assert damaged["status"] == "new" and damaged["erased_at"] is None
        assert [by_id[i]["first_name"] for i in (ids[0], ids[2])] == ["Ana0", "Ana2"]
        assert not by_id[ids[0]]["unreadable"]

        exported = client.get(f"{LEADS}/export.csv", headers=staff)
        assert exported.status_code == 200
        rows = {row["id"]: row for row in csv.DictReader(io.StringIO(exported.text))}
        assert set(rows) == set(ids)  # whole, not cut short at the damaged row
        assert rows[ids[1]]["unreadable"] == "true" and rows[ids[1]]["email"] == ""
        assert rows[ids[0]]["unreadable"] == "" and rows[ids[0]]["first_name"] == "Ana0"

        one = client.get(f"{LEADS}/{ids[1]}", headers=staff)
        assert one.status_code == 200 and one.json()["unreadable"] is True
        refused = client.patch(f"{LEADS}/{ids[1]}", json={"notes": "x"}, headers=staff)
        assert refused.status_code == 409
        assert refused.json()["code"] == "consultation_request_unreadable"
        assert client.delete(f"{LEADS}/{ids[1]}", headers=staff).status_code == 204

        metrics = client.get("/metrics").text
        assert "clinic_leads_unreadable_total 1.0" in metrics
    logged = [line for line in log.read_text().splitlines() if "lead_unreadable" in line]
    assert len(logged) == 1 and ids[1] in logged[0]
