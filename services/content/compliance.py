"""The compliance policy: which disclaimers a published article must carry. It lives in code,
so no content edit, rule change or route can serve an article without them.

The rules in content/disclaimers.yaml attach and version the texts; this policy says which of
them may never be missing. The import refuses content that would break it, and serving checks
it again."""

from collections.abc import Iterable
from dataclasses import dataclass

from schemas.vocabulary import Placement, RegulatoryStatus

RISKS_AND_BENEFITS = "risks-and-benefits"
FDA_OFF_LABEL = "fda-off-label"
NOT_FDA_APPROVED = "not-fda-approved"
CRISIS_RESOURCES = "crisis-resources"
POLICY_KEYS = (RISKS_AND_BENEFITS, FDA_OFF_LABEL, NOT_FDA_APPROVED, CRISIS_RESOURCES)
# Warnings a reader must meet before the text; the general note may close the page.
PLACEMENT = {
    RISKS_AND_BENEFITS: Placement.BOTTOM,
    FDA_OFF_LABEL: Placement.TOP,
    NOT_FDA_APPROVED: Placement.TOP,
    CRISIS_RESOURCES: Placement.TOP,
}


@dataclass(frozen=True)
class Requirement:
    """One disclaimer an article must carry, and why."""

    key: str
    because: str  # e.g. "therapy 'iv-ketamine' is off_label"


def required(
    *, therapies: Iterable[tuple[str, str]], conditions: Iterable[tuple[str, bool]]
) -> list[Requirement]:
    """What an article about these (slug, regulatory status) therapies and (slug, crisis
    risk) conditions must carry; one requirement per key, naming the first reason."""
    found: dict[str, Requirement] = {
        RISKS_AND_BENEFITS: Requirement(RISKS_AND_BENEFITS, "every article carries it")
    }
    for slug, status in therapies:
        if status == RegulatoryStatus.OFF_LABEL:
            found.setdefault(
                FDA_OFF_LABEL, Requirement(FDA_OFF_LABEL, _why("therapy", slug, status))
            )
        elif status == RegulatoryStatus.NOT_FDA_APPROVED:
            found.setdefault(
                NOT_FDA_APPROVED, Requirement(NOT_FDA_APPROVED, _why("therapy", slug, status))
            )
    for slug, crisis_risk in conditions:
        if crisis_risk:
            found.setdefault(
                CRISIS_RESOURCES,
                Requirement(CRISIS_RESOURCES, f"condition '{slug}' has crisis_risk"),
            )
    return list(found.values())


def _why(kind: str, slug: str, status: str) -> str:
    return f"{kind} '{slug}' is {status}"


def missing(requirements: Iterable[Requirement], carried: Iterable[str]) -> list[Requirement]:
    """The requirements whose key is not among the carried disclaimer keys."""
    have = set(carried)
    return [r for r in requirements if r.key not in have]
