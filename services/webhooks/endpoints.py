"""Managing webhook endpoints: create, update, pause, rotate secrets; the SSRF guard."""

import base64
import secrets
import socket
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlmodel import Session, col, select

from core.crypto import KeyRing
from core.errors import BlockedAddressError, ForbiddenError, ValidationFailedError
from core.net import IPAddress, is_public_address, parse_http_url, parse_ip
from db.models import utcnow
from db.webhook_models import WebhookEndpoint
from schemas.vocabulary import AuditAction, EndpointStatus, PayloadMode
from schemas.webhooks import WebhookEndpointCreate, WebhookEndpointUpdate
from services.access import audit
from services.access.api_keys import LEADS_READ, Principal
from services.leads.events import LEAD_EVENT_PREFIX
from services.records import get_or_not_found


def new_secret() -> str:
    """A Standard Webhooks secret: `whsec_` + base64 of 32 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def _invalid_url(message: str) -> ValidationFailedError:
    return ValidationFailedError([{"field": "url", "type": "invalid_url", "message": message}])


Lookup = Callable[[str, int], list[str]]
AddressPolicy = Callable[[IPAddress], bool]


def system_lookup(host: str, port: int) -> list[str]:
    """The addresses the system resolver gives for `host` (an IP literal gives itself)."""
    infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def resolve_public(
    host: str,
    port: int,
    *,
    lookup: Lookup = system_lookup,
    allowed: AddressPolicy = is_public_address,
    hint: str = "",
) -> list[str]:
    """The addresses `host` resolves to, each one public; refuses the host if any is private,
    loopback, link-local, reserved or multicast (or stands for such an IPv4 address), saying
    `hint` after why."""
    try:
        answers = lookup(host, port)
    except (OSError, UnicodeError):
        raise BlockedAddressError("The host does not resolve." + hint) from None
    addresses = [parse_ip(a) for a in answers]
    if not addresses or not all(ip is not None and allowed(ip) for ip in addresses):
        raise BlockedAddressError("The URL resolves to a private or local address." + hint)
    return [str(ip) for ip in addresses]


# What a developer pointing a webhook at a local receiver needs to read.
DEVELOPMENT_SWITCH = (
    " For a local receiver in development, set CLINIC_WEBHOOK_ALLOW_PRIVATE_URLS=true."
)


def check_url(url: str, *, allow_private: bool) -> str:
    """Validate a subscriber URL: https to a public host, unless private URLs are allowed."""
    try:
        parsed = parse_http_url(url)
    except ValueError as exc:
        raise _invalid_url(str(exc)) from None
    if parsed.userinfo:
        raise _invalid_url("The URL must not carry credentials.")
    if not allow_private:
        if parsed.scheme != "https":
            raise _invalid_url("The URL must use https." + DEVELOPMENT_SWITCH)
        resolve_public(parsed.raw_host.decode("ascii"), parsed.port or 443, hint=DEVELOPMENT_SWITCH)
    return url


def _load(session: Session, endpoint_id: uuid.UUID) -> WebhookEndpoint:
    return get_or_not_found(
        session,
        WebhookEndpoint,
        endpoint_id,
        code="webhook_endpoint_not_found",
        what="webhook endpoint",
    )


def _context(endpoint_id: uuid.UUID, which: bytes) -> bytes:
    return which + b":" + endpoint_id.bytes


def _seal_secrets(
    endpoint: WebhookEndpoint, ring: KeyRing, current: str, previous: str | None
) -> None:
    endpoint.secret_key_id, endpoint.secret_sealed = ring.seal_secret(
        current, context=_context(endpoint.id, b"secret")
    )
    endpoint.previous_secret_sealed = (
        ring.seal_secret(previous, context=_context(endpoint.id, b"previous"))[1]
        if previous
        else None
    )


def _open_secrets(endpoint: WebhookEndpoint, ring: KeyRing) -> tuple[str, str | None]:
    key_id = endpoint.secret_key_id
    current = ring.open_secret(
        key_id, endpoint.secret_sealed, context=_context(endpoint.id, b"secret")
    )
    previous = None
    if endpoint.previous_secret_sealed is not None:
        previous = ring.open_secret(
            key_id, endpoint.previous_secret_sealed, context=_context(endpoint.id, b"previous")
        )
    return current, previous


def _require_lead_access(actor: Principal | None, what: str) -> None:
    """`actor` None is an operator or the system itself (CLI, workers), not an API key."""
    # An endpoint receives leads; choosing where they go, or adding health data to what it
    # receives, is reading leads, so it needs the scope that reading leads needs.
    if actor is not None and not actor.reads_leads:
        raise ForbiddenError(
            f"{what} needs an API key that also holds the '{LEADS_READ}' scope.",
            code="insufficient_scope",
        )


def _key_id(actor: Principal | None) -> uuid.UUID | None:
    return actor.key_id if actor is not None else None


def _host(url: str) -> str | None:
    """The receiving host, for the audit trail (a URL's path or query may hold a token)."""
    try:
        return urlsplit(url).hostname
    except ValueError:
        return None


def _audit(
    session: Session,
    actor: uuid.UUID | None,
    action: AuditAction,
    endpoint_id: uuid.UUID,
    **more: Any,
) -> None:
    audit.record(
        session=session,
        actor=actor,
        action=action,
        detail={"endpoint_id": str(endpoint_id), **more},
    )


def create(
    *,
    session: Session,
    data: WebhookEndpointCreate,
    allow_private: bool,
    ring: KeyRing,
    actor: Principal | None,
) -> tuple[WebhookEndpoint, str]:
    """Create an endpoint with a fresh secret; returns it with the secret, shown this once.
    Full payloads (names, contact details) and health data need a key that may read leads."""
    if data.payload_mode == PayloadMode.FULL:
        _require_lead_access(actor, "An endpoint that receives full payloads (personal data)")
    if data.include_health_data:
        _require_lead_access(actor, "An endpoint that receives health data")
    secret = new_secret()
    endpoint = WebhookEndpoint(
        url=check_url(data.url, allow_private=allow_private),
        description=data.description,
        event_types=list(dict.fromkeys(data.event_types)),
        payload_mode=data.payload_mode,
        include_health_data=data.include_health_data,
        secret_key_id="",
        secret_sealed=b"",
    )
    _seal_secrets(endpoint, ring, secret, None)
    session.add(endpoint)
    session.flush()
    _audit(
        session,
        _key_id(actor),
        AuditAction.WEBHOOK_ENDPOINT_CREATE,
        endpoint.id,
        host=_host(endpoint.url),
        payload_mode=endpoint.payload_mode,
        include_health_data=endpoint.include_health_data,
        event_types=endpoint.event_types,
    )
    return endpoint, secret


def list_all(*, session: Session) -> list[WebhookEndpoint]:
    """Every endpoint, oldest first."""
    return list(session.exec(select(WebhookEndpoint).order_by(col(WebhookEndpoint.created_at))))


def get(*, session: Session, endpoint_id: uuid.UUID) -> WebhookEndpoint:
    """One endpoint."""
    return _load(session, endpoint_id)


def _changes(endpoint: WebhookEndpoint, change: WebhookEndpointUpdate) -> dict[str, Any]:
    """The given fields whose value differs from the endpoint's."""
    values = change.model_dump(exclude_unset=True, exclude_none=True)
    if "event_types" in values:
        values["event_types"] = list(dict.fromkeys(values["event_types"]))
    return {k: v for k, v in values.items() if getattr(endpoint, k) != v}


def _receives_leads(event_types: list[str]) -> bool:
    """Whether these subscriptions include lead events (empty means every event)."""
    return not event_types or any(t.startswith(LEAD_EVENT_PREFIX) for t in event_types)


def _check_exposure(
    endpoint: WebhookEndpoint, changes: dict[str, Any], actor: Principal | None
) -> None:
    """A new receiver, full payloads or health data switched on need a key that may read
    leads; narrowing what is sent or editing anything else does not."""
    if "url" in changes:
        _require_lead_access(actor, "Changing where an endpoint's deliveries go")
    if changes.get("payload_mode") == PayloadMode.FULL:
        _require_lead_access(actor, "Sending full payloads (personal data) to an endpoint")
    exposed = changes.get("payload_mode", endpoint.payload_mode) == PayloadMode.FULL or changes.get(
        "include_health_data", endpoint.include_health_data
    )
    newly_leads = "event_types" in changes and not _receives_leads(endpoint.event_types)
    if exposed and newly_leads and _receives_leads(changes["event_types"]):
        _require_lead_access(actor, "Subscribing a full or health-data endpoint to leads")
    if changes.get("include_health_data") and not endpoint.include_health_data:
        _require_lead_access(actor, "Sending health data to an endpoint")


def update(
    *,
    session: Session,
    endpoint_id: uuid.UUID,
    change: WebhookEndpointUpdate,
    allow_private: bool,
    actor: Principal | None,
) -> WebhookEndpoint:
    """Change the given fields; audited with what changed."""
    endpoint = _load(session, endpoint_id)
    changes = _changes(endpoint, change)
    _check_exposure(endpoint, changes, actor)
    if "url" in changes:
        check_url(changes["url"], allow_private=allow_private)
    old_host = _host(endpoint.url)
    for field, value in changes.items():
        setattr(endpoint, field, value)
    endpoint.updated_at = utcnow()
    session.add(endpoint)
    session.flush()
    detail: dict[str, Any] = {"changed": sorted(changes)}
    detail |= {k: changes[k] for k in ("payload_mode", "include_health_data") if k in changes}
    if "url" in changes:
        detail |= {"old_host": old_host, "host": _host(endpoint.url)}
    _audit(session, _key_id(actor), AuditAction.WEBHOOK_ENDPOINT_UPDATE, endpoint.id, **detail)
    return endpoint


def delete(*, session: Session, endpoint_id: uuid.UUID, actor: uuid.UUID | None) -> None:
    """Delete an endpoint and its deliveries."""
    endpoint = _load(session, endpoint_id)
    session.delete(endpoint)
    session.flush()
    _audit(
        session, actor, AuditAction.WEBHOOK_ENDPOINT_DELETE, endpoint_id, host=_host(endpoint.url)
    )


_STATUS_ACTIONS = {
    EndpointStatus.PAUSED: AuditAction.WEBHOOK_ENDPOINT_PAUSE,
    EndpointStatus.ACTIVE: AuditAction.WEBHOOK_ENDPOINT_RESUME,
}


def set_status(
    *,
    session: Session,
    endpoint_id: uuid.UUID,
    status: EndpointStatus,
    actor: uuid.UUID | None,
) -> WebhookEndpoint:
    """Pause (deliveries wait) or resume (also re-enables a disabled endpoint)."""
    endpoint = _load(session, endpoint_id)
    _audit(session, actor, _STATUS_ACTIONS[status], endpoint_id)
    endpoint.status = status
    if status == EndpointStatus.ACTIVE:
        endpoint.disabled_reason = None
        endpoint.failing_since = None
    endpoint.updated_at = utcnow()
    session.add(endpoint)
    session.flush()
    return endpoint


def rotate_secret(
    *,
    session: Session,
    endpoint_id: uuid.UUID,
    grace: timedelta,
    ring: KeyRing,
    actor: uuid.UUID | None,
) -> tuple[WebhookEndpoint, str]:
    """A new secret (returned, shown this once); the old one keeps signing too until the
    grace period ends."""
    endpoint = _load(session, endpoint_id)
    _audit(session, actor, AuditAction.WEBHOOK_ENDPOINT_ROTATE_SECRET, endpoint_id)
    old, _ = _open_secrets(endpoint, ring)
    secret = new_secret()
    _seal_secrets(endpoint, ring, secret, old)
    endpoint.previous_secret_expires_at = utcnow() + grace
    endpoint.updated_at = utcnow()
    session.add(endpoint)
    session.flush()
    return endpoint, secret


def signing_secrets(endpoint: WebhookEndpoint, *, ring: KeyRing) -> list[str]:
    """The secrets that sign a delivery now: the current one, and the previous in its grace."""
    current, previous = _open_secrets(endpoint, ring)
    expires = endpoint.previous_secret_expires_at
    if previous and expires and expires > utcnow():
        return [current, previous]
    return [current]


def reseal_all(*, session: Session, ring: KeyRing) -> int:
    """Seal every endpoint's secrets under the current master key; returns how many moved."""
    moved = 0
    stale = select(WebhookEndpoint).where(col(WebhookEndpoint.secret_key_id) != ring.current.id)
    for endpoint in session.exec(stale):
        current, previous = _open_secrets(endpoint, ring)
        _seal_secrets(endpoint, ring, current, previous)
        session.add(endpoint)
        moved += 1
    return moved
