"""The editorial workflow: the reviewer registry, review decisions bound to a revision's content
hash, API keys bound to a reviewer, revisions written over HTTP (their hash, source and author),
an article's newest revision beside the one it shows, scheduled publishing, source images kept
whole (uploads, and a folder's files), and the words that tie an article to a crisis-risk
condition (so that a draft written over HTTP is checked as a file is; the next import fills
them in).

Additive: older processes keep working beside it (they neither read nor write the new columns,
whose defaults are what they would mean). Revisions imported before it have an empty content
hash, so no approval can name them.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 16:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "reviewer",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("credentials", sa.String(length=100), nullable=False),
        sa.Column("specialty", sa.String(length=100), nullable=False),
        sa.Column("licence_state", sa.String(length=2), nullable=True),
        sa.Column("licence_number", sa.String(length=40), nullable=True),
        sa.Column("npi", sa.String(length=10), nullable=True),
        sa.Column("profile_url", sa.String(length=500), nullable=True),
        sa.Column("placeholder", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("npi"),
    )
    op.create_table(
        "articlereview",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("article_id", sa.Uuid(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("decision", sa.String(length=20), nullable=False),
        sa.Column("reviewer_id", sa.Uuid(), nullable=False),
        sa.Column("api_key_id", sa.Uuid(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_review_due", sa.Date(), nullable=True),
        sa.Column("note", sa.String(length=2000), nullable=True),
        sa.ForeignKeyConstraint(["article_id"], ["article.id"]),
        sa.ForeignKeyConstraint(["reviewer_id"], ["reviewer.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("articlereview") as batch_op:
        batch_op.create_index(
            "ix_articlereview_article_revision", ["article_id", "revision"], unique=False
        )
        batch_op.create_index("ix_articlereview_hash", ["content_hash"], unique=False)
        batch_op.create_index("ix_articlereview_reviewer_id", ["reviewer_id"], unique=False)
    op.create_table(
        "mediaasset",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("file_name", sa.String(length=120), nullable=False),
        sa.Column("mime_type", sa.String(length=40), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("alt", sa.String(length=300), nullable=True),
        sa.Column("caption", sa.String(length=500), nullable=True),
        sa.Column("credit", sa.String(length=200), nullable=True),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("api_key_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("sha256"),
    )
    with op.batch_alter_table("mediaasset") as batch_op:
        batch_op.create_index("ix_mediaasset_created_at", ["created_at"], unique=False)
    with op.batch_alter_table("apikey") as batch_op:
        batch_op.add_column(sa.Column("reviewer_id", sa.Uuid(), nullable=True))
        batch_op.create_foreign_key("fk_apikey_reviewer_id", "reviewer", ["reviewer_id"], ["id"])
    with op.batch_alter_table("article") as batch_op:
        batch_op.add_column(
            sa.Column("latest_revision", sa.Integer(), nullable=False, server_default="1")
        )
        batch_op.add_column(sa.Column("approval_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("scheduled_revision", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("scheduled_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("scheduled_by", sa.Uuid(), nullable=True))
        batch_op.create_index("ix_article_scheduled_at", ["scheduled_at"], unique=False)
    op.execute("UPDATE article SET latest_revision = revision")
    with op.batch_alter_table("article") as batch_op:
        batch_op.alter_column("latest_revision", server_default=None)
    with op.batch_alter_table("condition") as batch_op:
        batch_op.add_column(sa.Column("keywords", sa.JSON(), nullable=False, server_default="{}"))
    with op.batch_alter_table("articlerevision") as batch_op:
        batch_op.add_column(
            sa.Column("content_hash", sa.String(length=64), nullable=False, server_default="")
        )
        batch_op.add_column(
            sa.Column("source", sa.String(length=10), nullable=False, server_default="import")
        )
        batch_op.add_column(sa.Column("author_key_id", sa.Uuid(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("condition") as batch_op:
        batch_op.drop_column("keywords")
    with op.batch_alter_table("articlerevision") as batch_op:
        batch_op.drop_column("author_key_id")
        batch_op.drop_column("source")
        batch_op.drop_column("content_hash")
    with op.batch_alter_table("article") as batch_op:
        batch_op.drop_index("ix_article_scheduled_at")
        batch_op.drop_column("scheduled_by")
        batch_op.drop_column("scheduled_at")
        batch_op.drop_column("scheduled_revision")
        batch_op.drop_column("approval_id")
        batch_op.drop_column("latest_revision")
    with op.batch_alter_table("apikey") as batch_op:
        batch_op.drop_constraint("fk_apikey_reviewer_id", type_="foreignkey")
        batch_op.drop_column("reviewer_id")
    op.drop_table("mediaasset")
    op.drop_table("articlereview")
    op.drop_table("reviewer")
