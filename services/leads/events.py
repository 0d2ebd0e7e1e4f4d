"""What a lead's events carry: the data stored in the outbox (sealed under the lead's own key,
so that erasing the lead erases its events too) and what stays of them after erasure."""

from collections.abc import Mapping
from typing import Any

from sqlmodel import Session

from core.crypto import KeyRing
from db.lead_models import ConsultationRequest
from schemas.vocabulary import EventType
from services.events import outbox
from services.leads import vault
from services.leads.vault import Personal

# Health information: only endpoints with `include_health_data` receive these lead fields.
HEALTH_FIELDS = ("therapies", "conditions", "message", "article_slug", "page_url")
LEAD_EVENT_PREFIX = "consultation_request."


def lead_data(lead: Mapping[str, Any], personal: Personal) -> dict[str, Any]:
    """A lead (its row: a new lead's, or `ConsultationRequest.model_dump()`) as an event
    carries it (sealed in the outbox, rendered per endpoint)."""
    return {
        "id": str(lead["id"]),
        "status": lead["status"],
        "created_at": lead["created_at"].isoformat(),
        "updated_at": lead["updated_at"].isoformat(),
        "erased": lead["erased_at"] is not None,
        "first_name": personal.first_name,
        "last_name": personal.last_name,
        "email": personal.email,
        "phone": personal.phone,
        "preferred_contact_method": lead["preferred_contact_method"],
        "preferred_time": personal.preferred_time,
        "consent": {
            "contact": lead["consent_contact"],
            "sms": lead["consent_sms"],
            "version": lead["consent_version"],
            # Absent from leads (and sealed events) stored before the form asked.
            "age_confirmed": lead.get("consent_age_confirmed"),
        },
        "channel": lead["channel"],
        "utm": personal.utm or {},
        "therapies": lead["therapies"],
        "conditions": lead["conditions"],
        "message": personal.message,
        "article_slug": lead["source_article_slug"],
        "page_url": personal.page_url,
    }


def erased_data(subject_id: str) -> dict[str, Any]:
    """What stays of an event about an erased lead."""
    return {"id": subject_id, "erased": True}


def emit_lead_updated(
    *,
    session: Session,
    ring: KeyRing,
    lead: ConsultationRequest,
    personal: Personal,
) -> None:
    """consultation_request.updated, in the lead's transaction (a new lead's event is
    `lead_created_row`'s). The stored data is sealed under the lead's key, so erasing the lead
    erases its events too."""
    data = lead_data(lead.model_dump(), personal)
    if lead.erased_at is None:
        data = vault.seal_event(session=session, ring=ring, lead_id=lead.id, data=data)
    outbox.emit(
        session=session,
        type=EventType.CONSULTATION_REQUEST_UPDATED,
        data=data,
        subject_id=str(lead.id),
    )


def lead_created_row(
    *, lead: Mapping[str, Any], personal: Personal, data_key: bytes, request_id: str | None
) -> dict[str, Any]:
    """consultation_request.created for a new lead (its row), as a row for `emit_rows`, its
    data sealed under the lead's new data key."""
    data = vault.seal_event_under(data_key, lead["id"], lead_data(lead, personal))
    return outbox.event_row(
        type=EventType.CONSULTATION_REQUEST_CREATED,
        data=data,
        subject_id=str(lead["id"]),
        request_id=request_id,
    )


def scrub(*, session: Session, lead_id: str) -> None:
    """On erasure, stored events about a lead keep only its id."""
    outbox.replace_data(session=session, subject_id=lead_id, data=erased_data(lead_id))
