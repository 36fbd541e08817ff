"""The event outbox: every change of state of a job, an inference file or an audio file is an
event row written in the same transaction as the change (`relay.work` writes them).

Types are `<object>.<state>` (`audio_file.ready`, `training_job.progress`,
`inference_job.completed`, ...). Each event stores the id of the transaction that wrote it
(`txid`), and readers see events in (txid, id) order, only those of transactions older
than every transaction still running (`pg_snapshot_xmin`): those transactions are over, so
no event can later appear before what a reader has seen. A reader that asks for what
follows the last event it saw (its cursor, `<txid>-<id>`) never skips or repeats one, and
writers take no lock for it. The price: a transaction that stays open holds the feed back
until it ends (Relay's own are short).

Once a transaction that wrote events commits, the tenant's channel in the broker's
Redis-protocol server is told, so that open event streams wake up, and the commit hooks
run (webhook fan-out).
"""

import json
import logging
import re
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.db.models import Q
from django.db.models.expressions import RawSQL
from django.utils import timezone

from relay import kv
from relay.models import Event

logger = logging.getLogger(__name__)

_RECORD = """
INSERT INTO relay_event (tenant_id, txid, type, resource, object_id, parent_id, data, created_at)
SELECT %(tenant)s, pg_current_xact_id()::text::bigint, e.type, %(resource)s, e.object_id, e.parent_id, e.data, %(now)s
FROM unnest(%(types)s::text[], %(objects)s::uuid[], %(parents)s::uuid[], %(data)s::jsonb[])
    WITH ORDINALITY AS e(type, object_id, parent_id, data, ord)
ORDER BY e.ord
RETURNING txid
"""


def settled():
    """A filter: events of transactions that are over (ids below every running one's)."""
    return Q(txid__lt=RawSQL("pg_snapshot_xmin(pg_current_snapshot())::text::bigint", []))


_commit_hooks = []


def on_commit(hook):
    """Call `hook(tenant_id, txid)` after transaction `txid`, which wrote events, commits."""
    _commit_hooks.append(hook)
    return hook


@dataclass(frozen=True)
class New:
    type: str
    object_id: object
    parent_id: object = None
    data: dict | None = None


def record(tenant_id, resource, new: list[New]):
    """Write events of one tenant, in order (in the caller's transaction, or one of their own)."""
    if not new:
        return
    params = {
        "tenant": tenant_id,
        "n": len(new),
        "resource": resource,
        "now": timezone.now(),
        "types": [e.type for e in new],
        "objects": [e.object_id for e in new],
        "parents": [e.parent_id for e in new],
        "data": [json.dumps(e.data or {}, cls=DjangoJSONEncoder) for e in new],
    }
    # No savepoint inside the caller's transaction: the write stands or falls with the change.
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        cursor.execute(_RECORD, params)
        txid = cursor.fetchone()[0]
    _on_commit_once(tenant_id, txid)


def _on_commit_once(tenant_id, txid):
    """`committed()` once per tenant and transaction, however many changes wrote events in
    it (each would cost a round trip to the broker's server). Keyed by the savepoints open
    too: a hook registered inside a savepoint that rolls back is dropped with it."""
    if not connection.in_atomic_block:
        committed(tenant_id, txid)
        return
    pending = connection.__dict__.setdefault("relay_event_commits", set())
    key = (tenant_id, txid, tuple(connection.savepoint_ids))
    if key in pending:
        return
    if len(pending) > 1000:  # keys of rolled-back transactions: never asked for again
        pending.clear()
    pending.add(key)

    def run():
        pending.discard(key)
        committed(tenant_id, txid)

    transaction.on_commit(run)


def committed(tenant_id, txid):
    notify(tenant_id, txid)
    for hook in _commit_hooks:
        try:
            hook(tenant_id, txid)
        except Exception:  # the events are stored: a hook's failure must not fail the change
            logger.exception("event commit hook %s failed", getattr(hook, "__name__", hook))


def channel(tenant_id):
    return f"relay:events:{tenant_id}"


def notify(tenant_id, txid):
    """Tell the tenant's open streams that transaction `txid` committed events (best effort:
    a stream that misses it still polls now and then)."""
    client = kv.client()
    if client is None:
        return
    try:
        client.publish(channel(tenant_id), str(txid))
    except Exception as error:  # the server is down: streams fall back to polling
        logger.warning("event notification not sent: %s", error)


def as_api(event):
    """An event as the API shows it (GET /events, streams, webhook bodies)."""
    return {
        "id": event.id,
        "cursor": event.cursor,
        "type": event.type,
        "object_id": event.object_id,
        "parent_id": event.parent_id,
        "created_at": event.created_at,
        "data": event.data,
    }


def parse_cursor(text):
    """`<txid>-<id>` as a pair of ints; ValueError if it is not one."""
    match = re.fullmatch(r"([0-9]{1,18})-([0-9]{1,18})", str(text))
    if not match:
        raise ValueError(f"not a cursor: {text!r}")
    return int(match[1]), int(match[2])


def after(*, tenant, resources, cursor=None, types=(), object_ids=(), related_to=None, limit=100):
    """The tenant's settled events after `cursor` (a (txid, id) pair; None: from the oldest
    kept), in order: of these `types` and objects if given; `related_to` an object's own
    events and its children's (a job's files); only of `resources` the reader may read."""
    rows = Event.objects.filter(tenant=tenant, resource__in=list(resources)).filter(settled())
    if cursor is not None:
        txid, event_id = cursor
        rows = rows.filter(Q(txid__gt=txid) | Q(txid=txid, id__gt=event_id))
    if types:
        rows = rows.filter(type__in=list(types))
    if object_ids:
        rows = rows.filter(object_id__in=list(object_ids))
    if related_to is not None:
        rows = rows.filter(Q(object_id=related_to) | Q(parent_id=related_to))
    return list(rows.order_by("txid", "id")[:limit])


def latest_cursor(tenant):
    """The cursor of the tenant's last settled event (None if there is none): where a reader
    that wants only new events starts."""
    row = Event.objects.filter(tenant=tenant).filter(settled()).order_by("-txid", "-id").first()
    return (row.txid, row.id) if row else None


def prune(now=None, batch=10_000):
    """Beat: events older than RELAY_EVENT_RETENTION_DAYS go, a batch per statement (short
    transactions hold the feed back less)."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.RELAY_EVENT_RETENTION_DAYS)
    count = 0
    while True:
        ids = list(Event.objects.filter(created_at__lt=cutoff).values_list("id", flat=True)[:batch])
        if not ids:
            break
        count += Event.objects.filter(id__in=ids).delete()[0]
    if count:
        logger.info("pruned %d events older than %s", count, cutoff.isoformat())
    return count
