"""The public change feed, and its horizon in the content state; published content that
exists already is entered once, so a client replaying the feed from scratch sees it.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30 02:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "contentchange",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            sa.Identity(),
            nullable=False,
        ),
        sa.Column("type", sa.String(length=40), nullable=False),
        sa.Column("article_id", sa.Uuid(), nullable=True),
        sa.Column("slug", sa.String(length=120), nullable=False),
        sa.Column("locale", sa.String(length=10), nullable=True),
        sa.Column("revision", sa.Integer(), nullable=True),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_contentchange_changed_at", "contentchange", ["changed_at"])
    with op.batch_alter_table("contentstate") as batch_op:
        batch_op.add_column(
            sa.Column("changes_pruned_through", sa.BigInteger(), nullable=False, server_default="0")
        )
    # What is public now, in the order it was published: therapies, conditions, disclaimers,
    # then articles.
    op.execute(
        "INSERT INTO contentchange (type, slug, changed_at)"
        " SELECT 'therapy.changed', slug, CURRENT_TIMESTAMP FROM therapy ORDER BY slug"
    )
    op.execute(
        "INSERT INTO contentchange (type, slug, changed_at)"
        " SELECT 'condition.changed', slug, CURRENT_TIMESTAMP FROM condition ORDER BY slug"
    )
    op.execute(
        "INSERT INTO contentchange (type, slug, changed_at)"
        " SELECT 'disclaimer.changed', key, CURRENT_TIMESTAMP FROM disclaimer"
        " WHERE active ORDER BY key"
    )
    op.execute(
        "INSERT INTO contentchange (type, article_id, slug, locale, revision, changed_at)"
        " SELECT 'article.published', id, slug, locale, revision, CURRENT_TIMESTAMP"
        " FROM article WHERE status = 'published' ORDER BY published_at, slug, locale"
    )


def downgrade() -> None:
    with op.batch_alter_table("contentstate") as batch_op:
        batch_op.drop_column("changes_pruned_through")
    op.drop_index("ix_contentchange_changed_at", table_name="contentchange")
    op.drop_table("contentchange")
