"""Per-client rate limits with the `limits` library: in memory, or shared through Redis."""

import hashlib
import hmac
import logging
import math
import time
from dataclasses import dataclass

from limits import RateLimitItem, parse_many
from limits.errors import StorageError
from limits.storage import MemoryStorage, Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

log = logging.getLogger("clinic.ratelimit")

# A Redis that does not answer must not hold a request for long: it is asked on every lead.
REDIS_TIMEOUT_SECONDS = 0.5
# While Redis is unreachable, one warning per this many seconds, not one per request.
WARN_EVERY_SECONDS = 60.0
# Once Redis has failed, it is asked again only after this long: a Redis that hangs would
# otherwise cost every lead its timeout (and leads stored together wait for one another).
RETRY_REDIS_AFTER_SECONDS = 5.0


@dataclass(frozen=True)
class RateDecision:
    """Whether a hit was allowed, and the numbers for RateLimit-* headers."""

    allowed: bool
    limit: int
    remaining: int
    reset_after: int
    policy: str

    def headers(self) -> dict[str, str]:
        """RateLimit headers (IETF draft) and, when refused, Retry-After."""
        out = {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset_after),
            "RateLimit-Policy": self.policy,
        }
        if not self.allowed:
            out["Retry-After"] = str(max(1, self.reset_after))
        return out


class RateLimiter:
    """Limits from a spec such as `5/minute;30/day`; `none` lifts them.

    Shared through Redis when given one. While Redis cannot be reached, each process counts
    in its own memory instead (and logs it), and asks Redis again every few seconds: a Redis
    outage neither loses a patient's request, nor lifts the limits, nor slows every lead.

    A client is counted under a keyed hash of its address (`key`: a subkey of the master key),
    so that the store, which keeps a counter up to a day, holds no address: Redis is outside
    the encryption and erasure that cover a lead."""

    def __init__(self, spec: str, *, redis_url: str | None, namespace: str, key: bytes) -> None:
        self._key = key
        self.items: list[RateLimitItem] = (
            [] if spec.strip().lower() == "none" else list(parse_many(spec))
        )
        self.namespace = namespace
        self.policy = ", ".join(f"{i.amount};w={i.get_expiry()}" for i in self.items)
        self.local = MovingWindowRateLimiter(MemoryStorage())
        self.strategy = self.local
        if redis_url:
            storage = storage_from_string(
                redis_url,
                wrap_exceptions=True,  # every Redis failure is a StorageError
                socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
                socket_timeout=REDIS_TIMEOUT_SECONDS,
            )
            assert isinstance(storage, Storage)
            self.strategy = MovingWindowRateLimiter(storage)
        self._warned_at = -math.inf
        self._shared_down_until = -math.inf

    @property
    def limited(self) -> bool:
        """Whether any limit is configured (`none` lifts them all)."""
        return bool(self.items)

    def hit(self, scope: str, client: str) -> RateDecision | None:
        """Count one request from `client`; None when no limits are configured."""
        if not self.items:
            return None
        client = hmac.new(self._key, client.encode(), hashlib.sha256).hexdigest()[:32]
        if self.strategy is not self.local and time.monotonic() >= self._shared_down_until:
            try:
                return self._hit(self.strategy, scope, client)
            except StorageError as exc:
                self._shared_down_until = time.monotonic() + RETRY_REDIS_AFTER_SECONDS
                self._warn(exc)
        return self._hit(self.local, scope, client)

    def _hit(self, strategy: MovingWindowRateLimiter, scope: str, client: str) -> RateDecision:
        allowed = True
        for item in self.items:
            if not strategy.hit(item, self.namespace, scope, client):
                allowed = False
                break
        now = time.time()
        tightest = None
        for item in self.items:
            stats = strategy.get_window_stats(item, self.namespace, scope, client)
            reset = max(0, math.ceil(stats.reset_time - now))
            candidate = (stats.remaining, -reset, item.amount, reset)
            if tightest is None or candidate[:2] < tightest[:2]:
                tightest = candidate
        assert tightest is not None
        remaining, _, limit, reset = tightest
        return RateDecision(allowed, limit, remaining, reset, self.policy)

    def _warn(self, exc: StorageError) -> None:
        now = time.monotonic()
        if now - self._warned_at >= WARN_EVERY_SECONDS:
            self._warned_at = now
            # The error's type only: its text may quote the Redis URL and its password.
            log.warning(
                "rate_limit_store_unavailable",
                extra={"error": type(exc.storage_error).__name__, "fallback": "process memory"},
            )
