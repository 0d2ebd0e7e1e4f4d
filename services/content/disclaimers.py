"""Disclaimer rules: which disclaimers an article must carry. The one place they are resolved."""

from collections.abc import Iterable, Sequence

from sqlmodel import Session, col, select

from db.models import Disclaimer
from schemas.taxonomy import (
    DisclaimerPublic,
    DisclaimerRef,
    DisclaimerRefGroups,
    DisclaimerRule,
    DisclaimerTextGroups,
    DisclaimerWithRule,
)
from schemas.vocabulary import Placement, RuleScope


def rule_matches(
    applies_to: str, slugs: Iterable[str], therapies: Iterable[str], conditions: Iterable[str]
) -> bool:
    """Whether a disclaimer rule applies to an article with these therapies and conditions."""
    if applies_to == RuleScope.ALL:
        return True
    wanted = set(slugs)
    if applies_to == RuleScope.THERAPIES:
        return not wanted.isdisjoint(therapies)
    if applies_to == RuleScope.CONDITIONS:
        return not wanted.isdisjoint(conditions)
    raise ValueError(f"unknown disclaimer rule {applies_to!r}")


def active_disclaimers(*, session: Session) -> list[Disclaimer]:
    """The current version of every active disclaimer, in a stable order."""
    stmt = select(Disclaimer).where(col(Disclaimer.active)).order_by(col(Disclaimer.key))
    return list(session.exec(stmt))


def required_disclaimers(
    active: Sequence[Disclaimer], therapies: Iterable[str], conditions: Iterable[str]
) -> list[Disclaimer]:
    """The disclaimers an article with these therapies and conditions must show."""
    therapies, conditions = list(therapies), list(conditions)
    return [d for d in active if rule_matches(d.applies_to, d.rule_slugs, therapies, conditions)]


def _ref(d: Disclaimer) -> DisclaimerRef:
    return DisclaimerRef(key=d.key, version=d.version, title=d.title, placement=d.placement)


def _full(d: Disclaimer) -> DisclaimerPublic:
    return DisclaimerPublic(
        key=d.key,
        version=d.version,
        title=d.title,
        placement=d.placement,
        text=d.text,
    )


def group_refs(disclaimers: Sequence[Disclaimer]) -> DisclaimerRefGroups:
    """Disclaimers without text, grouped by placement."""
    return DisclaimerRefGroups(
        top=[_ref(d) for d in disclaimers if d.placement == Placement.TOP],
        bottom=[_ref(d) for d in disclaimers if d.placement == Placement.BOTTOM],
    )


def group_full(disclaimers: Sequence[Disclaimer]) -> DisclaimerTextGroups:
    """Disclaimers with their text, grouped by placement."""
    return DisclaimerTextGroups(
        top=[_full(d) for d in disclaimers if d.placement == Placement.TOP],
        bottom=[_full(d) for d in disclaimers if d.placement == Placement.BOTTOM],
    )


def list_current(*, session: Session, locale: str) -> list[DisclaimerWithRule]:
    """Every active disclaimer in `locale` with its rule, for editors and frontends."""
    return [
        DisclaimerWithRule(
            **_full(d).model_dump(),
            locale=d.locale,
            rule=DisclaimerRule(applies_to=d.applies_to, slugs=d.rule_slugs),
        )
        for d in active_disclaimers(session=session)
        if d.locale == locale
    ]
