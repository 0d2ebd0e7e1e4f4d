"""Compliance: regulatory status and crisis risk, structured reviewers, references and
citations, and the disclaimers a lead form reports it showed.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26 00:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

EMPTY_LIST = sa.text("'[]'")


def upgrade() -> None:
    # Until the next import sets them, existing rows get the cautious values: more warnings.
    with op.batch_alter_table("therapy") as batch_op:
        batch_op.add_column(
            sa.Column(
                "regulatory_status",
                sa.String(length=20),
                nullable=False,
                server_default="off_label",
            )
        )
    with op.batch_alter_table("condition") as batch_op:
        batch_op.add_column(
            sa.Column("crisis_risk", sa.Boolean(), nullable=False, server_default=sa.true())
        )
    with op.batch_alter_table("article") as batch_op:
        batch_op.drop_column("reviewer")
        batch_op.add_column(sa.Column("reviewer", sa.JSON(), nullable=True))
        batch_op.add_column(
            sa.Column("references", sa.JSON(), nullable=False, server_default=EMPTY_LIST)
        )
    # Every article is re-imported once, to fill the reviewer and references.
    op.execute("UPDATE article SET content_hash = ''")
    with op.batch_alter_table("articlesection") as batch_op:
        batch_op.add_column(
            sa.Column("citations", sa.JSON(), nullable=False, server_default=EMPTY_LIST)
        )
    with op.batch_alter_table("consultationrequest") as batch_op:
        batch_op.add_column(
            sa.Column("disclaimers_reported", sa.JSON(), nullable=False, server_default=EMPTY_LIST)
        )


def downgrade() -> None:
    with op.batch_alter_table("consultationrequest") as batch_op:
        batch_op.drop_column("disclaimers_reported")
    with op.batch_alter_table("articlesection") as batch_op:
        batch_op.drop_column("citations")
    with op.batch_alter_table("article") as batch_op:
        batch_op.drop_column("references")
        batch_op.drop_column("reviewer")
        batch_op.add_column(sa.Column("reviewer", sa.String(length=200), nullable=True))
    with op.batch_alter_table("condition") as batch_op:
        batch_op.drop_column("crisis_risk")
    with op.batch_alter_table("therapy") as batch_op:
        batch_op.drop_column("regulatory_status")
