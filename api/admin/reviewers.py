"""The reviewer registry, as editors and reviewers read it (records are added by the CLI:
an operator vouches for who a clinician is)."""

from fastapi import APIRouter

from api.auth import ContentEditor
from api.deps import SessionDep
from schemas.common import problem_responses
from schemas.reviewers import ReviewerList, ReviewerPublic
from services.content import reviewers

router = APIRouter(prefix="/v1/admin/reviewers", tags=["admin: content"])


@router.get(
    "",
    name="list_reviewers",
    summary="List reviewers",
    response_model=ReviewerList,
    responses=problem_responses(401, 403),
)
def list_reviewers(session: SessionDep, _principal: ContentEditor) -> ReviewerList:
    """Every clinician who may approve articles, oldest first (`content:write` or
    `content:review`)."""
    return ReviewerList(
        items=[ReviewerPublic.model_validate(r) for r in reviewers.every(session=session)]
    )
