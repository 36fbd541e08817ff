"""Multi-id reads (`?id=a&id=b`, as Infernet's multi-get): every job and file list answers
in the order asked and names the ids it does not hold."""

import uuid

import pytest

from datasets.models import AudioFile
from inference.models import InferenceFile, InferenceJob
from tests.helpers import assert_422
from training.models import Model, TrainingJob

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(api, other_api):
    dataset = api.post("/datasets", {"name": "multi", "artifact_types": [{"name": "glitch"}]}).json()["id"]
    model = Model.objects.create(tenant=api.tenant, name="m", annotation_set_version=1, storage_key="k")
    jobs = [InferenceJob.objects.create(tenant=api.tenant, model=model) for _ in range(3)]
    files = [
        InferenceFile.objects.create(job=jobs[0], filename=f"{n}.wav", content_type="audio/wav", storage_key=f"k{n}")
        for n in range(3)
    ]
    audio = [
        AudioFile.objects.create(
            dataset_id=dataset, filename=f"{n}.wav", content_type="audio/wav", file_size=1, storage_key=f"a{n}",
            upload_expires_at="2030-01-01T00:00:00Z",
        )
        for n in range(3)
    ]  # fmt: skip
    theirs = InferenceJob.objects.create(tenant=other_api.tenant)
    return {"dataset": dataset, "model": model, "jobs": jobs, "files": files, "audio": audio, "theirs": theirs}


def ids(objects):
    return [str(o.pk) for o in objects]


def test_jobs_come_in_the_order_asked_with_the_missing_named(api, world):
    jobs = world["jobs"]
    unknown, foreign = str(uuid.uuid4()), str(world["theirs"].pk)
    asked = [str(jobs[2].pk), unknown, str(jobs[0].pk), foreign, str(jobs[1].pk)]
    page = api.get("/inference-jobs", {"id": asked}).json()
    assert [j["id"] for j in page["items"]] == [asked[0], asked[2], asked[4]]
    assert page["missing_ids"] == [unknown, foreign] and page["total"] == 3
    # Comma-separated works too, and the asked order beats `ordering`.
    page = api.get("/inference-jobs", {"id": f"{jobs[1].pk},{jobs[2].pk}", "ordering": "created_at"}).json()
    assert [j["id"] for j in page["items"]] == ids([jobs[1], jobs[2]]) and page["missing_ids"] == []
    # Without ?id= there is no missing_ids.
    assert "missing_ids" not in api.get("/inference-jobs").json()


def test_every_job_and_file_list_is_a_multi_get(api, world):
    job = world["jobs"][0]
    training = [
        TrainingJob.objects.create(tenant=api.tenant, dataset_id=world["dataset"], annotation_set_version=1)
        for _ in range(2)
    ]
    lists = {
        "/training-jobs": ids(training),
        f"/inference-jobs/{job.pk}/files": ids(world["files"]),
        f"/datasets/{world['dataset']}/audio": ids(world["audio"]),
        "/models": ids([world["model"]]),
    }
    for path, known in lists.items():
        asked = [*reversed(known), str(uuid.uuid4())]
        page = api.get(path, {"id": asked}).json()
        assert [item.get("id") or item.get("audio_id") for item in page["items"]] == asked[:-1], path
        assert page["missing_ids"] == asked[-1:], path


def test_a_status_filter_reports_filtered_ids_as_missing(api, world):
    jobs = world["jobs"]
    InferenceJob.objects.filter(pk=jobs[1].pk).update(status="completed")
    page = api.get("/inference-jobs", {"id": ids(jobs), "status": "completed"}).json()
    assert [j["id"] for j in page["items"]] == [str(jobs[1].pk)]
    assert page["missing_ids"] == [str(jobs[0].pk), str(jobs[2].pk)]


def test_bad_ids_are_422(api):
    assert_422(api.get("/inference-jobs", {"id": "nope"}), ["query", "id"])
    assert_422(api.get("/training-jobs", {"id": [str(uuid.uuid4()) for _ in range(201)]}), ["query", "id"])
