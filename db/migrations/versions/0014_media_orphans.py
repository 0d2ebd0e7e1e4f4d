"""When a hero image rendition stopped being used, so that old ones can go.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-30 08:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("mediarendition") as batch_op:
        batch_op.add_column(sa.Column("orphaned_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("mediarendition") as batch_op:
        batch_op.drop_column("orphaned_at")
