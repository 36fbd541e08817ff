"""Fixtures: tenants with keys, the bucket, a real Celery worker, a model trained once."""

import pytest

from relay import services
from relay.models import READ_ONLY_SCOPES
from tests.helpers import Api, JsonClient, worker_env


@pytest.fixture(scope="session", autouse=True)
def bucket():
    from django.conf import settings

    from relay import storage

    storage.ensure_bucket()
    return settings.S3_BUCKET


@pytest.fixture
def make_tenant(db):
    def make(name, scopes=None):
        tenant, api_key, raw_key = services.create_tenant(name=name, **({"scopes": scopes} if scopes else {}))
        api = Api(raw_key)
        api.tenant, api.api_key = tenant, api_key
        return api

    return make


@pytest.fixture
def api(make_tenant):
    """Tenant A with a key that has every scope."""
    return make_tenant("tenant-a")


@pytest.fixture
def other_api(make_tenant):
    """Tenant B: must never see tenant A's objects."""
    return make_tenant("tenant-b")


@pytest.fixture
def readonly_api(api):
    _, raw_key = services.create_api_key(tenant=api.tenant, name="read only", scopes=READ_ONLY_SCOPES)
    return Api(raw_key)


@pytest.fixture
def anonymous():
    return Api()


@pytest.fixture(scope="session")
def celery_worker_process(django_db_setup, django_db_blocker, tmp_path_factory):
    """A real `celery worker` process (prefork, 2 children) on the test database."""
    from relay.celery import app
    from relay.embedded.servers import CeleryWorker

    worker = CeleryWorker(worker_env(), tmp_path_factory.mktemp("worker") / "worker.log")
    process = worker.start(app)
    yield process
    worker.stop()
    print(f"\ncelery worker log: {worker.log_path}")


@pytest.fixture(scope="session")
def trained(django_db_setup, django_db_blocker, celery_worker_process):
    """Generated audio uploaded through S3, decoded and trained on by the real worker, once."""
    from relay.models import Tenant
    from tests import corpus
    from training.models import Model

    with django_db_blocker.unblock():
        tenant, _, raw_key = services.create_tenant(name="corpus-owner")
        client = JsonClient(Api(raw_key))
        dataset, annotation_set, built = corpus.build_corpus(client)
        job = corpus.train(client, dataset, annotation_set)
        model = client.get(f"/models/{job['model_id']}") if job["model_id"] else None
        storage_key = Model.objects.get(pk=job["model_id"]).storage_key if model else None
        events = corpus.all_events(client)
        Tenant.objects.filter(pk=tenant.pk).delete()
    return {
        "corpus": built,
        "job": job,
        "model": model,
        "trained": corpus.Trained(job, model, storage_key),
        "events": events,
    }


def pytest_collection_modifyitems(items):
    """A test that needs the real worker is a `worker` test, whether it says so or not
    (`make test-fast` leaves them out)."""
    for item in items:
        if {"celery_worker_process", "trained"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.worker)


@pytest.fixture(scope="session")
def web_server(django_db_setup, tmp_path_factory):
    """The web app served as `make run` serves it (uvicorn, relay/embedded/web.py), on the
    test database; one worker process, short keep-alives and a small stream cap. Its URL."""
    import subprocess
    import urllib.request
    from pathlib import Path

    from relay.embedded import web
    from relay.embedded.servers import free_ports, wait_for

    (port,) = free_ports(1)
    env = {
        **worker_env(),
        "RELAY_WEB_WORKERS": "1",
        "RELAY_SSE_KEEPALIVE_S": "1",
        "RELAY_SSE_MAX_STREAMS_PER_KEY": "3",
    }
    log_path = tmp_path_factory.mktemp("web") / "web.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            web.command("127.0.0.1", port, workers=1), cwd=Path(__file__).parent.parent, env=env, stdout=log, stderr=log
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: urllib.request.urlopen(f"{url}/api/v1/health", timeout=1).status == 200, 60, "web", log_path)
        yield url
    finally:
        process.terminate()
        process.wait(30)
        print(f"\nweb server log: {log_path}")
