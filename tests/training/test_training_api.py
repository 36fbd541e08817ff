"""Training jobs and models over the API: every check before a job starts, cancel, models.
(Training itself, through a real worker, is in test_training_worker.py.)"""

import pytest

from annotations.models import Annotation, AnnotationSet
from datasets.models import AudioStatus
from relay.jobs import JobStatus
from tests.helpers import annotation, assert_422, assert_error, make_audio, sent_tasks
from training.models import Model, TrainingJob

pytestmark = pytest.mark.django_db


@pytest.fixture
def dataset(api):
    return api.post("/datasets", {"name": "train", "artifact_types": [{"name": "glitch"}, {"name": "hum"}]}).json()


@pytest.fixture
def files(dataset):
    return [make_audio(dataset["id"], f"f{i}.wav", 120_000) for i in range(3)]  # 6 minutes


def make_set(api, dataset, items, publish=True):
    annotation_set = api.post(f"/datasets/{dataset['id']}/annotation-sets").json()
    path = f"/datasets/{dataset['id']}/annotation-sets/{annotation_set['id']}"
    assert api.post(path + "/annotations/bulk", {"annotations": items}).status_code == 201
    if publish:
        assert api.post(path + "/publish").status_code == 200
    return annotation_set


@pytest.fixture
def published(api, dataset, files):
    items = [annotation(f, kind, 1000 * i, 1000 * i + 50) for i, f in enumerate(files) for kind in ("glitch", "hum")]
    return make_set(api, dataset, items)


def body(dataset, annotation_set, **config):
    return {
        "dataset_id": dataset["id"],
        "annotation_set_id": annotation_set["id"],
        "name": "first",
        "config": {"artifact_types": ["glitch", "hum"], **config},
    }


def test_create_queues_a_job_pinned_to_the_version(api, dataset, published, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = api.post("/training-jobs", body(dataset, published, epochs=3))
    assert response.status_code == 201, response.json()
    job = response.json()
    assert job["status"] == "queued" and job["annotation_set_version"] == 1 and job["progress"] == 0
    assert job["config"] == {
        "artifact_types": ["glitch", "hum"],
        "epochs": 3,
        "validation_split": 0.2,
        "learning_rate": 0.001,
        "batch_size": 32,
        "chunk_size_ms": 500,
        "stride_ms": 250,
        "seed": 0,
        "start_from": "prior",
        "waveform_copies": 0,
    }
    assert job["model_id"] is None and job["metrics"] is None and job["tenant_id"] == str(api.tenant.id)
    assert len(sent_tasks(callbacks)) == 1  # the task is sent once the job is committed
    assert api.get(f"/training-jobs/{job['id']}").json() == job


@pytest.mark.parametrize(
    "config, loc",
    [
        ({"epochs": 0}, ["body", "config", "epochs"]),
        ({"epochs": 101}, ["body", "config", "epochs"]),
        ({"validation_split": 0.6}, ["body", "config", "validation_split"]),
        ({"waveform_copies": 5}, ["body", "config", "waveform_copies"]),
        ({"start_from": "imagenet"}, ["body", "config", "start_from"]),
        ({"start_from": 1}, ["body", "config", "start_from"]),
        ({"waveform_copies": "2"}, ["body", "config", "waveform_copies"]),
        ({"learning_rate": 0.5}, ["body", "config", "learning_rate"]),
        ({"batch_size": 4}, ["body", "config", "batch_size"]),
        ({"epochs": "5"}, ["body", "config", "epochs"]),
        ({"dropout": 0.1}, ["body", "config", "dropout"]),
        ({"artifact_types": []}, ["body", "config", "artifact_types"]),
        ({"artifact_types": ["glitch", "click"]}, ["body", "config", "artifact_types", 1]),
        ({"artifact_types": ["glitch", "GLITCH"]}, ["body", "config", "artifact_types", 1]),
    ],
)
def test_config_validation(api, dataset, published, config, loc):
    assert_422(api.post("/training-jobs", body(dataset, published, **config)), loc)
    assert TrainingJob.objects.count() == 0


def test_missing_config_and_unknown_fields(api, dataset, published):
    assert_422(
        api.post("/training-jobs", {"dataset_id": dataset["id"], "annotation_set_id": published["id"]}),
        ["body", "config"],
    )
    assert_422(api.post("/training-jobs", {**body(dataset, published), "priority": 1}), ["body", "priority"])


def test_draft_set_is_409(api, dataset, files):
    draft = make_set(api, dataset, [annotation(files[0]), annotation(files[1], "hum")], publish=False)
    assert_error(api.post("/training-jobs", body(dataset, draft)), 409, "publish")


def test_files_not_ready_is_409(api, dataset, files, published):
    files[1].status = AudioStatus.FAILED
    files[1].save()
    assert_error(api.post("/training-jobs", body(dataset, published)), 409, "not ready")


def test_too_little_audio_is_422(api, dataset):
    short = [make_audio(dataset["id"], f"s{i}.wav", 60_000) for i in range(2)]
    annotation_set = make_set(api, dataset, [annotation(short[0]), annotation(short[1], "hum")])
    items = assert_422(api.post("/training-jobs", body(dataset, annotation_set)), ["body", "annotation_set_id"])
    assert "at least 5 min of audio; the set's 2 file(s) hold 2.0 min of audio (120 s)" in items[0]["msg"]


def test_one_file_is_422(api, dataset):
    long = make_audio(dataset["id"], "long.wav", 600_000)
    annotation_set = make_set(api, dataset, [annotation(long), annotation(long, "hum", 5000, 6000)])
    assert_422(api.post("/training-jobs", body(dataset, annotation_set)), ["body", "annotation_set_id"])


def test_type_without_annotations_is_422(api, dataset, files):
    annotation_set = make_set(api, dataset, [annotation(f) for f in files])
    items = assert_422(
        api.post("/training-jobs", body(dataset, annotation_set)), ["body", "config", "artifact_types", 1]
    )
    assert "no 'hum' annotation" in items[0]["msg"]


def test_foreign_or_unknown_ids_are_404(api, other_api, dataset, published):
    assert_error(other_api.post("/training-jobs", body(dataset, published)), 404, "dataset not found")
    other = api.post("/datasets", {"name": "other", "artifact_types": [{"name": "glitch"}]}).json()
    assert_error(
        api.post("/training-jobs", {**body(dataset, published), "dataset_id": other["id"]}),
        404,
        "annotation set not found",
    )


def test_cancel(api, dataset, published):
    job = api.post("/training-jobs", body(dataset, published)).json()
    cancelled = api.post(f"/training-jobs/{job['id']}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["completed_at"]
    assert_error(api.post(f"/training-jobs/{job['id']}/cancel"), 409, "cancelled")


def test_list_filters(api, other_api, dataset, published):
    first = api.post("/training-jobs", {**body(dataset, published), "client_reference": "nightly"}).json()
    second = api.post("/training-jobs", body(dataset, published)).json()
    api.post(f"/training-jobs/{second['id']}/cancel")
    ids = lambda params: [j["id"] for j in api.get("/training-jobs", params).json()["items"]]  # noqa: E731
    assert ids({}) == [second["id"], first["id"]]
    assert ids({"status": "cancelled"}) == [second["id"]]
    assert ids({"client_reference": "nightly"}) == [first["id"]]
    assert set(ids({"id": [first["id"], second["id"]]})) == {first["id"], second["id"]}
    assert ids({"dataset_id": dataset["id"], "ordering": "created_at"}) == [first["id"], second["id"]]
    assert_422(api.get("/training-jobs", {"id": "nope"}), ["query", "id"])
    assert_422(api.get("/training-jobs", {"status": "done"}), ["query", "status"])
    assert other_api.get("/training-jobs").json()["total"] == 0
    assert_error(other_api.get(f"/training-jobs/{first['id']}"), 404, "training job not found")
    assert_error(other_api.post(f"/training-jobs/{first['id']}/cancel"), 404)


def test_dataset_with_an_active_job_cannot_be_deleted(api, dataset, published):
    job = api.post("/training-jobs", body(dataset, published)).json()
    assert_error(api.delete(f"/datasets/{dataset['id']}"), 409, "training job")
    api.post(f"/training-jobs/{job['id']}/cancel")
    deleted = api.delete(f"/datasets/{dataset['id']}")
    assert deleted.status_code == 204, deleted.json()
    assert api.get(f"/training-jobs/{job['id']}").json()["dataset_id"] is None


def make_model(api, dataset, annotation_set, name="m"):
    return Model.objects.create(
        tenant=api.tenant,
        name=name,
        dataset_id=dataset["id"],
        annotation_set_id=annotation_set["id"],
        annotation_set_version=1,
        artifact_types=["glitch", "hum"],
        storage_key=f"tests/models/{name}/model.relay",
        metrics={"macro_f1": 0.5},
    )


def test_models_list_get_patch_delete(api, other_api, dataset, published):
    model = make_model(api, dataset, published)
    listing = api.get("/models").json()
    assert listing["total"] == 1 and listing["items"][0]["id"] == str(model.pk)
    assert set(listing["items"][0]) >= {
        "id",
        "tenant_id",
        "name",
        "training_job_id",
        "dataset_id",
        "annotation_set_id",
        "annotation_set_version",
        "artifact_types",
        "config",
        "metrics",
        "size_bytes",
        "created_at",
    }
    renamed = api.patch(f"/models/{model.pk}", {"name": "podcast v1"})
    assert renamed.status_code == 200 and renamed.json()["name"] == "podcast v1"
    assert_422(api.patch(f"/models/{model.pk}", {"name": ""}), ["body", "name"])
    assert_422(api.patch(f"/models/{model.pk}", {"size_bytes": 1}), ["body", "size_bytes"])
    assert_error(other_api.get(f"/models/{model.pk}"), 404, "model not found")
    assert_error(other_api.delete(f"/models/{model.pk}"), 404)
    from inference.models import InferenceJob

    job = InferenceJob.objects.create(tenant=api.tenant, model=model, status=JobStatus.PROCESSING)
    assert_error(api.delete(f"/models/{model.pk}"), 409, "inference job")
    InferenceJob.objects.filter(pk=job.pk).update(status=JobStatus.COMPLETED)
    assert api.delete(f"/models/{model.pk}").status_code == 204
    assert Model.objects.count() == 0
    assert InferenceJob.objects.get(pk=job.pk).model_id is None


def test_published_set_stays_published_after_training_jobs(api, dataset, published):
    api.post("/training-jobs", body(dataset, published))
    assert AnnotationSet.objects.get(pk=published["id"]).status == "published"
    assert Annotation.objects.filter(annotation_set_id=published["id"]).count() == 6
