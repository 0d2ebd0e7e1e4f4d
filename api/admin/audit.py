"""The audit trail of lead access."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request

from api.auth import LeadsRead
from api.deps import SessionDep
from api.links import next_cursor_link
from schemas.common import ID_CURSOR_PATTERN, problem_responses
from schemas.leads import AuditList, CursorMeta
from services.access import audit

router = APIRouter(prefix="/v1/admin/audit", tags=["admin: audit"])


@router.get(
    "",
    name="list_audit_entries",
    summary="List audit entries",
    response_model=AuditList,
    responses=problem_responses(401, 403, 422),
)
def list_audit_entries(
    request: Request,
    session: SessionDep,
    _principal: LeadsRead,
    lead_id: uuid.UUID | None = None,
    cursor: Annotated[
        str | None, Query(pattern=ID_CURSOR_PATTERN, description="From `meta.next_cursor`.")
    ] = None,
    page_size: Annotated[int, Query(ge=1, le=200)] = 50,
) -> AuditList:
    """Who read, changed, exported or erased which lead, newest first."""
    items, next_cursor = audit.list_entries(
        session=session, cursor=cursor, page_size=page_size, lead_id=lead_id
    )
    return AuditList(
        data=items,
        meta=CursorMeta(page_size=page_size, next_cursor=next_cursor),
        links={"next": next_cursor_link(request.url.path, request.query_params, next_cursor)},
    )
