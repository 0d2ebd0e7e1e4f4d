"""The registry of clinicians who review articles."""

import uuid

from sqlmodel import Session, col, select

from core.errors import ConflictError, NotFoundError
from db.editorial_models import Reviewer
from schemas.reviewers import ReviewerCreate


def add(*, session: Session, data: ReviewerCreate) -> Reviewer:
    """A new reviewer record; an NPI already registered is a ConflictError."""
    if (
        data.npi is not None
        and session.exec(select(Reviewer.id).where(Reviewer.npi == data.npi)).first()
    ):
        raise ConflictError(
            f"A reviewer with NPI {data.npi} is already registered.", code="reviewer_exists"
        )
    reviewer = Reviewer(**data.model_dump())
    session.add(reviewer)
    session.flush()
    return reviewer


def every(*, session: Session) -> list[Reviewer]:
    """Every reviewer, oldest first."""
    return list(session.exec(select(Reviewer).order_by(col(Reviewer.created_at), col(Reviewer.id))))


def get(*, session: Session, reviewer_id: uuid.UUID) -> Reviewer:
    """One reviewer, or NotFoundError."""
    reviewer = session.get(Reviewer, reviewer_id)
    if reviewer is None:
        raise NotFoundError(f"No reviewer {reviewer_id}.", code="reviewer_not_found")
    return reviewer


def public_record(reviewer: Reviewer) -> dict[str, object]:
    """What a published article shows of its approver (the JSON an article row keeps)."""
    return {
        "id": str(reviewer.id),
        "name": reviewer.name,
        "credentials": reviewer.credentials,
        "specialty": reviewer.specialty,
        "profile_url": reviewer.profile_url,
        "placeholder": reviewer.placeholder,
    }
