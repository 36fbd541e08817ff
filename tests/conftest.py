import os
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from rest_framework.test import APIClient

from relay import services
from relay.models import READ_ONLY_SCOPES
from tests.waiting import wait_until  # noqa: F401  (re-exported for the tests)

BASE_DIR = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session", autouse=True)
def bucket():
    from django.conf import settings

    from relay import storage

    storage.ensure_bucket()
    return settings.S3_BUCKET


class Api:
    """An API client bound to one key: `api.get("/datasets")` -> response with `.json()`."""

    def __init__(self, raw_key=None):
        self.client = APIClient()
        self.raw_key = raw_key
        if raw_key:
            self.client.credentials(HTTP_X_API_KEY=raw_key)

    def _url(self, path):
        return path if path.startswith("/api/") else f"/api/v1{path}"

    def get(self, path, params=None, **extra):
        return self.client.get(self._url(path), params, **extra)

    def post(self, path, data=None, **extra):
        return self.client.post(self._url(path), data, format="json", **extra)

    def patch(self, path, data=None, **extra):
        return self.client.patch(self._url(path), data, format="json", **extra)

    def delete(self, path, **extra):
        return self.client.delete(self._url(path), **extra)

    def raw(self, method, path, body, content_type="application/json", **extra):
        return self.client.generic(method, self._url(path), body, content_type=content_type, **extra)


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


def assert_error(response, status, detail_contains=None):
    assert response.status_code == status, (response.status_code, response.content[:500])
    body = response.json()
    assert set(body) >= {"detail"}, body
    assert isinstance(body["detail"], str), body
    if detail_contains:
        assert detail_contains.lower() in body["detail"].lower(), body
    return body


def assert_422(response, *locs):
    """A 422 whose items include each of `locs` (tuples)."""
    assert response.status_code == 422, (response.status_code, response.content[:500])
    items = response.json()["detail"]
    assert isinstance(items, list) and items
    for item in items:
        assert set(item) == {"loc", "msg", "type"}, item
    found = [tuple(item["loc"]) for item in items]
    for loc in locs:
        assert tuple(loc) in found, (loc, found)
    return items


@pytest.fixture(scope="session")
def celery_worker_process(django_db_setup, django_db_blocker, tmp_path_factory):
    """A real `celery worker` process (prefork, 2 children) on the test database."""
    from django.db import connection

    from relay.celery import app
    from relay.embedded.servers import CeleryWorker

    url = urlsplit(os.environ["DATABASE_URL"])
    env = {**os.environ, "DATABASE_URL": urlunsplit(url._replace(path="/" + connection.settings_dict["NAME"]))}
    env.pop("RELAY_TEST_DATABASE_NAME", None)
    worker = CeleryWorker(env, tmp_path_factory.mktemp("worker") / "worker.log")
    process = worker.start(app)
    yield process
    worker.stop()
    print(f"\ncelery worker log: {worker.log_path}")


class JsonClient:
    """The interface of training.demo_data's clients over the test client: JSON in, JSON out."""

    def __init__(self, api):
        self.api = api

    def get(self, path):
        response = self.api.get(path)
        assert response.status_code == 200, response.content[:500]
        return response.json()

    def post(self, path, body=None):
        response = self.api.post(path, body or {})
        assert response.status_code in (200, 201, 202), response.content[:500]
        return response.json()

    def upload(self, upload_url, fields, data):
        from training.demo_data import post_upload

        post_upload(upload_url, fields, data, timeout=120)


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
        Tenant.objects.filter(pk=tenant.pk).delete()
    return {"corpus": built, "job": job, "model": model, "trained": corpus.Trained(job, model, storage_key)}
