"""The transactional outbox: events are rows written in the same transaction as the change,
with one delivery row per subscribed endpoint. Committing wakes in-process dispatchers."""

import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine, event, text
from sqlmodel import Session, col, select

from db.lead_models import ConsultationRequest
from db.models import Article, utcnow
from db.webhook_models import WebhookDelivery, WebhookEndpoint, WebhookEvent

NOTIFY_CHANNEL = "clinic_webhooks"
# Health information: only endpoints with `include_health_data` receive these lead fields.
HEALTH_FIELDS = ("therapies", "conditions", "message", "article_slug", "page_url")
_WAKERS: dict[int, list[Callable[[], None]]] = {}


def on_commit_wake(engine: Engine, wake: Callable[[], None]) -> Callable[[], None]:
    """Call `wake` after any commit on `engine` that wrote events; returns an unsubscriber."""
    _WAKERS.setdefault(id(engine), []).append(wake)
    return lambda: _WAKERS.get(id(engine), []).remove(wake)


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    if session.info.pop("webhook_events", False):
        bind = session.get_bind()
        engine = getattr(bind, "engine", bind)
        for wake in list(_WAKERS.get(id(engine), [])):
            wake()


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop("webhook_events", None)


def emit(
    *,
    session: Session,
    type: str,
    data: dict[str, Any],
    subject_id: str | None = None,
    endpoint_id: uuid.UUID | None = None,
) -> WebhookEvent:
    """Record an event and its deliveries in the caller's transaction."""
    evt = WebhookEvent(type=type, subject_id=subject_id, data=data)
    session.add(evt)
    stmt = select(WebhookEndpoint).where(col(WebhookEndpoint.status) != "disabled")
    if endpoint_id is not None:
        stmt = stmt.where(WebhookEndpoint.id == endpoint_id)
    now = utcnow()
    deliveries = [
        WebhookDelivery(event_id=evt.id, endpoint_id=endpoint.id, next_attempt_at=now)
        for endpoint in session.exec(stmt)
        if endpoint_id is not None or not endpoint.event_types or type in endpoint.event_types
    ]
    session.add_all(deliveries)
    if deliveries:  # with no subscriber there is nothing to wake anyone for
        announce(session=session)
    return evt


def announce(*, session: Session) -> None:
    """Wake dispatchers when this transaction commits: in-process, and on PostgreSQL every
    worker LISTENing in any process."""
    session.info["webhook_events"] = True
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(f"NOTIFY {NOTIFY_CHANNEL}"))


def lead_data(lead: ConsultationRequest) -> dict[str, Any]:
    """A lead as an event carries it (rendered per endpoint at delivery)."""
    return {
        "id": str(lead.id),
        "status": lead.status,
        "created_at": lead.created_at.isoformat(),
        "updated_at": lead.updated_at.isoformat(),
        "erased": lead.erased_at is not None,
        "first_name": lead.first_name,
        "last_name": lead.last_name,
        "email": lead.email,
        "phone": lead.phone,
        "preferred_contact_method": lead.preferred_contact_method,
        "preferred_time": lead.preferred_time,
        "consent": {
            "contact": lead.consent_contact,
            "sms": lead.consent_sms,
            "version": lead.consent_version,
        },
        "channel": lead.channel,
        "utm": lead.utm,
        "therapies": lead.therapies,
        "conditions": lead.conditions,
        "message": lead.message,
        "article_slug": lead.source_article_slug,
        "page_url": lead.source_page_url,
        "links": {"self": f"/v1/admin/consultation-requests/{lead.id}"},
    }


def article_data(article: Article) -> dict[str, Any]:
    """An article as an event carries it."""
    return {
        "id": str(article.id),
        "slug": article.slug,
        "locale": article.locale,
        "title": article.title,
        "status": article.status,
        "revision": article.revision,
        "published_at": article.published_at.isoformat() if article.published_at else None,
        "updated_at": article.updated_at.isoformat(),
        "links": {"self": f"/v1/articles/{article.slug}?locale={article.locale}"},
    }


def article_event_type(before: str | None, after: str) -> str | None:
    """Which article event a status change (and a content change) means, if any."""
    if after == "published":
        return "article.updated" if before == "published" else "article.published"
    return "article.unpublished" if before == "published" else None


def emit_article_change(*, session: Session, article: Article, before: str | None) -> None:
    """Emit article.published/updated/unpublished for a changed article, in its transaction."""
    event_type = article_event_type(before, article.status)
    if event_type:
        emit(
            session=session, type=event_type, data=article_data(article), subject_id=str(article.id)
        )


def render(
    event_type: str, data: dict[str, Any], *, mode: str, health: bool, base_url: str
) -> dict[str, Any]:
    """The `data` one endpoint receives: thin or full, with or without health fields."""
    links = {k: base_url.rstrip("/") + v for k, v in data.get("links", {}).items()}
    if mode == "thin":
        thin: dict[str, Any] = {
            k: data[k] for k in ("id", "slug", "locale", "revision") if k in data
        }
        return {**thin, "links": links}
    out = {**data, "links": links}
    if event_type.startswith("consultation_request.") and not health:
        for field in HEALTH_FIELDS:
            out.pop(field, None)
    return out


def scrub_subject(*, session: Session, subject_id: str) -> None:
    """On erasure, stored events about a lead keep only its id."""
    for evt in session.exec(select(WebhookEvent).where(WebhookEvent.subject_id == subject_id)):
        evt.data = {"id": subject_id, "erased": True, "links": evt.data.get("links", {})}
        session.add(evt)
