"""Articles as clients see them: summaries in lists, the whole article by slug."""

import uuid
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from schemas.common import PageLinks, PageMeta
from schemas.media import HeroImage, OgImage
from schemas.taxonomy import DisclaimerRefGroups, DisclaimerTextGroups, TermRef
from schemas.vocabulary import BodyForm, ReviewRole, SectionKind


def _optional(*names: str) -> Callable[[dict[str, Any]], None]:
    """A JSON-schema hook stating that these fields may be left out (as `format=` and
    `fields=` leave them out), while the model still requires them when it is built."""

    def hook(schema: dict[str, Any]) -> None:
        required = [n for n in schema.get("required", []) if n not in names]
        if required:
            schema["required"] = required
        else:
            schema.pop("required", None)

    return hook


_ONLY_IF_ASKED = " Present unless `format` names another form (every form by default)."


class SectionPublic(BaseModel):
    """One ordered section; `key` is its stable anchor."""

    model_config = ConfigDict(json_schema_extra=_optional(*BodyForm))

    key: str = Field(examples=["memory-consolidation"])
    heading: str = Field(examples=["Memory consolidation"])
    kind: SectionKind
    markdown: str = Field(description="The section body as authored (Markdown)." + _ONLY_IF_ASKED)
    html: str = Field(
        description="The body rendered to HTML and sanitized; safe to inject. Citations are "
        "numbered links to `#ref-<id>`." + _ONLY_IF_ASKED
    )
    text: str = Field(description="The body as plain text." + _ONLY_IF_ASKED)
    citations: list[str] = Field(
        default_factory=list, description="Ids of the references this section cites, in order."
    )


class Reference(BaseModel):
    """A source the article cites: a study (DOI, PMID) or an authority's page (URL)."""

    id: str = Field(examples=["feder2014"])
    number: int = Field(ge=1, description="Its number in citations like `[1]`.")
    authors: str
    title: str
    publisher: str = Field(description="The journal, or the publishing authority.")
    year: int | None
    doi: str | None = Field(examples=["10.1001/jamapsychiatry.2014.62"])
    pmid: str | None = Field(examples=["24740528"])
    url: str = Field(description="Where to read it: the DOI link, PubMed, or the page itself.")
    accessed: date | None = Field(
        default=None, description="When a page cited by URL was read; null for a study."
    )


class CallToAction(BaseModel):
    """What the article asks the reader to do next."""

    heading: str
    text: str
    button_label: str
    url: str = Field(description="Where the button leads (a URL or an app route).")


class Reviewer(BaseModel):
    """The clinician who reviewed an article medically."""

    name: str
    credentials: str = Field(examples=["MD"])
    specialty: str = Field(examples=["Psychiatry"])
    profile_url: str | None
    placeholder: bool = Field(description="True for demo content: not a real reviewer.")


class ReviewSignoff(BaseModel):
    """One reviewer's sign-off of the published content."""

    role: ReviewRole = Field(
        description="`medical`: the content; `translation`: a translation's faithfulness."
    )
    reviewer: Reviewer
    reviewed_at: date


class MedicalReview(BaseModel):
    """Who reviewed the article medically and when it is due again."""

    reviewer: Reviewer | None = Field(description="The newest medical approver.")
    reviewers: list[ReviewSignoff] = Field(
        default_factory=list,
        description="Every sign-off that stands for this content, oldest first: each medical "
        "reviewer (an article may need more than one specialty) and, for a translation, its "
        "translation reviewer.",
    )
    reviewed_at: date | None
    next_review_due: date | None
    review_overdue: bool = Field(description="True once `next_review_due` has passed.")


class Alternate(BaseModel):
    """A `<link rel="alternate" hreflang href>` for the page head."""

    hreflang: str = Field(examples=["es"], description="A locale, or `x-default`.")
    href: str = Field(description="The canonical URL of the page in that language.")


class Seo(BaseModel):
    """Search-engine metadata."""

    meta_title: str | None
    meta_description: str | None
    canonical_url: str | None
    og_image: OgImage | None = Field(description="For `og:image`; None without a hero image.")
    alternates: list[Alternate] = Field(
        description="hreflang alternates: every published translation with a canonical URL "
        "(this page included) and `x-default` (the default locale's); empty when it has none."
    )


class Translation(BaseModel):
    """A published version of the same article in one locale."""

    locale: str = Field(examples=["es"])
    slug: str = Field(examples=["ketamina-intravenosa-para-tept"])
    url: str = Field(
        examples=["/v1/articles/ketamina-intravenosa-para-tept?locale=es"],
        description="Where this API serves it.",
    )


class ArticleBase(BaseModel):
    """Fields that list items and whole articles share."""

    id: uuid.UUID = Field(
        description="The article's stable id: one article in one locale, never reused. The "
        "change feed names articles by it."
    )
    slug: str = Field(examples=["iv-ketamine-for-ptsd"])
    locale: str = Field(examples=["en"])
    title: str
    summary: str
    therapies: list[TermRef]
    conditions: list[TermRef]
    call_to_action: CallToAction | None
    medical_review: MedicalReview
    seo: Seo
    hero_image: HeroImage | None
    translations: list[Translation] = Field(
        description="Every published locale of this article, this one included, by locale: "
        "what a language switcher needs."
    )
    published_at: datetime | None
    updated_at: datetime
    revision: int = Field(ge=1)


# Always in an article or a list item, whatever `fields=` or `exclude=` asks: what names it,
# and what it must carry (the required disclaimers are never left out).
ALWAYS_LISTED = ("id", "slug", "disclaimers")


class ArticleSummary(ArticleBase):
    """An article in a list: no section bodies, disclaimers without their text. With
    `fields=`, only `id`, `slug`, `disclaimers` and the fields named are present."""

    disclaimers: DisclaimerRefGroups
    snippet: str | None = Field(
        default=None,
        description=(
            "With `q`: a short extract around the matched words, HTML-escaped, the matches in"
            " `<mark>` (the only markup it holds)."
        ),
        examples=["… IV <mark>ketamine</mark> may help <mark>fear</mark> extinction …"],
    )


ArticleSummary.model_config["json_schema_extra"] = _optional(
    *(n for n in ArticleSummary.model_fields if n not in ALWAYS_LISTED)
)
ArticleSummary.model_rebuild(force=True)
SUMMARY_FIELDS = tuple(ArticleSummary.model_fields)


class ArticlePublic(ArticleBase):
    """A whole published article with its ordered sections and required disclaimers. With
    `fields=` or `exclude=`, only `id`, `slug`, `disclaimers` and the fields asked for are
    present."""

    sections: list[SectionPublic]
    references: list[Reference]
    json_ld: dict[str, Any] = Field(description="schema.org MedicalWebPage for the page head.")
    disclaimers: DisclaimerTextGroups


ArticlePublic.model_config["json_schema_extra"] = _optional(
    *(n for n in ArticlePublic.model_fields if n not in ALWAYS_LISTED)
)
ArticlePublic.model_rebuild(force=True)
ARTICLE_FIELDS = tuple(ArticlePublic.model_fields)


class ArticleRef(BaseModel):
    """The article a section belongs to."""

    id: uuid.UUID
    slug: str
    locale: str
    title: str
    revision: int


class SectionWithContext(SectionPublic):
    """One section served alone: with its article, the references it cites, and the
    disclaimers of the whole article (grouped as on the article), which must be shown with it."""

    article: ArticleRef
    references: list[Reference]
    disclaimers: DisclaimerTextGroups


class ArticleListMeta(PageMeta):
    """Where the page sits, and where the change feed stood when it was read."""

    changes_cursor: str = Field(
        description="The change feed's position before this page was read: after a full "
        "sync, follow `GET /v1/changes?since=` from the first page's value."
    )


class ArticleList(BaseModel):
    """A page of article summaries."""

    locale: str = Field(examples=["en"], description="The locale the list was filtered by.")
    data: list[ArticleSummary]
    meta: ArticleListMeta
    links: PageLinks
