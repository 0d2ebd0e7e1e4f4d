"""Inbound integrations: status updates from the CRM, signed like our own webhooks."""

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from api.bodies import parse_json_body
from api.deps import KeyRingDep, SessionDep, SettingsDep
from schemas.common import problem_responses
from schemas.webhooks import CrmEvent, CrmEventAck
from services.webhooks import inbound

router = APIRouter(prefix="/v1/integrations", tags=["integrations"])


async def raw_body(request: Request) -> bytes:
    """The exact bytes that were signed (the route itself runs in the threadpool)."""
    return await request.body()


@router.post(
    "/crm/events",
    name="receive_crm_event",
    summary="Receive a signed CRM event",
    response_model=CrmEventAck,
    openapi_extra={
        "parameters": [
            {"$ref": f"#/components/parameters/{name}"}
            for name in ("webhook-id", "webhook-timestamp", "webhook-signature")
        ],
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/CrmEvent"}}},
        },
    },
    responses=problem_responses(401, 404, 409, 413, 422),
)
def receive_crm_event(
    request: Request,
    session: SessionDep,
    ring: KeyRingDep,
    settings: SettingsDep,
    raw: Annotated[bytes, Depends(raw_body)],
) -> CrmEventAck:
    """Signed with `CLINIC_CRM_INBOUND_SECRET` (Standard Webhooks); a repeated `webhook-id`
    is acknowledged and changes nothing."""
    headers = {k.lower(): v for k, v in request.headers.items()}
    inbound.verify(
        secret=settings.crm_inbound_secret,
        body=raw,
        headers=headers,
        tolerance=settings.crm_inbound_tolerance_seconds,
    )
    event = parse_json_body(CrmEvent, raw)
    return inbound.apply(session=session, ring=ring, message_id=headers["webhook-id"], event=event)
