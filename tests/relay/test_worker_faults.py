"""Faults while real workers run: a worker process SIGKILLed mid-training (a child, or the
whole worker), and object storage going away mid-inference. The work completes once a
live worker takes it, and nothing is lost."""

import os
import signal
import time

import pytest
from django.test import override_settings

from relay import work
from relay.celery import app
from relay.embedded.servers import CeleryWorker, SeaweedS3
from tests import corpus, servers
from tests.helpers import JsonClient, wait_until, worker_env
from training.models import TrainingJob

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


def start_training(api, trained, epochs=40):
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
    body = finished(client, job, timeout=240)
    assert body["status"] == "completed", body["error_message"]
    assert TrainingJob.objects.get(pk=job["id"]).attempts == 2
    print(f"completed {time.monotonic() - killed_at:.0f} s after the kill")


@override_settings(RELAY_STUCK_AFTER_S=5)
def test_a_whole_worker_killed_mid_training_is_handed_to_another(api, trained, celery_worker_process, tmp_path):
    """The dead worker's task stays unacknowledged in the broker (for its visibility timeout,
    hours): the reaper sees the job's heartbeat stop and hands it to a live worker."""
    session_worker = celery_worker_process
    hostnames = list((app.control.inspect(timeout=2).ping() or {}).keys())
    app.control.cancel_consumer("training", destination=hostnames, reply=True)  # only the doomed worker trains
    doomed = CeleryWorker(worker_env(), tmp_path / "doomed.log", queues="training", concurrency=1, name="doomed")
    doomed_process = doomed.start(app)
    try:
        client, job = start_training(api, trained)
        wait_training(client, job)
        _kill_tree(doomed_process.pid)
        doomed_process.wait()
    finally:
        doomed.stop()  # nothing left to stop once killed
        app.control.add_consumer("training", destination=hostnames, reply=True)
    assert session_worker.poll() is None
    time.sleep(6)  # the heartbeat goes stale (RELAY_STUCK_AFTER_S=5 here)
    handed_at = time.monotonic()
    assert work.requeue_stuck()["requeued"] >= 1
    body = finished(client, job, timeout=240)
    assert body["status"] == "completed", body["error_message"]
    assert TrainingJob.objects.get(pk=job["id"]).attempts == 2
    print(f"completed {time.monotonic() - handed_at:.0f} s after the reaper handed it over")


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
