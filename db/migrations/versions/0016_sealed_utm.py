"""UTM values move into each lead's sealed personal data (`utm_content` often carries an email,
`utm_term` a search phrase), and the plaintext column goes. Existing leads are re-sealed under
their own data key (CLINIC_DATA_KEY, or the local key file with SQLite); erased leads have no
key and keep nothing. Run VACUUM (SQLite) or VACUUM FULL (PostgreSQL) afterwards so that the
old pages are rewritten.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 10:40:00
"""

import json
import uuid
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

from core.config import Settings
from core.crypto import KeyRing, key_ring, open_sealed, seal

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    bind = op.get_bind()
    _seal_existing(bind)
    with op.batch_alter_table("consultationrequest") as batch_op:
        batch_op.drop_column("utm")


def downgrade() -> None:
    # The values stay sealed (an older release ignores them); the column comes back empty.
    with op.batch_alter_table("consultationrequest") as batch_op:
        batch_op.add_column(sa.Column("utm", sa.JSON(), nullable=False, server_default="{}"))


def _ring(bind: sa.Connection) -> KeyRing:
    # Settings read now (not the process's cached ones): the key may have been set since.
    return key_ring(Settings(database_url=bind.engine.url.render_as_string(hide_password=False)))


def _context(lead_id: uuid.UUID, purpose: bytes) -> bytes:
    return purpose + b":" + lead_id.bytes  # as services/leads/vault.py seals


def _seal_existing(bind: sa.Connection) -> None:
    rows = bind.execute(
        sa.text(
            "SELECT c.id, c.utm, c.sealed, k.master_key_id, k.wrapped FROM consultationrequest c "
            "JOIN leadkey k ON k.lead_id = c.id WHERE c.sealed IS NOT NULL"
        )
    ).all()
    if not rows:
        return
    ring = _ring(bind)
    for raw_id, raw_utm, sealed, master_id, wrapped in rows:
        utm: dict[str, Any] = json.loads(raw_utm) if isinstance(raw_utm, str) else raw_utm or {}
        if not utm:
            continue
        lead_id = raw_id if isinstance(raw_id, uuid.UUID) else uuid.UUID(str(raw_id))
        data_key = ring.unwrap(master_id, wrapped, context=_context(lead_id, b"lead-key"))
        personal = json.loads(open_sealed(data_key, sealed, context=_context(lead_id, b"lead")))
        personal["utm"] = utm
        resealed = seal(data_key, json.dumps(personal).encode(), context=_context(lead_id, b"lead"))
        bind.execute(
            sa.text("UPDATE consultationrequest SET sealed = :sealed WHERE id = :id"),
            {"sealed": resealed, "id": raw_id},
        )
