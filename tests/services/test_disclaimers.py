"""Every published article carries exactly the disclaimers its rules require."""

import yaml
from sqlmodel import Session, select

from api.links import ContentLinkBuilder
from db.models import Article
from services.content.articles import get_published
from services.content.disclaimers import rule_matches
from services.content.listing import ArticleFilters, list_published
from tests.conftest import DEMO_CONTENT


def _expected(rules, therapies, conditions):
    """The rules, applied independently of the service code."""
    keys = set()
    for rule in rules:
        slugs = set(rule.get("slugs", []))
        if (
            rule["applies_to"] == "all"
            or (rule["applies_to"] == "therapies" and slugs & set(therapies))
            or (rule["applies_to"] == "conditions" and slugs & set(conditions))
        ):
            keys.add((rule["key"], rule["placement"]))
    return keys


def test_every_published_article_has_the_disclaimers_its_rules_require(shared_seeded):
    rules = yaml.safe_load((DEMO_CONTENT / "disclaimers.yaml").read_text())
    engine = shared_seeded.engine()
    with Session(engine) as session:
        published = session.exec(select(Article).where(Article.status == "published")).all()
        assert {(a.slug, a.locale) for a in published} == {
            ("iv-ketamine-for-ptsd", "en"),
            ("stellate-ganglion-block-for-ptsd", "en"),
            ("nad-plus-iv-therapy", "en"),
            ("ketamina-intravenosa-para-tept", "es"),
            ("bloqueo-del-ganglio-estrellado-para-tept", "es"),
            ("terapia-intravenosa-con-nad", "es"),
        }
        by_slug = {}
        for locale in ("en", "es"):
            summaries = list_published(
                session=session,
                filters=ArticleFilters(locale=locale),
                page=1,
                page_size=100,
                links=ContentLinkBuilder("https://api.example"),
            ).items
            by_slug.update({s.slug: s for s in summaries})
        for article in published:
            full = get_published(
                session=session,
                slug=article.slug,
                locale=article.locale,
                clinic_name="Test",
                links=ContentLinkBuilder("https://api.example"),
            )
            assert full.locale == article.locale
            in_locale = [r for r in rules if r.get("locale", "en") == article.locale]
            expected = _expected(
                in_locale, [t.slug for t in full.therapies], [c.slug for c in full.conditions]
            )
            got = {
                (d.key, d.placement)
                for g in (full.disclaimers.top, full.disclaimers.bottom)
                for d in g
            }
            assert got == expected, article.slug
            listed = by_slug[article.slug].disclaimers
            assert {(d.key, d.placement) for d in listed.top + listed.bottom} == expected
    engine.dispose()


def test_rule_matching():
    assert rule_matches("all", [], [], [])
    assert rule_matches("therapies", ["nad-plus"], ["nad-plus"], [])
    assert not rule_matches("therapies", ["nad-plus"], ["iv-ketamine"], ["nad-plus"])
    assert rule_matches("conditions", ["ptsd"], [], ["anxiety", "ptsd"])
    assert not rule_matches("conditions", ["ptsd"], ["ptsd"], [])
