"""Webhook endpoints, deliveries and inbound CRM events as clients see them."""

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from schemas.text import Notes, Text500, WebhookUrl
from schemas.vocabulary import (
    AckStatus,
    CrmEventType,
    CrmLeadStatus,
    DeliveryStatus,
    EndpointStatus,
    EventType,
    PayloadMode,
)


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WebhookEndpointCreate(_Input):
    """A new subscriber."""

    url: WebhookUrl = Field(examples=["https://crm.example.com/hooks/clinic"])
    description: Text500 = ""
    event_types: list[EventType] = Field(
        default_factory=list, description="Empty means every event type."
    )
    payload_mode: PayloadMode = Field(
        default=PayloadMode.FULL, description="`thin` sends ids and links only; `full` the record."
    )
    include_health_data: StrictBool = Field(
        default=False,
        description="Send therapies, conditions, message and source article/page. Off by default.",
    )


class WebhookEndpointUpdate(_Input):
    """Fields to change; omitted fields stay."""

    url: WebhookUrl | None = None
    description: Text500 | None = None
    event_types: list[EventType] | None = None
    payload_mode: PayloadMode | None = None
    include_health_data: StrictBool | None = None


class WebhookEndpointPublic(BaseModel):
    """A subscriber, without its secret."""

    id: uuid.UUID
    url: str
    description: str
    event_types: list[EventType] = Field(description="Empty means every event type.")
    payload_mode: PayloadMode
    include_health_data: bool
    status: EndpointStatus
    disabled_reason: str | None
    failing_since: datetime | None
    created_at: datetime
    updated_at: datetime


class WebhookEndpointWithSecret(WebhookEndpointPublic):
    """Returned on create and on rotate only: the signing secret."""

    secret: str = Field(description="`whsec_…`: verify deliveries with it (Standard Webhooks).")


class WebhookEndpointList(BaseModel):
    """Every endpoint."""

    data: list[WebhookEndpointPublic]


class WebhookAttemptPublic(BaseModel):
    """One HTTP attempt."""

    attempted_at: datetime
    status_code: int | None
    latency_ms: float
    error: str | None
    succeeded: bool
    next_attempt_at: datetime | None


class WebhookDeliveryPublic(BaseModel):
    """One event to one endpoint, with every attempt."""

    id: uuid.UUID
    event_id: uuid.UUID
    event_type: str = Field(description="An `EventType`, or `ping` for a test delivery.")
    endpoint_id: uuid.UUID
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    created_at: datetime
    delivered_at: datetime | None
    attempt_log: list[WebhookAttemptPublic]


class WebhookDeliveryList(BaseModel):
    """Deliveries of an endpoint, newest first."""

    data: list[WebhookDeliveryPublic]


class CrmStatusChange(_Input):
    """The data of a `consultation_request.status_changed` event from the CRM."""

    id: uuid.UUID
    status: CrmLeadStatus
    note: Notes | None = None


class CrmEvent(_Input):
    """An event the CRM posts back, signed with the Standard Webhooks scheme."""

    type: CrmEventType
    timestamp: datetime | None = None
    data: CrmStatusChange


class CrmEventAck(BaseModel):
    """Acknowledgement of an inbound event."""

    status: AckStatus
    id: uuid.UUID | None = None
