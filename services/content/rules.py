"""Rules that span files: known slugs, the compliance policy, references and citations,
and safety sections. A folder that breaks one is refused."""

import re
from collections.abc import Iterator
from pathlib import Path

from core.errors import ContentError
from schemas.editorial import ArticleContent
from schemas.vocabulary import ArticleStatus, RuleScope, SectionKind
from services.content import compliance
from services.content.disclaimers import rule_matches
from services.content.files import ContentBundle, read_bundle
from services.content.rendering import cited_ids
from services.content.term_words import translation

MIN_REFERENCES = 3
DEFAULT_FILE_LOCALE = "en"  # what a file that names no locale is written in


def load_bundle(content_dir: Path) -> ContentBundle:
    """Read and validate a whole content folder; raise ContentError listing every problem.
    (Who approved what is checked as it is applied: approvals may be in the database.)"""
    bundle, problems = read_bundle(content_dir)
    problems += check_bundle(bundle)
    if problems:
        raise ContentError(problems)
    return bundle


def check_bundle(bundle: ContentBundle) -> list[str]:
    """Every cross-file problem, each naming its file and field."""
    problems = [*_unknown_rule_slugs(bundle), *_misplaced(bundle), *_translations(bundle)]
    seen: dict[tuple[str, str], str] = {}
    for relative, article in bundle.articles.items():
        problems += [f"{relative}: {p}" for p in article_problems(bundle, article)]
        if article.status == ArticleStatus.PUBLISHED:
            problems += [f"{relative}: {p}" for p in published_problems(bundle, article)]
        other = seen.setdefault((article.slug, article.locale), relative)
        if other != relative:
            problems.append(
                f"{relative}: slug: '{article.slug}' ({article.locale}) is also used by {other}"
            )
    return problems


def _translations(bundle: ContentBundle) -> Iterator[str]:
    """`translation_of` names an original (an article that translates nothing) in another
    locale, and a translation group has one article per locale."""
    originals = {a.slug: a for a in bundle.articles.values() if a.translation_of is None}
    groups: dict[tuple[str, str], str] = {}
    for relative, article in bundle.articles.items():
        target = article.translation_of
        if target is not None:
            original = originals.get(target)
            if original is None:
                yield (
                    f"{relative}: translation_of: no original article has the slug '{target}' "
                    "(name the article that is not itself a translation)"
                )
                continue
            if original.locale == article.locale:
                yield f"{relative}: translation_of: '{target}' is in the same locale"
        other = groups.setdefault((article.translation_group, article.locale), relative)
        if other != relative:
            yield (
                f"{relative}: translation_of: {other} is already the '{article.locale}' "
                f"translation of '{article.translation_group}'"
            )


def _misplaced(bundle: ContentBundle) -> Iterator[str]:
    for d in bundle.disclaimers:
        wanted = compliance.PLACEMENT.get(d.key)
        if wanted is not None and d.placement != wanted:
            yield f"disclaimers.yaml: {d.key}.placement: the policy places it at the {wanted}"


def _unknown_rule_slugs(bundle: ContentBundle) -> Iterator[str]:
    therapies = {t.slug for t in bundle.therapies}
    conditions = {c.slug for c in bundle.conditions}
    for d in bundle.disclaimers:
        known = therapies if d.applies_to == RuleScope.THERAPIES else conditions
        for slug in d.slugs:
            if slug not in known:
                yield f"disclaimers.yaml: {d.key}.slugs: unknown {d.applies_to} '{slug}'"


def article_problems(bundle: ContentBundle, article: ArticleContent) -> Iterator[str]:
    """What any article, draft or not, must get right: known tags, unique references, and
    citations of references it lists. Each problem is `field: message`."""
    therapies = {t.slug for t in bundle.therapies}
    conditions = {c.slug for c in bundle.conditions}
    for slug in article.therapies:
        if slug not in therapies:
            yield f"therapies: unknown therapy slug '{slug}'"
    for slug in article.conditions:
        if slug not in conditions:
            yield f"conditions: unknown condition slug '{slug}'"
    ids = [r.id for r in article.references]
    for ref_id in sorted({i for i in ids if ids.count(i) > 1}):
        yield f"references.{ref_id}: defined more than once"
    for section in article.sections:
        for ref_id in cited_ids(section.markdown):
            if ref_id not in ids:
                yield f"sections.{section.key}: cites unknown reference '{ref_id}'"


def published_problems(bundle: ContentBundle, article: ArticleContent) -> Iterator[str]:
    """The compliance policy, and what a published therapy article must contain. Each problem
    is `field: message`."""
    status = {t.slug: t.regulatory_status for t in bundle.therapies}
    crisis = {c.slug: c.crisis_risk for c in bundle.conditions}
    requirements = compliance.required(
        therapies=[(s, status[s]) for s in article.therapies if s in status],
        conditions=[(s, crisis[s]) for s in article.conditions if s in crisis],
    )
    attached = [
        d.key
        for d in bundle.disclaimers
        if d.locale == article.locale
        and rule_matches(d.applies_to, d.slugs, article.therapies, article.conditions)
    ]
    for condition in bundle.conditions:
        if condition.crisis_risk and condition.slug not in article.conditions:
            local = translation(condition.translations, article.locale)
            word = _mentioned(article, [*condition.keywords, *(local.keywords if local else [])])
            if word:
                yield (
                    f"conditions: the article discusses '{word}' but is not tagged "
                    f"'{condition.slug}', whose crisis resources it must carry"
                )
    for req in compliance.missing(requirements, attached):
        in_locale = "" if article.locale == DEFAULT_FILE_LOCALE else f" in '{article.locale}'"
        yield (
            f"disclaimers: lacks required disclaimer '{req.key}'{in_locale} ({req.because}); "
            f"disclaimers.yaml must define '{req.key}'"
            + ("" if not in_locale else f" with locale: {article.locale}")
            + " with a rule that attaches it"
        )
    studies = sum(1 for r in article.references if r.doi or r.pmid)
    if studies < MIN_REFERENCES:
        yield (
            f"references: a published therapy article needs at least {MIN_REFERENCES} "
            f"references with a DOI or PMID (has {studies})"
        )
    if not any(s.kind == SectionKind.SAFETY for s in article.sections):
        yield "sections: a published therapy article needs a section of kind 'safety'"


def _mentioned(article: ArticleContent, keywords: list[str]) -> str | None:
    """The first keyword the article's title, summary or sections use, if any."""
    if not keywords:
        return None
    pattern = re.compile(r"\b(" + "|".join(re.escape(k) for k in keywords) + r")", re.IGNORECASE)
    text = "\n".join([article.title, article.summary, *(s.markdown for s in article.sections)])
    match = pattern.search(text)
    return match[1] if match else None
