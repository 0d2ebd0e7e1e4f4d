"""Personal data sealed per lead (envelope encryption), endpoint secrets sealed, API key expiry.

Existing rows are encrypted on the way: each lead gets a data key wrapped under the master key
(CLINIC_DATA_KEY, or the local key file with SQLite), its personal fields and its stored
webhook events are sealed under it, and the plaintext columns are dropped. Run VACUUM
afterwards (SQLite) or VACUUM FULL (PostgreSQL) so that the old pages are rewritten.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26 00:45:00
"""

import base64
import json
import uuid
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

from core.config import Settings
from core.crypto import KeyRing, key_ring, new_key, seal

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PERSONAL = {  # old column -> sealed field (the format services/leads/vault.py reads)
    "first_name": "first_name",
    "last_name": "last_name",
    "email": "email",
    "phone": "phone",
    "preferred_time": "preferred_time",
    "message": "message",
    "notes": "notes",
    "client_ip": "client_ip",
    "user_agent": "user_agent",
    "source_page_url": "page_url",
    "source_referrer": "referrer",
}


def upgrade() -> None:
    with op.batch_alter_table("consultationrequest") as batch_op:
        batch_op.add_column(sa.Column("sealed", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("email_index", sa.String(length=64), nullable=True))
        batch_op.create_index("ix_consultationrequest_email_index", ["email_index"])
    op.create_table(
        "leadkey",
        sa.Column("lead_id", sa.Uuid(), sa.ForeignKey("consultationrequest.id"), nullable=False),
        sa.Column("master_key_id", sa.String(length=16), nullable=False),
        sa.Column("wrapped", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("lead_id"),
    )
    op.create_index("ix_leadkey_master_key_id", "leadkey", ["master_key_id"])
    with op.batch_alter_table("webhookendpoint") as batch_op:
        batch_op.add_column(sa.Column("secret_key_id", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("secret_sealed", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("previous_secret_sealed", sa.LargeBinary(), nullable=True))
    with op.batch_alter_table("apikey") as batch_op:
        batch_op.add_column(sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))
    _encrypt_existing(op.get_bind())
    with op.batch_alter_table("consultationrequest") as batch_op:
        for column in PERSONAL:
            batch_op.drop_column(column)
    with op.batch_alter_table("webhookendpoint") as batch_op:
        batch_op.alter_column("secret_key_id", existing_type=sa.String(16), nullable=False)
        batch_op.alter_column("secret_sealed", existing_type=sa.LargeBinary(), nullable=False)
        batch_op.drop_column("secret")
        batch_op.drop_column("previous_secret")


def _ring(bind: sa.Connection) -> KeyRing:
    # Settings read now (not the process's cached ones): the key may have been set since.
    return key_ring(Settings(database_url=bind.engine.url.render_as_string(hide_password=False)))


def _encrypt_existing(bind: sa.Connection) -> None:
    leads = bind.execute(sa.text("SELECT * FROM consultationrequest")).mappings().all()
    endpoints = bind.execute(sa.text("SELECT * FROM webhookendpoint")).mappings().all()
    if not leads and not endpoints:
        return  # a new database: no key needed yet
    ring = _ring(bind)
    for lead in leads:
        _seal_lead(bind, ring, lead)
    for endpoint in endpoints:
        endpoint_id = _uuid(endpoint["id"])
        key_id, sealed = ring.seal_secret(
            endpoint["secret"], context=b"secret:" + endpoint_id.bytes
        )
        previous = None
        if endpoint["previous_secret"]:
            previous = ring.seal_secret(
                endpoint["previous_secret"], context=b"previous:" + endpoint_id.bytes
            )[1]
        bind.execute(
            sa.text(
                "UPDATE webhookendpoint SET secret_key_id = :k, secret_sealed = :s, "
                "previous_secret_sealed = :p WHERE id = :id"
            ),
            {"k": key_id, "s": sealed, "p": previous, "id": endpoint["id"]},
        )


def _uuid(value: Any) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def _seal_lead(bind: sa.Connection, ring: KeyRing, lead: Any) -> None:
    lead_id = _uuid(lead["id"])
    events = sa.text("SELECT id, data FROM webhookevent WHERE subject_id = :s")
    if lead["erased_at"] is not None:
        return  # nothing personal is left to seal
    data_key = new_key()
    personal = {field: lead[column] for column, field in PERSONAL.items()}
    email = (personal["email"] or "").strip().lower() or None
    index = ring.blind_index(email) if email else None
    sealed = seal(data_key, json.dumps(personal).encode(), context=b"lead:" + lead_id.bytes)
    master_id, wrapped = ring.wrap(data_key, context=b"lead-key:" + lead_id.bytes)
    bind.execute(
        sa.text("UPDATE consultationrequest SET sealed = :s, email_index = :i WHERE id = :id"),
        {"s": sealed, "i": index, "id": lead["id"]},
    )
    bind.execute(
        sa.text(
            "INSERT INTO leadkey (lead_id, master_key_id, wrapped, created_at) "
            "VALUES (:id, :m, :w, CURRENT_TIMESTAMP)"
        ),
        {"id": lead["id"], "m": master_id, "w": wrapped},
    )
    for event_id, data in bind.execute(events, {"s": str(lead_id)}).all():
        stored = data if isinstance(data, dict) else json.loads(data)
        if "sealed" in stored or (stored.get("erased") is True and len(stored) <= 3):
            continue
        stored.pop("links", None)
        body = seal(data_key, json.dumps(stored).encode(), context=b"event:" + lead_id.bytes)
        new = {"id": str(lead_id), "sealed": base64.b64encode(body).decode()}
        bind.execute(
            sa.text("UPDATE webhookevent SET data = :d WHERE id = :id"),
            {"d": json.dumps(new), "id": event_id},
        )


def downgrade() -> None:
    raise NotImplementedError("personal data cannot be decrypted back into plain columns")
