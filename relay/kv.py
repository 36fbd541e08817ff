"""The broker's Redis-protocol server used as a small shared store (rate limits, event
stream wake-ups); RELAY_REDIS_URL points elsewhere. With a RabbitMQ broker and no such
URL there is none: callers then do without (limits off, streams poll)."""

import functools

import redis
from django.conf import settings


def url():
    value = settings.RELAY_REDIS_URL or settings.CELERY_BROKER_URL
    return value if value.startswith(("redis://", "rediss://", "unix://")) else None


@functools.cache
def _client(address):
    # A burst of requests (hundreds of streams opening at once) waits a moment for one of
    # the process's connections instead of failing with "Too many connections".
    pool = redis.BlockingConnectionPool.from_url(
        address, max_connections=64, timeout=2, socket_connect_timeout=0.5, socket_timeout=0.5
    )
    return redis.Redis(connection_pool=pool)


def client():
    """A Redis client (thread-safe, one per process), or None."""
    address = url()
    return _client(address) if address else None


def async_client():
    """A Redis client for asyncio code, or None (a new one per call: event loops differ)."""
    import redis.asyncio

    address = url()
    return redis.asyncio.Redis.from_url(address, socket_connect_timeout=0.5) if address else None
