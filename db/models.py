"""SQLModel table models: what the database holds. Never returned to clients as-is."""

import uuid
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, Integer, LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """`value` as an aware UTC time (SQLite hands stored times back without their zone)."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


class Therapy(SQLModel, table=True):
    """A therapy the clinic offers (taxonomy)."""

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(max_length=80, unique=True, index=True)
    name: str = Field(max_length=200)
    description: str
    regulatory_status: str = Field(max_length=20)
    regulatory_note: str
    # The stored hero image (services.content.media.store): names, sizes, alt text; None: no image.
    hero_image: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    # {locale: {"name", "description", "regulatory_note"}} in other locales
    # (services.content.term_words).
    translations: dict[str, dict[str, str]] = Field(
        default_factory=dict, sa_column=Column(JSON, nullable=False)
    )


class Condition(SQLModel, table=True):
    """A condition the articles discuss (taxonomy)."""

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(max_length=80, unique=True, index=True)
    name: str = Field(max_length=200)
    description: str
    crisis_risk: bool
    # {locale: {"name", "description"}} in other locales (services.content.term_words).
    translations: dict[str, dict[str, str]] = Field(
        default_factory=dict, sa_column=Column(JSON, nullable=False)
    )
    # Words that show an article discusses it, checked against every article that is published:
    # {"*": in any locale, locale: in that locale's articles} (services.content.policy_terms).
    keywords: dict[str, list[str]] = Field(
        default_factory=dict, sa_column=Column(JSON, nullable=False, server_default="{}")
    )


class Disclaimer(SQLModel, table=True):
    """One version of a disclaimer; new text makes a new version, old ones are kept."""

    __table_args__ = (
        UniqueConstraint("key", "locale", "version", name="uq_disclaimer_key_locale_version"),
    )

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=80, index=True)
    # Each locale's text is versioned on its own; an article carries its own locale's.
    locale: str = Field(default="en", max_length=10)
    version: int
    title: str = Field(max_length=200)
    text: str
    placement: str = Field(max_length=10)
    applies_to: str = Field(max_length=20)
    rule_slugs: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    active: bool = Field(default=True, index=True)
    created_at: datetime = Field(default_factory=utcnow)


class ArticleTherapy(SQLModel, table=True):
    """Link: an article is about a therapy."""

    article_id: uuid.UUID = Field(foreign_key="article.id", primary_key=True, ondelete="CASCADE")
    therapy_id: int = Field(foreign_key="therapy.id", primary_key=True, index=True)


class ArticleCondition(SQLModel, table=True):
    """Link: an article discusses a condition."""

    article_id: uuid.UUID = Field(foreign_key="article.id", primary_key=True, ondelete="CASCADE")
    condition_id: int = Field(foreign_key="condition.id", primary_key=True, index=True)


class Article(SQLModel, table=True):
    """A therapy article; public only while published."""

    __table_args__ = (
        UniqueConstraint("slug", "locale", name="uq_article_slug_locale"),
        Index("ix_article_status_published_at", "status", "published_at"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    slug: str = Field(max_length=120)
    locale: str = Field(max_length=10)
    # Translations of one article share it: the slug of the original (`translation_of`).
    translation_group: str = Field(max_length=120, index=True)
    title: str = Field(max_length=200)
    summary: str
    status: str = Field(max_length=20)
    hero_image: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    call_to_action: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    reviewer: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    # Every sign-off that stands for the published content (schemas.articles.ReviewSignoff).
    review_signoffs: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False, server_default="[]")
    )
    reviewed_at: date | None = None
    next_review_due: date | None = None
    seo_meta_title: str | None = Field(default=None, max_length=200)
    seo_meta_description: str | None = Field(default=None, max_length=320)
    canonical_url: str | None = Field(default=None, max_length=500)
    references: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    published_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    # The revision the row holds (what is public, or the draft a preview shows) ...
    revision: int = 1
    # ... and the newest revision written: ahead of `revision` while an edit of a published
    # article waits for review (services.content.editorial).
    latest_revision: int = 1
    content_hash: str = Field(max_length=64)
    # The file the import last wrote it from; "" once written over HTTP (created, edited,
    # published or taken down): an import then leaves it alone unless the file has content the
    # article never had (services.content.importer).
    source_path: str = Field(max_length=300)
    # The approval (db.editorial_models.ArticleReview) of the published revision.
    approval_id: uuid.UUID | None = None
    # A publish waiting for its time: which revision, when, and which key asked.
    scheduled_revision: int | None = None
    scheduled_at: datetime | None = Field(default=None, index=True)
    scheduled_by: uuid.UUID | None = None


class ArticleSection(SQLModel, table=True):
    """One ordered section of an article, rendered and sanitized at import."""

    __table_args__ = (UniqueConstraint("article_id", "key", name="uq_section_article_key"),)

    id: int | None = Field(default=None, primary_key=True)
    article_id: uuid.UUID = Field(foreign_key="article.id", index=True, ondelete="CASCADE")
    position: int
    key: str = Field(max_length=80)
    heading: str = Field(max_length=200)
    kind: str = Field(max_length=40)
    markdown: str
    html: str
    text: str
    citations: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))


class ArticleRevision(SQLModel, table=True):
    """One revision of an article's content, as imported or written over HTTP; never changed
    afterwards. Approvals name its content hash."""

    __table_args__ = (UniqueConstraint("article_id", "revision", name="uq_revision_article"),)

    id: int | None = Field(default=None, primary_key=True)
    article_id: uuid.UUID = Field(foreign_key="article.id", index=True, ondelete="CASCADE")
    revision: int
    status: str = Field(max_length=20)
    snapshot: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)
    # sha256 of the editorial content (services.content.revisions); "" before migration 0017.
    content_hash: str = Field(default="", max_length=64)
    source: str = Field(default="import", max_length=10)  # "import" or "http"
    author_key_id: uuid.UUID | None = None  # the API key that wrote it over HTTP


class MediaRendition(SQLModel, table=True):
    """One rendition of a hero image, named by the hash of its bytes; stored here so that every
    API process can serve it, whichever process imported the content."""

    name: str = Field(max_length=200, primary_key=True)
    source_sha256: str = Field(max_length=64, index=True)
    recipe: str = Field(max_length=20)
    mime_type: str = Field(max_length=40)
    width: int
    height: int
    dominant_color: str = Field(max_length=7)
    size: int
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)
    # Since when no article or therapy names it (services.content.media.collect); None while
    # one does.
    orphaned_at: datetime | None = None


class MediaAsset(SQLModel, table=True):
    """A source image, kept whole (an upload without its metadata, or a content folder's file as
    it was), so that renditions can be made again and an export writes the same bytes back."""

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    sha256: str = Field(max_length=64, unique=True)
    file_name: str = Field(max_length=120)
    mime_type: str = Field(max_length=40)
    width: int
    height: int
    size: int
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    # The words an upload came with (a content folder's files carry theirs per use).
    alt: str | None = Field(default=None, max_length=300)
    caption: str | None = Field(default=None, max_length=500)
    credit: str | None = Field(default=None, max_length=200)
    source: str = Field(max_length=10)  # "import" or "http" (RevisionSource)
    api_key_id: uuid.UUID | None = None  # who uploaded it
    created_at: datetime = Field(default_factory=utcnow, index=True)


class ContentState(SQLModel, table=True):
    """One row whose version goes up whenever published content or disclaimers change;
    processes compare it to know when their cached responses are stale."""

    id: int = Field(default=1, primary_key=True)
    version: int = 0
    changed_at: datetime = Field(default_factory=utcnow)
    # The change feed's horizon: entries up to this id were pruned, so older cursors are gone.
    changes_pruned_through: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))


# 64-bit on PostgreSQL; SQLite's INTEGER PRIMARY KEY is 64-bit already (and AUTOINCREMENT
# wants exactly that type).
FEED_ID = BigInteger().with_variant(Integer(), "sqlite")


class ContentChange(SQLModel, table=True):
    """One entry of the public change feed, written in the transaction of the change. Ids only
    grow and are never reused (AUTOINCREMENT on SQLite, an identity on PostgreSQL)."""

    __table_args__ = ({"sqlite_autoincrement": True},)

    id: int | None = Field(
        default=None,
        sa_column=Column(FEED_ID, primary_key=True, autoincrement=True),
    )
    type: str = Field(max_length=40)
    article_id: uuid.UUID | None = None
    slug: str = Field(max_length=120)
    locale: str | None = Field(default=None, max_length=10)
    revision: int | None = None
    changed_at: datetime = Field(default_factory=utcnow, index=True)
