"""Migration 0008 gives deliveries made before it the policy of their endpoint."""

import uuid

from alembic import command
from sqlalchemy import text

from db.migrate import alembic_config, upgrade


def test_existing_deliveries_take_their_endpoints_policy(database):
    command.upgrade(alembic_config(database.url), "0007")
    engine = database.engine()
    endpoints = {"full_health": ("full", True), "thin": ("thin", False)}
    ids = {name: uuid.uuid4() for name in endpoints}
    event_id = uuid.uuid4()
    # Raw SQL: the table models already describe the newer schema.
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO webhookevent (id, type, data, created_at)"
                " VALUES (:id, 'article.updated', '{}', CURRENT_TIMESTAMP)"
            ),
            {"id": event_id.hex if database.backend == "sqlite" else event_id},
        )
        for name, (mode, health) in endpoints.items():
            key = ids[name].hex if database.backend == "sqlite" else ids[name]
            conn.execute(
                text(
                    "INSERT INTO webhookendpoint (id, url, description, event_types, payload_mode,"
                    " include_health_data, secret_key_id, secret_sealed, status, created_at,"
                    " updated_at) VALUES (:id, 'https://x.example/h', '', '[]', :mode, :health,"
                    " 'k', :sealed, 'active', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                ),
                {"id": key, "mode": mode, "health": health, "sealed": b"x"},
            )
            conn.execute(
                text(
                    "INSERT INTO webhookdelivery (id, event_id, endpoint_id, status, attempts,"
                    " next_attempt_at, created_at) VALUES (:id, :event, :endpoint, 'pending', 0,"
                    " CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                ),
                {
                    "id": uuid.uuid4().hex if database.backend == "sqlite" else uuid.uuid4(),
                    "event": event_id.hex if database.backend == "sqlite" else event_id,
                    "endpoint": key,
                },
            )
    upgrade(database.url)
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT e.payload_mode, e.include_health_data, d.payload_mode,"
                " d.include_health_data FROM webhookdelivery d"
                " JOIN webhookendpoint e ON e.id = d.endpoint_id"
            )
        ).all()
    engine.dispose()
    assert len(rows) == 2
    for endpoint_mode, endpoint_health, mode, health in rows:
        assert (mode, bool(health)) == (endpoint_mode, bool(endpoint_health))
