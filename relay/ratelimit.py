"""Rate limits, counted in the broker's Redis-protocol server (relay/kv.py).

Per API key and class of request (reads, writes, uploads, job creation), and per client
address for failed key lookups. Fixed windows of one minute: one atomic INCR (+ EXPIRE on
the first hit) per request, in the same round trip as the look at the address's failed
lookups (hit_unless_blocked). When the server cannot be reached the request goes through
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


# Count in KEYS[1] (unless ARGV[2], its limit, is 0) unless KEYS[2] has reached ARGV[3] (0: no
# such guard): {count, ttl, 0}, or {-1, the guard's ttl, the guard's count} when it has (and
# nothing is counted).
_HIT_UNLESS_BLOCKED = """
local guard_limit = tonumber(ARGV[3])
if guard_limit > 0 then
  local used = tonumber(redis.call('GET', KEYS[2]) or '0')
  if used >= guard_limit then return {-1, redis.call('TTL', KEYS[2]), used} end
end
if tonumber(ARGV[2]) <= 0 then return {0, 0, 0} end
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return {count, redis.call('TTL', KEYS[1]), 0}
"""


@dataclass(frozen=True)
class Verdict:
    limit: int
    remaining: int
    reset_s: int  # seconds until the window starts again

    @property
    def allowed(self):
        return self.remaining >= 0


def hit_unless_blocked(bucket, limit, guard, guard_limit) -> tuple[Verdict | None, Verdict | None]:
    """Count one request in `bucket` (a window of WINDOW_S seconds), unless the bucket `guard`
    has used up `guard_limit` (as `peek` would tell; 0: no guard): then nothing is counted.
    One round trip for both. Returns (the guard's Verdict when it blocks, else None; the
    bucket's Verdict, or None when limits are off -- no Redis-protocol server, or a limit
    of 0 -- or the server does not answer)."""
    client = kv.client()
    limit, guard_limit = max(limit, 0), max(guard_limit, 0)
    if client is None or (limit == 0 and guard_limit == 0):
        return None, None
    window = int(time.time() // WINDOW_S)
    keys = [f"relay:ratelimit:{bucket}:{window}", f"relay:ratelimit:{guard}:{window}"]
    try:
        count, ttl, used = client.eval(_HIT_UNLESS_BLOCKED, 2, *keys, WINDOW_S, limit, guard_limit)
    except redis.RedisError as error:
        logger.warning("rate limit not counted (%s): %s", bucket, error)
        return None, None
    if int(count) == -1:
        return Verdict(limit=guard_limit, remaining=guard_limit - int(used), reset_s=max(int(ttl), 1)), None
    if limit == 0:
        return None, None
    return None, Verdict(limit=limit, remaining=limit - int(count), reset_s=max(int(ttl), 1))


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
