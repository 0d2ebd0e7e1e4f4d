"""An article's editorial content: what a content file and `POST/PUT /v1/admin/articles` both
say. One model, so that a file and a request are checked by the same rules and hash alike."""

import uuid
from datetime import UTC, date, datetime
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from schemas.common import WHOLE_NUMBER, PageMeta
from schemas.reviewers import ReviewerPublic
from schemas.text import HTTP_URL_PATTERN, Day, Instant, Line, Lines, SchemaPattern
from schemas.vocabulary import (
    LOCALE_PATTERN,
    ArticleSlug,
    ArticleStatus,
    DiffKind,
    DiffStatus,
    ReviewDecision,
    ReviewRole,
    RevisionSource,
    SectionKind,
    Slug,
)

MAX_SECTIONS = 40
MAX_REFERENCES = 100
MAX_SECTION_CHARS = 30_000

HttpUrlText = Annotated[
    str,
    StringConstraints(pattern=f"^{HTTP_URL_PATTERN}$", max_length=500),
    SchemaPattern(f"^{HTTP_URL_PATTERN}$"),
]
# Where a button leads: an absolute http(s) URL, or a path on the site ("/consultation?…").
_LINK = rf"^(?:{HTTP_URL_PATTERN}|/(?:[\x21-\x2e\x30-\x7e][\x21-\x7e]*)?)$"
LinkText = Annotated[str, StringConstraints(pattern=_LINK, max_length=500), SchemaPattern(_LINK)]


class Strict(BaseModel):
    """Unknown fields are refused and surrounding whitespace is dropped, in files and bodies."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class SectionContent(Strict):
    """One section: a key unique in the article, its kind, heading and Markdown."""

    key: Slug
    heading: Line = Field(min_length=1, max_length=200)
    kind: SectionKind
    markdown: Lines = Field(
        min_length=1,
        max_length=MAX_SECTION_CHARS,
        description="CommonMark; raw HTML is sanitised. Cite a reference as `[@id]`.",
    )


class ReferenceContent(Strict):
    """A source an article cites: a study by DOI or PMID, or an authority's page by URL."""

    id: Slug
    authors: Line = Field(min_length=1, max_length=500)
    title: Line = Field(min_length=1, max_length=500)
    publisher: Line = Field(min_length=1, max_length=200)
    year: Annotated[int, Field(strict=True, ge=1800, le=2100), WHOLE_NUMBER] | None = None
    doi: str | None = Field(default=None, pattern=r"^10\.\d{4,9}/[\x21-\x7e]+$", max_length=200)
    pmid: str | None = Field(default=None, pattern=r"^\d{1,9}$")
    url: HttpUrlText | None = None
    accessed: Day | None = Field(
        default=None, description="When a page cited by URL was read (a page can change)."
    )

    @model_validator(mode="after")
    def _identified(self) -> "ReferenceContent":
        if not (self.doi or self.pmid or self.url):
            raise ValueError("a reference needs a doi, a pmid or a url")
        return self


class SeoContent(Strict):
    """SEO words; the page's og:image and alternates are derived."""

    meta_title: Line | None = Field(default=None, max_length=200)
    meta_description: Line | None = Field(default=None, max_length=320)
    canonical_url: HttpUrlText | None = None


class CallToActionContent(Strict):
    """What the article asks the reader to do next."""

    heading: Line = Field(min_length=1, max_length=200)
    text: Lines = Field(min_length=1, max_length=1000)
    button_label: Line = Field(min_length=1, max_length=80)
    url: LinkText = Field(description="An absolute http(s) URL or a path on the site.")


class ArticleContent(Strict):
    """Everything a reviewer signs off: the words, the references, the tags and the links.
    Status, dates and review records are not content; they are what happens to it."""

    slug: ArticleSlug
    locale: str = Field(default="en", pattern=LOCALE_PATTERN)
    translation_of: ArticleSlug | None = Field(
        default=None,
        description="The slug of the original this article translates (its translation group).",
    )
    title: Line = Field(min_length=1, max_length=200)
    summary: Lines = Field(min_length=1, max_length=1000)
    therapies: list[Slug] = Field(min_length=1, max_length=10)
    conditions: list[Slug] = Field(default_factory=list, max_length=20)
    call_to_action: CallToActionContent | None = None
    seo: SeoContent = Field(default_factory=SeoContent)
    references: list[ReferenceContent] = Field(default_factory=list, max_length=MAX_REFERENCES)
    sections: list[SectionContent] = Field(min_length=1, max_length=MAX_SECTIONS)

    @property
    def translation_group(self) -> str:
        """The key its translations share: the original's slug."""
        return self.translation_of or self.slug


class ArticleWrite(ArticleContent):
    """An article as an editor writes it: `POST` makes revision 1 of a draft, `PUT` the next
    revision. The same rules as a content file apply, with the same messages."""

    hero_media_id: uuid.UUID | None = Field(
        default=None,
        description="The hero image: an `id` from `POST /v1/admin/media` (its alt text, caption "
        "and credit come with it). None: no hero image.",
    )


class ScheduledPublish(BaseModel):
    """A publish waiting for its time."""

    revision: int
    at: datetime


class ReviewRecord(BaseModel):
    """A reviewer's decision on one revision, bound to its content hash. Never deleted."""

    id: uuid.UUID
    article_id: uuid.UUID
    revision: int
    content_hash: str
    decision: ReviewDecision
    role: ReviewRole = Field(description="What the decision vouches for.")
    reviewer: ReviewerPublic
    decided_at: datetime
    next_review_due: date | None
    note: str | None


class ArticleAdminSummary(BaseModel):
    """An article in the editorial list, in any state."""

    id: uuid.UUID
    slug: str
    locale: str
    title: str = Field(description="The newest revision's title.")
    status: ArticleStatus
    revision: int = Field(description="The newest revision.")
    published_revision: int | None = Field(description="The revision the public sees, if any.")
    updated_at: datetime
    published_at: datetime | None
    scheduled: ScheduledPublish | None


class ArticleAdmin(ArticleAdminSummary):
    """An article as editors and reviewers see it: its newest revision's content, how that
    revision was reviewed, and what publishing it still needs."""

    content: ArticleWrite = Field(description="The newest revision, as a `PUT` would send it.")
    content_hash: str = Field(description="sha256 of the newest revision: what approvals bind.")
    hero_image: dict[str, Any] | None
    reviews: list[ReviewRecord] = Field(description="Decisions on the newest revision.")
    unmet_requirements: list[str] = Field(
        description="What publishing the newest revision would still need (empty: ready)."
    )


class ArticleAdminList(BaseModel):
    """A page of articles in any state."""

    items: list[ArticleAdminSummary]
    meta: PageMeta


class RevisionSummary(BaseModel):
    """One revision in an article's history."""

    revision: int
    content_hash: str
    source: RevisionSource
    author_key_id: uuid.UUID | None
    created_at: datetime
    title: str
    approved: bool = Field(description="Whether a reviewer's approval names this content.")


class RevisionList(BaseModel):
    """An article's revisions, newest first."""

    items: list[RevisionSummary]


class RevisionPublic(RevisionSummary):
    """One revision, whole."""

    content: ArticleContent
    hero_image: dict[str, Any] | None


class DiffEntry(BaseModel):
    """What changed in one section (by key) or one other field, as a unified diff."""

    kind: DiffKind
    key: str
    status: DiffStatus
    diff: str


class RevisionDiff(BaseModel):
    """How revision `revision` differs from revision `against`."""

    revision: int
    against: int
    changes: list[DiffEntry]


class ApprovalCreate(Strict):
    """A reviewer's approval of one revision."""

    role: ReviewRole = Field(
        default=ReviewRole.MEDICAL,
        description="`medical` (the default) vouches for the content; `translation`, that a "
        "translation says what the article it translates says (a translation needs both).",
    )
    next_review_due: date | None = Field(
        default=None, description="When the article must be reviewed again (default: 6 months)."
    )
    note: Lines | None = Field(default=None, max_length=2000)

    @field_validator("next_review_due")
    @classmethod
    def _ahead(cls, value: date | None) -> date | None:
        today = datetime.now(UTC).date()
        if value is not None and not today < value <= date(today.year + 5, today.month, 28):
            raise ValueError("must be after today and within five years")
        return value


class RejectionCreate(Strict):
    """A reviewer's request for changes to one revision."""

    note: Lines = Field(min_length=1, max_length=2000, description="What must change.")
    role: ReviewRole = Field(
        default=ReviewRole.MEDICAL,
        description="Which review asks for the changes: it withdraws that role's approvals.",
    )


class PublishRequest(Strict):
    """Which revision to publish, and when (now if `at` is absent or past)."""

    revision: Annotated[int, Field(strict=True, ge=1, le=2_147_483_647), WHOLE_NUMBER]
    at: Instant | None = Field(default=None, description="RFC 3339, e.g. a future time.")
