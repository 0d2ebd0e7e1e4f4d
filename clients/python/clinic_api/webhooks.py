"""Our webhooks are Standard Webhooks: verified with that project's own library, never by hand.
Give it the endpoint's secret (`whsec_...`), the raw body and the request's headers."""

from collections.abc import Mapping
from typing import Any, cast

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

__all__ = ["WebhookVerificationError", "verify_webhook"]


def verify_webhook(secret: str, body: bytes | str, headers: Mapping[str, str]) -> dict[str, Any]:
    """The event (a dict: `type`, `timestamp`, `data`, `links`), once its signature and
    timestamp check out; `WebhookVerificationError` otherwise (answer 401)."""
    lowered = {k.lower(): v for k, v in headers.items()}
    return cast(dict[str, Any], Webhook(secret).verify(body, lowered))
