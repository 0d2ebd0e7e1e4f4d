"""A therapy's or condition's words in a locale: its translation's where the content has one
(content/therapies.yaml, conditions.yaml), else the words it is written in (the default
locale's). Slugs and facts (regulatory status, crisis risk) are the same in every locale."""

from collections.abc import Mapping
from typing import TypeVar

T = TypeVar("T")


def localized(
    words: Mapping[str, str], translations: Mapping[str, Mapping[str, str]], locale: str
) -> dict[str, str]:
    """`words` (name, description…) with those `translations` gives for `locale` in place."""
    return {**words, **(translation(translations, locale) or {})}


def for_locale(by_locale: Mapping[str, T], *, locale: str, default_locale: str) -> T | None:
    """What `by_locale` holds for a reader in `locale`: that locale's, else its base language's
    (`es-MX` → `es`), else the default locale's. The one rule consent texts and legal notices
    are found by, for what `GET` serves and for the version a lead names alike."""
    found = translation(by_locale, locale)
    return found if found is not None else by_locale.get(default_locale)


def translation(translations: Mapping[str, T], locale: str) -> T | None:
    """The translation for `locale`, else for its language (`es-MX` → `es`), else None: the
    one rule a locale finds its words by (consent texts too: `services.leads.consent`)."""
    found = translations.get(locale)
    if found is None and "-" in locale:
        found = translations.get(locale.split("-")[0])
    return found
