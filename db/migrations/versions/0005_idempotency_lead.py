"""Idempotency records name the lead they created instead of storing HTTP response bytes.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 00:10:00
"""

import json
import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_records = sa.table(
    "idempotencyrecord",
    sa.column("key", sa.String()),
    sa.column("state", sa.String()),
    sa.column("response_body", sa.String()),
    sa.column("lead_id", sa.Uuid()),
)


def upgrade() -> None:
    with op.batch_alter_table("idempotencyrecord") as batch_op:
        batch_op.add_column(sa.Column("lead_id", sa.Uuid(), nullable=True))
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(_records.c.key, _records.c.state, _records.c.response_body)
    ).all()
    for key, state, body in rows:
        lead_id = _lead_id(body) if state == "done" else None
        where = _records.c.key == key
        if lead_id is None:  # an unfinished claim: its request never completed
            connection.execute(sa.delete(_records).where(where))
        else:
            connection.execute(sa.update(_records).where(where).values(lead_id=lead_id))
    with op.batch_alter_table("idempotencyrecord") as batch_op:
        batch_op.alter_column("lead_id", existing_type=sa.Uuid(), nullable=False)
        batch_op.drop_column("state")
        batch_op.drop_column("response_status")
        batch_op.drop_column("response_body")
        batch_op.drop_column("response_location")


def _lead_id(body: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(json.loads(body or "")["id"])
    except (ValueError, KeyError, TypeError):
        return None


def downgrade() -> None:
    with op.batch_alter_table("idempotencyrecord") as batch_op:
        batch_op.add_column(sa.Column("state", sa.String(length=12), nullable=True))
        batch_op.add_column(sa.Column("response_status", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("response_body", sa.String(), nullable=True))
        batch_op.add_column(sa.Column("response_location", sa.String(length=300), nullable=True))
    op.execute("UPDATE idempotencyrecord SET state = 'done', response_status = 201")
    with op.batch_alter_table("idempotencyrecord") as batch_op:
        batch_op.alter_column("state", existing_type=sa.String(length=12), nullable=False)
        batch_op.drop_column("lead_id")
