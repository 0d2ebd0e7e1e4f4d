"""Tables for leads and staff access: consent texts, consultation requests, idempotency,
API keys and the audit trail."""

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel

from db import editorial_models  # noqa: F401  (the reviewer table an API key names)
from db.models import utcnow


class ConsentText(SQLModel, table=True):
    """One version of the consent wording a lead form shows, in one locale; immutable. A
    version means the same consent in every locale it is written in."""

    __table_args__ = (UniqueConstraint("version", "locale", name="uq_consent_version_locale"),)

    id: int | None = Field(default=None, primary_key=True)
    version: str = Field(max_length=40, index=True)
    locale: str = Field(default="en", max_length=10)
    text: str
    sms_text: str
    # Beside the adults-only checkbox, and above the submit button (the form is not for
    # emergencies). Versions before 2026-12 had neither.
    age_text: str | None = None
    emergency_notice: str | None = None
    current: bool = Field(default=False)
    created_at: datetime = Field(default_factory=utcnow)


class LegalDocument(SQLModel, table=True):
    """One version of a legal text the clinic publishes (the privacy notice), in one locale.
    New words make a new version; old ones are kept, so what a lead was shown stays known."""

    __table_args__ = (
        UniqueConstraint("key", "locale", "version", name="uq_legaldocument_key_locale_version"),
    )

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=80, index=True)
    locale: str = Field(default="en", max_length=10)
    version: int
    title: str = Field(max_length=200)
    effective: date
    markdown: str
    current: bool = Field(default=False)
    created_at: datetime = Field(default_factory=utcnow)


class ConsultationRequest(SQLModel, table=True):
    """A patient lead. Its personal data (names, contact details, message, notes, client
    address, user agent, page and referrer) is sealed under the lead's own data key (LeadKey);
    erasure destroys that key and keeps this row as a tombstone."""

    __table_args__ = (Index("ix_lead_created_id", "created_at", "id"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    status: str = Field(max_length=20, index=True)
    sealed: bytes | None = Field(default=None, sa_column=Column(LargeBinary))
    # Keyed hash of the normalised email, so staff can find a lead without decrypting all.
    email_index: str | None = Field(default=None, max_length=64, index=True)
    preferred_contact_method: str = Field(max_length=10)
    therapies: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    conditions: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    consent_contact: bool
    consent_sms: bool
    consent_version: str = Field(max_length=40)
    consent_text: str | None = None
    consent_at: datetime
    # The person said they are 18 or older; null for leads taken before the form asked.
    consent_age_confirmed: bool | None = None
    source_article_slug: str | None = Field(default=None, max_length=120, index=True)
    channel: str = Field(max_length=10, index=True)
    disclaimer_versions: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    # What the form says the reader was shown, kept beside the server's own computation.
    disclaimers_reported: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    erased_at: datetime | None = None


class LeadKey(SQLModel, table=True):
    """A lead's data key, wrapped under a master key. Deleting the row is the erasure."""

    lead_id: uuid.UUID = Field(foreign_key="consultationrequest.id", primary_key=True)
    master_key_id: str = Field(max_length=16, index=True)
    wrapped: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)


class LeadTerm(SQLModel, table=True):
    """Filterable index of a lead's therapies and conditions of interest (kind + slug)."""

    lead_id: uuid.UUID = Field(
        foreign_key="consultationrequest.id", primary_key=True, ondelete="CASCADE"
    )
    kind: str = Field(max_length=10, primary_key=True)
    slug: str = Field(max_length=80, primary_key=True, index=True)


class IdempotencyRecord(SQLModel, table=True):
    """One Idempotency-Key: its request fingerprint and the lead that request created.

    Written in the lead's own transaction, so it exists exactly when the lead does."""

    key: str = Field(max_length=255, primary_key=True)
    fingerprint: str = Field(max_length=64)
    lead_id: uuid.UUID
    created_at: datetime = Field(default_factory=utcnow, index=True)


class ApiKey(SQLModel, table=True):
    """A staff or CRM key: only its SHA-256 hash and a short prefix are stored."""

    __table_args__ = (UniqueConstraint("prefix", name="uq_apikey_prefix"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    name: str = Field(max_length=100)
    prefix: str = Field(max_length=16)
    key_hash: str = Field(max_length=64)
    scopes: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime | None = None
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None
    # The clinician this key acts for (scope `content:review`): approvals name that record.
    reviewer_id: uuid.UUID | None = Field(default=None, foreign_key="reviewer.id")


class AuditEntry(SQLModel, table=True):
    """Who read or changed which lead, when. Holds ids and filters, never personal data."""

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, index=True)
    api_key_id: uuid.UUID | None = Field(default=None, index=True)
    action: str = Field(max_length=40)
    lead_id: uuid.UUID | None = Field(default=None, index=True)
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
