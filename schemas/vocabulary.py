"""One vocabulary: every status, channel, mode and kind, and the slug pattern, defined once.

Table models, services and routers import these; the OpenAPI schema names each enum once."""

from enum import StrEnum
from typing import Annotated

from pydantic import StringConstraints

SLUG_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
LOCALE_PATTERN = r"^[a-z]{2}(-([A-Za-z]{2}|[0-9]{3}))?$"
SLUG_MAX = 80
ARTICLE_SLUG_MAX = 120

Slug = Annotated[str, StringConstraints(pattern=SLUG_PATTERN, max_length=SLUG_MAX)]
ArticleSlug = Annotated[str, StringConstraints(pattern=SLUG_PATTERN, max_length=ARTICLE_SLUG_MAX)]


class ArticleSort(StrEnum):
    """The order of an article list: by relevance to `q` (its default when searching), newest
    first (the default without `q`, where relevance has nothing to go by; `relevance` then
    means it), oldest first, or by title (A to Z, case aside). Ties go by slug."""

    RELEVANCE = "relevance"
    NEWEST = "newest"
    OLDEST = "oldest"
    TITLE = "title"


class ArticleStatus(StrEnum):
    """An article's life: only `published` is public."""

    DRAFT = "draft"
    PUBLISHED = "published"
    ARCHIVED = "archived"


class ReviewDecision(StrEnum):
    """What a reviewer decided about one revision."""

    APPROVED = "approved"
    CHANGES_REQUESTED = "changes_requested"


class ReviewRole(StrEnum):
    """What a reviewer's decision vouches for: the medical content, or a translation's
    faithfulness to the article it translates."""

    MEDICAL = "medical"
    TRANSLATION = "translation"


class DiffKind(StrEnum):
    """What one entry of a revision diff compares."""

    SECTION = "section"  # one section, by key
    FIELD = "field"  # one other field (title, references, seo…)


class DiffStatus(StrEnum):
    """What happened to a section or field between two revisions."""

    ADDED = "added"
    REMOVED = "removed"
    CHANGED = "changed"


class RevisionSource(StrEnum):
    """Where a revision of an article was written."""

    IMPORT = "import"  # a content folder (cli import-content)
    HTTP = "http"  # the admin API


class SectionKind(StrEnum):
    """What a section of an article is for."""

    OVERVIEW = "overview"
    MECHANISM = "mechanism"
    TREATMENT = "treatment"
    EVIDENCE = "evidence"
    SAFETY = "safety"
    FAQ = "faq"
    CALL_TO_ACTION = "call_to_action"
    OTHER = "other"


class BodyForm(StrEnum):
    """A form a section's body is served in (`format=`)."""

    HTML = "html"
    MARKDOWN = "markdown"
    TEXT = "text"


class ChangeType(StrEnum):
    """What one entry of the change feed says happened to public content."""

    ARTICLE_PUBLISHED = "article.published"
    ARTICLE_UPDATED = "article.updated"
    ARTICLE_UNPUBLISHED = "article.unpublished"  # a tombstone: drafted again, or archived
    THERAPY_CHANGED = "therapy.changed"
    CONDITION_CHANGED = "condition.changed"
    DISCLAIMER_CHANGED = "disclaimer.changed"
    DISCLAIMER_RETIRED = "disclaimer.retired"  # a tombstone


# Entries that say "forget this": the client deletes what it holds under that id or key.
TOMBSTONES = frozenset({ChangeType.ARTICLE_UNPUBLISHED, ChangeType.DISCLAIMER_RETIRED})


class Placement(StrEnum):
    """Where a disclaimer is shown on the page."""

    TOP = "top"
    BOTTOM = "bottom"


class RuleScope(StrEnum):
    """Which articles a disclaimer rule attaches to."""

    ALL = "all"
    THERAPIES = "therapies"
    CONDITIONS = "conditions"


class TermKind(StrEnum):
    """The two taxonomies."""

    THERAPY = "therapy"
    CONDITION = "condition"


class LeadStatus(StrEnum):
    """Where a consultation request stands; moves forward only, or to spam."""

    NEW = "new"
    CONTACTED = "contacted"
    SCHEDULED = "scheduled"
    CLOSED = "closed"
    SPAM = "spam"


class LeadView(StrEnum):
    """How much of a lead an answer carries: all of it (`staff`, for a key that holds
    `leads:read`) or its state alone (`state`: id, status and times, no personal data)."""

    STAFF = "staff"
    STATE = "state"


class HiddenLeads(StrEnum):
    """Leads staff lists and exports leave out unless asked to include them (`include=`)."""

    SPAM = "spam"
    ERASED = "erased"


_HIDDEN = "|".join(HiddenLeads)
# One of them, or both: `spam`, `erased`, `spam,erased`.
INCLUDE_PATTERN = rf"^({_HIDDEN})(,({_HIDDEN}))?$"


class ContactMethod(StrEnum):
    """How the person prefers to be contacted."""

    PHONE = "phone"
    EMAIL = "email"
    SMS = "sms"


class Channel(StrEnum):
    """Which kind of frontend a request came from."""

    WEB = "web"
    IOS = "ios"
    ANDROID = "android"
    OTHER = "other"


class PayloadMode(StrEnum):
    """What a webhook delivery carries: the record, or ids and links only."""

    FULL = "full"
    THIN = "thin"


class EndpointStatus(StrEnum):
    """A webhook endpoint receives deliveries only while active."""

    ACTIVE = "active"
    PAUSED = "paused"
    DISABLED = "disabled"


class DeliveryStatus(StrEnum):
    """One event to one endpoint: pending until it succeeds or runs out of attempts."""

    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class EventType(StrEnum):
    """Outbound webhook events an endpoint can subscribe to."""

    CONSULTATION_REQUEST_CREATED = "consultation_request.created"
    CONSULTATION_REQUEST_UPDATED = "consultation_request.updated"
    ARTICLE_PUBLISHED = "article.published"
    ARTICLE_UPDATED = "article.updated"
    ARTICLE_UNPUBLISHED = "article.unpublished"


# Sent only by the "test" operation, to one endpoint; not subscribable.
PING_EVENT = "ping"


class CrmEventType(StrEnum):
    """Events the CRM posts back."""

    STATUS_CHANGED = "consultation_request.status_changed"


class CrmLeadStatus(StrEnum):
    """The statuses a CRM may move a lead to (a subset of `LeadStatus`: never back to `new`)."""

    CONTACTED = "contacted"
    SCHEDULED = "scheduled"
    CLOSED = "closed"
    SPAM = "spam"


class AckStatus(StrEnum):
    """What became of an inbound event."""

    APPLIED = "applied"
    DUPLICATE = "duplicate"


class Readiness(StrEnum):
    """The outcome of a liveness or readiness check."""

    ALIVE = "ok"
    READY = "ready"
    DATABASE_UNAVAILABLE = "database_unavailable"
    MIGRATIONS_PENDING = "migrations_pending"


class ApiKeyState(StrEnum):
    """Whether an API key still opens anything."""

    ACTIVE = "active"
    REVOKED = "revoked"


class AuditAction(StrEnum):
    """What an audit entry records."""

    LEAD_LIST = "lead.list"
    LEAD_READ = "lead.read"
    LEAD_UPDATE = "lead.update"
    LEAD_UPDATE_CRM = "lead.update.crm"
    LEAD_ERASE = "lead.erase"
    LEAD_EXPORT = "lead.export"
    # Webhook endpoints decide where lead data goes, so every change to them is audited too.
    WEBHOOK_ENDPOINT_CREATE = "webhook_endpoint.create"
    WEBHOOK_ENDPOINT_UPDATE = "webhook_endpoint.update"
    WEBHOOK_ENDPOINT_DELETE = "webhook_endpoint.delete"
    WEBHOOK_ENDPOINT_PAUSE = "webhook_endpoint.pause"
    WEBHOOK_ENDPOINT_RESUME = "webhook_endpoint.resume"
    WEBHOOK_ENDPOINT_ROTATE_SECRET = "webhook_endpoint.rotate_secret"  # noqa: S105
    WEBHOOK_ENDPOINT_TEST = "webhook_endpoint.test"
    WEBHOOK_DELIVERY_REDELIVER = "webhook_delivery.redeliver"
    API_KEY_CREATE = "api_key.create"
    API_KEY_REVOKE = "api_key.revoke"
    # A preview token opens an unpublished draft to whoever holds it.
    ARTICLE_PREVIEW_CREATE = "article_preview.create"
    # The editorial record: who wrote, approved, asked for changes, published and when.
    ARTICLE_REVISION_CREATE = "article.revision.create"
    ARTICLE_APPROVE = "article.approve"
    ARTICLE_REQUEST_CHANGES = "article.request_changes"
    ARTICLE_PUBLISH = "article.publish"
    ARTICLE_SCHEDULE = "article.schedule"
    ARTICLE_PUBLISH_FAILED = "article.publish_failed"
    ARTICLE_UNPUBLISH = "article.unpublish"
    ARTICLE_ARCHIVE = "article.archive"


class RegulatoryStatus(StrEnum):
    """What the FDA says of a therapy; it decides which warnings its articles must carry."""

    FDA_APPROVED = "fda_approved"
    OFF_LABEL = "off_label"
    NOT_FDA_APPROVED = "not_fda_approved"
