"""UTM values move into each lead's sealed personal data (`utm_content` often carries an email,
`utm_term` a search phrase), and the plaintext column goes. Existing leads are re-sealed under
their own data key (CLINIC_DATA_KEY, or the local key file with SQLite); erased leads have no
key and keep nothing. Run VACUUM (SQLite) or VACUUM FULL (PostgreSQL) afterwards so that the
old pages are rewritten. A lead whose sealed data cannot be opened (a damaged row) keeps
nothing of its plaintext UTM values: the column goes, and the upgrade names how many. Not for a
rolling deploy beside older processes: they write the column this drops (stop them first).
Downgrading moves the values back into the column and out of the sealed data, which the older
release reads.

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
from core.crypto import CryptoKeyError, KeyRing, key_ring, open_sealed, seal

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
    with op.batch_alter_table("consultationrequest") as batch_op:
        batch_op.add_column(sa.Column("utm", sa.JSON(), nullable=False, server_default="{}"))
    _unseal_existing(op.get_bind())


def _ring(bind: sa.Connection) -> KeyRing:
    # Settings read now (not the process's cached ones): the key may have been set since.
    return key_ring(Settings(database_url=bind.engine.url.render_as_string(hide_password=False)))


def _context(lead_id: uuid.UUID, purpose: bytes) -> bytes:
    return purpose + b":" + lead_id.bytes  # as services/leads/vault.py seals


_LEADS = (
    "SELECT c.id, {}, c.sealed, k.master_key_id, k.wrapped FROM consultationrequest c "
    "JOIN leadkey k ON k.lead_id = c.id WHERE c.sealed IS NOT NULL"
)
_WITH_UTM = sa.text(_LEADS.format("c.utm"))
_WITHOUT_UTM = sa.text(_LEADS.format("NULL"))
_SET_SEALED = sa.text("UPDATE consultationrequest SET sealed = :sealed WHERE id = :id")
_SET_SEALED_AND_UTM = sa.text(
    "UPDATE consultationrequest SET sealed = :sealed, utm = :utm WHERE id = :id"
)


def _open(
    ring: KeyRing, raw_id: Any, sealed: bytes, master_id: str, wrapped: bytes
) -> tuple[uuid.UUID, bytes, dict[str, Any]] | None:
    """The lead's id, data key and personal data; None when they cannot be opened."""
    lead_id = raw_id if isinstance(raw_id, uuid.UUID) else uuid.UUID(str(raw_id))
    try:
        data_key = ring.unwrap(master_id, wrapped, context=_context(lead_id, b"lead-key"))
        personal = json.loads(open_sealed(data_key, sealed, context=_context(lead_id, b"lead")))
    except (CryptoKeyError, ValueError):
        return None
    return lead_id, data_key, personal


def _reseal(data_key: bytes, lead_id: uuid.UUID, personal: dict[str, Any]) -> bytes:
    return seal(data_key, json.dumps(personal).encode(), context=_context(lead_id, b"lead"))


def _seal_existing(bind: sa.Connection) -> None:
    rows = bind.execute(_WITH_UTM).all()
    if not rows:
        return
    ring, unreadable = _ring(bind), 0
    for raw_id, raw_utm, sealed, master_id, wrapped in rows:
        utm: dict[str, Any] = json.loads(raw_utm) if isinstance(raw_utm, str) else raw_utm or {}
        if not utm:
            continue
        opened = _open(ring, raw_id, sealed, master_id, wrapped)
        if opened is None:
            unreadable += 1
            continue
        lead_id, data_key, personal = opened
        sealed_now = _reseal(data_key, lead_id, {**personal, "utm": utm})
        bind.execute(_SET_SEALED, {"sealed": sealed_now, "id": raw_id})
    if unreadable:
        print(f"0016: {unreadable} lead(s) could not be opened; their UTM values were dropped")


def _unseal_existing(bind: sa.Connection) -> None:
    ring = _ring(bind)
    for raw_id, _, sealed, master_id, wrapped in bind.execute(_WITHOUT_UTM).all():
        opened = _open(ring, raw_id, sealed, master_id, wrapped)
        if opened is None or "utm" not in opened[2]:
            continue
        lead_id, data_key, personal = opened
        utm = personal.pop("utm") or {}
        sealed_then = _reseal(data_key, lead_id, personal)
        bind.execute(
            _SET_SEALED_AND_UTM, {"sealed": sealed_then, "utm": json.dumps(utm), "id": raw_id}
        )
