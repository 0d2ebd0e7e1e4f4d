"""Status updates the CRM posts back, verified with the Standard Webhooks scheme."""

import re
from datetime import UTC, datetime

from sqlmodel import Session
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from core.crypto import KeyRing
from core.errors import UnauthorizedError, ValidationFailedError
from db.inserts import insert_if_absent
from db.models import utcnow
from db.webhook_models import InboundMessage
from schemas.leads import ConsultationRequestUpdate
from schemas.vocabulary import AckStatus, AuditAction
from schemas.webhooks import CrmEvent, CrmEventAck
from services.leads import staff


class InboundNotConfiguredError(UnauthorizedError):
    """No inbound secret is configured, so no signature can be verified."""

    code = "crm_inbound_not_configured"


def verify(*, secret: str | None, body: bytes, headers: dict[str, str], tolerance: int) -> None:
    """Check the signature and that the timestamp is within `tolerance` seconds; else 401."""
    if not secret:
        raise InboundNotConfiguredError(
            "Inbound CRM events are not configured (CLINIC_CRM_INBOUND_SECRET)."
        )
    stamp_text = headers.get("webhook-timestamp", "")
    if not _SECONDS.fullmatch(stamp_text):
        # Standard Webhooks sends whole seconds; the library would take "<seconds>.0" too.
        raise UnauthorizedError(
            "webhook-timestamp must be whole seconds since the epoch.",
            code="invalid_webhook_signature",
        )
    try:
        Webhook(secret).verify(body, headers, json_parse=False)
    # The library raises a bare ValueError for a signature without "v1,": still a bad signature.
    except (WebhookVerificationError, ValueError) as exc:
        raise UnauthorizedError(
            f"Webhook verification failed: {exc}.", code="invalid_webhook_signature"
        ) from None
    if abs(datetime.now(UTC).timestamp() - int(stamp_text)) > tolerance:
        raise UnauthorizedError(
            "Webhook timestamp outside the tolerance.", code="invalid_webhook_signature"
        )


_SECONDS = re.compile(r"[0-9]{1,12}")
# What the InboundMessage id column holds: up to 200 printable ASCII characters.
_MESSAGE_ID = re.compile(r"[\x21-\x7e]{1,200}")


def check_message_id(message_id: str) -> None:
    """Refuse a `webhook-id` that cannot be remembered as it was sent."""
    if not _MESSAGE_ID.fullmatch(message_id):
        raise ValidationFailedError(
            [
                {
                    "field": "webhook_id",
                    "type": "invalid_webhook_id",
                    "message": "Up to 200 printable ASCII characters, without spaces.",
                }
            ]
        )


def apply(*, session: Session, ring: KeyRing, message_id: str, event: CrmEvent) -> CrmEventAck:
    """Apply a verified event once per `webhook-id`: change the lead, audit, emit."""
    check_message_id(message_id)
    fresh = insert_if_absent(session, InboundMessage, {"id": message_id, "received_at": utcnow()})
    if not fresh:
        return CrmEventAck(status=AckStatus.DUPLICATE)
    change = ConsultationRequestUpdate(status=event.data.status, notes=event.data.note)
    staff.update_lead(
        session=session,
        ring=ring,
        actor=None,
        lead_id=event.data.id,
        change=change,
        reveal=False,  # the CRM is answered with an acknowledgement alone
        action=AuditAction.LEAD_UPDATE_CRM,
    )
    return CrmEventAck(status=AckStatus.APPLIED, id=event.data.id)
