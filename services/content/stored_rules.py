"""What the content rules check an article against, as the database holds it: the therapies,
conditions and active disclaimers the last import wrote. An article written over HTTP is
checked by the same rules (services.content.rules) as a file, against these."""

from sqlmodel import Session, col, select

from db.models import Condition, Disclaimer, Therapy
from services.content.files import (
    ConditionFile,
    ConditionWords,
    ContentBundle,
    DisclaimerFile,
    TherapyFile,
    TherapyWords,
)


def stored_bundle(session: Session) -> ContentBundle:
    """A bundle of the stored taxonomy and active disclaimers (no articles, no media)."""
    therapies = [
        TherapyFile(
            slug=t.slug,
            name=t.name,
            description=t.description,
            regulatory_status=t.regulatory_status,
            regulatory_note=t.regulatory_note,
            translations={
                loc: TherapyWords.model_validate(words) for loc, words in t.translations.items()
            },
        )
        for t in session.exec(select(Therapy).order_by(col(Therapy.slug)))
    ]
    conditions = [
        ConditionFile(
            slug=c.slug,
            name=c.name,
            description=c.description,
            crisis_risk=c.crisis_risk,
            keywords=c.keywords.get("*", []),
            translations={
                loc: ConditionWords.model_validate({**words, "keywords": c.keywords.get(loc, [])})
                for loc, words in c.translations.items()
            },
        )
        for c in session.exec(select(Condition).order_by(col(Condition.slug)))
    ]
    disclaimers = [
        DisclaimerFile(
            key=d.key,
            locale=d.locale,
            title=d.title,
            placement=d.placement,
            applies_to=d.applies_to,
            slugs=d.rule_slugs,
            text=d.text,
        )
        for d in session.exec(
            select(Disclaimer).where(col(Disclaimer.active)).order_by(col(Disclaimer.key))
        )
    ]
    return ContentBundle(therapies=therapies, conditions=conditions, disclaimers=disclaimers)
