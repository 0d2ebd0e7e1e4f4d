"""Tables of the editorial workflow: the clinicians who review articles and what they decided
about one exact revision. Decisions are appended, never edited or deleted."""

import uuid
from datetime import date, datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from db.models import utcnow


class Reviewer(SQLModel, table=True):
    """A clinician who may approve articles; the public `medical_review` names this record."""

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    name: str = Field(max_length=200)
    credentials: str = Field(max_length=100)  # "MD", "DO, MPH", "PharmD"
    specialty: str = Field(max_length=100)
    licence_state: str | None = Field(default=None, max_length=2)
    licence_number: str | None = Field(default=None, max_length=40)
    npi: str | None = Field(default=None, max_length=10, unique=True)
    profile_url: str | None = Field(default=None, max_length=500)
    # Demo records: production refuses to publish what only a placeholder approved.
    placeholder: bool = False
    created_at: datetime = Field(default_factory=utcnow)


class ArticleReview(SQLModel, table=True):
    """A reviewer's decision on one revision of an article, bound to that revision's content
    hash: an approval (with when the next review is due) or a request for changes."""

    __table_args__ = (
        Index("ix_articlereview_article_revision", "article_id", "revision"),
        Index("ix_articlereview_hash", "content_hash"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    article_id: uuid.UUID = Field(foreign_key="article.id")
    revision: int
    content_hash: str = Field(max_length=64)
    decision: str = Field(max_length=20)
    # schemas.vocabulary.ReviewRole; the server default lets a release without roles record a
    # (medical) review beside one with them.
    role: str = Field(
        default="medical", max_length=20, sa_column_kwargs={"server_default": "medical"}
    )
    reviewer_id: uuid.UUID = Field(foreign_key="reviewer.id", index=True)
    # The key that recorded it; None when it came from a content folder's approvals.
    api_key_id: uuid.UUID | None = None
    decided_at: datetime = Field(default_factory=utcnow)
    next_review_due: date | None = None
    note: str | None = Field(default=None, max_length=2000)
