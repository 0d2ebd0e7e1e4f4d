"""Staff access to consultation requests: list, read, update, export, erase."""

import uuid
from collections.abc import Iterator
from functools import partial
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from sqlalchemy import Engine
from starlette.responses import Response, StreamingResponse

from api.auth import LeadsRead, LeadsWrite
from api.deps import KeyRingDep, SessionDep
from api.links import next_cursor_link
from core.crypto import KeyRing
from db.session import read_session
from schemas.common import problem_responses
from schemas.leads import (
    LEAD_CURSOR_PATTERN,
    ConsultationRequestList,
    ConsultationRequestPublic,
    ConsultationRequestState,
    ConsultationRequestUpdate,
    ConsultationRequestWritten,
    CursorMeta,
)
from schemas.text import EmailQuery, Instant
from schemas.vocabulary import (
    INCLUDE_PATTERN,
    ArticleSlug,
    Channel,
    HiddenLeads,
    LeadStatus,
    Slug,
)
from services.leads import staff

router = APIRouter(prefix="/v1/admin/consultation-requests", tags=["admin: consultation requests"])
# `{lead_id:uuid}` in the paths: only a UUID routes there, so `export.csv` is no lead id (a PATCH
# to it is a 405 naming GET, not a 422 about a malformed id) and any other non-UUID is a 404.
LeadId = Annotated[uuid.UUID, Path(description="The lead's id.")]
AUTH_ERRORS = (401, 403)


def lead_filters(
    status: LeadStatus | None = None,
    # With a time zone: a naive time would mean a different instant on each server.
    created_after: Annotated[
        Instant | None, Query(description="Inclusive, ISO-8601 with a time zone.")
    ] = None,
    created_before: Annotated[
        Instant | None, Query(description="Exclusive, ISO-8601 with a time zone.")
    ] = None,
    therapy: Annotated[Slug | None, Query()] = None,
    condition: Annotated[Slug | None, Query()] = None,
    article: Annotated[ArticleSlug | None, Query(description="Source article slug.")] = None,
    channel: Channel | None = None,
    email: Annotated[
        EmailQuery | None,
        Query(description="Exact email address (matched through a keyed hash, never stored)."),
    ] = None,
    include: Annotated[
        str | None,
        Query(
            pattern=INCLUDE_PATTERN,
            description="Also list what is left out by default: `spam`, `erased` (tombstones), "
            "or `spam,erased`. (`status=spam` lists spam alone.)",
        ),
    ] = None,
) -> staff.LeadFilters:
    """Filters shared by the list and the export."""
    return staff.LeadFilters(
        status=status,
        created_after=created_after,
        created_before=created_before,
        therapy=therapy,
        condition=condition,
        article=article,
        channel=channel,
        email=email,
        include=frozenset(HiddenLeads(v) for v in include.split(",")) if include else frozenset(),
    )


Filters = Annotated[staff.LeadFilters, Depends(lead_filters)]


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
    ring: KeyRingDep,
    principal: LeadsRead,
    filters: Filters,
    cursor: Annotated[
        str | None, Query(pattern=LEAD_CURSOR_PATTERN, description="From `meta.next_cursor`.")
    ] = None,
    page_size: Annotated[int, Query(ge=1, le=200)] = 50,
) -> ConsultationRequestList:
    """Newest first, with cursor pagination. Audited."""
    items, next_cursor = staff.list_leads(
        session=session,
        ring=ring,
        actor=principal.key_id,
        filters=filters,
        cursor=cursor,
        page_size=page_size,
    )
    return ConsultationRequestList(
        data=items,
        meta=CursorMeta(page_size=page_size, next_cursor=next_cursor),
        links={"next": next_cursor_link(request.url.path, request.query_params, next_cursor)},
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
    request: Request, session: SessionDep, ring: KeyRingDep, principal: LeadsRead, filters: Filters
) -> StreamingResponse:
    """Every matching lead as CSV, streamed. Audited."""
    staff.audit_export(session=session, actor=principal.key_id, filters=filters, via="api")
    return StreamingResponse(
        _stream(request.app.state.engine, ring, filters),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": 'attachment; filename="consultation-requests.csv"',
            "Cache-Control": "no-store",
        },
    )


def _stream(engine: Engine, ring: KeyRing, filters: staff.LeadFilters) -> Iterator[str]:
    """The CSV outlives the request's unit of work: it reads a page at a time, each through a
    short session of its own, none open while the client takes the lines."""
    return staff.csv_lines(sessions=partial(read_session, engine), ring=ring, filters=filters)


@router.get(
    "/{lead_id:uuid}",
    name="get_consultation_request",
    summary="Get a consultation request",
    response_model=ConsultationRequestPublic,
    responses=problem_responses(*AUTH_ERRORS, 404, 422),
)
def get_consultation_request(
    session: SessionDep, ring: KeyRingDep, principal: LeadsRead, lead_id: LeadId
) -> ConsultationRequestPublic:
    """One lead (a tombstone with null personal fields once erased). Audited."""
    return staff.get_lead(session=session, ring=ring, actor=principal.key_id, lead_id=lead_id)


@router.patch(
    "/{lead_id:uuid}",
    name="update_consultation_request",
    summary="Update a consultation request's status or notes",
    response_model=ConsultationRequestWritten,
    responses=problem_responses(*AUTH_ERRORS, 404, 409, 415, 422),
)
def update_consultation_request(
    session: SessionDep,
    ring: KeyRingDep,
    principal: LeadsWrite,
    lead_id: LeadId,
    change: ConsultationRequestUpdate,
) -> ConsultationRequestPublic | ConsultationRequestState:
    """Status moves forward (new → contacted → scheduled → closed) or to spam. Audited. The
    answer is the staff view (`view: staff`) for a key that also holds `leads:read`, else the
    lead's state alone (`view: state`: id, status, times)."""
    return staff.update_lead(
        session=session,
        ring=ring,
        actor=principal.key_id,
        lead_id=lead_id,
        change=change,
        reveal=principal.reads_leads,
    )


@router.delete(
    "/{lead_id:uuid}",
    name="erase_consultation_request",
    summary="Erase a consultation request's personal data",
    status_code=204,
    responses=problem_responses(*AUTH_ERRORS, 404, 422),
)
def erase_consultation_request(
    session: SessionDep, ring: KeyRingDep, principal: LeadsWrite, lead_id: LeadId
) -> Response:
    """Scrub personal and health data, keep a tombstone (id, times, status). Audited."""
    staff.erase_lead(session=session, ring=ring, actor=principal.key_id, lead_id=lead_id)
    return Response(status_code=204)
