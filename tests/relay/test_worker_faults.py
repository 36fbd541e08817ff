"""Faults while real workers run: a worker process SIGKILLed mid-training (a child, or the
whole worker) or mid-inference, and object storage going away mid-inference. The work
completes once a live worker takes it (within a minute of that), and nothing is lost."""

import contextlib
import os
import signal
import time

import pytest
from django.db import connections
from django.test import override_settings

from inference.models import InferenceFile, InferenceJob
from relay import work
from relay.celery import app
from relay.embedded.servers import CeleryWorker, SeaweedS3
from tests import corpus, servers
from tests.helpers import JsonClient, wait_until, worker_env
from training.models import TrainingJob

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]

# A live worker takes the work within TAKEN_WITHIN_S of the kill or the hand-over (well before
# the heartbeat would go stale, RELAY_STUCK_AFTER_S), and completes it within DONE_WITHIN_S of
# taking it: a training of KILL_EPOCHS from the start, or one file's inference, on a loaded
# machine (an epoch takes 3-5 s at a load of 8 on two cores).
TAKEN_WITHIN_S = 30
DONE_WITHIN_S = 60
KILL_EPOCHS = 6


def start_training(api, trained, epochs=KILL_EPOCHS):
    client = JsonClient(api)
    dataset, annotation_set = corpus.corpus_for(api, trained["corpus"], client)
    job = client.post(
        "/training-jobs",
        {
            "dataset_id": dataset["id"],
            "annotation_set_id": annotation_set["id"],
            "config": {"artifact_types": list(corpus.KINDS), "epochs": epochs},
        },
    )
    return client, job


def wait_training(client, job, min_progress=0.2):
    def training():
        body = client.get(f"/training-jobs/{job['id']}")
        return body if body["stage"] == "training" and body["progress"] > min_progress else None

    return wait_until(training, timeout=300, interval=0.3, message="the job to be training")


def finished(client, job, timeout):
    return wait_until(
        lambda: (body := client.get(f"/training-jobs/{job['id']}"))["status"] in ("completed", "failed") and body,
        timeout=timeout,
        interval=0.5,
        message="the training job to finish",
    )


def taken_again(model, pk, since, attempts=2):
    """Wait for a live worker to take item `pk` (its `attempts`-th claim); seconds since `since`."""
    wait_until(
        lambda: model.objects.filter(pk=pk, attempts__gte=attempts).exists(),
        timeout=120,
        interval=0.2,
        message="a live worker to take the work",
    )
    return time.monotonic() - since


def assert_prompt(taken_s, done_s, after):
    print(f"taken {taken_s:.0f} s and completed {done_s:.0f} s after {after}")
    assert taken_s < TAKEN_WITHIN_S, f"taken {taken_s:.0f} s after {after}"
    assert done_s - taken_s < DONE_WITHIN_S, f"completed {done_s - taken_s:.0f} s after it was taken"


def process_running(task_id):
    """(worker host name, pid of the pool process) running the task."""
    for hostname, tasks in (app.control.inspect(timeout=2).active() or {}).items():
        for task in tasks:
            if task["id"] == task_id:
                return hostname, task["worker_pid"]
    return None


def test_a_pool_process_killed_mid_training_is_resumed_at_once(api, trained, celery_worker_process):
    client, job = start_training(api, trained)
    wait_training(client, job)
    task_id = TrainingJob.objects.get(pk=job["id"]).task_id
    _, pid = wait_until(lambda: process_running(task_id), timeout=30, message="the task among the active ones")
    os.kill(pid, signal.SIGKILL)
    killed_at = time.monotonic()
    # Celery re-delivers the task (same id) at once; it takes its job over without waiting for the
    # heartbeat to go stale, and trains again from the start.
    taken_s = taken_again(TrainingJob, job["id"], killed_at)
    body = finished(client, job, timeout=240)
    done_s = time.monotonic() - killed_at
    assert body["status"] == "completed", body["error_message"]
    assert TrainingJob.objects.get(pk=job["id"]).attempts == 2
    assert_prompt(taken_s, done_s, "the kill")


@override_settings(RELAY_STUCK_AFTER_S=5)
def test_a_whole_worker_killed_mid_training_is_handed_to_another(api, trained, celery_worker_process, tmp_path):
    """The dead worker's task stays unacknowledged in the broker (for its visibility timeout,
    hours): the reaper sees the job's heartbeat stop and hands it to a live worker."""
    session_worker = celery_worker_process
    with consumer_paused("training"):  # only the doomed worker trains
        doomed = CeleryWorker(worker_env(), tmp_path / "doomed.log", queues="training", concurrency=1, name="doomed")
        doomed_process = doomed.start(app)
        try:
            client, job = start_training(api, trained)
            wait_training(client, job)
            _kill_tree(doomed_process.pid)
            doomed_process.wait()
        finally:
            doomed.stop()  # nothing left to stop once killed
    assert session_worker.poll() is None
    time.sleep(6)  # the heartbeat goes stale (RELAY_STUCK_AFTER_S=5 here)
    handed_at = time.monotonic()
    assert work.requeue_stuck()["requeued"] >= 1
    taken_s = taken_again(TrainingJob, job["id"], handed_at)
    body = finished(client, job, timeout=240)
    done_s = time.monotonic() - handed_at
    assert body["status"] == "completed", body["error_message"]
    assert TrainingJob.objects.get(pk=job["id"]).attempts == 2
    assert_prompt(taken_s, done_s, "the reaper handed it over")


@contextlib.contextmanager
def consumer_paused(queue):
    """The running workers take nothing from `queue` meanwhile (what is sent there waits)."""
    hostnames = list((app.control.inspect(timeout=2).ping() or {}).keys())
    app.control.cancel_consumer(queue, destination=hostnames, reply=True)
    try:
        yield
    finally:
        app.control.add_consumer(queue, destination=hostnames, reply=True)


@contextlib.contextmanager
def row_locked(model, pk):
    """Hold `SELECT ... FOR UPDATE` on one row from a connection of the test's own: whoever
    writes the row meanwhile waits. Yields a function that releases the lock early."""
    conn = connections.create_connection("default")
    try:
        conn.set_autocommit(False)
        with conn.cursor() as cursor:
            cursor.execute(f'SELECT 1 FROM "{model._meta.db_table}" WHERE id = %s FOR UPDATE', [pk])
            assert cursor.fetchone() is not None
        yield conn.rollback
    finally:
        conn.rollback()
        conn.close()


def waiting_for_a_lock(sql_start):
    """How many database sessions wait for a lock in a statement starting with `sql_start`."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE %s",
            [sql_start + "%"],
        )
        return cursor.fetchone()[0]


def test_a_pool_process_killed_mid_inference_is_resumed_at_once(api, trained, celery_worker_process):
    """The pool process is killed while it holds a file of an inference job: the model has run
    and the file's results are being written (the test holds the job's row, so that the
    process stays there until it is killed, however fast the model is). Its transaction is
    rolled back; Celery re-delivers the task at once, and the file is worked on again."""
    client = JsonClient(api)
    dataset, _ = corpus.corpus_for(api, trained["corpus"], client)
    model = corpus.model_for(api, trained["trained"])
    audio_id = str(trained["corpus"].audio_rows[0]["id"])
    with contextlib.ExitStack() as held:
        with consumer_paused("inference"):  # the job's row is locked before a worker sees the file
            job = client.post("/inference-jobs", {"model_id": str(model.pk), "audio_file_ids": [audio_id]})
            release = held.enter_context(row_locked(InferenceJob, job["id"]))
        file_id = client.get(f"/inference-jobs/{job['id']}")["files"][0]["id"]
        task_id = wait_until(
            lambda: InferenceFile.objects.filter(pk=file_id, attempts=1).values_list("task_id", flat=True).first(),
            timeout=120,
            interval=0.3,
            message="a worker to take the file",
        )
        _, pid = wait_until(lambda: process_running(task_id), timeout=30, message="the task among the active ones")
        wait_until(
            lambda: waiting_for_a_lock('UPDATE "inference_inferencejob"'),
            timeout=120,
            interval=0.3,
            message="the worker to write the file's results (and wait for the job's row)",
        )
        os.kill(pid, signal.SIGKILL)
        killed_at = time.monotonic()
        release()
    taken_s = taken_again(InferenceFile, file_id, killed_at)
    body = wait_until(
        lambda: (b := client.get(f"/inference-jobs/{job['id']}"))["status"] in ("completed", "failed") and b,
        timeout=180,
        interval=0.5,
        message="the inference job to finish",
    )
    done_s = time.monotonic() - killed_at
    assert body["status"] == "completed", body
    assert (body["processed_files"], body["failed_files"]) == (1, 0)
    inference_file = InferenceFile.objects.get(pk=file_id)
    assert (inference_file.status, inference_file.attempts) == ("completed", 2)
    assert_prompt(taken_s, done_s, "the kill")


def _kill_tree(pid):
    """SIGKILL a worker and its pool processes at once, as an OOM killer or a pulled plug would."""
    children = f"/proc/{pid}/task/{pid}/children"
    kids = [int(p) for p in open(children).read().split()] if os.path.exists(children) else []
    for each in [pid, *kids]:
        try:
            os.kill(each, signal.SIGKILL)
        except ProcessLookupError:
            pass


def test_work_survives_object_storage_going_away(api, trained, celery_worker_process):
    """Inference on dataset audio needs S3 in the worker only: with S3 down, the file's task
    retries with backoff instead of failing, and completes once S3 is back."""
    weed = next((s for s in servers._stack.started if isinstance(s, SeaweedS3)), None)
    if weed is None:
        pytest.skip("S3_ENDPOINT_URL points at an S3 server of the machine's: it is not ours to stop")
    client = JsonClient(api)
    dataset, _ = corpus.corpus_for(api, trained["corpus"], client)
    model = corpus.model_for(api, trained["trained"])
    audio_ids = [str(row["id"]) for row in trained["corpus"].audio_rows[:2]]
    weed.stop()
    try:
        job = client.post("/inference-jobs", {"model_id": str(model.pk), "audio_file_ids": audio_ids})
        time.sleep(8)  # the tasks meet the outage and retry
        states = {f["status"] for f in client.get(f"/inference-jobs/{job['id']}")["files"]}
        assert "failed" not in states, states
    finally:
        weed.start(port_env_var="-")
    body = wait_until(
        lambda: (b := client.get(f"/inference-jobs/{job['id']}"))["status"] == "completed" and b,
        timeout=180,
        interval=0.5,
        message="the inference job to complete after the outage",
    )
    assert body["processed_files"] == 2 and body["failed_files"] == 0
