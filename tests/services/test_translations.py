"""Translations at import: the compliance policy holds per locale, translations are linked to
one original, and consent texts are versioned per locale."""

import re
from pathlib import Path

import pytest
from sqlmodel import Session, select

from core.errors import ContentError
from db.lead_models import ConsentText
from db.models import Article, Disclaimer
from services.content.rules import load_bundle
from services.content.term_words import localized
from services.leads import consent
from tests.conftest import DEMO_CONTENT
from tests.content_helpers import content_problems, import_folder

SPANISH = "articles/ketamina-intravenosa-para-tept.md"


def _drop(content: Path, key: str, locale: str) -> None:
    """Remove one locale's entry of a disclaimer (English entries name no locale)."""
    path = content / "disclaimers.yaml"
    entries = re.split(r"(?m)^(?=- key: )", path.read_text())

    def is_it(entry: str) -> bool:
        said = re.search(r"(?m)^  locale: (\S+)$", entry)
        return entry.startswith(f"- key: {key}\n") and (said[1] if said else "en") == locale

    assert any(is_it(e) for e in entries)
    path.write_text("".join(e for e in entries if not is_it(e)))


@pytest.mark.parametrize(
    ("key", "because"),
    [
        ("crisis-resources", "condition 'ptsd' has crisis_risk"),
        ("fda-off-label", "therapy 'iv-ketamine' is off_label"),
        ("risks-and-benefits", "every article carries it"),
    ],
)
def test_a_spanish_article_without_its_spanish_disclaimer_fails_the_import(content, key, because):
    _drop(content, key, "es")
    problems = content_problems(content)
    assert (
        f"{SPANISH}: disclaimers: lacks required disclaimer '{key}' in 'es' ({because}); "
        f"disclaimers.yaml must define '{key}' with locale: es with a rule that attaches it"
    ) in problems
    # Every other problem is the same rule on another Spanish article.
    assert all(
        p.startswith("articles/") and f"lacks required disclaimer '{key}' in 'es'" in p
        for p in problems
    )


def test_english_disclaimers_do_not_count_for_a_spanish_article(content):
    # An English text attached to every article in every locale is still not Spanish.
    _drop(content, "crisis-resources", "es")
    _drop(content, "crisis-resources", "en")
    problems = content_problems(content)
    assert any(
        p.startswith(f"{SPANISH}: disclaimers: lacks required disclaimer 'crisis-res")
        for p in problems
    )
    assert any(
        p.startswith(
            "articles/iv-ketamine-for-ptsd.md: disclaimers: lacks required "
            "disclaimer 'crisis-resources' ("
        )
        for p in problems
    )


def test_a_spanish_article_without_disclaimers_is_refused_by_the_cli_import(migrated, content):
    _drop(content, "crisis-resources", "es")
    engine = migrated.engine()
    with pytest.raises(ContentError):
        import_folder(engine, content)
    with Session(engine) as session:
        assert session.exec(select(Article)).all() == []
    engine.dispose()


def test_translation_of_must_name_an_original(content):
    _edit(content, SPANISH, "translation_of: iv-ketamine-for-ptsd", "translation_of: nope")
    assert content_problems(content) == [
        f"{SPANISH}: translation_of: no original article has the slug 'nope' (name the "
        "article that is not itself a translation)"
    ]


def test_a_group_has_one_article_per_locale(content):
    twin = (
        (content / SPANISH)
        .read_text()
        .replace("slug: ketamina-intravenosa-para-tept", "slug: otra-version-en-espanol")
    )
    (content / "articles" / "otra-version.md").write_text(twin)
    problems = content_problems(content)
    assert any("is already the 'es' translation of 'iv-ketamine-for-ptsd'" in p for p in problems)


def test_a_translation_in_its_originals_locale_is_refused(content):
    _edit(content, SPANISH, "locale: es\n", "locale: en\n")
    assert any(
        p == f"{SPANISH}: translation_of: 'iv-ketamine-for-ptsd' is in the same locale"
        for p in content_problems(content)
    )


def _edit(content: Path, name: str, old: str, new: str) -> None:
    path = content / name
    text = path.read_text()
    assert old in text, f"{old!r} not in {name}"
    path.write_text(text.replace(old, new, 1))


def test_disclaimers_and_consent_are_versioned_per_locale(migrated, content):
    engine = migrated.engine()
    import_folder(engine, content)
    _edit(content, "disclaimers.yaml", "Esta clínica no presta", "Esta clínica no ofrece")
    report = import_folder(engine, content)
    assert report.disclaimer_versions == ["crisis-resources (es) v2"]
    with Session(engine) as session:
        active = session.exec(
            select(Disclaimer.key, Disclaimer.locale, Disclaimer.version).where(
                Disclaimer.active == True  # noqa: E712
            )
        ).all()
        assert ("crisis-resources", "en", 1) in active
        assert ("crisis-resources", "es", 2) in active
        named = {"clinic_name": "Clínica Ejemplo", "base_url": "https://api.example"}
        current = consent.current_consent(
            session=session, locale="es", default_locale="en", **named
        )
        assert (current.version, current.locale) == ("2026-12-07", "es")
        assert current.text.startswith("Acepto que Clínica Ejemplo")
        assert "AYUDA" in current.sms_text and "STOP" in current.sms_text
        assert current.privacy_notice_url == (
            "https://api.example/v1/legal/privacy-notice?locale=es"
        )
        fallback = consent.current_consent(
            session=session, locale="fr", default_locale="en", **named
        )
        assert fallback.locale == "en" and fallback.text.startswith("I agree")
        rows = session.exec(select(ConsentText.version, ConsentText.locale)).all()
        assert sorted(rows) == [
            ("2026-11-01", "en"),
            ("2026-11-01", "es"),
            ("2026-12-07", "en"),
            ("2026-12-07", "es"),
        ]
    engine.dispose()


@pytest.mark.parametrize(
    ("english", "spanish"),
    [
        ("iv-ketamine-for-ptsd", "ketamina-intravenosa-para-tept"),
        ("stellate-ganglion-block-for-ptsd", "bloqueo-del-ganglio-estrellado-para-tept"),
        ("nad-plus-iv-therapy", "terapia-intravenosa-con-nad"),
    ],
)
def test_every_demo_spanish_article_mirrors_its_english_one(english: str, spanish: str):
    bundle = load_bundle(DEMO_CONTENT)
    en = bundle.articles[f"articles/{english}.md"]
    es = bundle.articles[f"articles/{spanish}.md"]
    assert es.locale == "es" and es.translation_group == en.slug
    assert [s.key for s in es.sections] == [s.key for s in en.sections]
    assert [s.kind for s in es.sections] == [s.kind for s in en.sections]
    assert es.references == en.references
    assert es.therapies == en.therapies and es.conditions == en.conditions
    crisis = next(d for d in bundle.disclaimers if (d.key, d.locale) == ("crisis-resources", "es"))
    assert "988" in crisis.text and "oprima 2" in crisis.text and "911" in crisis.text


def test_a_therapy_translation_gives_every_word_of_it(content):
    path = content / "therapies.yaml"
    text = path.read_text()
    start = text.index("      regulatory_note: >-\n        No existe")
    end = text.index("compuestos.\n", start) + len("compuestos.\n")
    path.write_text(text[:start] + text[end:])
    problems = content_problems(content)
    assert any("regulatory_note" in p and "therapies.yaml" in p for p in problems), problems


def test_a_spanish_article_about_depression_must_be_tagged_with_it(content):
    path = content / SPANISH
    text = path.read_text()
    assert "conditions: [ptsd, depression, anxiety]" in text
    path.write_text(text.replace("conditions: [ptsd, depression, anxiety]", "conditions: [ptsd]"))
    problems = content_problems(content)
    # "depresión" is a Spanish keyword of the condition: the English ones would miss it
    assert any(
        p.startswith(f"{SPANISH}: conditions: the article discusses")
        and "not tagged 'depression'" in p
        for p in problems
    ), problems


def test_a_regional_locale_takes_its_languages_words():
    words = {"name": "Depression", "description": "Low mood."}
    translations = {"es": {"name": "Depresión", "description": "Ánimo bajo."}}
    assert localized(words, translations, "es-MX")["name"] == "Depresión"
    assert localized(words, {**translations, "es-MX": {"name": "Depre"}}, "es-MX")["name"] == (
        "Depre"
    )
    assert localized(words, translations, "fr") == words


def test_the_demo_spanish_is_us_spanish_with_one_name_for_sgb():
    texts = {p.name: p.read_text() for p in DEMO_CONTENT.rglob("*") if p.suffix in {".md", ".yaml"}}
    for word in ("ictus", "cualificad", "conducir", "ecografía", "BGE", "bloqueo estelar"):
        assert not [name for name, text in texts.items() if word in text], word
    for name in (
        "bloqueo-del-ganglio-estrellado-para-tept.md",
        "ketamina-intravenosa-para-tept.md",
    ):
        assert "bloqueo del ganglio estrellado (SGB" in texts[name]
