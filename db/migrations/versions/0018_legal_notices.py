"""What the clinic's lawyer and medical editor asked for: a lead records that the person
confirmed they are an adult, a consent version carries its emergency notice, the privacy notice
is kept as versioned legal text (one row per version and locale, like disclaimers), a review
decision says what it vouches for (the medical content, or a translation), and an article
keeps every sign-off that stands for its published content.

Additive: older processes keep working beside it (they neither read nor write the new columns;
a lead they store has no age confirmation, as leads before this had none, and a review they
record is medical). A downgrade deletes the translation reviews, which an older release would
count as medical approvals; the audit log keeps their record.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 19:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("consultationrequest") as batch_op:
        batch_op.add_column(sa.Column("consent_age_confirmed", sa.Boolean(), nullable=True))
    with op.batch_alter_table("consenttext") as batch_op:
        batch_op.add_column(sa.Column("age_text", sa.String(), nullable=True))
        batch_op.add_column(sa.Column("emergency_notice", sa.String(), nullable=True))
    with op.batch_alter_table("articlereview") as batch_op:
        batch_op.add_column(
            sa.Column("role", sa.String(length=20), nullable=False, server_default="medical")
        )
    with op.batch_alter_table("article") as batch_op:
        batch_op.add_column(
            sa.Column("review_signoffs", sa.JSON(), nullable=False, server_default="[]")
        )
    op.create_table(
        "legaldocument",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=80), nullable=False),
        sa.Column("locale", sa.String(length=10), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("effective", sa.Date(), nullable=False),
        sa.Column("markdown", sa.String(), nullable=False),
        sa.Column("current", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key", "locale", "version", name="uq_legaldocument_key_locale_version"),
    )
    op.create_index("ix_legaldocument_key", "legaldocument", ["key"])


def downgrade() -> None:
    # An older release reads every review as medical: a translation review would count as a
    # medical sign-off there, so it goes (the audit log keeps the record of it).
    op.execute("DELETE FROM articlereview WHERE role = 'translation'")
    op.drop_index("ix_legaldocument_key", table_name="legaldocument")
    op.drop_table("legaldocument")
    with op.batch_alter_table("article") as batch_op:
        batch_op.drop_column("review_signoffs")
    with op.batch_alter_table("articlereview") as batch_op:
        batch_op.drop_column("role")
    with op.batch_alter_table("consenttext") as batch_op:
        batch_op.drop_column("emergency_notice")
        batch_op.drop_column("age_text")
    with op.batch_alter_table("consultationrequest") as batch_op:
        batch_op.drop_column("consent_age_confirmed")
