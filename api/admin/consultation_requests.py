"""Staff access to consultation requests: list, read, update, export, erase."""

import uuid
from datetime import datetime
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Path, Query, Request
from starlette.responses import Response, StreamingResponse

from api.auth import LeadsRead, LeadsWrite
from api.deps import SLUG_PATTERN, SessionDep
from schemas.common import problem_responses
from schemas.leads import (
    Channel,
    ConsultationRequestList,
    ConsultationRequestPublic,
    ConsultationRequestUpdate,
    CursorMeta,
    LeadStatus,
)
from services import lead_admin

router = APIRouter(prefix="/v1/admin/consultation-requests", tags=["admin: consultation requests"])
LeadId = Annotated[uuid.UUID, Path(description="The lead's id.")]
AUTH_ERRORS = (401, 403)


def lead_filters(
    status: LeadStatus | None = None,
    created_after: Annotated[datetime | None, Query(description="Inclusive, ISO-8601.")] = None,
    created_before: Annotated[datetime | None, Query(description="Exclusive, ISO-8601.")] = None,
    therapy: Annotated[str | None, Query(pattern=SLUG_PATTERN, max_length=80)] = None,
    condition: Annotated[str | None, Query(pattern=SLUG_PATTERN, max_length=80)] = None,
    article: Annotated[
        str | None, Query(pattern=SLUG_PATTERN, max_length=120, description="Source article slug.")
    ] = None,
    channel: Channel | None = None,
) -> lead_admin.LeadFilters:
    """Filters shared by the list and the export."""
    return lead_admin.LeadFilters(
        status=status,
        created_after=created_after,
        created_before=created_before,
        therapy=therapy,
        condition=condition,
        article=article,
        channel=channel,
    )


Filters = Annotated[lead_admin.LeadFilters, Depends(lead_filters)]


@router.get(
    "",
    name="list_consultation_requests",
    summary="List consultation requests",
    response_model=ConsultationRequestList,
    responses=problem_responses(*AUTH_ERRORS, 422),
)
def list_consultation_requests(
    request: Request,
    session: SessionDep,
    principal: LeadsRead,
    filters: Filters,
    cursor: Annotated[
        str | None, Query(max_length=200, description="From `meta.next_cursor`.")
    ] = None,
    page_size: Annotated[int, Query(ge=1, le=200)] = 50,
) -> ConsultationRequestList:
    """Newest first, with cursor pagination. Audited."""
    items, next_cursor = lead_admin.list_leads(
        session=session, actor=principal.key_id, filters=filters, cursor=cursor, page_size=page_size
    )
    next_link = None
    if next_cursor:
        params = dict(request.query_params) | {"cursor": next_cursor}
        next_link = f"{request.url.path}?{urlencode(params)}"
    return ConsultationRequestList(
        data=items,
        meta=CursorMeta(page_size=page_size, next_cursor=next_cursor),
        links={"next": next_link},
    )


@router.get(
    "/export.csv",
    name="export_consultation_requests",
    summary="Export consultation requests as CSV",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {"text/csv": {"schema": {"type": "string"}}},
            "description": "CSV, streamed.",
        },
        **problem_responses(*AUTH_ERRORS, 422),
    },
)
def export_consultation_requests(
    request: Request, principal: LeadsRead, filters: Filters
) -> StreamingResponse:
    """Every matching lead as CSV, streamed. Audited."""
    lines = lead_admin.export_csv(
        engine=request.app.state.engine, actor=principal.key_id, filters=filters
    )
    return StreamingResponse(
        lines,
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": 'attachment; filename="consultation-requests.csv"',
            "Cache-Control": "no-store",
        },
    )


@router.get(
    "/{lead_id}",
    name="get_consultation_request",
    summary="Get a consultation request",
    response_model=ConsultationRequestPublic,
    responses=problem_responses(*AUTH_ERRORS, 404, 422),
)
def get_consultation_request(
    session: SessionDep, principal: LeadsRead, lead_id: LeadId
) -> ConsultationRequestPublic:
    """One lead (a tombstone with null personal fields once erased). Audited."""
    return lead_admin.get_lead(session=session, actor=principal.key_id, lead_id=lead_id)


@router.patch(
    "/{lead_id}",
    name="update_consultation_request",
    summary="Update a consultation request's status or notes",
    response_model=ConsultationRequestPublic,
    responses=problem_responses(*AUTH_ERRORS, 404, 409, 415, 422),
)
def update_consultation_request(
    session: SessionDep, principal: LeadsWrite, lead_id: LeadId, change: ConsultationRequestUpdate
) -> ConsultationRequestPublic:
    """Status moves forward (new → contacted → scheduled → closed) or to spam. Audited."""
    return lead_admin.update_lead(
        session=session, actor=principal.key_id, lead_id=lead_id, change=change
    )


@router.delete(
    "/{lead_id}",
    name="erase_consultation_request",
    summary="Erase a consultation request's personal data",
    status_code=204,
    responses=problem_responses(*AUTH_ERRORS, 404, 422),
)
def erase_consultation_request(
    session: SessionDep, principal: LeadsWrite, lead_id: LeadId
) -> Response:
    """Scrub personal and health data, keep a tombstone (id, times, status). Audited."""
    lead_admin.erase_lead(session=session, actor=principal.key_id, lead_id=lead_id)
    return Response(status_code=204)
