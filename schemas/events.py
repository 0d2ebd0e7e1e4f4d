"""Outbound webhook events as an endpoint receives them: the Standard Webhooks envelope
`{type, timestamp, data}`, with `data` in the endpoint's payload mode.

`services/webhooks/payloads.py` builds these bodies; the OpenAPI `webhooks` section names these
models, and the suite checks that what is rendered validates against them."""

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from schemas.vocabulary import (
    ArticleStatus,
    Channel,
    ContactMethod,
    EventType,
    LeadStatus,
)

HEALTH = "Only to endpoints with `include_health_data: true`."


class _Payload(BaseModel):
    # Closed shapes, so that the full and the thin form of one event never both match.
    model_config = ConfigDict(extra="forbid")


class EventLinks(_Payload):
    """Absolute links to the event's subject."""

    self: str = Field(description="The lead (staff API, needs a key) or the public article.")


class LeadConsentData(_Payload):
    """What the person agreed to."""

    contact: bool
    sms: bool
    version: str = Field(description="The consent text's version.")
    age_confirmed: bool | None = Field(
        description="The person confirmed they are 18 or older; null for leads taken before "
        "the form asked."
    )


class LeadEventData(_Payload):
    """A lead in a `full` payload: contact details and, with health data, its interests.
    Personal fields are null once the lead is erased."""

    id: uuid.UUID
    status: LeadStatus
    created_at: datetime
    updated_at: datetime
    erased: bool
    first_name: str | None
    last_name: str | None
    email: str | None
    phone: str | None = Field(description="E.164.")
    preferred_contact_method: ContactMethod
    preferred_time: str | None
    consent: LeadConsentData
    channel: Channel
    utm: dict[str, str]
    therapies: list[str] | None = Field(default=None, description=HEALTH)
    conditions: list[str] | None = Field(default=None, description=HEALTH)
    message: str | None = Field(default=None, description=HEALTH)
    article_slug: str | None = Field(default=None, description=HEALTH)
    page_url: str | None = Field(default=None, description=HEALTH)
    links: EventLinks


class ErasedLeadEventData(_Payload):
    """What a `full` payload still carries of an event about a lead erased since."""

    id: uuid.UUID
    erased: Literal[True]
    links: EventLinks


class LeadEventThinData(_Payload):
    """A lead in a `thin` payload: its id and link only; fetch the rest with a key."""

    id: uuid.UUID
    links: EventLinks


class ArticleEventData(_Payload):
    """An article in a `full` payload."""

    id: uuid.UUID
    slug: str
    locale: str
    title: str
    status: ArticleStatus
    revision: int
    published_at: datetime | None
    updated_at: datetime
    links: EventLinks


class ArticleEventThinData(_Payload):
    """An article in a `thin` payload: which one and which revision."""

    id: uuid.UUID
    slug: str
    locale: str
    revision: int
    links: EventLinks


class PingEventData(_Payload):
    """A test delivery's data (`message` only in `full` mode)."""

    message: Literal["ping"] | None = None
    links: dict[str, str] = Field(description="Always empty.")


class _Envelope(BaseModel):
    timestamp: datetime = Field(description="When the event happened (the change committed).")


class LeadEvent(_Envelope):
    """A lead event to a `full` endpoint."""

    type: EventType = Field(description="A `consultation_request.*` event type.")
    data: LeadEventData | ErasedLeadEventData


class LeadEventThin(_Envelope):
    """A lead event to a `thin` endpoint."""

    type: EventType = Field(description="A `consultation_request.*` event type.")
    data: LeadEventThinData


class ArticleEvent(_Envelope):
    """An article event to a `full` endpoint."""

    type: EventType = Field(description="An `article.*` event type.")
    data: ArticleEventData


class ArticleEventThin(_Envelope):
    """An article event to a `thin` endpoint."""

    type: EventType = Field(description="An `article.*` event type.")
    data: ArticleEventThinData


class PingEvent(_Envelope):
    """The test event `POST /v1/admin/webhook-endpoints/{id}/test` sends (either mode)."""

    type: Literal["ping"] = "ping"
    data: PingEventData
