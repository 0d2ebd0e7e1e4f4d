"""Hero images and translations: stored renditions, an article's translation group and hero
image, a therapy's hero image, and disclaimers and consent texts per locale.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30 02:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "mediarendition",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("source_sha256", sa.String(length=64), nullable=False),
        sa.Column("recipe", sa.String(length=20), nullable=False),
        sa.Column("mime_type", sa.String(length=40), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("dominant_color", sa.String(length=7), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    with op.batch_alter_table("mediarendition") as batch_op:
        batch_op.create_index("ix_mediarendition_source_sha256", ["source_sha256"])

    with op.batch_alter_table("article") as batch_op:
        batch_op.add_column(sa.Column("translation_group", sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column("hero_image", sa.JSON(), nullable=True))
    op.execute("UPDATE article SET translation_group = slug")
    with op.batch_alter_table("article") as batch_op:
        batch_op.alter_column(
            "translation_group", existing_type=sa.String(length=120), nullable=False
        )
        batch_op.create_index("ix_article_translation_group", ["translation_group"])

    with op.batch_alter_table("therapy") as batch_op:
        batch_op.add_column(sa.Column("hero_image", sa.JSON(), nullable=True))

    with op.batch_alter_table("disclaimer") as batch_op:
        batch_op.add_column(
            sa.Column("locale", sa.String(length=10), nullable=False, server_default="en")
        )
        batch_op.drop_constraint("uq_disclaimer_key_version", type_="unique")
        batch_op.create_unique_constraint(
            "uq_disclaimer_key_locale_version", ["key", "locale", "version"]
        )

    with op.batch_alter_table("consenttext") as batch_op:
        batch_op.add_column(
            sa.Column("locale", sa.String(length=10), nullable=False, server_default="en")
        )
        batch_op.drop_index("ix_consenttext_version")
        batch_op.create_index("ix_consenttext_version", ["version"], unique=False)
        batch_op.create_unique_constraint("uq_consent_version_locale", ["version", "locale"])


def downgrade() -> None:
    with op.batch_alter_table("consenttext") as batch_op:
        batch_op.drop_constraint("uq_consent_version_locale", type_="unique")
        batch_op.drop_index("ix_consenttext_version")
    op.execute("DELETE FROM consenttext WHERE locale <> 'en'")
    with op.batch_alter_table("consenttext") as batch_op:
        batch_op.create_index("ix_consenttext_version", ["version"], unique=True)
        batch_op.drop_column("locale")

    op.execute("DELETE FROM disclaimer WHERE locale <> 'en'")
    with op.batch_alter_table("disclaimer") as batch_op:
        batch_op.drop_constraint("uq_disclaimer_key_locale_version", type_="unique")
        batch_op.create_unique_constraint("uq_disclaimer_key_version", ["key", "version"])
        batch_op.drop_column("locale")

    with op.batch_alter_table("therapy") as batch_op:
        batch_op.drop_column("hero_image")
    with op.batch_alter_table("article") as batch_op:
        batch_op.drop_index("ix_article_translation_group")
        batch_op.drop_column("hero_image")
        batch_op.drop_column("translation_group")

    op.drop_table("mediarendition")
