"""Consultation requests (leads): what a form sends and what staff read."""

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    EmailStr,
    Field,
    StrictBool,
    StringConstraints,
)

from schemas.common import WHOLE_NUMBER
from schemas.text import (
    Honeypot,
    Message,
    Name,
    Notes,
    PageUrl,
    PhoneText,
    Text100,
    Text200,
    Version,
)
from schemas.vocabulary import (
    LOCALE_PATTERN,
    ArticleSlug,
    AuditAction,
    Channel,
    ContactMethod,
    LeadStatus,
    LeadView,
    Slug,
)

# `<microseconds since the epoch>.<lead id as 32 hex digits>`: every such string is a position.
LEAD_CURSOR_PATTERN = r"^[0-9]{1,16}\.[0-9a-f]{32}$"


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _only_true(value: object) -> object:
    # `Literal[True]` compares by equality, so 1 and 1.0 passed as consent; `strict` does not
    # apply to literals. The schema stays `{"type": "boolean", "const": true}`.
    if value is not True:
        raise ValueError("consent to be contacted must be the JSON value true")
    return value


def _adult(value: object) -> object:
    if value is not True:
        raise ValueError("confirming you are 18 or older must be the JSON value true")
    return value


class ConsentIn(_Input):
    """What the person agreed to on the form."""

    contact: Annotated[Literal[True], BeforeValidator(_only_true)] = Field(
        description="Must be true: consent to be contacted about this request."
    )
    sms: StrictBool = Field(default=False, description="Separate opt-in to text messages.")
    age_confirmed: Annotated[Literal[True], BeforeValidator(_adult)] = Field(
        description="Must be true: the person confirms they are 18 or older (the clinic "
        "treats adults only)."
    )
    consent_version: Version = Field(
        description="The `version` from `GET /v1/consent-texts/current` that the form showed."
    )
    locale: Annotated[str, StringConstraints(pattern=LOCALE_PATTERN)] | None = Field(
        default=None,
        examples=["es"],
        description="The `locale` of that consent text (default: the clinic's default locale); "
        "the lead stores the exact wording of this version in this locale, found as `GET "
        "/v1/consent-texts/current` finds it (`es-MX` → `es`, a locale without a text → the "
        "default locale's).",
    )


class DisclaimerShownIn(_Input):
    """A disclaimer version the form displayed, as the article response named it."""

    key: Slug
    version: Annotated[int, Field(strict=True, ge=1, le=1_000_000), WHOLE_NUMBER]


class SourceIn(_Input):
    """Where the request came from, for attribution."""

    article_slug: ArticleSlug | None = Field(default=None, examples=["iv-ketamine-for-ptsd"])
    locale: Annotated[str, StringConstraints(pattern=LOCALE_PATTERN)] | None = Field(
        default=None, description="Locale of the source article (default: the clinic's)."
    )
    page_url: PageUrl | None = Field(
        default=None,
        examples=["https://www.clinic.example/ptsd"],
        description="The absolute http(s) URL of the page with the form.",
    )
    referrer: PageUrl | None = Field(
        default=None, description="The absolute http(s) URL that led there; empty for none."
    )
    utm_source: Text200 | None = None
    utm_medium: Text200 | None = None
    utm_campaign: Text200 | None = None
    utm_term: Text200 | None = None
    utm_content: Text200 | None = None
    channel: Channel = Channel.WEB
    disclaimers_shown: list[DisclaimerShownIn] = Field(
        default_factory=list,
        max_length=20,
        description="The disclaimers (key and version) the page displayed next to the form; "
        "stored beside the server's own record of what the article carried.",
    )


class ConsultationRequestCreate(_Input):
    """A request for a consultation, as a website or app form sends it."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "example": {
                "first_name": "Ana",
                "last_name": "Diaz",
                "email": "ana@example.com",
                "phone": "+1 415 555 0100",
                "preferred_contact_method": "phone",
                "preferred_time": "weekday evenings",
                "therapies": ["iv-ketamine"],
                "conditions": ["ptsd"],
                "message": "I would like to know if this could help me.",
                "consent": {
                    "contact": True,
                    "sms": False,
                    "age_confirmed": True,
                    "consent_version": "2026-12-07",
                },
                "source": {
                    "article_slug": "iv-ketamine-for-ptsd",
                    "page_url": "https://www.clinic.example/articles/iv-ketamine-for-ptsd",
                    "utm_source": "newsletter",
                    "channel": "web",
                },
                "website": "",
            },
            # Checked again by the intake, which answers every problem in one 422.
            "allOf": [
                {  # contact by SMS needs the SMS opt-in
                    "if": {
                        "properties": {"preferred_contact_method": {"const": "sms"}},
                        "required": ["preferred_contact_method"],
                    },
                    "then": {
                        "properties": {
                            "consent": {
                                "properties": {"sms": {"const": True}},
                                "required": ["sms"],
                            }
                        }
                    },
                },
                {  # a phone number, unless contact is by email (the default is phone)
                    "if": {
                        "properties": {"preferred_contact_method": {"const": "email"}},
                        "required": ["preferred_contact_method"],
                    },
                    "else": {
                        "properties": {"phone": {"type": "string"}},
                        "required": ["phone"],
                    },
                },
            ],
        },
    )

    first_name: Name
    last_name: Name
    email: EmailStr = Field(max_length=320)
    phone: PhoneText | None = Field(
        default=None,
        description="Any common format; national numbers use the clinic's default region. "
        "Required unless `preferred_contact_method` is `email`.",
    )
    preferred_contact_method: ContactMethod = ContactMethod.PHONE
    preferred_time: Text100 | None = None
    therapies: list[Slug] = Field(default_factory=list, max_length=10)
    conditions: list[Slug] = Field(default_factory=list, max_length=10)
    message: Message | None = Field(default=None, description="At most 2000 characters.")
    consent: ConsentIn
    source: SourceIn = Field(default_factory=SourceIn)
    website: Honeypot | None = Field(
        default=None, description="Leave empty. (A trap field that people never see.)"
    )


class ConsultationRequestReceipt(BaseModel):
    """The answer to a submitted request: no personal data is echoed."""

    model_config = ConfigDict(json_schema_serialization_defaults_required=True)

    id: uuid.UUID
    # The staff and webhook vocabulary: a request is `new` when it is received.
    status: Literal[LeadStatus.NEW] = LeadStatus.NEW
    created_at: datetime


class ConsentTextPublic(BaseModel):
    """The consent wording a form must show, and the version to send back."""

    version: str = Field(examples=["2026-12-07"])
    locale: str = Field(examples=["en"], description="The language of this wording.")
    text: str
    sms_text: str
    age_text: str | None = Field(
        description="The label of the adults-only checkbox (`consent.age_confirmed`). Null "
        "only for versions written before it existed."
    )
    emergency_notice: str | None = Field(
        description="Show above the submit button: the form is not for emergencies, and where "
        "to get help now. Null only for versions written before it existed."
    )
    privacy_notice_url: str | None = Field(
        description="The privacy notice in this language (`GET /v1/legal/privacy-notice`), to "
        "link beside the consent; null when the clinic has published none."
    )


class DisclaimerShown(BaseModel):
    """A disclaimer version the reader was shown on the source article."""

    key: str
    version: int


class DisclaimerCarried(DisclaimerShown):
    """A disclaimer version the source article carried, as the server recorded it."""

    locale: str = Field(
        default="en",
        description="The language of the text (leads stored before translations: `en`).",
    )


class ConsultationRequestPublic(BaseModel):
    """A lead as staff read it. Personal fields are null once erased."""

    model_config = ConfigDict(json_schema_serialization_defaults_required=True)

    view: Literal[LeadView.STAFF] = LeadView.STAFF
    id: uuid.UUID
    created_at: datetime
    updated_at: datetime
    status: LeadStatus
    first_name: str | None
    last_name: str | None
    email: str | None
    phone: str | None
    preferred_contact_method: ContactMethod
    preferred_time: str | None
    therapies: list[str]
    conditions: list[str]
    message: str | None
    notes: str | None
    consent_contact: bool
    consent_sms: bool
    consent_version: str
    consent_text: str | None
    consent_at: datetime
    consent_age_confirmed: bool | None = Field(
        description="The person confirmed they are 18 or older; null for leads taken before "
        "the form asked."
    )
    client_ip: str | None
    user_agent: str | None
    source_article_slug: str | None
    source_page_url: str | None
    source_referrer: str | None
    utm: dict[str, str]
    channel: Channel
    disclaimer_versions: list[DisclaimerCarried] = Field(
        description="What the source article carried when the request arrived (server's record)."
    )
    disclaimers_reported: list[DisclaimerShown] = Field(
        description="What the form said it displayed (`source.disclaimers_shown`)."
    )
    erased_at: datetime | None
    unreadable: bool = Field(
        default=False,
        description="True when the lead's personal data cannot be opened (a damaged record): "
        "its personal fields are null; it can still be erased.",
    )


class ConsultationRequestState(BaseModel):
    """A lead's state without its personal or health data: what a write answers to a key
    that may change leads but not read them (no `leads:read`)."""

    model_config = ConfigDict(json_schema_serialization_defaults_required=True)

    view: Literal[LeadView.STATE] = LeadView.STATE
    id: uuid.UUID
    created_at: datetime
    updated_at: datetime
    status: LeadStatus
    erased_at: datetime | None


# `view` says which one came back: a client reads personal fields only from a `staff` answer.
ConsultationRequestWritten = Annotated[
    ConsultationRequestPublic | ConsultationRequestState, Field(discriminator="view")
]


class ConsultationRequestUpdate(_Input):
    """A status change and/or internal notes."""

    status: LeadStatus | None = None
    notes: Notes | None = None


class CursorMeta(BaseModel):
    """Cursor pagination state."""

    page_size: int
    next_cursor: str | None


class ConsultationRequestList(BaseModel):
    """A page of leads, newest first."""

    data: list[ConsultationRequestPublic]
    meta: CursorMeta
    links: dict[str, str | None]


class AuditEntryPublic(BaseModel):
    """One audited access to leads."""

    id: int
    at: datetime
    api_key_id: uuid.UUID | None
    action: AuditAction
    lead_id: uuid.UUID | None
    detail: dict[str, object]


class AuditList(BaseModel):
    """A page of audit entries, newest first."""

    data: list[AuditEntryPublic]
    meta: CursorMeta
    links: dict[str, str | None]
