"""Rate limits, counted in the broker's Redis-protocol server (relay/kv.py).

Per API key and class of request (reads, writes, uploads, job creation), and per client
address for failed key lookups. Fixed windows of one minute: one atomic INCR (+ EXPIRE on
the first hit) per request. When the server cannot be reached the request goes through
(rate limiting must not take the API down with it) and the failure is logged.
"""

import logging
import time
from dataclasses import dataclass

import redis
from django.conf import settings

from relay import kv

logger = logging.getLogger(__name__)

WINDOW_S = 60
_HIT = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return {count, redis.call('TTL', KEYS[1])}
"""


@dataclass(frozen=True)
class Verdict:
    limit: int
    remaining: int
    reset_s: int  # seconds until the window starts again

    @property
    def allowed(self):
        return self.remaining >= 0


def hit(bucket, limit) -> Verdict | None:
    """Count one request in `bucket` (a window of WINDOW_S seconds); None when limits are off
    (no Redis-protocol server, or a limit of 0) or the server does not answer."""
    client = kv.client()
    if client is None or limit <= 0:
        return None
    window = int(time.time() // WINDOW_S)
    key = f"relay:ratelimit:{bucket}:{window}"
    try:
        count, ttl = client.eval(_HIT, 1, key, WINDOW_S)
    except redis.RedisError as error:
        logger.warning("rate limit not counted (%s): %s", bucket, error)
        return None
    return Verdict(limit=limit, remaining=limit - int(count), reset_s=max(int(ttl), 1))


def peek(bucket, limit) -> Verdict | None:
    """The bucket's state without counting a request."""
    client = kv.client()
    if client is None or limit <= 0:
        return None
    window = int(time.time() // WINDOW_S)
    key = f"relay:ratelimit:{bucket}:{window}"
    try:
        count, ttl = client.pipeline(transaction=False).get(key).ttl(key).execute()  # one round trip
    except redis.RedisError as error:
        logger.warning("rate limit not read (%s): %s", bucket, error)
        return None
    return Verdict(limit=limit, remaining=limit - int(count or 0), reset_s=max(int(ttl), 1))


def client_address(request):
    """The client's address: REMOTE_ADDR, or the address RELAY_TRUSTED_PROXIES proxies in
    front of Relay put in X-Forwarded-For."""
    proxies = settings.RELAY_TRUSTED_PROXIES
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    if proxies and len(forwarded) >= proxies:
        return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR", "unknown")
