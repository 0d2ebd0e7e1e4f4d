"""schema.org JSON-LD for an article's page head: MedicalWebPage with its therapies,
conditions, sections, reviewer and citations."""

from typing import Any

from schemas.articles import MedicalReview, Reference, SectionPublic, Seo
from schemas.taxonomy import TermRef
from schemas.vocabulary import RegulatoryStatus, ReviewRole
from services.content.term_words import translation

# schema.org DrugLegalStatus-style wording for what the FDA says of a therapy.
# In the page's language where we have it written, else in English.
_LEGAL_STATUS = {
    "en": {
        RegulatoryStatus.FDA_APPROVED: "FDA-approved for this use",
        RegulatoryStatus.OFF_LABEL: "Off-label use: FDA-approved for other uses only",
        RegulatoryStatus.NOT_FDA_APPROVED: "Not FDA-approved for any use",
    },
    "es": {
        RegulatoryStatus.FDA_APPROVED: "Aprobado por la FDA para este uso",
        RegulatoryStatus.OFF_LABEL: "Uso fuera de indicación: la FDA lo aprobó para otros usos",
        RegulatoryStatus.NOT_FDA_APPROVED: "Sin aprobación de la FDA para ningún uso",
    },
}


def article_json_ld(
    *,
    title: str,
    summary: str,
    locale: str,
    seo: Seo,
    review: MedicalReview,
    therapies: list[tuple[TermRef, str]],
    conditions: list[TermRef],
    sections: list[SectionPublic],
    references: list[Reference],
    published: str | None,
    modified: str,
    clinic_name: str,
    image: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The page's JSON-LD; `therapies` pairs each therapy with its regulatory status."""
    url = seo.canonical_url
    ld: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "MedicalWebPage",
        "name": title,
        "headline": title,
        "description": summary,
        "inLanguage": locale,
        "medicalAudience": {"@type": "MedicalAudience", "audienceType": "Patient"},
        "about": [{"@type": "MedicalCondition", "name": c.name} for c in conditions],
        "mainEntity": [_therapy(t, status, locale) for t, status in therapies],
        "hasPart": [
            {
                "@type": "WebPageElement",
                "name": s.heading,
                "identifier": s.key,
                **({"url": f"{url}#{s.key}"} if url else {}),
            }
            for s in sections
        ],
        "citation": [_citation(r) for r in references],
        "publisher": {"@type": "MedicalClinic", "name": clinic_name},
        "dateModified": modified,
    }
    if url:
        ld["url"] = url
    if image:
        ld["image"] = image
    if published:
        ld["datePublished"] = published
    # The newest medical sign-off by a real clinician: a demo (placeholder) reviewer is never
    # told to search engines as a real one, even beside a real co-signer.
    real = [
        s for s in review.reviewers if s.role == ReviewRole.MEDICAL and not s.reviewer.placeholder
    ]
    if real:
        person = real[-1].reviewer
        ld["lastReviewed"] = real[-1].reviewed_at.isoformat()
        ld["reviewedBy"] = {
            "@type": "Person",
            "name": person.name,
            "honorificSuffix": person.credentials,
            "jobTitle": person.specialty,
            **({"url": person.profile_url} if person.profile_url else {}),
        }
    return ld


def _therapy(term: TermRef, status: str, locale: str) -> dict[str, Any]:
    out: dict[str, Any] = {"@type": "MedicalTherapy", "name": term.name}
    wording = translation(_LEGAL_STATUS, locale) or _LEGAL_STATUS["en"]
    if status in wording:
        out["legalStatus"] = wording[RegulatoryStatus(status)]
    return out


def _citation(ref: Reference) -> dict[str, Any]:
    out: dict[str, Any] = {
        "@type": "ScholarlyArticle" if ref.doi or ref.pmid else "WebPage",
        "name": ref.title,
        "author": ref.authors,
        "publisher": ref.publisher,
        "url": ref.url,
    }
    if ref.year:
        out["datePublished"] = str(ref.year)
    if ref.doi:
        out["identifier"] = f"https://doi.org/{ref.doi}"
    return out
