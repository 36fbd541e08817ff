"""Batch ingest: many upload tickets in one call, many confirms in one call (per-item results)."""

import uuid

import pytest

from datasets.models import AudioFile
from tests import audio_factory as af
from tests.helpers import assert_422, assert_error

pytestmark = pytest.mark.django_db


@pytest.fixture
def dataset(api):
    return api.post("/datasets", {"name": "batch", "artifact_types": [{"name": "glitch"}]}).json()["id"]


def tickets(api, dataset, payloads):
    files = [
        {"filename": f"f{i}.wav", "content_type": "audio/wav", "file_size": len(d)} for i, d in enumerate(payloads)
    ]
    response = api.post(f"/datasets/{dataset}/audio/upload-urls", {"files": files})
    assert response.status_code == 201, response.content
    return response.json()["uploads"]


def test_upload_urls_answers_one_ticket_per_file_in_order(api, dataset):
    payloads = [af.wav(0.1 * (i + 1)) for i in range(5)]
    uploads = tickets(api, dataset, payloads)
    assert len(uploads) == 5
    audio = {str(a.pk): a for a in AudioFile.objects.filter(dataset_id=dataset)}
    assert [audio[t["audio_id"]].filename for t in uploads] == [f"f{i}.wav" for i in range(5)]
    assert all(t["fields"]["Content-Type"] == "audio/wav" and t["expires_in"] == 3600 for t in uploads)
    for ticket, data in zip(uploads, payloads, strict=True):
        assert af.post_to_s3(ticket, data).status_code == 204
    listed = api.get(f"/datasets/{dataset}/audio").json()
    assert listed["total"] == 5 and {i["processing_status"] for i in listed["items"]} == {"pending"}


def test_confirm_batch_gives_a_result_per_item(api, other_api, dataset):
    good, wrong_size, missing = af.wav(0.3), af.wav(0.2), af.wav(0.1)
    a, b, c = tickets(api, dataset, [good, wrong_size, missing])
    assert af.post_to_s3(a, good).status_code == 204
    # the POST policy fixes the size; a wrong size is simulated on the declared one
    assert af.post_to_s3(b, wrong_size).status_code == 204
    AudioFile.objects.filter(pk=b["audio_id"]).update(file_size=len(wrong_size) + 1)
    theirs_dataset = other_api.post("/datasets", {"name": "theirs", "artifact_types": [{"name": "g"}]}).json()["id"]
    (theirs,) = tickets(other_api, theirs_dataset, [good])
    assert af.post_to_s3(theirs, good).status_code == 204
    unknown = str(uuid.uuid4())

    ids = [a["audio_id"], b["audio_id"], c["audio_id"], theirs["audio_id"], unknown]
    response = api.post(f"/datasets/{dataset}/audio/confirm-batch", {"audio_ids": ids})
    assert response.status_code == 202, response.content
    body = response.json()
    assert [r["audio_id"] for r in body["results"]] == ids
    assert (body["confirmed"], body["failed"]) == (1, 4)
    ok, mismatch, nothing, other, nobody = body["results"]
    assert ok["ok"] is True and ok["status"] == "normalizing" and ok["error"] is None
    assert mismatch["ok"] is False and mismatch["error"]["status"] == 422 and mismatch["status"] is None
    assert nothing["error"]["status"] == 409
    assert other["error"] == nobody["error"] == {"status": 404, "detail": "Audio file not found"}
    assert AudioFile.objects.get(pk=theirs["audio_id"]).status == "pending"  # untouched

    again = api.post(f"/datasets/{dataset}/audio/confirm-batch", {"audio_ids": [a["audio_id"]]}).json()
    assert again["results"][0]["ok"] is True and again["results"][0]["status"] == "normalizing"


def test_upload_urls_is_all_or_nothing(api, dataset):
    files = [
        {"filename": "a.wav", "content_type": "audio/wav", "file_size": 100},
        {"filename": "b.txt", "content_type": "text/plain", "file_size": 100},
        {"filename": "", "content_type": "audio/wav", "file_size": 0},
    ]
    assert_422(
        api.post(f"/datasets/{dataset}/audio/upload-urls", {"files": files}),
        ["body", "files", 1, "content_type"],
        ["body", "files", 2, "filename"],
        ["body", "files", 2, "file_size"],
    )
    assert not AudioFile.objects.filter(dataset_id=dataset).exists()


@pytest.mark.parametrize(
    "body",
    [
        {"files": []},
        {"files": [{"filename": "a.wav", "content_type": "audio/wav", "file_size": 1}] * 101},
        {"files": "a.wav"},
        {},
    ],
)
def test_upload_urls_bad_bodies_are_422(api, dataset, body):
    assert_422(api.post(f"/datasets/{dataset}/audio/upload-urls", body), ["body", "files"])


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"audio_ids": []}, ["body", "audio_ids"]),
        ({"audio_ids": ["not-a-uuid"]}, ["body", "audio_ids", 0]),
        ({"audio_ids": ["6f1c2a47-52b3-4a39-9d7e-0d5f1f1a2b3c"] * 2}, ["body", "audio_ids"]),
        ({"audio_ids": [str(uuid.uuid4()) for _ in range(101)]}, ["body", "audio_ids"]),
        ({"audio_id": "6f1c2a47-52b3-4a39-9d7e-0d5f1f1a2b3c"}, ["body", "audio_id"]),
    ],
)
def test_confirm_batch_bad_bodies_are_422(api, dataset, body, loc):
    assert_422(api.post(f"/datasets/{dataset}/audio/confirm-batch", body), loc)


def test_another_tenants_dataset_is_404(api, other_api, dataset):
    files = [{"filename": "a.wav", "content_type": "audio/wav", "file_size": 10}]
    assert_error(other_api.post(f"/datasets/{dataset}/audio/upload-urls", {"files": files}), 404)
    assert_error(other_api.post(f"/datasets/{dataset}/audio/confirm-batch", {"audio_ids": [str(uuid.uuid4())]}), 404)
    assert not AudioFile.objects.filter(dataset_id=dataset).exists()


def test_upload_urls_replace_failed_files_of_the_same_names(api, dataset):
    first = tickets(api, dataset, [af.wav(0.1), af.wav(0.1)])
    AudioFile.objects.filter(pk=first[0]["audio_id"]).update(status="failed", error_message="not audio")
    again = tickets(api, dataset, [af.wav(0.1), af.wav(0.1)])  # f0.wav (failed) and f1.wav (pending) again
    assert again[0]["replaced_audio_ids"] == [first[0]["audio_id"]]
    assert again[1]["replaced_audio_ids"] == []
    assert not AudioFile.objects.filter(pk=first[0]["audio_id"]).exists()
    assert AudioFile.objects.filter(pk=first[1]["audio_id"]).exists()
