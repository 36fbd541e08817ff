"""What the tests share besides fixtures: an API client that checks every answer against
the schema, error assertions, a JSON client for the demo-data and corpus helpers, audio
file rows and annotation bodies, and the environment of worker and web processes."""

import os
import tempfile
import uuid
from functools import cache
from urllib.parse import urlsplit, urlunsplit

from django.utils import timezone
from rest_framework.test import APIClient

from datasets.models import AudioFile, AudioStatus
from tests.schema_check import check_response
from tests.waiting import wait_until

__all__ = [
    "METRICS_TOKEN",
    "Api",
    "JsonClient",
    "annotation",
    "assert_422",
    "assert_error",
    "make_audio",
    "set_path",
    "wait_until",
    "worker_env",
]


class Api:
    """An API client bound to one key: `api.get("/datasets")` -> response with `.json()`.

    Every answer is checked against the OpenAPI schema (tests/schema_check.py)."""

    def __init__(self, raw_key=None):
        self.client = APIClient()
        self.raw_key = raw_key
        if raw_key:
            self.client.credentials(HTTP_X_API_KEY=raw_key)

    def _url(self, path):
        return path if path.startswith("/api/") else f"/api/v1{path}"

    def _checked(self, method, url, response):
        check_response(method, url, response)
        return response

    def get(self, path, params=None, **extra):
        url = self._url(path)
        return self._checked("GET", url, self.client.get(url, params, **extra))

    def post(self, path, data=None, **extra):
        url = self._url(path)
        return self._checked("POST", url, self.client.post(url, data, format="json", **extra))

    def patch(self, path, data=None, **extra):
        url = self._url(path)
        return self._checked("PATCH", url, self.client.patch(url, data, format="json", **extra))

    def delete(self, path, **extra):
        url = self._url(path)
        return self._checked("DELETE", url, self.client.delete(url, **extra))

    def raw(self, method, path, body, content_type="application/json", **extra):
        url = self._url(path)
        return self._checked(
            method.upper(), url, self.client.generic(method, url, body, content_type=content_type, **extra)
        )


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


def sent_tasks(callbacks):
    """The on-commit callbacks that send a Celery task (others tell event streams)."""
    return [callback for callback in callbacks if callback.__qualname__.startswith("send_on_commit")]


def make_audio(dataset_id, filename="a.wav", duration_ms=60_000, status=AudioStatus.READY, confirmed=True):
    """An audio file row as the upload pipeline leaves it (the pipeline itself is tested in
    tests/datasets; where only its result matters)."""
    audio_id = uuid.uuid4()
    return AudioFile.objects.create(
        id=audio_id,
        dataset_id=dataset_id,
        filename=filename,
        content_type="audio/wav",
        file_size=1000,
        storage_key=f"tests/{dataset_id}/audio/{audio_id}/original.wav",
        upload_expires_at=timezone.now(),
        confirmed_at=timezone.now() if confirmed else None,
        status=status,
        duration_ms=duration_ms if status == AudioStatus.READY else None,
        sample_rate=16000,
        channels=1,
    )


def set_path(dataset, annotation_set, suffix=""):
    return f"/datasets/{dataset['id']}/annotation-sets/{annotation_set['id']}{suffix}"


def annotation(audio, artifact_type="glitch", start_ms=1000, end_ms=1040, **extra):
    return {
        "audio_file_id": str(audio.id),
        "artifact_type": artifact_type,
        "start_ms": start_ms,
        "end_ms": end_ms,
        **extra,
    }


METRICS_TOKEN = "test-metrics-token"


@cache
def _metrics_dir():
    return tempfile.mkdtemp(prefix="relay-test-metrics-")


def worker_env():
    """The environment of a worker process on the test database (pytest-django renamed it)."""
    from django.db import connection

    url = urlsplit(os.environ["DATABASE_URL"])
    env = {**os.environ, "DATABASE_URL": urlunsplit(url._replace(path="/" + connection.settings_dict["NAME"]))}
    env.pop("RELAY_TEST_DATABASE_NAME", None)
    # Webhooks to the tests' receivers on 127.0.0.1, retried and given up on in seconds.
    env.update(RELAY_WEBHOOK_ALLOW_PRIVATE="true", RELAY_WEBHOOK_RETRY_BASE_S="0.5", RELAY_WEBHOOK_DISABLE_AFTER_S="3")
    # The served app and the workers write their metrics to one folder, as `make run` does.
    env.update(PROMETHEUS_MULTIPROC_DIR=_metrics_dir(), RELAY_METRICS_TOKEN=METRICS_TOKEN)
    return env
