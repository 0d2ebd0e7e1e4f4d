"""Reading the delivery log, redelivering, and sending a test ping."""

import uuid

from sqlmodel import Session, col, select

from db.models import utcnow
from db.webhook_models import WebhookAttempt, WebhookDelivery, WebhookEvent
from schemas.vocabulary import PING_EVENT, DeliveryStatus
from schemas.webhooks import WebhookAttemptPublic, WebhookDeliveryPublic
from services.records import get_or_not_found
from services.webhooks import endpoints, outbox

MAX_LISTED = 200


def _public(session: Session, delivery: WebhookDelivery, event_type: str) -> WebhookDeliveryPublic:
    attempts = session.exec(
        select(WebhookAttempt)
        .where(WebhookAttempt.delivery_id == delivery.id)
        .order_by(col(WebhookAttempt.id))
    ).all()
    pending = delivery.status == DeliveryStatus.PENDING
    return WebhookDeliveryPublic(
        id=delivery.id,
        event_id=delivery.event_id,
        event_type=event_type,
        endpoint_id=delivery.endpoint_id,
        status=DeliveryStatus(delivery.status),
        attempts=delivery.attempts,
        next_attempt_at=delivery.next_attempt_at if pending else None,
        last_status_code=delivery.last_status_code,
        created_at=delivery.created_at,
        delivered_at=delivery.delivered_at,
        attempt_log=[
            WebhookAttemptPublic.model_validate(a, from_attributes=True) for a in attempts
        ],
    )


def list_for_endpoint(
    *, session: Session, endpoint_id: uuid.UUID, status: DeliveryStatus | None = None
) -> list[WebhookDeliveryPublic]:
    """The newest deliveries of an endpoint with their attempts."""
    endpoints.get(session=session, endpoint_id=endpoint_id)  # not found when unknown
    stmt = (
        select(WebhookDelivery, WebhookEvent.type)
        .join(WebhookEvent, col(WebhookEvent.id) == col(WebhookDelivery.event_id))
        .where(WebhookDelivery.endpoint_id == endpoint_id)
        .order_by(col(WebhookDelivery.created_at).desc())
        .limit(MAX_LISTED)
    )
    if status:
        stmt = stmt.where(WebhookDelivery.status == status)
    return [_public(session, d, t) for d, t in session.exec(stmt).all()]


def redeliver(*, session: Session, delivery_id: uuid.UUID) -> WebhookDeliveryPublic:
    """Send an event to its endpoint again, as a new delivery (same webhook-id)."""
    old = get_or_not_found(
        session, WebhookDelivery, delivery_id, code="webhook_delivery_not_found", what="delivery"
    )
    fresh = WebhookDelivery(
        event_id=old.event_id, endpoint_id=old.endpoint_id, next_attempt_at=utcnow()
    )
    session.add(fresh)
    outbox.announce(session=session)
    session.flush()
    event_type = session.get_one(WebhookEvent, fresh.event_id).type
    return _public(session, fresh, event_type)


def send_ping(*, session: Session, endpoint_id: uuid.UUID) -> WebhookDeliveryPublic:
    """Queue a `ping` event for this endpoint alone."""
    endpoints.get(session=session, endpoint_id=endpoint_id)  # not found when unknown
    evt = outbox.emit(
        session=session, type=PING_EVENT, data={"message": "ping"}, endpoint_id=endpoint_id
    )
    session.flush()
    delivery = session.exec(select(WebhookDelivery).where(WebhookDelivery.event_id == evt.id)).one()
    return _public(session, delivery, PING_EVENT)
