"""The rate limit's store holds no client address: a client is counted under a keyed hash."""

import uuid

import pytest
import redis

from services.leads.rate_limit import RateLimiter
from tests.servers import redis_answers

REDIS = "redis://127.0.0.1:6379/0"
KEY = b"rate-limit-key-for-these-tests!!"


def test_redis_holds_counters_but_no_client_address():
    """Security III, 8: `LIMITS:…/198.18.1.200/…` kept a client's address in Redis for up to
    a day, outside erasure and encryption."""
    if not redis_answers(REDIS):
        pytest.skip("no Redis on 127.0.0.1:6379")
    namespace = f"test-{uuid.uuid4().hex}"
    limiter = RateLimiter("2/minute", redis_url=REDIS, namespace=namespace, key=KEY)
    first = limiter.hit("consultation-requests", "198.18.1.200")
    second = limiter.hit("consultation-requests", "198.18.1.200")
    other = limiter.hit("consultation-requests", "2001:db8:1:2::/64")
    third = limiter.hit("consultation-requests", "198.18.1.200")
    assert first and second and other and third
    assert (first.remaining, second.remaining, other.remaining) == (1, 0, 1)
    assert not third.allowed  # still counted per client
    store = redis.Redis.from_url(REDIS)
    keys = [k.decode() for k in store.scan_iter(f"*{namespace}*")]
    try:
        assert keys, "the counters live in Redis"
        assert not any("198.18" in k or "2001:db8" in k for k in keys), keys
    finally:
        if keys:
            store.delete(*keys)


def test_another_key_counts_the_same_client_under_another_name():
    """The hash is keyed: without the master key, an address cannot be tested against it."""
    if not redis_answers(REDIS):
        pytest.skip("no Redis on 127.0.0.1:6379")
    namespace = f"test-{uuid.uuid4().hex}"
    store = redis.Redis.from_url(REDIS)
    names = []
    for key in (KEY, b"another-rate-limit-key-for-tests"):
        RateLimiter("2/minute", redis_url=REDIS, namespace=namespace, key=key).hit(
            "consultation-requests", "198.18.1.200"
        )
        names.append({k.decode() for k in store.scan_iter(f"*{namespace}*")})
    store.delete(*names[1])
    assert len(names[0]) == 1 and len(names[1]) == 2  # a second name, not the first again
