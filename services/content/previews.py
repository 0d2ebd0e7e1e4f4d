"""Preview tokens: signed (HMAC-SHA256 under a subkey of the master key), expiring permission
to read one article in one locale, draft or not. Stateless: nothing is stored but the audit."""

import base64
import binascii
import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import orjson
from sqlmodel import Session

from core.crypto import KeyRing
from core.errors import UnauthorizedError
from db.models import utcnow
from schemas.vocabulary import AuditAction
from services.access import audit
from services.content import articles

_LABEL = "preview-tokens"
_VERSION = "v1"


@dataclass(frozen=True)
class PreviewGrant:
    """A token and when it stops working."""

    token: str
    expires_at: datetime


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(key: bytes, signed: str) -> bytes:
    return hmac.new(key, signed.encode(), hashlib.sha256).digest()


def create(
    *,
    session: Session,
    ring: KeyRing,
    actor: uuid.UUID | None,
    slug: str,
    locale: str,
    expires_in: timedelta,
    now: datetime | None = None,
) -> PreviewGrant:
    """A token for a draft or published article (NotFoundError otherwise); audited."""
    articles.ensure_previewable(session=session, slug=slug, locale=locale)
    expires_at = (now or utcnow()).replace(microsecond=0) + expires_in
    token_id = secrets.token_hex(8)
    payload = {"s": slug, "l": locale, "e": int(expires_at.timestamp()), "n": token_id}
    signed = f"{_VERSION}.{_b64(orjson.dumps(payload))}"
    token = f"{signed}.{_b64(_mac(ring.signing_keys(_LABEL)[0], signed))}"
    audit.record(
        session=session,
        actor=actor,
        action=AuditAction.ARTICLE_PREVIEW_CREATE,
        detail={
            "slug": slug,
            "locale": locale,
            "token_id": token_id,
            "expires_at": expires_at.isoformat(),
        },
    )
    return PreviewGrant(token=token, expires_at=expires_at)


def _invalid() -> UnauthorizedError:
    return UnauthorizedError(
        "The preview token is not valid for this article.", code="invalid_preview_token"
    )


def check(
    *, ring: KeyRing, token: str, slug: str, locale: str, now: datetime | None = None
) -> None:
    """Pass if `token` was signed by us for this slug and locale and has not expired; else
    raise UnauthorizedError (`invalid_preview_token`, `preview_token_expired`)."""
    version, _, rest = token.partition(".")
    body, _, mac = rest.partition(".")
    if version != _VERSION or not body or not mac:
        raise _invalid()
    signed = f"{version}.{body}"
    try:
        sent = _unb64(mac)
    except (binascii.Error, ValueError):
        raise _invalid() from None
    if not any(hmac.compare_digest(sent, _mac(k, signed)) for k in ring.signing_keys(_LABEL)):
        raise _invalid()
    try:  # signed by us, so well-formed; checked all the same
        payload = orjson.loads(_unb64(body))
    except (binascii.Error, ValueError):
        raise _invalid() from None
    if not isinstance(payload, dict) or (payload.get("s"), payload.get("l")) != (slug, locale):
        raise _invalid()
    expires = payload.get("e")
    if not isinstance(expires, int) or expires <= (now or datetime.now(UTC)).timestamp():
        raise UnauthorizedError("The preview token has expired.", code="preview_token_expired")
