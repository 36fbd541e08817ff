"""Inference jobs over the API without a worker: creation, files, confirm, cancel, batch.
(Processing through real workers is in test_inference_worker.py.)"""

import pytest

from inference import services
from inference.models import FileStatus, InferenceFile, InferenceJob
from relay import uploads
from tests import audio_factory as af
from tests.helpers import assert_422, assert_error, make_audio, sent_tasks
from training.models import Model

pytestmark = pytest.mark.django_db


@pytest.fixture
def model(api):
    return Model.objects.create(
        tenant=api.tenant,
        name="m",
        annotation_set_version=1,
        artifact_types=["glitch"],
        storage_key="tests/models/m/model.relay",
    )


def new_job(api, model, **body):
    response = api.post("/inference-jobs", {"model_id": str(model.pk), **body})
    assert response.status_code == 201, response.json()
    return response.json()


def test_create_with_defaults(api, model):
    job = new_job(api, model)
    assert job["status"] == "pending" and job["model_id"] == str(model.pk)
    assert job["config"] == {"threshold": None, "merge_window_ms": None, "min_duration_ms": None}
    assert (job["total_files"], job["processed_files"], job["failed_files"], job["total_detections"]) == (0, 0, 0, 0)
    detail = api.get(f"/inference-jobs/{job['id']}").json()
    assert detail["files"] == [] and detail["id"] == job["id"]


@pytest.mark.parametrize(
    "config, loc",
    [
        ({"threshold": 1.5}, ["body", "config", "threshold"]),
        ({"threshold": "0.5"}, ["body", "config", "threshold"]),
        ({"merge_window_ms": 5001}, ["body", "config", "merge_window_ms"]),
        ({"min_duration_ms": -1}, ["body", "config", "min_duration_ms"]),
        ({"min_duration_ms": 1001}, ["body", "config", "min_duration_ms"]),
        ({"smoothing": 3}, ["body", "config", "smoothing"]),
    ],
)
def test_config_validation(api, model, config, loc):
    assert_422(api.post("/inference-jobs", {"model_id": str(model.pk), "config": config}), loc)
    assert InferenceJob.objects.count() == 0


def test_unknown_or_foreign_model_is_404(api, other_api, model):
    assert_error(other_api.post("/inference-jobs", {"model_id": str(model.pk)}), 404, "model not found")
    assert_error(api.post("/inference-jobs", {"model_id": "00000000-0000-0000-0000-000000000000"}), 404)
    assert_422(api.post("/inference-jobs", {"model_id": 7}), ["body", "model_id"])


def test_audio_file_ids_queue_dataset_audio(api, other_api, model, django_capture_on_commit_callbacks):
    dataset = api.post("/datasets", {"name": "d", "artifact_types": [{"name": "glitch"}]}).json()
    ready = [make_audio(dataset["id"], f"{i}.wav") for i in range(2)]
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        job = new_job(api, model, audio_file_ids=[str(a.pk) for a in ready])
    assert job["status"] == "processing" and job["total_files"] == 2 and len(sent_tasks(callbacks)) == 2
    files = api.get(f"/inference-jobs/{job['id']}/files").json()["items"]
    assert {f["status"] for f in files} == {"queued"} and {f["audio_file_id"] for f in files} == {
        str(a.pk) for a in ready
    }
    pending = make_audio(dataset["id"], "p.wav", status="normalizing")
    assert_422(
        api.post("/inference-jobs", {"model_id": str(model.pk), "audio_file_ids": [str(ready[0].pk), str(pending.pk)]}),
        ["body", "audio_file_ids", 1],
    )
    other_dataset = other_api.post("/datasets", {"name": "o", "artifact_types": [{"name": "x"}]}).json()
    foreign = make_audio(other_dataset["id"])
    assert_422(
        api.post("/inference-jobs", {"model_id": str(model.pk), "audio_file_ids": [str(foreign.pk)]}),
        ["body", "audio_file_ids", 0],
    )
    assert_422(
        api.post("/inference-jobs", {"model_id": str(model.pk), "audio_file_ids": [str(ready[0].pk)] * 2}),
        ["body", "audio_file_ids"],
    )


def test_upload_confirm_flow(api, model, django_capture_on_commit_callbacks):
    job = new_job(api, model)
    data = af.wav(1.0)
    ticket = api.post(
        f"/inference-jobs/{job['id']}/files/upload-url", {"filename": "take.wav", "file_size_bytes": len(data)}
    )
    assert ticket.status_code == 201, ticket.json()
    ticket = ticket.json()
    assert set(ticket) >= {"file_id", "upload_url", "upload_fields", "s3_key", "expires_in"}
    assert ticket["upload_fields"]["Content-Type"] == "audio/wav"
    assert api.get(f"/inference-jobs/{job['id']}").json()["total_files"] == 1
    assert_error(api.post(f"/inference-jobs/{job['id']}/files/confirm", {"file_id": ticket["file_id"]}), 409)
    response = af.post_to_s3({"upload_url": ticket["upload_url"], "fields": ticket["upload_fields"]}, data)
    assert response.status_code == 204
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        confirmed = api.post(f"/inference-jobs/{job['id']}/files/confirm", {"file_id": ticket["file_id"]})
    assert confirmed.status_code == 202 and confirmed.json()["status"] == "queued" and len(sent_tasks(callbacks)) == 1
    again = api.post(f"/inference-jobs/{job['id']}/files/confirm", {"file_id": ticket["file_id"]})
    assert again.status_code == 202 and again.json()["status"] == "queued"
    assert api.get(f"/inference-jobs/{job['id']}").json()["status"] == "processing"


def test_object_of_another_size_fails_the_file_at_confirm(api, model):
    from relay import storage

    job = new_job(api, model)
    ticket = api.post(
        f"/inference-jobs/{job['id']}/files/upload-url", {"filename": "a.wav", "file_size_bytes": 100}
    ).json()
    storage.put_bytes(ticket["s3_key"], b"x" * 90, content_type="audio/wav")  # around the presigned POST
    response = api.post(f"/inference-jobs/{job['id']}/files/confirm", {"file_id": ticket["file_id"]})
    items = assert_422(response, ["body", "file_id"])
    assert "90 bytes" in items[0]["msg"]
    body = api.get(f"/inference-jobs/{job['id']}").json()
    assert body["files"][0]["status"] == "failed" and body["failed_files"] == 1


def test_upload_url_validation(api, model):
    job = new_job(api, model)
    path = f"/inference-jobs/{job['id']}/files/upload-url"
    assert_422(api.post(path, {"filename": "a.wav", "file_size_bytes": 0}), ["body", "file_size_bytes"])
    assert_422(api.post(path, {"filename": "a.wav", "file_size_bytes": 524288001}), ["body", "file_size_bytes"])
    assert_422(api.post(path, {"filename": "", "file_size_bytes": 5}), ["body", "filename"])
    assert_422(
        api.post(path, {"filename": "a.txt", "file_size_bytes": 5, "content_type": "text/plain"}),
        ["body", "content_type"],
    )
    assert InferenceFile.objects.count() == 0


def test_cancel_fails_unstarted_files_and_closes_the_job(api, model):
    job = new_job(api, model)
    ticket = api.post(
        f"/inference-jobs/{job['id']}/files/upload-url", {"filename": "a.wav", "file_size_bytes": 10}
    ).json()
    cancelled = api.post(f"/inference-jobs/{job['id']}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    inference_file = InferenceFile.objects.get(pk=ticket["file_id"])
    assert inference_file.status == FileStatus.FAILED and "cancelled" in inference_file.error_message
    assert_error(api.post(f"/inference-jobs/{job['id']}/cancel"), 409)
    assert_error(
        api.post(f"/inference-jobs/{job['id']}/files/upload-url", {"filename": "b.wav", "file_size_bytes": 10}),
        409,
        "cancelled",
    )
    assert_error(api.post(f"/inference-jobs/{job['id']}/files/confirm", {"file_id": ticket["file_id"]}), 409)


def test_finish_when_every_file_is_done(api, model):
    job = new_job(api, model)
    job_id = job["id"]
    files = [
        InferenceFile.objects.create(
            job_id=job_id, filename=f"{i}", content_type="audio/wav", storage_key=f"x/{i}", status=FileStatus.QUEUED
        )
        for i in range(2)
    ]
    InferenceJob.objects.filter(pk=job_id).update(status="processing")
    assert services.finish_if_done(job_id) is False
    InferenceFile.objects.filter(pk=files[0].pk).update(status=FileStatus.COMPLETED)
    assert services.finish_if_done(job_id) is False
    InferenceFile.objects.filter(pk=files[1].pk).update(status=FileStatus.FAILED)
    assert services.finish_if_done(job_id) is True
    assert api.get(f"/inference-jobs/{job_id}").json()["status"] == "completed"
    assert_error(api.post(f"/inference-jobs/{job_id}/files/upload-url", {"filename": "x", "file_size_bytes": 1}), 409)


def test_expected_files_hold_the_job_open(api, model):
    job = new_job(api, model, expected_files=2)
    job_id = job["id"]
    first = InferenceFile.objects.create(
        job_id=job_id, filename="1", content_type="audio/wav", storage_key="x/1", status=FileStatus.COMPLETED
    )
    InferenceJob.objects.filter(pk=job_id).update(status="processing", total_files=1)
    assert services.finish_if_done(job_id) is False  # one more file is coming
    api.post(f"/inference-jobs/{job_id}/files/upload-url", {"filename": "2.wav", "file_size_bytes": 10})
    assert_error(
        api.post(f"/inference-jobs/{job_id}/files/upload-url", {"filename": "3.wav", "file_size_bytes": 10}),
        409,
        "expects 2",
    )
    InferenceFile.objects.exclude(pk=first.pk).update(status=FileStatus.COMPLETED)
    assert services.finish_if_done(job_id) is True
    assert_422(
        api.post("/inference-jobs", {"model_id": str(model.pk), "expected_files": 0}), ["body", "expected_files"]
    )


def test_expired_upload_fails_and_lets_the_job_finish(api, model):
    from datetime import timedelta

    from django.utils import timezone

    job = new_job(api, model)
    ticket = api.post(
        f"/inference-jobs/{job['id']}/files/upload-url", {"filename": "a.wav", "file_size_bytes": 10}
    ).json()
    InferenceFile.objects.filter(pk=ticket["file_id"]).update(upload_expires_at=timezone.now() - timedelta(seconds=1))
    assert uploads.expire_uploads() == {"confirmed": 0, "failed": 1}
    body = api.get(f"/inference-jobs/{job['id']}").json()
    assert body["status"] == "completed" and body["failed_files"] == 1


def test_batch_answers_in_order(api, model):
    response = api.post(
        "/inference-jobs/batch",
        {
            "jobs": [
                {"model_id": str(model.pk)},
                {"model_id": "00000000-0000-0000-0000-000000000000"},
                {"model_id": str(model.pk), "config": {"threshold": 7}},
                {"model_id": str(model.pk), "config": {"min_duration_ms": 0}},
            ]
        },
    )
    assert response.status_code == 200
    results = response.json()["results"]
    assert "id" in results[0] and "id" in results[3]
    assert results[1]["status_code"] == 404
    assert results[2]["status_code"] == 422 and results[2]["detail"][0]["loc"] == [
        "body",
        "jobs",
        2,
        "config",
        "threshold",
    ]
    assert InferenceJob.objects.count() == 2
    assert_422(api.post("/inference-jobs/batch", {"jobs": []}), ["body", "jobs"])


def test_other_tenants_see_nothing(api, other_api, model):
    job = new_job(api, model)
    for path in (
        f"/inference-jobs/{job['id']}",
        f"/inference-jobs/{job['id']}/files",
        f"/inference-jobs/{job['id']}/results",
    ):
        assert_error(other_api.get(path), 404, "inference job not found")
    assert_error(other_api.post(f"/inference-jobs/{job['id']}/cancel"), 404)
    assert other_api.get("/inference-jobs").json()["total"] == 0


def test_list_filters(api, model):
    first = new_job(api, model, client_reference="batch-7")
    second = new_job(api, model)
    api.post(f"/inference-jobs/{second['id']}/cancel")
    ids = lambda params: [j["id"] for j in api.get("/inference-jobs", params).json()["items"]]  # noqa: E731
    assert ids({"status": "cancelled"}) == [second["id"]]
    assert ids({"client_reference": "batch-7"}) == [first["id"]]
    assert ids({"model_id": str(model.pk), "ordering": "created_at"}) == [first["id"], second["id"]]
    assert set(ids({"id": f"{first['id']},{second['id']}"})) == {first["id"], second["id"]}


def test_results_of_an_empty_job(api, model):
    job = new_job(api, model)
    body = api.get(f"/inference-jobs/{job['id']}/results").json()
    assert body["files"] == [] and body["inference_job_id"] == job["id"]
    assert api.get(f"/inference-jobs/{job['id']}/results", {"format": "csv"}).content.decode().startswith("file_id,")
    assert_422(api.get(f"/inference-jobs/{job['id']}/results", {"format": "xml"}), ["query", "format"])


def test_plot_of_a_file_that_is_not_completed_says_why(api, model):
    job = new_job(api, model)
    failed = InferenceFile.objects.create(
        job_id=job["id"],
        filename="bad.wav",
        content_type="audio/wav",
        storage_key="x/bad",
        status=FileStatus.FAILED,
        error_message="not a readable audio/wav file: unknown format",
    )
    queued = InferenceFile.objects.create(
        job_id=job["id"], filename="q.wav", content_type="audio/wav", storage_key="x/q", status=FileStatus.QUEUED
    )
    assert_error(
        api.get(f"/inference-jobs/{job['id']}/files/{failed.pk}/plot.png"),
        409,
        "file failed: not a readable audio/wav file: unknown format; nothing to plot",
    )
    assert_error(
        api.get(f"/inference-jobs/{job['id']}/files/{queued.pk}/plot.png"), 409, "nothing to plot until it is completed"
    )
