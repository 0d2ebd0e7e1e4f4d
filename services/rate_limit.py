"""Per-client rate limits with the `limits` library: in memory, or shared through Redis."""

import math
import time
from dataclasses import dataclass

from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage, Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter


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
    """Limits from a spec such as `5/minute;30/day`; `none` lifts them."""

    def __init__(self, spec: str, *, redis_url: str | None, namespace: str) -> None:
        self.items: list[RateLimitItem] = (
            [] if spec.strip().lower() == "none" else list(parse_many(spec))
        )
        storage = MemoryStorage() if not redis_url else storage_from_string(redis_url)
        assert isinstance(storage, Storage)
        self.namespace = namespace
        self.strategy = MovingWindowRateLimiter(storage)
        self.policy = ", ".join(f"{i.amount};w={i.get_expiry()}" for i in self.items)

    def hit(self, scope: str, client: str) -> RateDecision | None:
        """Count one request from `client`; None when no limits are configured."""
        if not self.items:
            return None
        allowed = True
        for item in self.items:
            if not self.strategy.hit(item, self.namespace, scope, client):
                allowed = False
                break
        now = time.time()
        tightest = None
        for item in self.items:
            stats = self.strategy.get_window_stats(item, self.namespace, scope, client)
            reset = max(0, math.ceil(stats.reset_time - now))
            candidate = (stats.remaining, -reset, item.amount, reset)
            if tightest is None or candidate[:2] < tightest[:2]:
                tightest = candidate
        assert tightest is not None
        remaining, _, limit, reset = tightest
        return RateDecision(allowed, limit, remaining, reset, self.policy)
