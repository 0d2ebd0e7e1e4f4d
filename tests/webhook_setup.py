"""What webhook tests over the API share: app settings for a dispatcher that delivers fast (or
none at all), and subscribing a receiver through the admin API."""

from typing import Any

from fastapi.testclient import TestClient

from tests.webhook_receiver import Receiver

# The app's own dispatcher delivers in the background, fast.
FAST = {
    "webhook_dispatcher_enabled": True,
    "leads_rate_limit": "none",
    "webhook_retry_schedule": [0.2, 0.2, 0.2, 0.2, 0.2],
    "webhook_poll_seconds": 0.05,
    "webhook_timeout_seconds": 2,
}
# No dispatcher: the test sends due deliveries itself (tests.dispatch.drain), or none at all.
DRIVEN = {**FAST, "webhook_dispatcher_enabled": False}
HOOKS = "/v1/admin/webhook-endpoints"


def subscribe(
    c: TestClient, manage: dict[str, str], receiver: Receiver, **fields: Any
) -> dict[str, Any]:
    """Subscribe `receiver` through the admin API (with `manage`'s key); it learns the secret."""
    r = c.post(HOOKS, json={"url": receiver.url, **fields}, headers=manage)
    assert r.status_code == 201, r.text
    assert r.headers["location"] == f"{HOOKS}/{r.json()['id']}"
    assert c.get(r.headers["location"], headers=manage).json()["id"] == r.json()["id"]
    receiver.secrets.append(r.json()["secret"])
    return dict(r.json())
