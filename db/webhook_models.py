"""Tables for webhooks: endpoints, the event outbox, deliveries and their attempts, and the
inbound messages already applied."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, LargeBinary
from sqlmodel import Field, SQLModel

from db.models import utcnow
from schemas.vocabulary import DeliveryStatus, EndpointStatus, PayloadMode


class WebhookEndpoint(SQLModel, table=True):
    """A subscriber URL. The secret signs deliveries; it is shown on create and rotate only."""

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    url: str = Field(max_length=2000)
    description: str = Field(default="", max_length=500)
    event_types: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    payload_mode: str = Field(default=PayloadMode.FULL, max_length=10)
    include_health_data: bool = False
    # Signing secrets are sealed under the master key (`secret_key_id` names which).
    secret_key_id: str = Field(max_length=16)
    secret_sealed: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    previous_secret_sealed: bytes | None = Field(default=None, sa_column=Column(LargeBinary))
    previous_secret_expires_at: datetime | None = None
    status: str = Field(default=EndpointStatus.ACTIVE, max_length=10, index=True)
    disabled_reason: str | None = Field(default=None, max_length=200)
    failing_since: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class WebhookEvent(SQLModel, table=True):
    """The outbox: one row per change, written in the change's own transaction."""

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    type: str = Field(max_length=60, index=True)
    subject_id: str | None = Field(default=None, max_length=200, index=True)
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)
    # The X-Request-ID of the request that caused it (deliveries carry it on).
    request_id: str | None = Field(default=None, max_length=128)


class WebhookDelivery(SQLModel, table=True):
    """One event to one endpoint; due when `next_attempt_at` has passed and it is pending."""

    __table_args__ = (Index("ix_delivery_due", "status", "next_attempt_at"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    event_id: uuid.UUID = Field(foreign_key="webhookevent.id", index=True)
    endpoint_id: uuid.UUID = Field(foreign_key="webhookendpoint.id", index=True, ondelete="CASCADE")
    status: str = Field(default=DeliveryStatus.PENDING, max_length=10)
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow)
    last_status_code: int | None = None
    created_at: datetime = Field(default_factory=utcnow)
    delivered_at: datetime | None = None
    # The endpoint's payload policy when this delivery was created: a later change to the
    # endpoint (health data switched on) must not widen what an old event sends on redelivery.
    # The defaults are the narrowest policy, for any delivery created without a snapshot.
    payload_mode: str = Field(default=PayloadMode.THIN, max_length=10)
    include_health_data: bool = False


class WebhookAttempt(SQLModel, table=True):
    """One HTTP attempt of a delivery."""

    id: int | None = Field(default=None, primary_key=True)
    delivery_id: uuid.UUID = Field(foreign_key="webhookdelivery.id", index=True, ondelete="CASCADE")
    attempted_at: datetime = Field(default_factory=utcnow)
    status_code: int | None = None
    latency_ms: float
    error: str | None = Field(default=None, max_length=500)
    succeeded: bool
    next_attempt_at: datetime | None = None


class InboundMessage(SQLModel, table=True):
    """A `webhook-id` from the CRM that was already applied; a repeat is acknowledged only."""

    id: str = Field(max_length=200, primary_key=True)
    received_at: datetime = Field(default_factory=utcnow)
