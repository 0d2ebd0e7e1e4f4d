"""Idempotency-Key fingerprints become keyed (HMAC under a subkey of CLINIC_DATA_KEY): the
unkeyed SHA-256 fingerprints stored so far are deleted, since the database alone let anyone
test guessed names and emails against them. A client retrying across this upgrade with a key
from before it is taken for a new request.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 10:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(sa.text("DELETE FROM idempotencyrecord"))


def downgrade() -> None:
    # Keyed fingerprints cannot be turned back into unkeyed ones; the records simply go.
    op.execute(sa.text("DELETE FROM idempotencyrecord"))
