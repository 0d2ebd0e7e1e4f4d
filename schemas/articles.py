"""Articles as clients see them: summaries in lists, the whole article by slug."""

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, Field

from schemas.common import PageLinks, PageMeta
from schemas.media import HeroImage, OgImage
from schemas.taxonomy import DisclaimerRefGroups, DisclaimerTextGroups, TermRef
from schemas.vocabulary import SectionKind


class SectionPublic(BaseModel):
    """One ordered section; `key` is its stable anchor."""

    key: str = Field(examples=["memory-consolidation"])
    heading: str = Field(examples=["Memory consolidation"])
    kind: SectionKind
    markdown: str = Field(description="The section body as authored (Markdown).")
    html: str = Field(
        description="The body rendered to HTML and sanitized; safe to inject. Citations are "
        "numbered links to `#ref-<id>`."
    )
    text: str = Field(description="The body as plain text.")
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


class MedicalReview(BaseModel):
    """Who reviewed the article medically and when it is due again."""

    reviewer: Reviewer | None
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


class ArticleSummary(ArticleBase):
    """An article in a list: no section bodies, disclaimers without their text."""

    disclaimers: DisclaimerRefGroups


class ArticlePublic(ArticleBase):
    """A whole published article with its ordered sections and required disclaimers."""

    sections: list[SectionPublic]
    references: list[Reference]
    json_ld: dict[str, Any] = Field(description="schema.org MedicalWebPage for the page head.")
    disclaimers: DisclaimerTextGroups


class ArticleRef(BaseModel):
    """The article a section belongs to."""

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


class ArticleList(BaseModel):
    """A page of article summaries."""

    locale: str = Field(examples=["en"], description="The locale the list was filtered by.")
    data: list[ArticleSummary]
    meta: PageMeta
    links: PageLinks
