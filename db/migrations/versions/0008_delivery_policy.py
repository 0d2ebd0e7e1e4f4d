"""Webhook deliveries keep the payload policy they were created under.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26 01:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("webhookdelivery") as batch_op:
        batch_op.add_column(
            sa.Column("payload_mode", sa.String(length=10), nullable=False, server_default="thin")
        )
        batch_op.add_column(
            sa.Column(
                "include_health_data", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )
    # Deliveries made before this migration were made under their endpoint's current policy
    # (as far as anyone can know now); pending ones keep being sent as they would have been.
    op.execute(
        "UPDATE webhookdelivery SET "
        "payload_mode = (SELECT e.payload_mode FROM webhookendpoint e"
        " WHERE e.id = webhookdelivery.endpoint_id), "
        "include_health_data = (SELECT e.include_health_data FROM webhookendpoint e"
        " WHERE e.id = webhookdelivery.endpoint_id)"
    )


def downgrade() -> None:
    with op.batch_alter_table("webhookdelivery") as batch_op:
        batch_op.drop_column("include_health_data")
        batch_op.drop_column("payload_mode")
