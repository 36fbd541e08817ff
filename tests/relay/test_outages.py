"""The suite's own PostgreSQL and broker (Valkey) stopped and started again, for real (not a
port where nothing listens: tests/relay/test_faults.py does that).

- PostgreSQL stops in the middle of creating an inference job (the request is held inside
  its transaction by a lock until the server goes): the API answers 503 with the error
  envelope, and once the server is back no row of the job exists.
- PostgreSQL restarts under the served app: the first requests after it are answered (no
  connection the restart ended is taken from the pool).
- PostgreSQL is down when the worker takes a file: the task retries with backoff, and the
  job completes once the server is back.
- The broker is down when a job is created: the job is durable (its file is marked unsent),
  and once the broker is back the reaper's next pass sends it and the worker completes it.

Each test restores the server it stopped (in a `finally`) and waits until it answers before
it ends, so that the tests after it find the servers as they were. They skip when the
server is one of the machine's (DATABASE_URL or CELERY_BROKER_URL set): not ours to stop.
"""

import contextlib
import threading

import pytest
from django.db import OperationalError, connections
from pgserver._commands import pg_ctl

from inference.models import FileStatus, InferenceFile, InferenceJob
from relay import work
from relay.celery import app
from relay.embedded.servers import Postgres, Valkey
from relay.models import Event
from tests import corpus, servers
from tests.helpers import JsonClient, assert_error, wait_until
from tests.relay.test_faults import _publish_to
from tests.relay.test_tenant_isolation import objects_of
from tests.relay.test_worker_faults import consumer_paused, waiting_for_a_lock

pytestmark = pytest.mark.django_db(transaction=True)


def ours(kind):
    server = next((s for s in servers._stack.started if isinstance(s, kind)), None)
    if server is None:
        pytest.skip(f"the {kind.__name__} server is one of the machine's: it is not ours to stop")
    return server


@contextlib.contextmanager
def postgres_restored():
    """Yields `stop()`, which stops the suite's PostgreSQL (fast: every session is ended).
    On the way out, the server is started again on the same data and socket (if it was
    stopped), this process's dead connections are dropped, and it answers again."""
    server = ours(Postgres).server

    def stop():
        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=server.pgdata, user=server.system_user)

    stop.start = server.ensure_postgres_running
    try:
        yield stop
    finally:
        server.ensure_postgres_running()
        wait_until(answers, timeout=60, interval=0.2, message="PostgreSQL to answer")


def answers():
    """Does the database answer? (The pool may first hand out connections the stop ended.)"""
    try:
        connections.close_all()
        return InferenceJob.objects.count() >= 0
    except OperationalError:
        return False


@contextlib.contextmanager
def broker_stopped():
    """Stop the suite's Valkey and start it again on the same port and password."""
    valkey = ours(Valkey)
    valkey.stop()
    _publish_to(None)  # the pooled connections are to a server that is gone
    try:
        yield
    finally:
        valkey.start(port_env_var="-")
        _publish_to(None)


def test_postgres_stopping_mid_creation_is_503_and_leaves_no_half_written_job(api):
    ids = objects_of(api, "a")
    body = {"model_id": ids["model_id"], "audio_file_ids": [ids["audio_id"]]}
    before = (
        set(InferenceJob.objects.values_list("pk", flat=True)),
        InferenceFile.objects.count(),
        Event.objects.count(),
    )
    answers = []
    # The request inserts the job, then waits to insert its file (the table is locked here).
    side = connections.create_connection("default")
    side.set_autocommit(False)
    with side.cursor() as cursor:
        cursor.execute(f'LOCK TABLE "{InferenceFile._meta.db_table}" IN SHARE MODE')
    creating = threading.Thread(target=lambda: answers.append(api.post("/inference-jobs", body)))
    try:
        with postgres_restored() as stop_postgres:
            creating.start()
            wait_until(
                lambda: waiting_for_a_lock(f'INSERT INTO "{InferenceFile._meta.db_table}"'),
                timeout=60,
                interval=0.2,
                message="the request to be inside its transaction",
            )
            stop_postgres()
            connections["default"].close()  # ended by the stop
            creating.join(timeout=60)
            assert not creating.is_alive(), "the request did not end when the database went away"
            assert_error(answers[0], 503, "database unavailable")
            assert_error(api.get("/inference-jobs"), 503, "database unavailable")
    finally:
        side.close()
    after = (
        set(InferenceJob.objects.values_list("pk", flat=True)),
        InferenceFile.objects.count(),
        Event.objects.count(),
    )
    assert after == before  # no job, file or event of the request
    assert api.get("/inference-jobs").status_code == 200  # and the API is back


def test_the_served_api_answers_at_once_when_postgres_is_back(api, web_server):
    """The connections in a process's pool die with the server: none is handed to a request
    once the server is back (each is checked as it is taken from the pool). Through the
    served app: Django's test client keeps one connection for the whole test instead."""
    import requests

    def datasets():
        return requests.get(f"{web_server}/api/v1/datasets", headers={"X-API-Key": api.raw_key}, timeout=30)

    with postgres_restored() as stop_postgres:
        assert datasets().status_code == 200  # the app's pool holds connections now
        stop_postgres()
        assert datasets().status_code == 503
        stop_postgres.start()
        for _ in range(3):
            response = datasets()
            assert response.status_code == 200, response.text


def inference_job(api, trained, files=2):
    """(client, job request body) over the session's corpus and trained model."""
    client = JsonClient(api)
    corpus.corpus_for(api, trained["corpus"], client)
    model = corpus.model_for(api, trained["trained"])
    audio_ids = [str(row["id"]) for row in trained["corpus"].audio_rows[:files]]
    return client, {"model_id": str(model.pk), "audio_file_ids": audio_ids}


def completed(client, job):
    body = wait_until(
        lambda: (b := client.get(f"/inference-jobs/{job['id']}"))["status"] in ("completed", "failed") and b,
        timeout=180,
        interval=0.5,
        message="the inference job to finish after the outage",
    )
    assert body["status"] == "completed", body
    assert (body["processed_files"], body["failed_files"]) == (2, 0)
    return body


def retries_scheduled(task_name):
    """Tasks named `task_name` that wait in a worker for their retry's countdown."""
    scheduled = app.control.inspect(timeout=2).scheduled() or {}
    return [t for tasks in scheduled.values() for t in tasks if t["request"]["name"] == task_name]


@pytest.mark.worker
def test_work_waits_out_a_postgres_outage(api, trained, celery_worker_process):
    """The worker takes the files while PostgreSQL is down: each task meets the outage at
    its claim and is retried with backoff (not failed); the job completes once it is back."""
    client, body = inference_job(api, trained)
    with postgres_restored() as stop_postgres:
        with consumer_paused("inference"):  # the tasks reach the worker once the server is down
            job = client.post("/inference-jobs", body)
            connections.close_all()
            stop_postgres()
        wait_until(
            lambda: len(retries_scheduled(InferenceFile.lifecycle.task)) >= 2,
            timeout=90,
            interval=1,
            message="both files' tasks to wait for a retry",
        )
    completed(client, job)


@pytest.mark.worker
def test_a_job_created_while_the_broker_is_down_is_sent_once_it_is_back(api, trained, celery_worker_process):
    """Creating the job needs the database only: it is durable, its files marked unsent.
    Once the broker is back, the reaper's next pass (beat, called here) sends them at once."""
    client, body = inference_job(api, trained)
    with broker_stopped():
        job = client.post("/inference-jobs", body)
        files = InferenceFile.objects.filter(job_id=job["id"])
        assert set(files.values_list("status", "task_id")) == {(FileStatus.QUEUED, work.UNSENT)}
    wait_until(lambda: app.control.ping(timeout=1), timeout=90, message="the worker to reconnect to the broker")
    assert work.requeue_stuck()["requeued"] == 2
    completed(client, job)


def test_a_pooled_connection_the_server_ended_is_not_handed_out():
    """relay.postgresql: a pooled connection is taken without a round trip while it has
    nothing to read; one whose backend was ended (its error message waits on it) is dropped
    and another is taken."""
    import time

    import psycopg
    from django.db import connection

    from relay.postgresql.base import quiet

    def backend():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            return cursor.fetchone()[0]

    connection.close()  # back to the pool
    taken = backend()
    raw = connection.connection
    assert quiet(raw)
    connection.close()
    with psycopg.connect(**connection.get_connection_params() | {"autocommit": True}) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [taken])
    deadline = time.monotonic() + 5
    while quiet(raw) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not quiet(raw)
    for _ in range(2 * connection.pool.max_size):  # round every pooled connection (the pool is a queue)
        assert backend() != taken
        connection.close()
