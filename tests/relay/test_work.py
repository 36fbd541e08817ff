"""The one lifecycle of background work (relay/work.py), through a kind made up here.

`Chore` is a new kind of work written in a few lines: it gets claims, a heartbeat,
reaping, time limits, retries on outages and the disclosure policy from `relay.work`
alone. Its task runs in-process through the Celery wrapper (`apply`)."""

import time
from datetime import timedelta

import pytest
from celery.exceptions import SoftTimeLimitExceeded
from django.db import InterfaceError as DatabaseInterfaceError
from django.db import OperationalError as DatabaseError
from django.db import connection, models
from django.test import override_settings
from django.test.utils import isolate_apps
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError

from relay import work
from relay.errors import Unavailable
from relay.storage import StorageUnavailable
from tests.helpers import sent_tasks

with isolate_apps("relay"):

    class Chore(work.WorkItem):
        lifecycle = work.Lifecycle(
            kind="chore",
            queued=("queued",),
            running=("running",),
            final=("done", "failed", "cancelled"),
            claim_to="running",
            finished_at="finished_at",
            task="tests.chore",
            batch_task="tests.chores",
        )
        status = models.CharField(
            max_length=16,
            choices=[(s, s) for s in ("queued", "running", "done", "failed", "cancelled")],
            default="queued",
        )
        note = models.CharField(max_length=100, default="")
        finished_at = models.DateTimeField(null=True)

        class Meta:
            app_label = "relay"


BEHAVIOUR = {}  # what the chore does this time: a function of (item, run)


@work.work_task(Chore)
def do_chore(item, run):
    return BEHAVIOUR["do"](item, run)


def prepare_chore(item):
    return BEHAVIOUR["prepare"](item)


def commit_chores(prepared, token):
    for item, _ in prepared:
        BEHAVIOUR.get("before_commit", lambda item: None)(item)
    return work.finish_many(Chore, token, {item.pk: {"note": note} for item, note in prepared}, to="done")


do_chores = work.batch_task(Chore, prepare=prepare_chore, commit_many=commit_chores)


@pytest.fixture
def chores(django_db_blocker):
    with django_db_blocker.unblock(), connection.schema_editor() as editor:
        editor.create_model(Chore)
    work.register(Chore)
    yield Chore
    work.KINDS.pop("chore")
    with django_db_blocker.unblock(), connection.schema_editor() as editor:
        editor.delete_model(Chore)


def behave(fn):
    BEHAVIOUR["do"] = fn


def finish(item, run):
    run.progress(note="halfway")
    run.finish("done", note="swept")


pytestmark = pytest.mark.django_db


def test_a_new_kind_is_claimed_worked_and_finished(chores):
    behave(finish)
    chore = Chore.objects.create()
    do_chore.apply(args=[chore.pk])
    chore.refresh_from_db()
    assert (chore.status, chore.note, chore.attempts) == ("done", "swept", 1)
    assert chore.started_at and chore.heartbeat_at and chore.finished_at and chore.task_id
    do_chore.apply(args=[chore.pk])  # a duplicate message changes nothing
    assert Chore.objects.get(pk=chore.pk).attempts == 1


def test_an_internal_error_is_failed_without_disclosing_it(chores):
    def explode(item, run):
        raise RuntimeError("password=hunter2 in /srv/secret/path")

    behave(explode)
    chore = Chore.objects.create()
    do_chore.apply(args=[chore.pk], task_id="task-42")
    chore.refresh_from_db()
    assert chore.status == "failed"
    assert "hunter2" not in chore.error_message and "/srv" not in chore.error_message
    assert "internal error" in chore.error_message and "task-42" in chore.error_message


def test_the_work_own_failure_is_told_as_it_is(chores):
    def refuse(item, run):
        raise work.WorkFailed("the file is not audio")

    behave(refuse)
    chore = Chore.objects.create()
    do_chore.apply(args=[chore.pk])
    assert Chore.objects.get(pk=chore.pk).error_message == "the file is not audio"


def test_the_time_limit_fails_it_with_the_limit_named(chores):
    def overrun(item, run):
        raise SoftTimeLimitExceeded()

    behave(overrun)
    chore = Chore.objects.create()
    do_chore.apply(args=[chore.pk])
    chore.refresh_from_db()
    assert chore.status == "failed" and f"time limit of {work.time_limit_s(Chore)} s" in chore.error_message


# The outages a worker meets, named here (a class dropped from work.OUTAGES fails), and any
# class added to work.OUTAGES later.
OUTAGES = [StorageUnavailable, Unavailable, DatabaseError, DatabaseInterfaceError, BrokerError]
OUTAGES += [cls for cls in work.OUTAGES if cls not in OUTAGES]


@pytest.mark.parametrize("outage", OUTAGES, ids=lambda cls: f"{cls.__module__}.{cls.__name__}")
def test_an_outage_is_retried_not_failed(chores, outage):
    """Every kind of outage in work.OUTAGES (storage, the database's OperationalError and
    InterfaceError, the broker's kombu OperationalError), and a new one once it is added."""
    calls = []

    def flaky(item, run):
        calls.append(1)
        if len(calls) < 3:
            raise outage("the service does not answer")
        finish(item, run)

    behave(flaky)
    chore = Chore.objects.create()
    do_chore.apply(args=[chore.pk])
    assert Chore.objects.get(pk=chore.pk).status == "done" and len(calls) == 3


@override_settings(RELAY_OUTAGE_RETRIES=1)
def test_an_outage_that_lasts_fails_it_after_the_retries_allowed(chores):
    calls = []

    def down(item, run):
        calls.append(1)
        raise StorageUnavailable()

    behave(down)
    chore = Chore.objects.create()
    do_chore.apply(args=[chore.pk])
    chore.refresh_from_db()
    assert chore.status == "failed" and "stayed unavailable" in chore.error_message and len(calls) == 2


@override_settings(RELAY_OUTAGE_RETRIES=2)
def test_deleting_stored_objects_is_retried_like_work(monkeypatch):
    from relay import tasks

    calls = []

    def down(prefix):
        calls.append(prefix)
        raise StorageUnavailable()

    monkeypatch.setattr("relay.storage.delete_prefix", down)
    result = tasks.delete_storage_prefix.apply(args=["tenants/x/"])
    assert isinstance(result.result, StorageUnavailable) and calls == ["tenants/x/"] * 3


def test_requeue_resets_the_lifecycle_from_the_statuses_asked(chores, django_capture_on_commit_callbacks):
    now = timezone.now()
    chore = Chore.objects.create(
        status="failed", attempts=2, started_at=now, heartbeat_at=now, task_id="t-1", error_message="boom"
    )
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert not work.requeue(Chore, chore.pk, from_=["done"])
        assert work.requeue(Chore, chore.pk, from_=["failed"], note="again")
    assert len(sent_tasks(callbacks)) == 1
    chore.refresh_from_db()
    assert (chore.status, chore.attempts, chore.started_at, chore.heartbeat_at) == ("queued", 0, None, None)
    assert (chore.task_id, chore.error_message, chore.note) == ("", "", "again")


def test_a_stale_worker_cannot_overwrite_a_cancelled_item(chores):
    def cancelled_meanwhile(item, run):
        work.transition(Chore, item.pk, to="cancelled")  # e.g. the tenant cancels from the API
        finish(item, run)

    behave(cancelled_meanwhile)
    chore = Chore.objects.create()
    do_chore.apply(args=[chore.pk])
    assert Chore.objects.get(pk=chore.pk).status == "cancelled"


def test_the_reaper_hands_a_silent_item_to_a_new_task_then_gives_up(chores, django_capture_on_commit_callbacks):
    silent = timezone.now() - timedelta(hours=1)
    chore = Chore.objects.create(status="running", started_at=silent, heartbeat_at=silent, attempts=1, task_id="dead")
    with django_capture_on_commit_callbacks(execute=False) as sent:
        assert work.requeue_stuck()["requeued"] == 1
    assert len(sent) == 1
    chore.refresh_from_db()
    assert chore.task_id != "dead" and not work.heartbeat(Chore, chore.pk, "dead")
    behave(finish)
    do_chore.apply(args=[chore.pk], task_id=chore.task_id)  # the task the reaper sent
    assert Chore.objects.get(pk=chore.pk).status == "done"

    exhausted = Chore.objects.create(status="running", started_at=silent, heartbeat_at=silent, attempts=3)
    assert work.requeue_stuck()["failed"] == 1
    exhausted.refresh_from_db()
    assert exhausted.status == "failed" and "stopped responding 3 times" in exhausted.error_message


@pytest.mark.django_db(transaction=True)
@override_settings(RELAY_HEARTBEAT_S=0.05)
def test_the_heartbeat_goes_on_while_a_long_step_runs(chores):
    beats = []

    def long_step(item, run):
        time.sleep(0.5)  # no report from the work itself meanwhile
        beats.append(Chore.objects.get(pk=item.pk).heartbeat_at)
        run.finish("done")

    behave(long_step)
    chore = Chore.objects.create()
    claimed_at = timezone.now()
    do_chore.apply(args=[chore.pk])
    assert beats[0] > claimed_at + timedelta(seconds=0.2)


# --- several items in one task ------------------------------------------------------------


def test_a_batch_claims_its_items_together_and_each_ends_on_its_own(chores):
    ok, refused, crashed, cancelled, held = (Chore.objects.create() for _ in range(5))
    Chore.objects.filter(pk=held.pk).update(status="running", task_id="another", heartbeat_at=timezone.now())

    def prepare(item):
        if item.pk == refused.pk:
            raise work.WorkFailed("the file is not audio")
        if item.pk == crashed.pk:
            raise RuntimeError("password=hunter2")
        return f"prepared {item.pk}"

    def cancel_meanwhile(item):
        if item.pk == cancelled.pk:
            Chore.objects.filter(pk=item.pk).update(status="cancelled")

    BEHAVIOUR.update(prepare=prepare, before_commit=cancel_meanwhile)
    try:
        do_chores.apply(args=[[ok.pk, refused.pk, crashed.pk, cancelled.pk, held.pk]], task_id="batch-7")
    finally:
        BEHAVIOUR.pop("before_commit")
    rows = Chore.objects.in_bulk()
    assert (rows[ok.pk].status, rows[ok.pk].note, rows[ok.pk].attempts) == ("done", f"prepared {ok.pk}", 1)
    assert rows[ok.pk].task_id == "batch-7" and rows[ok.pk].finished_at
    assert (rows[refused.pk].status, rows[refused.pk].error_message) == ("failed", "the file is not audio")
    assert rows[crashed.pk].status == "failed" and "hunter2" not in rows[crashed.pk].error_message
    assert "batch-7" in rows[crashed.pk].error_message
    assert rows[cancelled.pk].status == "cancelled"
    assert (rows[held.pk].status, rows[held.pk].task_id, rows[held.pk].attempts) == ("running", "another", 0)

    do_chores.apply(args=[[ok.pk, refused.pk]])  # a duplicate message changes nothing
    assert Chore.objects.get(pk=ok.pk).attempts == 1


def test_a_batch_retries_only_the_items_an_outage_held_back(chores):
    steady, flaky = Chore.objects.create(), Chore.objects.create()
    calls = []

    def prepare(item):
        calls.append(item.pk)
        if item.pk == flaky.pk and calls.count(flaky.pk) < 2:
            raise StorageUnavailable()
        return "ok"

    BEHAVIOUR["prepare"] = prepare
    do_chores.apply(args=[[steady.pk, flaky.pk]])
    assert calls.count(steady.pk) == 1 and calls.count(flaky.pk) == 2
    assert set(Chore.objects.values_list("status", flat=True)) == {"done"}


def test_a_batch_past_its_time_limit_fails_what_is_not_finished(chores):
    first, second = Chore.objects.create(), Chore.objects.create()

    def overrun(item):  # the soft limit's signal reaches the task's own thread
        if item.pk == second.pk:
            raise SoftTimeLimitExceeded()

    BEHAVIOUR.update(prepare=lambda item: "ok", before_commit=overrun)
    try:
        do_chores.apply(args=[[first.pk, second.pk]])
    finally:
        BEHAVIOUR.pop("before_commit")
    rows = Chore.objects.in_bulk()
    assert {rows[first.pk].status, rows[second.pk].status} == {"failed"}  # their commit was one
    assert "time limit" in rows[second.pk].error_message
