"""Tenant isolation, generated from the API schema: tenant B's key on tenant A's objects.

Every operation whose path names an object is called by B with A's ids: the answer is 404
and never holds A's data. A path parameter this matrix cannot fill fails the test, so a
new endpoint is covered without anyone remembering it. Every list B reads holds none of
A's ids; and every request body field that names an object (`*_id`, `*_ids`,
`from_inference_job`) is tried with A's ids in B's requests.
"""

import json
import uuid

import pytest
from django.utils import timezone

from annotations.models import Annotation, AnnotationSet, SetStatus
from inference.models import FileStatus, InferenceFile, InferenceJob
from relay import services
from relay.models import WebhookDelivery, WebhookEndpoint
from tests.helpers import make_audio
from tests.schema_check import _schema
from training.models import Evaluation, Model, TrainingJob

pytestmark = pytest.mark.django_db

BODY_FIELDS_COVERED = {
    "audio_id",
    "audio_file_id",
    "audio_file_ids",
    "audio_ids",
    "dataset_id",
    "annotation_set_id",
    "model_id",
    "file_id",
    "from_inference_job",
}


def objects_of(api, label):
    """One object of every kind, owned by `api`'s tenant: {kind: id}."""
    tenant = api.tenant
    dataset = api.post("/datasets", {"name": f"{label} data", "artifact_types": [{"name": "glitch"}]}).json()["id"]
    audio = make_audio(dataset, f"{label}.wav")
    annotation_set = AnnotationSet.objects.create(dataset_id=dataset, version=1)
    annotation = Annotation.objects.create(
        annotation_set=annotation_set,
        audio_file=audio,
        artifact_type_id=api.get(f"/datasets/{dataset}").json()["artifact_types"][0]["id"],
        start_ms=0,
        end_ms=10,
    )
    AnnotationSet.objects.filter(pk=annotation_set.pk).update(status=SetStatus.PUBLISHED, published_at=timezone.now())
    model = Model.objects.create(
        tenant=tenant,
        name=f"{label} model",
        dataset_id=dataset,
        annotation_set=annotation_set,
        annotation_set_version=1,
        artifact_types=["glitch"],
        storage_key=f"tests/{label}/model.relay",
    )
    training_job = TrainingJob.objects.create(
        tenant=tenant, dataset_id=dataset, annotation_set=annotation_set, annotation_set_version=1
    )
    evaluation = Evaluation.objects.create(tenant=tenant, model=model, annotation_set_version=1)
    inference_job = InferenceJob.objects.create(tenant=tenant, model=model)
    inference_file = InferenceFile.objects.create(
        job=inference_job,
        filename=f"{label}.wav",
        content_type="audio/wav",
        storage_key=f"tests/{label}/f.wav",
        status=FileStatus.COMPLETED,
        audio_file=audio,
    )
    api_key, _ = services.create_api_key(tenant=tenant, name=f"{label} key")
    endpoint = WebhookEndpoint.objects.create(tenant=tenant, url=f"https://{label}.example.com/hook", secret="s")
    delivery = WebhookDelivery.objects.create(endpoint=endpoint, event_id=1, event_type="t", payload={})
    return {
        "dataset_id": dataset,
        "audio_id": str(audio.pk),
        "set_id": str(annotation_set.pk),
        "annotation_id": str(annotation.pk),
        "model_id": str(model.pk),
        "evaluation_id": str(evaluation.pk),
        "training_job_id": str(training_job.pk),
        "inference_job_id": str(inference_job.pk),
        "file_id": str(inference_file.pk),
        "key_id": str(api_key.pk),
        "webhook_id": str(endpoint.pk),
        "delivery_id": str(delivery.pk),
    }


def fill(template, ids):
    """The path with its parameters filled from `ids` (`job_id` by the collection it is in)."""
    path = template
    names = ("dataset_id", "audio_id", "set_id", "annotation_id", "model_id", "evaluation_id", "file_id", "key_id")
    for name in (*names, "webhook_id", "delivery_id"):
        path = path.replace("{" + name + "}", ids[name])
    if "{job_id}" in path:
        kind = "training_job_id" if path.startswith("/api/v1/training-jobs") else "inference_job_id"
        path = path.replace("{job_id}", ids[kind])
    assert "{" not in path, f"{template}: a path parameter the isolation matrix does not know; add it to fill()"
    return path


def operations():
    """Every operation of the schema, event streams included: (path template, method)."""
    for template, item in _schema()["paths"].items():
        for method in item:
            yield template, method


def is_stream(template, method):
    """An operation that answers with an event stream (which stays open: never read it here)."""
    answers = _schema()["paths"][template][method].get("responses", {}).get("200", {}).get("content", {})
    return "text/event-stream" in answers


def closed(response):
    """The response, its stream (if any) closed unread: nothing here waits on a stream."""
    if getattr(response, "streaming", False):
        response.close()
    return response


@pytest.fixture
def worlds(api, other_api):
    return objects_of(api, "a"), objects_of(other_api, "b")


@pytest.mark.timeout(120)  # a stream opened by mistake must not hold the suite
def test_every_object_path_is_404_for_another_tenant(api, other_api, worlds):
    """Event streams too (GET /training-jobs/{job_id}/events, /inference-jobs/{job_id}/events):
    404 with the JSON error envelope, before any stream starts."""
    mine, _ = worlds
    secrets = set(mine.values())
    checked, streams = 0, 0
    for template, method in operations():
        if "{" not in template:
            continue
        path = fill(template, mine)
        response = closed(other_api.raw(method, path, "{}"))
        assert response.status_code == 404, (method.upper(), template, response.status_code)
        assert response["Content-Type"].startswith("application/json"), (method.upper(), template)
        assert not secrets & set(response.content.decode(errors="replace").split('"')), (method, template)
        checked += 1
        streams += is_stream(template, method)
    assert checked >= 30 and streams >= 2
    # The owner reaches every one of them (so the 404s above are about tenancy, not bad ids);
    # a stream's job is its path without /events (the owner's streams: test_event_streams.py).
    for template, method in operations():
        if "{" in template and method == "get" and not template.endswith(("plot.png", "download")):
            path = fill(template, mine).removeprefix("/api/v1")
            if is_stream(template, method):
                path = path.removesuffix("/events")
            assert api.get(path, {"format": "json"}).status_code == 200, template


def test_lists_never_hold_another_tenants_objects(other_api, worlds):
    mine, theirs = worlds
    secrets = set(mine.values())
    for template, method in operations():
        if method != "get" or is_stream(template, method):
            continue
        path = fill(template, theirs)  # B's own objects and collections
        response = other_api.get(path.removeprefix("/api/v1"))
        if response.status_code != 200 or not response["Content-Type"].startswith("application/json"):
            continue
        found = set(response.content.decode().split('"'))
        assert not secrets & found, (template, secrets & found)


def foreign_body_cases(mine, theirs):
    """(method, path, body, expected statuses): B's requests naming A's objects in the body."""
    b_data, b_set = f"/datasets/{theirs['dataset_id']}", f"/datasets/{theirs['dataset_id']}/annotation-sets"
    annotation = {"audio_file_id": mine["audio_id"], "artifact_type": "glitch", "start_ms": 0, "end_ms": 5}
    return [
        ("post", f"{b_data}/audio/confirm", {"audio_id": mine["audio_id"]}, {404}),
        (
            "post",
            f"{b_data}/audio/multipart/complete",
            {"audio_id": mine["audio_id"], "parts": [{"part_number": 1, "etag": "x"}]},
            {404},
        ),
        ("post", f"{b_data}/audio/multipart/abort", {"audio_id": mine["audio_id"]}, {404}),
        ("post", b_set, {"from_inference_job": mine["inference_job_id"]}, {404}),
        ("post", f"{b_set}/{theirs['set_id']}/annotations", annotation, {409, 422}),
        ("post", f"{b_set}/{theirs['set_id']}/annotations/bulk", {"annotations": [annotation]}, {409, 422}),
        (
            "post",
            "/training-jobs",
            {
                "dataset_id": mine["dataset_id"],
                "annotation_set_id": mine["set_id"],
                "config": {"artifact_types": ["glitch"]},
            },
            {404},
        ),
        (
            "post",
            "/training-jobs",
            {
                "dataset_id": theirs["dataset_id"],
                "annotation_set_id": mine["set_id"],
                "config": {"artifact_types": ["glitch"]},
            },
            {404},
        ),
        ("post", "/inference-jobs", {"model_id": mine["model_id"]}, {404}),
        ("post", "/inference-jobs", {"model_id": theirs["model_id"], "audio_file_ids": [mine["audio_id"]]}, {422}),
        ("post", f"/models/{theirs['model_id']}/evaluations", {"annotation_set_id": mine["set_id"]}, {404}),
        (
            "post",
            f"/models/{theirs['model_id']}/evaluations",
            {"annotation_set_id": theirs["set_id"], "audio_file_ids": [mine["audio_id"]]},
            {422},
        ),
        (
            "post",
            f"/inference-jobs/{theirs['inference_job_id']}/files/confirm",
            {"file_id": mine["file_id"]},
            {404, 409},
        ),
    ]


def test_bodies_naming_another_tenants_objects_are_refused(other_api, worlds):
    mine, theirs = worlds
    secrets = set(mine.values())
    for method, path, body, expected in foreign_body_cases(mine, theirs):
        response = getattr(other_api, method)(path, body)
        assert response.status_code in expected, (path, body, response.status_code, response.content[:300])
        assert not secrets & set(response.content.decode().split('"')) - set(json.dumps(body).split('"')), path
    confirmed = other_api.post(
        f"/datasets/{theirs['dataset_id']}/audio/confirm-batch", {"audio_ids": [mine["audio_id"]]}
    )
    assert confirmed.json()["results"][0]["error"] == {"status": 404, "detail": "Audio file not found"}
    batch = other_api.post("/inference-jobs/batch", {"jobs": [{"model_id": mine["model_id"]}]}).json()
    assert batch["results"] == [{"status_code": 404, "detail": "Model not found"}]
    imported = other_api.raw(
        "post",
        f"/datasets/{theirs['dataset_id']}/annotation-sets/{theirs['set_id']}/import?format=audacity"
        f"&audio_file_id={mine['audio_id']}",
        "0.0\t0.1\tglitch\n",
        content_type="text/plain",
    )
    assert imported.status_code in (409, 422), imported.content


def test_every_body_field_that_names_an_object_is_in_the_cases():
    schemas = _schema()["components"]["schemas"]
    named = {
        prop
        for name, schema in schemas.items()
        if name.endswith("Request")
        for prop in schema.get("properties", {})
        if prop.endswith(("_id", "_ids")) or prop == "from_inference_job"
    }
    assert named <= BODY_FIELDS_COVERED, (
        f"body fields naming objects without an isolation case: {named - BODY_FIELDS_COVERED}"
    )


def test_unknown_ids_are_404_as_well(other_api):
    assert other_api.get(f"/datasets/{uuid.uuid4()}").status_code == 404
