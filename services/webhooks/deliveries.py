"""Reading the delivery log, redelivering, and sending a test ping."""

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from core.errors import ConflictError
from db.models import as_utc, utcnow
from db.webhook_models import WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent
from schemas.vocabulary import PING_EVENT, AuditAction, DeliveryStatus, EndpointStatus
from schemas.webhooks import WebhookAttemptPublic, WebhookDeliveryPublic
from services.access import audit
from services.events import outbox
from services.leads.events import LEAD_EVENT_PREFIX
from services.records import get_or_not_found
from services.webhooks import endpoints

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


def _lead_of(evt: WebhookEvent) -> uuid.UUID | None:
    """The lead an event is about, if it is about one."""
    if not evt.type.startswith(LEAD_EVENT_PREFIX) or evt.subject_id is None:
        return None
    try:
        return uuid.UUID(evt.subject_id)
    except ValueError:
        return None


def redeliver(
    *, session: Session, delivery_id: uuid.UUID, actor: uuid.UUID | None
) -> WebhookDeliveryPublic:
    """Send an event to its endpoint again, as a new delivery (same webhook-id), under the
    payload policy of the delivery it repeats. Audited; a lead's event in that lead's trail."""
    old = get_or_not_found(
        session, WebhookDelivery, delivery_id, code="webhook_delivery_not_found", what="delivery"
    )
    fresh = WebhookDelivery(
        event_id=old.event_id,
        endpoint_id=old.endpoint_id,
        next_attempt_at=utcnow(),
        payload_mode=old.payload_mode,
        include_health_data=old.include_health_data,
    )
    session.add(fresh)
    outbox.announce(session=session)
    session.flush()
    evt = session.get_one(WebhookEvent, fresh.event_id)
    audit.record(
        session=session,
        actor=actor,
        action=AuditAction.WEBHOOK_DELIVERY_REDELIVER,
        lead_id=_lead_of(evt),
        detail={
            "endpoint_id": str(old.endpoint_id),
            "delivery_id": str(old.id),
            "redelivery_id": str(fresh.id),
            "event_id": str(evt.id),
            "event_type": evt.type,
        },
    )
    return _public(session, fresh, evt.type)


def send_ping(
    *, session: Session, endpoint_id: uuid.UUID, actor: uuid.UUID | None
) -> WebhookDeliveryPublic:
    """Queue a `ping` event for this endpoint alone (a disabled one is resumed first)."""
    endpoint = endpoints.get(session=session, endpoint_id=endpoint_id)  # not found when unknown
    if endpoint.status == EndpointStatus.DISABLED:
        raise ConflictError(
            "This endpoint is disabled; resume it before sending a test event.",
            code="webhook_endpoint_disabled",
        )
    evt = outbox.emit(
        session=session, type=PING_EVENT, data={"message": "ping"}, endpoint_id=endpoint_id
    )
    session.flush()
    delivery = session.exec(select(WebhookDelivery).where(WebhookDelivery.event_id == evt.id)).one()
    audit.record(
        session=session,
        actor=actor,
        action=AuditAction.WEBHOOK_ENDPOINT_TEST,
        detail={"endpoint_id": str(endpoint_id), "delivery_id": str(delivery.id)},
    )
    return _public(session, delivery, PING_EVENT)


@dataclass(frozen=True)
class Backlog:
    """Deliveries still to send, and how long the oldest of them has waited."""

    pending: int
    oldest_age_seconds: float


def backlog(*, session: Session, now: datetime | None = None) -> Backlog:
    """The outbox backlog: deliveries to active endpoints still to send, and the age of the
    oldest one's event."""
    count, oldest = session.exec(
        select(func.count(), func.min(WebhookEvent.created_at))
        .select_from(WebhookDelivery)
        .join(WebhookEvent, col(WebhookEvent.id) == col(WebhookDelivery.event_id))
        .join(WebhookEndpoint, col(WebhookEndpoint.id) == col(WebhookDelivery.endpoint_id))
        .where(
            WebhookDelivery.status == DeliveryStatus.PENDING,
            # a paused or disabled endpoint's deliveries wait on purpose: not a backlog
            WebhookEndpoint.status == EndpointStatus.ACTIVE,
        )
    ).one()
    if oldest is None:
        return Backlog(0, 0.0)
    now = now or utcnow()
    return Backlog(int(count), max((now - as_utc(oldest)).total_seconds(), 0.0))
