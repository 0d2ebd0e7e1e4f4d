"""Therapies, conditions and disclaimers as clients see them."""

from typing import Generic, TypeVar

from pydantic import BaseModel, Field

from schemas.media import HeroImage
from schemas.vocabulary import Placement, RegulatoryStatus, RuleScope


class TermRef(BaseModel):
    """A taxonomy term referenced from an article."""

    slug: str = Field(examples=["iv-ketamine"])
    name: str = Field(examples=["IV ketamine infusion therapy"])


class TherapyPublic(BaseModel):
    """A therapy the clinic offers."""

    slug: str = Field(examples=["iv-ketamine"])
    name: str
    description: str
    regulatory_status: RegulatoryStatus = Field(
        description="What the FDA says of this therapy; decides the warnings its articles carry."
    )
    regulatory_note: str = Field(description="The regulatory status explained.")
    hero_image: HeroImage | None


class ConditionPublic(BaseModel):
    """A condition the articles discuss."""

    slug: str = Field(examples=["ptsd"])
    name: str
    description: str
    crisis_risk: bool = Field(description="Articles about this condition carry crisis resources.")


class DisclaimerRef(BaseModel):
    """A disclaimer an article carries, without its text (list views)."""

    key: str = Field(examples=["fda-off-label"])
    version: int = Field(ge=1, examples=[1])
    title: str
    placement: Placement


class DisclaimerPublic(DisclaimerRef):
    """A disclaimer with the text a reader must be shown."""

    text: str


class DisclaimerRule(BaseModel):
    """Which articles a disclaimer applies to."""

    applies_to: RuleScope
    slugs: list[str] = Field(description="Therapy or condition slugs; empty for `all`.")


class DisclaimerWithRule(DisclaimerPublic):
    """A current disclaimer with the rule that attaches it to articles."""

    locale: str = Field(examples=["en"])
    rule: DisclaimerRule


D = TypeVar("D", bound=DisclaimerRef)


class DisclaimerGroups(BaseModel, Generic[D]):
    """Disclaimers grouped by where the page must show them."""

    top: list[D]
    bottom: list[D]


class DisclaimerRefGroups(DisclaimerGroups[DisclaimerRef]):
    """Disclaimers without their text, grouped by where the page must show them."""


class DisclaimerTextGroups(DisclaimerGroups[DisclaimerPublic]):
    """Disclaimers with the text a reader must be shown, grouped by where the page shows them."""


class ArticleLink(BaseModel):
    """A pointer to a published article, with the disclaimers it carries (without text)."""

    slug: str
    locale: str
    title: str
    summary: str
    disclaimers: DisclaimerRefGroups


class TherapyDetail(TherapyPublic):
    """A therapy with its published articles."""

    articles: list[ArticleLink]


class ConditionDetail(ConditionPublic):
    """A condition with its published articles."""

    articles: list[ArticleLink]


class TherapyList(BaseModel):
    """Every therapy."""

    data: list[TherapyPublic]


class ConditionList(BaseModel):
    """Every condition."""

    data: list[ConditionPublic]


class DisclaimerList(BaseModel):
    """Every current disclaimer in one locale with its rule."""

    locale: str = Field(examples=["en"])
    data: list[DisclaimerWithRule]
