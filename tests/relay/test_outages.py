"""The suite's own PostgreSQL and broker (Valkey) stopped and started again, for real (not a
port where nothing listens: tests/relay/test_faults.py does that).

- PostgreSQL stops in the middle of creating an inference job (the request is held inside
  its transaction by a lock until the server goes): the API answers 503 with the error
  envelope, and once the server is back no row of the job exists.
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
from django.db import connections
from pgserver._commands import pg_ctl

from inference.models import InferenceFile, InferenceJob
from relay.embedded.servers import Postgres, Valkey
from relay.models import Event
from tests import servers
from tests.helpers import assert_error, wait_until
from tests.relay.test_faults import _publish_to
from tests.relay.test_tenant_isolation import objects_of
from tests.relay.test_worker_faults import waiting_for_a_lock

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

    try:
        yield stop
    finally:
        server.ensure_postgres_running()
        connections.close_all()
        wait_until(lambda: InferenceJob.objects.count() >= 0, timeout=30, message="PostgreSQL to answer")


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
