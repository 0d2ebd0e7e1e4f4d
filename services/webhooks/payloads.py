"""What an event carries: a lead or an article as stored in the outbox, and the `data` one
endpoint receives (thin or full, with or without health fields, with absolute links)."""

from collections.abc import Callable, Mapping
from typing import Any

from db.models import Article
from schemas.vocabulary import PayloadMode
from services.lead_vault import Personal

# Health information: only endpoints with `include_health_data` receive these lead fields.
HEALTH_FIELDS = ("therapies", "conditions", "message", "article_slug", "page_url")
LEAD_EVENT_PREFIX = "consultation_request."
# Links are HTTP: the API builds them (api/links.py) and the dispatcher is handed the builder.
LinkBuilder = Callable[[str, Mapping[str, Any]], dict[str, str]]


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
        },
        "channel": lead["channel"],
        "utm": lead["utm"],
        "therapies": lead["therapies"],
        "conditions": lead["conditions"],
        "message": personal.message,
        "article_slug": lead["source_article_slug"],
        "page_url": personal.page_url,
    }


def article_data(article: Article) -> dict[str, Any]:
    """An article as an event stores it."""
    return {
        "id": str(article.id),
        "slug": article.slug,
        "locale": article.locale,
        "title": article.title,
        "status": article.status,
        "revision": article.revision,
        "published_at": article.published_at.isoformat() if article.published_at else None,
        "updated_at": article.updated_at.isoformat(),
    }


def erased_data(subject_id: str) -> dict[str, Any]:
    """What stays of an event about an erased lead."""
    return {"id": subject_id, "erased": True}


def render(
    event_type: str,
    data: Mapping[str, Any],
    *,
    mode: PayloadMode,
    health: bool,
    links: LinkBuilder,
) -> dict[str, Any]:
    """The `data` one endpoint receives: thin or full, with or without health fields."""
    stored = {k: v for k, v in data.items() if k != "links"}  # events stored before links moved
    out_links = links(event_type, stored)
    if mode == PayloadMode.THIN:
        thin: dict[str, Any] = {
            k: stored[k] for k in ("id", "slug", "locale", "revision") if k in stored
        }
        return {**thin, "links": out_links}
    out = {**stored, "links": out_links}
    if event_type.startswith(LEAD_EVENT_PREFIX) and not health:
        for field in HEALTH_FIELDS:
            out.pop(field, None)
    return out
