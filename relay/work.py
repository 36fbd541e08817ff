"""One lifecycle for background work: audio files, inference files and jobs (and anything new).

A work item is a row with `status`, `attempts`, `started_at`, `heartbeat_at`, `task_id`
and `error_message` (`WorkItem`). Its kind, a `Lifecycle` on the model, names the statuses
that wait for a worker (`queued`), those in which a worker holds it (`running`), the final
ones, and the Celery task that works on it:

    queued --claim--> running --advance / heartbeat--> ... --finish--> final
    any status that is not final --fail(reason)--> failed

Every status change is a conditional UPDATE (`... WHERE status IN (...)`, and from a
worker `AND task_id = <its task>`): a stale worker can never overwrite a cancelled,
finished or re-claimed item.

Claims: a task takes its item when the item waits and was never started, when the item is
held by the same task id (Celery re-delivered the message because its worker died, or the
task is retrying), or when the holder's heartbeat is older than RELAY_STUCK_AFTER_S.

`work_task` turns a function `fn(item, run)` into the Celery task of a kind and owns what
surrounds the work: the claim, a heartbeat thread, the time limit, retries with backoff
when storage, the database or the broker is out, and what the tenant may read: a clear
reason in `error_message`, never internal exception text (the traceback goes to the worker
log, tagged with the task id that the reason names).

`batch_task` is the same for many small items in one task (a kind that has one names it in
`Lifecycle.batch_task`): one claim and one commit for all of them, each item still failing on
its own. The reaper sends lost items one by one, on the kind's single-item task.

`requeue_stuck` (beat) sends the task again for items whose task was lost: queued and
never started for RELAY_NEVER_STARTED_AFTER_S, or running with a heartbeat older than
RELAY_STUCK_AFTER_S; an item claimed RELAY_MAX_PROCESSING_ATTEMPTS times is failed instead.
"""

import logging
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from typing import ClassVar

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import InterfaceError, OperationalError, connections, models, transaction
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError

from relay import counts, events, metrics
from relay.celery import app as celery_app
from relay.errors import Unavailable

logger = logging.getLogger(__name__)

# Failures of what the work depends on, not of the work itself: retried with backoff.
OUTAGES = (Unavailable, OperationalError, InterfaceError, BrokerError)


class WorkFailed(Exception):
    """The work cannot be done, for a reason the tenant may read (a corrupt file, ...)."""


class WorkStopped(Exception):
    """The item is no longer this task's to work on (cancelled, failed or taken over)."""


@dataclass(frozen=True)
class Lifecycle:
    kind: str  # names the kind in logs: "audio_file", "training_job", ...
    queued: tuple[str, ...]  # waiting for a worker
    running: tuple[str, ...]  # held by a worker
    final: tuple[str, ...]  # never change again
    claim_to: str = ""  # the status a claim moves to
    failed: str = "failed"
    finished_at: str = ""  # a field stamped on every move to a final status
    task: str = ""  # the Celery task that works on an item of this kind, by name
    batch_task: str = ""  # the task that works on several small items of this kind at once, if any
    queue: str = "default"
    time_limit_setting: str = ""  # the setting holding the task's time limit in seconds
    claim_filter: Q | None = field(default=None, compare=False)  # more conditions to claim
    # Events (relay.events): the path from a row to its tenant, the scope resource that may
    # read its events (no resource: the kind writes none), a parent named in each event
    # (the job of a file), and the fields each event carries ("api_name=field" renames).
    tenant_path: str = "tenant_id"
    counted: bool = False  # kept in relay.counts (jobs: GET /jobs/count)
    resource: str = ""
    parent: str = ""
    event_fields: tuple[str, ...] = ("status",)


class WorkItem(models.Model):
    status = models.CharField(max_length=16, db_index=True)
    attempts = models.PositiveSmallIntegerField(default=0, help_text="How many times a worker took it.")
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True, help_text="Written by its worker while it runs.")
    task_id = models.CharField(max_length=64, blank=True, default="", help_text="The Celery task that holds it.")
    error_message = models.TextField(blank=True, default="")
    updated_at = models.DateTimeField(auto_now=True)

    lifecycle: ClassVar[Lifecycle]

    class Meta:
        abstract = True


KINDS: dict[str, type[WorkItem]] = {}
_failure_hooks: dict[type, list] = {}
_reap_hooks: list = []


def register(model):
    """Class decorator: a kind of work the reaper watches."""
    KINDS[model.lifecycle.kind] = model
    return model


def on_failure(model, hook):
    """Call `hook(pk)` in the same transaction whenever an item of `model` fails."""
    _failure_hooks.setdefault(model, []).append(hook)


def on_reap(hook):
    """Call `hook(now)` on every reaper pass (for a kind's own housekeeping)."""
    _reap_hooks.append(hook)


def statuses(model):
    return [value for value, _ in model._meta.get_field("status").choices]


def unfinished(model):
    return [s for s in statuses(model) if s not in model.lifecycle.final]


# --- transitions --------------------------------------------------------------------------


def _rows(model, pk, from_, token=None):
    rows = model.objects.filter(pk=pk, status__in=list(from_))
    return rows if token is None else rows.filter(task_id=token)


def transition(model, pk, /, *, to, from_=None, token=None, **fields) -> bool:
    """Move item `pk` to `to` if its status is in `from_` (default: any unfinished one) and,
    with `token`, its holder is that task; its event is written in the same transaction.
    True if it moved."""
    life = model.lifecycle
    now = timezone.now()
    if to in life.final and life.finished_at:
        fields.setdefault(life.finished_at, now)
    rows = _rows(model, pk, unfinished(model) if from_ is None else from_, token)
    # savepoint=False: inside a caller's transaction the move stands or falls with it (no extra round trips).
    with transaction.atomic(savepoint=False):
        if life.counted:
            before = rows.select_for_update(of=("self",)).values_list("status", life.tenant_path).first()
            moved = before is not None and model.objects.filter(pk=pk).update(status=to, updated_at=now, **fields)
            if moved:
                counts.moved(life.kind, before[1], before[0], to)
        else:
            moved = rows.update(status=to, updated_at=now, **fields)
        if moved:
            emit(model, [pk], to)
    return bool(moved)


def transition_all(model, rows, /, *, to, **fields) -> list:
    """Move every unfinished item of queryset `rows` to `to` (with their events); their ids."""
    life = model.lifecycle
    now = timezone.now()
    if to in life.final and life.finished_at:
        fields.setdefault(life.finished_at, now)
    with transaction.atomic(savepoint=False):
        columns = ("pk", "status", life.tenant_path) if life.counted else ("pk", "status")
        found = list(rows.filter(status__in=unfinished(model)).select_for_update(of=("self",)).values_list(*columns))
        pks = [row[0] for row in found]
        if pks:
            model.objects.filter(pk__in=pks).update(status=to, updated_at=now, **fields)
            if life.counted:
                for _, before, tenant_id in found:
                    counts.moved(life.kind, tenant_id, before, to)
            emit(model, pks, to)
    return pks


def finish_many(model, token, moves, /, *, to, passing=()) -> list:
    """Move each item of `moves` ({id: its fields}) that `token` holds in a running status to
    `to` with its fields, writing the events of the statuses it passes on the way (`passing`,
    in order) and of `to`: an UPDATE per item, one event write per status for all of them.
    The ids moved (an item cancelled or taken over meanwhile is left alone)."""
    life = model.lifecycle
    if life.counted:
        raise ValueError(f"{life.kind} is counted: move its items with transition()")
    now = timezone.now()
    moved = []
    with transaction.atomic(savepoint=False):
        for pk, fields in moves.items():
            if to in life.final and life.finished_at:
                fields = {life.finished_at: now, **fields}
            if _rows(model, pk, life.running, token).update(status=to, updated_at=now, **fields):
                moved.append(pk)
        for state in (*passing, to):
            emit(model, moved, state)
    return moved


def requeue(model, pk, /, *, from_=None, **fields) -> bool:
    """Queue item `pk` to be worked on afresh if its status is in `from_` (default: any):
    back to its queued status with no attempts, holder, heartbeat or error (and `fields`),
    with its event; its task is sent once the transaction commits. True if it moved."""
    reset = {"attempts": 0, "started_at": None, "heartbeat_at": None, "task_id": "", "error_message": "", **fields}
    with transaction.atomic():
        from_ = statuses(model) if from_ is None else from_
        moved = transition(model, pk, to=model.lifecycle.queued[0], from_=from_, **reset)
        if moved:
            enqueue(model, pk)
    return moved


def fail(model, pk, reason, /, *, from_=None, token=None) -> bool:
    """Fail the item with a reason its tenant reads; runs the kind's failure hooks."""
    with transaction.atomic(savepoint=False):
        moved = transition(
            model, pk, to=model.lifecycle.failed, from_=from_, token=token, error_message=str(reason)[:2000]
        )
        if moved:
            for hook in _failure_hooks.get(model, ()):
                hook(pk)
    if moved:
        logger.warning("%s %s failed: %s", model.lifecycle.kind, pk, reason)
    return moved


def claim(model, pk, token):
    """Take the item for task `token` (see the module docstring); the item, or None."""
    taken = claim_many(model, [pk], token)
    return taken[0] if taken else None


def claim_many(model, pks, token) -> list:
    """`claim` of several items for one task, in one transaction: the items it took."""
    life = model.lifecycle
    now = timezone.now()
    stale = now - timedelta(seconds=settings.RELAY_STUCK_AFTER_S)
    waiting = Q(status__in=life.queued, started_at__isnull=True)
    held = Q(status__in=life.running) & (Q(task_id=token) | Q(heartbeat_at__lt=stale))
    rows = model.objects.filter(waiting | held, pk__in=list(pks))
    if life.claim_filter is not None:
        rows = rows.filter(life.claim_filter)
    with transaction.atomic():
        locked = rows.select_for_update(of=("self",))
        items = list(locked.annotate(_tenant=F(life.tenant_path)) if life.counted else locked)
        if not items:
            return []
        model.objects.filter(pk__in=[item.pk for item in items]).update(
            status=life.claim_to,
            attempts=F("attempts") + 1,
            started_at=Coalesce("started_at", Value(now)),
            heartbeat_at=now,
            task_id=token,
            updated_at=now,
        )
        moved = [item for item in items if item.status != life.claim_to]
        if life.counted:
            for item in moved:
                counts.moved(life.kind, item._tenant, item.status, life.claim_to)
        emit(model, [item.pk for item in moved], life.claim_to)
    # The rows as the update left them (they are locked until then: nothing else wrote them).
    for item in items:
        item.status, item.attempts, item.heartbeat_at = life.claim_to, item.attempts + 1, now
        item.started_at, item.task_id, item.updated_at = item.started_at or now, token, now
    return items


def heartbeat(model, pk, token, **fields) -> bool:
    """Still held by `token` and running? Then refresh heartbeat_at (and write `fields`)."""
    return bool(heartbeat_many(model, [pk], token, **fields))


def heartbeat_many(model, pks, token, **fields) -> int:
    """`heartbeat` of several items; how many are still held by `token`."""
    now = timezone.now()
    rows = model.objects.filter(pk__in=list(pks), status__in=model.lifecycle.running, task_id=token)
    return rows.update(heartbeat_at=now, updated_at=now, **fields)


# --- events -------------------------------------------------------------------------------


def emit(model, pks, state, extra=None):
    """Write `<kind>.<state>` for items `pks` of `model` (in the caller's transaction), each
    carrying its kind's event fields as they are now, and `extra`."""
    _write_events(model, pks, lambda row: [state], extra)


def created(model, pks):
    """Write `<kind>.created` and `<kind>.<its first status>` for new items."""
    _write_events(model, pks, lambda row: ["created", row["status"]])


def report_progress(model, pk, extra) -> bool:
    """Write `<kind>.progress` with `extra`, at most once a second per item (the kind has a
    `progress_reported_at` field); True if it was written."""
    now = timezone.now()
    due = Q(progress_reported_at__isnull=True) | Q(progress_reported_at__lte=now - timedelta(seconds=1))
    with transaction.atomic(savepoint=False):
        if not model.objects.filter(due, pk=pk).update(progress_reported_at=now):
            return False
        emit(model, [pk], "progress", extra)
    return True


def event_types() -> dict[str, str]:
    """Every event type there is, with the scope resource that may read it."""
    types = {}
    for model in KINDS.values():
        life = model.lifecycle
        if life.resource:
            reports_progress = any(f.name == "progress_reported_at" for f in model._meta.fields)
            for state in ["created", *statuses(model), *(["progress"] if reports_progress else [])]:
                types[f"{life.kind}.{state}"] = life.resource
    return types


def final_event_types(model) -> set[str]:
    return {f"{model.lifecycle.kind}.{status}" for status in model.lifecycle.final}


def _write_events(model, pks, states_of, extra=None):
    life = model.lifecycle
    if not life.resource or not pks:
        return
    columns = {"_tenant": F(life.tenant_path)}
    if life.parent:
        columns["_parent"] = F(life.parent)
    plain = [name for name in life.event_fields if "=" not in name]
    for name in life.event_fields:
        if "=" in name:
            api_name, source = name.split("=")
            columns[api_name] = F(source)
    rows = {str(row["pk"]): row for row in model.objects.filter(pk__in=pks).values("pk", *plain, **columns)}
    all_statuses = statuses(model)
    by_tenant = {}
    for pk in pks:  # ids or their text (a task's argument)
        row = rows.get(str(pk))
        if row is None:
            continue
        tenant, parent = row.pop("_tenant"), row.pop("_parent", None)
        for state in states_of(row):
            data = {k: v for k, v in row.items() if k != "pk" and (k != "error_message" or state == life.failed)}
            if "status" in data and state in all_statuses:  # an item that went on past `state` in one step
                data["status"] = state
            data.update(extra or {})
            new = events.New(f"{life.kind}.{state}", row["pk"], parent, data)
            by_tenant.setdefault(tenant, []).append(new)
    for tenant, new in by_tenant.items():
        events.record(tenant, life.resource, new)


# --- sending tasks ------------------------------------------------------------------------


def route(name, args, kwargs, options, task=None, **kw):
    """Celery router (task_routes): a kind's task goes to the queue its lifecycle names."""
    for model in KINDS.values():
        if name in (model.lifecycle.task, model.lifecycle.batch_task):
            return {"queue": model.lifecycle.queue}
    return None


def send_on_commit(task_name, *args, queue="default", task_id=None, eta=None, on_failure=None):
    """Send a task by name once the current transaction commits.

    The change that asked for it is durable by then, so a broker outage is logged, not
    raised (and `on_failure()` is called): the reaper sends the task again for whatever
    still waits."""

    def send():
        try:
            celery_app.send_task(task_name, args=list(args), queue=queue, task_id=task_id, eta=eta)
        except BrokerError as error:
            logger.error("could not send %s%s (%s); the reaper will send it again", task_name, args, error)
            if on_failure is not None:
                on_failure()

    transaction.on_commit(send)


def delete_objects_on_commit(prefix, again_at=None):
    """Remove every stored object under `prefix` in the background once this transaction
    commits, and once more at `again_at` (when a presigned upload into it expires: what
    arrives through it meanwhile is removed too)."""
    send_on_commit("relay.delete_storage_prefix", prefix)
    if again_at is not None and again_at > timezone.now():
        send_on_commit(
            "relay.delete_storage_prefix",
            prefix,
            eta=again_at + timedelta(seconds=settings.RELAY_UPLOAD_CLEANUP_GRACE_S),
        )


UNSENT = "unsent"  # task_id of an item whose task the broker refused: the reaper sends it at once


def enqueue(model, pk, task_id=None):
    """Send the kind's task for item `pk` once the current transaction commits; if the
    broker is down, mark the item so that the reaper's next pass sends it."""
    life = model.lifecycle

    def mark_unsent():
        try:
            model.objects.filter(pk=pk, status__in=life.queued, started_at__isnull=True).update(task_id=UNSENT)
        except (OperationalError, InterfaceError):
            pass  # the database is out too: the item is sent again once it waits long enough

    send_on_commit(life.task, str(pk), queue=life.queue, task_id=task_id, on_failure=mark_unsent)


def enqueue_batch(model, pks):
    """Send the kind's batch task for items `pks` (small ones: see `batch_task`) once the
    current transaction commits; if the broker is down, mark them for the reaper."""
    life = model.lifecycle
    pks = [str(pk) for pk in pks]

    def mark_unsent():
        try:
            model.objects.filter(pk__in=pks, status__in=life.queued, started_at__isnull=True).update(task_id=UNSENT)
        except (OperationalError, InterfaceError):
            pass

    send_on_commit(life.batch_task, pks, queue=life.queue, on_failure=mark_unsent)


# --- the reaper ---------------------------------------------------------------------------


def requeue_stuck(now=None, limit=500) -> dict:
    """Beat: send the task again for lost items; fail items that keep losing their worker."""
    now = now or timezone.now()
    counts = {"requeued": 0, "failed": 0}
    for model in KINDS.values():
        if model.lifecycle.task:
            for key, n in _requeue_kind(model, now, limit).items():
                counts[key] += n
    for hook in _reap_hooks:
        hook(now)
    if any(counts.values()):
        logger.warning("reaper: %s", counts)
    return counts


def lost(model, now):
    """Items of `model` whose task looks lost, those the reaper acts on: queued and never
    started for RELAY_NEVER_STARTED_AFTER_S (or never sent), or running with a heartbeat
    older than RELAY_STUCK_AFTER_S."""
    life = model.lifecycle
    never_started = Q(status__in=life.queued, started_at__isnull=True) & (
        Q(updated_at__lt=now - timedelta(seconds=settings.RELAY_NEVER_STARTED_AFTER_S)) | Q(task_id=UNSENT)
    )
    silent = Q(status__in=life.running, heartbeat_at__lt=now - timedelta(seconds=settings.RELAY_STUCK_AFTER_S))
    rows = model.objects.filter(never_started | silent)
    if life.claim_filter is not None:
        rows = rows.filter(life.claim_filter)
    return rows


def _requeue_kind(model, now, limit):
    rows = lost(model, now)
    counts = {"requeued": 0, "failed": 0}
    for pk, status, attempts, started_at, updated_at in rows.values_list(
        "pk", "status", "attempts", "started_at", "updated_at"
    )[:limit]:
        started = started_at is not None
        if started and attempts >= settings.RELAY_MAX_PROCESSING_ATTEMPTS:
            reason = f"its worker stopped responding {attempts} times; giving up"
            counts["failed"] += fail(model, pk, reason, from_=model.lifecycle.running)
            continue
        # Hand the item to a new task id, on the condition that nothing changed meanwhile:
        # two reapers never both send, and the new task's claim matches its token.
        task_id = str(uuid.uuid4())
        with transaction.atomic():
            handed = model.objects.filter(pk=pk, status=status, updated_at=updated_at).update(
                task_id=task_id, heartbeat_at=now if started else None, updated_at=now
            )
            if handed:
                enqueue(model, pk, task_id=task_id)
        counts["requeued"] += handed
    return counts


# --- the task wrapper ---------------------------------------------------------------------


class Run:
    """What a work function gets besides its item: its holder token and ways to report.

    Each report is a conditional update that also says whether the item is still this
    task's: when it is not (cancelled, failed or taken over), it raises WorkStopped."""

    def __init__(self, model, pk, token):
        self.model, self.pk, self.token = model, pk, token
        self._last_check = 0.0

    def advance(self, from_status, to_status, **fields):
        if not transition(self.model, self.pk, from_=[from_status], to=to_status, token=self.token, **fields):
            raise WorkStopped()

    def progress(self, event=None, **fields):
        """Write `fields` (and refresh the heartbeat); with `event`, also a `<kind>.progress`
        event carrying it, at most once a second."""
        with transaction.atomic():
            if not heartbeat(self.model, self.pk, self.token, **fields):
                raise WorkStopped()
            if event is not None:
                report_progress(self.model, self.pk, event)

    def still_ours(self, every_s=1.0) -> bool:
        """For tight loops: asks the database at most once every `every_s` seconds."""
        now = time.monotonic()
        if now - self._last_check < every_s:
            return True
        self._last_check = now
        return heartbeat(self.model, self.pk, self.token)

    def finish(self, to_status, **fields):
        """The last move, from whichever running status; WorkStopped if the item was
        cancelled or taken over meanwhile."""
        running = self.model.lifecycle.running
        if not transition(self.model, self.pk, from_=running, to=to_status, token=self.token, **fields):
            raise WorkStopped()


class _Heartbeat:
    """Refreshes heartbeat_at every RELAY_HEARTBEAT_S while the work runs, on a thread of its
    own (with its own database connection), so that a long step does not look dead."""

    def __init__(self, model, pks, token):
        self.model, self.pks, self.token = model, list(pks), token
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._beat, name=f"heartbeat-{self.pks[0]}", daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.done.set()
        self.thread.join(timeout=5)

    def _beat(self):
        try:
            while not self.done.wait(settings.RELAY_HEARTBEAT_S):
                try:
                    heartbeat_many(self.model, self.pks, self.token)
                except Exception as error:  # a database blip: the next beat tries again
                    logger.warning("heartbeat of %s %s failed: %s", self.model.lifecycle.kind, self.pks, error)
        finally:
            connections.close_all()


def time_limit_s(model):
    life = model.lifecycle
    return (
        getattr(settings, life.time_limit_setting) if life.time_limit_setting else settings.CELERY_TASK_SOFT_TIME_LIMIT
    )


def work_task(model):
    """Decorator: `fn(item, run)` becomes the Celery task of `model`'s kind (see the module
    docstring). The task takes the item's id and is idempotent."""
    life = model.lifecycle
    limit = time_limit_s(model)

    def decorate(fn):
        @shared_task(bind=True, name=life.task, soft_time_limit=limit, time_limit=limit + 60, acks_late=True)
        def task(self, pk):
            return execute(self, model, pk, fn, limit)

        task.work = fn
        return task

    return decorate


def execute(task, model, pk, fn, limit):
    life = model.lifecycle
    token = task.request.id or f"local-{uuid.uuid4()}"
    retries = task.request.retries or 0
    try:
        item = claim(model, pk, token)
    except OUTAGES as error:
        return _retry_or_fail(task, model, [pk], token, error, retries)
    if item is None:
        logger.info("%s %s is not waiting for a worker (finished, cancelled or held by another)", life.kind, pk)
        return None
    if _given_up(model, item, token, retries):
        return None
    started = time.perf_counter()
    outcome = "failed"
    try:
        with _Heartbeat(model, [pk], token):
            result = fn(item, Run(model, pk, token))
        outcome = "finished"
        return result
    except WorkStopped:
        outcome = "stopped"
        logger.info("%s %s stopped: cancelled, failed or taken over meanwhile", life.kind, pk)
    except WorkFailed as error:
        fail(model, pk, str(error), token=token)
    except SoftTimeLimitExceeded:
        outcome = "timed_out"
        fail(model, pk, f"it took longer than the time limit of {limit} s", token=token)
    except OUTAGES as error:
        outcome = "retried"
        return _retry_or_fail(task, model, [pk], token, error, retries)
    except Exception:
        logger.exception("%s %s: internal error in task %s", life.kind, pk, token)
        fail(model, pk, _internal_error(life, token), token=token)
    finally:
        metrics.observe_work(life.kind, outcome, time.perf_counter() - started)
    return None


def batch_task(model, *, prepare, commit_many, threads=4):
    """The Celery task `lifecycle.batch_task`: many small items of `model`'s kind in one task,
    with the fixed costs of a task paid once. It claims the items together; runs
    `prepare(item)` for each on up to `threads` threads (work that touches no database:
    downloads, decoding and uploads overlap); then `commit_many([(item, prepared), ...],
    token)` moves the prepared items on, in one transaction, and returns the ids it moved
    (e.g. with `finish_many`). Each item fails on its own, with the
    same reasons as under `work_task`; an outage retries the task for the items it still
    holds. Takes a list of item ids; idempotent."""
    life = model.lifecycle
    limit = time_limit_s(model)

    @shared_task(bind=True, name=life.batch_task, soft_time_limit=limit, time_limit=limit + 60, acks_late=True)
    def task(self, pks):
        return execute_many(self, model, pks, prepare, commit_many, threads, limit)

    return task


def execute_many(task, model, pks, prepare, commit_many, threads, limit):
    life = model.lifecycle
    token = task.request.id or f"local-{uuid.uuid4()}"
    retries = task.request.retries or 0
    try:
        items = claim_many(model, pks, token)
    except OUTAGES as error:
        return _retry_or_fail(task, model, pks, token, error, retries, args=[pks])
    if len(items) < len(pks):
        logger.info("%s: %d of %d items are not waiting for a worker", life.kind, len(pks) - len(items), len(pks))
    worked = [item for item in items if not _given_up(model, item, token, retries)]
    if not worked:
        return None

    def timed(item):
        started = time.perf_counter()
        try:
            return prepare(item), time.perf_counter() - started
        except BaseException as error:
            error.seconds = time.perf_counter() - started
            raise

    prepared, held_back = [], []
    try:
        with (
            _Heartbeat(model, [item.pk for item in worked], token),
            ThreadPoolExecutor(min(threads, len(worked)), thread_name_prefix=f"{life.kind}-batch") as pool,
        ):
            futures = [(item, pool.submit(timed, item)) for item in worked]
            for item, future in futures:
                try:
                    prepared.append((item, *future.result()))
                except WorkFailed as error:
                    fail(model, item.pk, str(error), token=token)
                    metrics.observe_work(life.kind, "failed", error.seconds)
                except OUTAGES as error:
                    held_back.append((item, error))
                except SoftTimeLimitExceeded:
                    raise
                except Exception as error:
                    logger.exception("%s %s: internal error in task %s", life.kind, item.pk, token)
                    fail(model, item.pk, _internal_error(life, token), token=token)
                    metrics.observe_work(life.kind, "failed", error.seconds)
            with transaction.atomic():
                moved = set(commit_many([(item, result) for item, result, _ in prepared], token))
            for item, _, seconds in prepared:
                if item.pk in moved:
                    metrics.observe_work(life.kind, "finished", seconds)
                else:
                    logger.info("%s %s stopped: cancelled, failed or taken over meanwhile", life.kind, item.pk)
                    metrics.observe_work(life.kind, "stopped", seconds)
    except SoftTimeLimitExceeded:
        for item in worked:  # those already finished stay finished
            fail(model, item.pk, f"it took longer than the time limit of {limit} s", token=token)
        return None
    except OUTAGES as error:  # committing failed: the whole batch is still this task's
        held_back = [(item, error) for item in worked]
    if held_back:
        pks = [str(item.pk) for item, _ in held_back]
        return _retry_or_fail(task, model, pks, token, held_back[0][1], retries, args=[pks])
    return None


def _given_up(model, item, token, retries) -> bool:
    """Fail an item claimed once too often (its worker kept dying on it); True if so."""
    if item.attempts <= settings.RELAY_MAX_PROCESSING_ATTEMPTS + retries:
        return False
    reason = f"processing did not finish after {item.attempts - 1} attempts (its worker stopped each time)"
    fail(model, item.pk, reason, token=token)
    return True


def _internal_error(life, token):
    return (
        f"internal error while processing this {life.kind.replace('_', ' ')}; the operators can find "
        f"the details in the worker log under task {token}"
    )


def retry_after_outage(task, error):
    """Retry `task` after an outage of what it depends on: RELAY_OUTAGE_RETRIES times, 5 s
    later, doubling up to RELAY_OUTAGE_BACKOFF_MAX_S apart. Past the last one, `error` is raised."""
    retries = task.request.retries or 0
    if retries >= settings.RELAY_OUTAGE_RETRIES:
        logger.error("%s: %s after %d retries", task.name, error, retries)
        raise error
    countdown = _outage_countdown(retries)
    logger.warning("%s: %s; retrying in %d s", task.name, error.__class__.__name__, countdown)
    raise task.retry(countdown=countdown, max_retries=settings.RELAY_OUTAGE_RETRIES, exc=error)


def _outage_countdown(retries):
    return min(settings.RELAY_OUTAGE_BACKOFF_MAX_S, 5 * 2**retries)


def _retry_or_fail(task, model, pks, token, error, retries, args=None):
    """After an outage: retry the task (same id, so it still holds its items; `args`, when
    given, are the new arguments: the ids of a batch still to do), or, past the retries
    allowed, fail its items `pks`."""
    life = model.lifecycle
    what = f"{life.kind} {pks[0]}" if len(pks) == 1 else f"{life.kind} batch of {len(pks)}"
    if retries < settings.RELAY_OUTAGE_RETRIES:
        countdown = _outage_countdown(retries)
        logger.warning("%s: %s; retrying in %d s", what, error.__class__.__name__, countdown)
        raise task.retry(args=args, countdown=countdown, max_retries=settings.RELAY_OUTAGE_RETRIES, exc=error)
    logger.error("%s: %s after %d retries", what, error, retries)
    for pk in pks:
        fail(model, pk, "a service Relay depends on stayed unavailable; try again later", token=token)
    return None
