"""Server-Sent Events from the outbox (relay/events.py), without a thread per stream.

The views check the key, the scope and the object on a request thread, then hand Django an
async iterator (`sse`): under ASGI it runs on the worker's event loop, so a stream holds a
connection and a few kilobytes, not a thread. Each stream reads the outbox through a small
asyncio connection pool of its process and sleeps until:

- the tenant's channel in the Redis-protocol server says events were committed (one
  pattern subscription per process, `Hub`), then reads what follows its cursor; or
- RELAY_SSE_KEEPALIVE_S passes: it reads anyway (a missed message costs at most that
  long) and sends a keep-alive comment.

Events become readable once every older transaction is over (relay/events.py); when a
wake-up finds the committed transaction not yet settled, the stream looks again shortly.
A stream ends when its job's final event was sent, after RELAY_SSE_MAX_DURATION_S (the
client reconnects with Last-Event-ID), or when the client goes.

Open streams are counted per API key in the Redis-protocol server (a sorted set of stream
ids with expiry times, so a killed process's streams age out); per process without one.
"""

import asyncio
import json
import logging
import math
import threading
import time
import uuid
from dataclasses import dataclass, field

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection

from relay import events, kv

logger = logging.getLogger(__name__)

MAX_ID = 2**63 - 1
BATCH = 200
RETRY_MS = 2000

_XMIN = "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint"


@dataclass
class Query:
    """What a stream reads: the tenant's events of `resources`, optionally only of `types`,
    of `object_ids`, or of one object and its children (`related_to`)."""

    tenant_id: uuid.UUID
    resources: list[str]
    types: list[str] = field(default_factory=list)
    object_ids: list[uuid.UUID] = field(default_factory=list)
    related_to: uuid.UUID | None = None

    def key(self):
        return (
            self.tenant_id,
            tuple(self.resources),
            tuple(self.types),
            tuple(self.object_ids),
            self.related_to,
        )

    def sql(self, cursor, xmin):
        where = ["tenant_id = %s", "resource = ANY(%s)", "(txid, id) > (%s, %s)", "txid < %s"]
        params = [self.tenant_id, self.resources, cursor[0], cursor[1], xmin]
        if self.types:
            where.append("type = ANY(%s)")
            params.append(self.types)
        if self.object_ids:
            where.append("object_id = ANY(%s)")
            params.append(self.object_ids)
        if self.related_to is not None:
            where.append("(object_id = %s OR parent_id = %s)")
            params += [self.related_to, self.related_to]
        sql = (
            "SELECT id, txid, type, object_id, parent_id, data, created_at FROM relay_event "
            f"WHERE {' AND '.join(where)} ORDER BY txid, id LIMIT {BATCH}"
        )
        return sql, params


def as_json(row):
    """An event row as the API shows it (the same fields as GET /events)."""
    event_id, txid, type_, object_id, parent_id, data, created_at = row
    return {
        "id": event_id,
        "cursor": f"{txid}-{event_id}",
        "type": type_,
        "object_id": object_id,
        "parent_id": parent_id,
        "created_at": created_at,
        "data": data,
    }


def frame(event):
    body = json.dumps(event, cls=DjangoJSONEncoder, separators=(",", ":"))
    return f"id: {event['cursor']}\nevent: {event['type']}\ndata: {body}\n\n"


# --- per process: the database pool and the wake-up hub ------------------------------------


class _Loop:
    """What the streams of one event loop share (a uvicorn worker has one loop)."""

    def __init__(self):
        self.pool = None
        self.hub = Hub()
        self.reads: dict[tuple, asyncio.Future] = {}

    async def connection_pool(self):
        if self.pool is None:
            from psycopg_pool import AsyncConnectionPool

            params = {
                key: value
                for key, value in connection.get_connection_params().items()
                if isinstance(value, str | int) and key not in ("cursor_factory", "context")
            }
            pool = AsyncConnectionPool(
                kwargs={**params, "autocommit": True}, min_size=1, max_size=settings.RELAY_SSE_DB_POOL, open=False
            )
            await pool.open()
            self.pool = pool
        return self.pool


_loops: dict[int, _Loop] = {}


def _shared() -> _Loop:
    loop = asyncio.get_running_loop()
    if id(loop) not in _loops:
        _loops[id(loop)] = _Loop()
    return _loops[id(loop)]


class Waker(asyncio.Event):
    """Set when the stream's tenant committed events; `txid`: the newest such transaction."""

    txid = 0


class Hub:
    """One pattern subscription per process to every tenant's event channel; wakes the
    streams of the tenant a message names."""

    def __init__(self):
        self.waiters: dict[str, set[Waker]] = {}
        self.connected = False
        self.task = None

    def start(self):
        if self.task is None and kv.url():
            self.task = asyncio.get_running_loop().create_task(self._listen())

    def register(self, tenant_id, wake: Waker):
        self.waiters.setdefault(str(tenant_id), set()).add(wake)

    def unregister(self, tenant_id, wake):
        waiters = self.waiters.get(str(tenant_id))
        if waiters is not None:
            waiters.discard(wake)
            if not waiters:
                del self.waiters[str(tenant_id)]

    async def _listen(self):
        prefix = events.channel("")
        while True:
            client = kv.async_client()
            try:
                async with client.pubsub() as pubsub:
                    await pubsub.psubscribe(prefix + "*")
                    self.connected = True
                    async for message in pubsub.listen():
                        if message["type"] != "pmessage":
                            continue
                        tenant = message["channel"].decode()[len(prefix) :]
                        txid = int(message["data"])
                        for wake in list(self.waiters.get(tenant, ())):
                            wake.txid = max(wake.txid, txid)
                            wake.set()
            except asyncio.CancelledError:
                raise
            except Exception as error:
                logger.warning("event hub lost its subscription (%s); streams poll until it is back", error)
            finally:
                self.connected = False
                await client.aclose()
            await asyncio.sleep(2)


# --- the cap of open streams per key -------------------------------------------------------

_ACQUIRE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[5])
return 1
"""


_local_lock = threading.Lock()
_local_streams: dict = {}  # API key id -> open streams of this process (when there is no Redis)


class StreamSlot:
    """One of the RELAY_SSE_MAX_STREAMS_PER_KEY streams of an API key: taken by the view
    (on its request thread), renewed and given back by the stream."""

    def __init__(self, api_key_id):
        self.key = f"relay:streams:{api_key_id}"
        self.api_key_id = api_key_id
        self.id = uuid.uuid4().hex
        self.shared = False  # counted in Redis (else in this process)
        self.client = None

    @staticmethod
    def _lease_s():
        return math.ceil(3 * settings.RELAY_SSE_KEEPALIVE_S)

    def acquire(self) -> bool:
        limit = settings.RELAY_SSE_MAX_STREAMS_PER_KEY
        client = kv.client()
        if client is not None:
            try:
                now = time.time()
                got = client.eval(_ACQUIRE, 1, self.key, now, limit, now + self._lease_s(), self.id, self._lease_s())
                self.shared = True
                return bool(got)
            except Exception as error:  # no Redis answer: count in this process
                logger.warning("stream cap counted per process (%s)", error)
        with _local_lock:
            if _local_streams.get(self.api_key_id, 0) >= limit:
                return False
            _local_streams[self.api_key_id] = _local_streams.get(self.api_key_id, 0) + 1
        return True

    async def renew(self):
        if self.shared:
            try:
                self.client = self.client or kv.async_client()
                await self.client.zadd(self.key, {self.id: time.time() + self._lease_s()})
            except Exception as error:
                logger.warning("stream lease not renewed: %s", error)

    async def release(self):
        if self.shared:
            try:
                self.client = self.client or kv.async_client()
                await self.client.zrem(self.key, self.id)
            except Exception as error:
                logger.warning("stream slot not released (it expires by itself): %s", error)
            finally:
                await self.client.aclose()
        else:
            with _local_lock:
                _local_streams[self.api_key_id] = max(_local_streams.get(self.api_key_id, 1) - 1, 0)


# --- a stream ------------------------------------------------------------------------------


async def read(query: Query, cursor):
    """Settled events after `cursor`, and the xmin they were read below. Streams that ask
    the same at the same time (one wake-up reaches every stream of a tenant) share one
    query. A stream that joins a read begun before its wake-up sees that read's xmin at or
    below the transaction that woke it, and reads again shortly (the recheck in sse())."""
    shared = _shared()
    key = (query.key(), cursor)
    pending = shared.reads.get(key)
    if pending is None:
        pending = asyncio.ensure_future(_read(query, cursor))
        shared.reads[key] = pending
        pending.add_done_callback(lambda _: shared.reads.pop(key, None))
    return await asyncio.shield(pending)


async def _read(query: Query, cursor):
    pool = await _shared().connection_pool()
    async with pool.connection() as conn:
        xmin = (await (await conn.execute(_XMIN)).fetchone())[0]
        sql, params = query.sql(cursor, xmin)
        rows = await (await conn.execute(sql, params)).fetchall()
    return [as_json(row) for row in rows], xmin


async def start_cursor():
    """A cursor before every event not yet settled: a stream that starts here sends only
    what happens from now on."""
    pool = await _shared().connection_pool()
    async with pool.connection() as conn:
        xmin = (await (await conn.execute(_XMIN)).fetchone())[0]
    return (xmin - 1, MAX_ID)


async def sse(query: Query, cursor, slot: StreamSlot, *, ends_with=None):
    """The body of a stream: events after `cursor` (None: from now) as SSE frames, with
    keep-alives. `ends_with(event)` says whether an event is the last one (a job's final
    status)."""
    shared = _shared()
    shared.hub.start()
    wake = Waker()
    shared.hub.register(query.tenant_id, wake)
    keepalive = settings.RELAY_SSE_KEEPALIVE_S
    deadline = time.monotonic() + settings.RELAY_SSE_MAX_DURATION_S
    try:
        yield f"retry: {RETRY_MS}\n: stream open\n\n"
        if cursor is None:
            cursor = await start_cursor()
        recheck = 0.05
        last_sent = last_renewed = time.monotonic()
        while time.monotonic() < deadline:
            wake.clear()
            found, xmin = await read(query, cursor)
            for event in found:
                yield frame(event)
                last_sent = time.monotonic()
                cursor = events.parse_cursor(event["cursor"])
                if ends_with is not None and ends_with(event):
                    return
            if len(found) == BATCH:
                continue
            if wake.txid >= xmin:  # a committed transaction waits for older ones to end
                timeout, recheck = recheck, min(recheck * 2, 1.0)
            else:
                recheck = 0.05
                timeout = keepalive if shared.hub.connected else 1.0
            try:
                await asyncio.wait_for(wake.wait(), timeout)
            except TimeoutError:
                pass
            if time.monotonic() - last_sent >= keepalive:
                yield ": keep-alive\n\n"
                last_sent = time.monotonic()
            if time.monotonic() - last_renewed >= keepalive:
                await slot.renew()
                last_renewed = time.monotonic()
    finally:
        shared.hub.unregister(query.tenant_id, wake)
        await slot.release()
