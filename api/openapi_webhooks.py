"""The OpenAPI `webhooks` section: every outbound event, its payload in both modes, the
Standard Webhooks headers, and an example of each (checked against the models by the suite)."""

from typing import Any

from pydantic import BaseModel

from schemas.events import (
    ArticleEvent,
    ArticleEventThin,
    LeadEvent,
    LeadEventThin,
    PingEvent,
)
from schemas.vocabulary import PING_EVENT, EventType

Json = dict[str, Any]
REF = "#/components/schemas/{model}"
EVENT_MODELS: tuple[type[BaseModel], ...] = (
    LeadEvent,
    LeadEventThin,
    ArticleEvent,
    ArticleEventThin,
    PingEvent,
)

SIGNATURE_HEADERS: dict[str, Json] = {
    "webhook-id": {
        "name": "webhook-id",
        "in": "header",
        "required": True,
        "description": "The message id (`msg_…`); the same on every retry and redelivery, so "
        "a receiver can drop duplicates. Up to 200 printable ASCII characters.",
        "schema": {"type": "string", "pattern": "^[\\x21-\\x7e]{1,200}$"},
        "example": "msg_5f0c6c1c2a8b4a7e9d3f1e2b4c6d8a0f",
    },
    "webhook-timestamp": {
        "name": "webhook-timestamp",
        "in": "header",
        "required": True,
        "description": "Unix seconds when the message was signed; refuse it when more than "
        "5 minutes from your clock.",
        "schema": {"type": "string", "pattern": "^[0-9]{1,12}$"},
        "example": "1795910400",
    },
    "webhook-signature": {
        "name": "webhook-signature",
        "in": "header",
        "required": True,
        "description": "Space-separated `v1,<base64 HMAC-SHA256 of id.timestamp.body>` under "
        "the `whsec_…` secret (two while a rotated secret is in its grace period). Verify "
        "with the `standardwebhooks` library.",
        "schema": {"type": "string", "maxLength": 1000},
        "example": "v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4=",
    },
}

_LEAD_ID = "0b4f7a52-9c1e-4d7b-8a61-3f2e5d9c0a17"
_LEAD_LINKS = {"self": f"https://api.clinic.example/v1/admin/consultation-requests/{_LEAD_ID}"}
_ARTICLE_LINKS = {"self": "https://api.clinic.example/v1/articles/iv-ketamine-for-ptsd?locale=en"}
_LEAD_FULL: Json = {
    "id": _LEAD_ID,
    "status": "new",
    "created_at": "2026-11-29T18:04:05.123456+00:00",
    "updated_at": "2026-11-29T18:04:05.123456+00:00",
    "erased": False,
    "first_name": "Ana",
    "last_name": "Diaz",
    "email": "ana@example.com",
    "phone": "+14155550100",
    "preferred_contact_method": "phone",
    "preferred_time": "weekday evenings",
    "consent": {"contact": True, "sms": False, "version": "2026-12-07", "age_confirmed": True},
    "channel": "web",
    "utm": {"utm_source": "newsletter"},
    "therapies": ["iv-ketamine"],
    "conditions": ["ptsd"],
    "message": "I would like to know if this could help me.",
    "article_slug": "iv-ketamine-for-ptsd",
    "page_url": "https://www.clinic.example/articles/iv-ketamine-for-ptsd",
    "links": _LEAD_LINKS,
}
_ARTICLE_FULL: Json = {
    "id": "6a0e2d4c-1b3f-4e5a-9c7d-8f1a2b3c4d5e",
    "slug": "iv-ketamine-for-ptsd",
    "locale": "en",
    "title": "IV ketamine for PTSD",
    "status": "published",
    "revision": 3,
    "published_at": "2026-11-01T09:00:00+00:00",
    "updated_at": "2026-11-29T18:04:05+00:00",
    "links": _ARTICLE_LINKS,
}
_TIMESTAMP = "2026-11-29T18:04:05.123456+00:00"


def _thin(data: Json) -> Json:
    return {k: data[k] for k in ("id", "slug", "locale", "revision", "links") if k in data}


def examples(event_type: str) -> dict[str, Json]:
    """The example bodies of one event type: `full` and `thin`."""
    full: Json
    thin: Json
    if event_type == PING_EVENT:
        full, thin = {"message": "ping", "links": {}}, {"links": {}}
    elif event_type.startswith("consultation_request."):
        full = dict(_LEAD_FULL)
        if event_type == EventType.CONSULTATION_REQUEST_UPDATED:
            full |= {"status": "contacted", "updated_at": "2026-11-30T10:00:00+00:00"}
        thin = _thin(full)
    else:
        full = dict(_ARTICLE_FULL)
        if event_type == EventType.ARTICLE_UNPUBLISHED:
            full |= {"status": "archived", "revision": 4}
        thin = _thin(full)
    return {
        mode: {"type": event_type, "timestamp": _TIMESTAMP, "data": data}
        for mode, data in (("full", full), ("thin", thin))
    }


_SUMMARIES = {
    EventType.CONSULTATION_REQUEST_CREATED: "A consultation request was received",
    EventType.CONSULTATION_REQUEST_UPDATED: "A consultation request changed (status, notes, "
    "a CRM update or erasure)",
    EventType.ARTICLE_PUBLISHED: "An article was published",
    EventType.ARTICLE_UPDATED: "A published article changed",
    EventType.ARTICLE_UNPUBLISHED: "An article was archived or withdrawn",
    PING_EVENT: "A test delivery (`POST …/webhook-endpoints/{id}/test`)",
}


def _schema(event_type: str) -> Json:
    if event_type == PING_EVENT:
        return {"$ref": REF.format(model="PingEvent")}
    subject = "Lead" if event_type.startswith("consultation_request.") else "Article"
    # anyOf: the full and thin shapes never overlap (closed `data` objects), but a linter
    # cannot see that through the nested references.
    return {
        "anyOf": [
            {"$ref": REF.format(model=f"{subject}Event")},
            {"$ref": REF.format(model=f"{subject}EventThin")},
        ]
    }


def _operation(event_type: str) -> Json:
    bodies = examples(event_type)
    return {
        "post": {
            "operationId": "on_" + event_type.replace(".", "_"),
            "summary": _SUMMARIES[event_type],
            "description": "Sent to each active endpoint subscribed to this event type (an "
            "empty subscription list means every type). `data` follows the endpoint's "
            "`payload_mode`: `full` (the record; health fields only with "
            "`include_health_data`) or `thin` (ids and links).",
            "tags": ["webhooks"],
            "security": [],
            "parameters": [
                {"$ref": f"#/components/parameters/{name}"} for name in SIGNATURE_HEADERS
            ],
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": _schema(event_type),
                        "examples": {
                            mode: {"summary": f"payload_mode: {mode}", "value": body}
                            for mode, body in bodies.items()
                        },
                    }
                },
            },
            "responses": {
                "200": {"description": "Any 2xx acknowledges the delivery."},
                "410": {"description": "Gone: the endpoint is disabled, nothing more is sent."},
                "429": {
                    "description": "Retried later, honouring `Retry-After` (seconds), as on 503.",
                    "headers": {
                        "Retry-After": {"schema": {"type": "integer", "minimum": 1}},
                    },
                },
            },
        }
    }


def webhooks() -> Json:
    """The `webhooks` object: one entry per event type, and the test `ping`."""
    return {str(event): _operation(event) for event in (*EventType, PING_EVENT)}
