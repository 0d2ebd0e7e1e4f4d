"""Status updates the CRM posts back, verified with the Standard Webhooks scheme."""

from datetime import UTC, datetime

from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from core.errors import UnauthorizedError, ValidationFailedError
from db.webhook_models import InboundMessage
from schemas.leads import ConsultationRequestUpdate
from schemas.webhooks import CrmEvent, CrmEventAck
from services import lead_admin


class InboundNotConfiguredError(UnauthorizedError):
    """No inbound secret is configured, so no signature can be verified."""

    code = "crm_inbound_not_configured"


def verify(*, secret: str | None, body: bytes, headers: dict[str, str], tolerance: int) -> None:
    """Check the signature and that the timestamp is within `tolerance` seconds; else 401."""
    if not secret:
        raise InboundNotConfiguredError(
            "Inbound CRM events are not configured (CLINIC_CRM_INBOUND_SECRET)."
        )
    try:
        Webhook(secret).verify(body, headers, json_parse=False)
    except WebhookVerificationError as exc:
        raise UnauthorizedError(
            f"Webhook verification failed: {exc}.", code="invalid_webhook_signature"
        ) from None
    stamp = int(headers.get("webhook-timestamp", "0"))
    if abs(datetime.now(UTC).timestamp() - stamp) > tolerance:
        raise UnauthorizedError(
            "Webhook timestamp outside the tolerance.", code="invalid_webhook_signature"
        )


def apply(*, session: Session, message_id: str, raw: bytes) -> CrmEventAck:
    """Apply a verified event once per `webhook-id`: change the lead, audit, emit."""
    try:
        evt = CrmEvent.model_validate_json(raw)
    except ValidationError as exc:
        errors = exc.errors()
        raise ValidationFailedError(
            [
                {
                    "field": "body." + ".".join(str(p) for p in e["loc"]),
                    "type": e["type"],
                    "message": e["msg"],
                }
                for e in errors
            ]
            or [{"field": "body", "type": "invalid", "message": "Invalid event."}]
        ) from None
    session.add(InboundMessage(id=message_id))
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        return CrmEventAck(status="duplicate")
    change = ConsultationRequestUpdate(status=evt.data.status, notes=evt.data.note)
    lead_admin.update_lead(
        session=session, actor=None, lead_id=evt.data.id, change=change, action="lead.update.crm"
    )
    return CrmEventAck(status="applied", id=evt.data.id)
