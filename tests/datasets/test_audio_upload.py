"""The three-step upload against real S3 (SeaweedFS), processed by a real Celery worker."""

import numpy as np
import pytest
import requests
import soundfile as sf
from django.conf import settings

from datasets.models import AudioFile
from relay import storage
from tests import audio_factory as af
from tests.helpers import assert_422, assert_error

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


@pytest.fixture
def dataset(api):
    response = api.post("/datasets", {"name": "uploads", "artifact_types": [{"name": "glitch"}]})
    return response.json()["id"]


@pytest.fixture(autouse=True)
def worker(celery_worker_process):
    return celery_worker_process


def object_exists(key):
    try:
        storage.head(key)
        return True
    except storage.ObjectMissing:
        return False


def test_wav_happy_path(api, dataset):
    data = af.wav(duration_s=2.5, sample_rate=22050, channels=2)
    ticket = af.upload_url(api, dataset, data, filename="episode.wav")
    assert set(ticket) >= {"audio_id", "upload_url", "fields", "key", "expires_in"}
    assert ticket["fields"]["Content-Type"] == "audio/wav" and ticket["expires_in"] == 3600
    pending = api.get(f"/datasets/{dataset}/audio/{ticket['audio_id']}").json()
    assert pending["processing_status"] == "pending" and pending["download_url"] is None

    assert af.post_to_s3(ticket, data).status_code == 204
    confirmed = api.post(f"/datasets/{dataset}/audio/confirm", {"audio_id": ticket["audio_id"]})
    assert confirmed.status_code == 202
    assert confirmed.json()["status"] == "normalizing" and confirmed.json()["audio_id"] == ticket["audio_id"]

    body = af.wait_processed(api, dataset, ticket["audio_id"])
    assert body["processing_status"] == "ready", body["error_message"]
    assert (body["duration_ms"], body["sample_rate"], body["channels"]) == (2500, 22050, 2)
    assert body["filename"] == "episode.wav" and body["file_size"] == len(data)
    downloaded = requests.get(body["download_url"], timeout=30)
    assert downloaded.status_code == 200 and downloaded.content == data
    assert body["download_expires_at"]

    audio = AudioFile.objects.get(pk=ticket["audio_id"])
    canonical, rate = sf.read(__import__("io").BytesIO(storage.get_bytes(audio.canonical_key)))
    assert rate == 16000 and abs(len(canonical) - 40000) <= 1
    from detector.features import FeatureConfig

    features = np.load(__import__("io").BytesIO(storage.get_bytes(audio.features_key(FeatureConfig().cache_key))))
    assert features.shape == (250, FeatureConfig().n_channels)

    dataset_body = api.get(f"/datasets/{dataset}").json()
    assert dataset_body["audio_count"] == 1 and dataset_body["total_duration_ms"] == 2500


FORMATS = [
    ("wav 16-bit 8 kHz mono", "audio/wav", lambda: af.wav(3.21, 8000, 1, "PCM_16"), 8000, 1),
    ("wav 24-bit 48 kHz stereo", "audio/wav", lambda: af.wav(2.0, 48000, 2, "PCM_24"), 48000, 2),
    ("wav 16-bit 44.1 kHz stereo", "audio/x-wav", lambda: af.wav(1.5, 44100, 2, "PCM_16"), 44100, 2),
    ("flac", "audio/flac", lambda: af.encode_soundfile(af.signal(2.345, 32000, 1), 32000, "FLAC"), 32000, 1),
    (
        "ogg vorbis",
        "audio/ogg",
        lambda: af.encode_soundfile(af.signal(2.0, 44100, 2), 44100, "OGG", "VORBIS"),
        44100,
        2,
    ),
    ("mp3", "audio/mpeg", lambda: af.encode_soundfile(af.signal(2.0, 44100, 1), 44100, "MP3"), 44100, 1),
    ("m4a aac", "audio/mp4", lambda: af.encode_av(af.signal(2.0, 44100, 2), 44100, "mp4", "aac"), 44100, 2),
    ("webm opus", "audio/webm", lambda: af.encode_av(af.signal(2.0, 48000, 1), 48000, "webm", "libopus"), 48000, 1),
    ("aac adts", "audio/aac", lambda: af.encode_av(af.signal(2.0, 44100, 1), 44100, "adts", "aac"), 44100, 1),
]


@pytest.mark.parametrize("label, content_type, make, rate, channels", FORMATS, ids=[f[0] for f in FORMATS])
def test_formats_reach_ready_with_true_duration(api, dataset, label, content_type, make, rate, channels):
    data = make()
    truth_ms = {"wav 16-bit 8 kHz mono": 3210, "flac": 2345, "wav 16-bit 44.1 kHz stereo": 1500}.get(label, 2000)
    audio_id = af.upload(api, dataset, data, filename=f"x.{label.split()[0]}", content_type=content_type)
    body = af.wait_processed(api, dataset, audio_id)
    assert body["processing_status"] == "ready", body["error_message"]
    # AAC has no sample-exact length unless the container carries gapless info (an edit list
    # or iTunSMPB), which FFmpeg's encoder does not write: the decoded audio is longer by the
    # encoder's 1024 priming samples plus the padding of the last 1024-sample frame.
    tolerance_ms = 50 if "aac" in label else 10
    assert abs(body["duration_ms"] - truth_ms) <= tolerance_ms, (label, body["duration_ms"], truth_ms)
    assert body["sample_rate"] == rate and body["channels"] == channels


@pytest.mark.parametrize(
    "label, data, content_type, reason",
    [
        ("text renamed .wav", b"this is not audio, just text\n" * 40, "audio/wav", "not a readable audio/wav"),
        ("truncated wav", af.wav(1.0)[:60], "audio/wav", "truncated file"),
        ("header only", af.wav(0.0), "audio/wav", "no audio samples"),
        ("half a flac", af.encode_soundfile(af.signal(3.0, 16000), 16000, "FLAC")[:3000], "audio/flac", "flac"),
        ("random bytes as mp4", np.random.default_rng(1).bytes(5000), "audio/mp4", "audio/mp4"),
    ],
)
def test_unusable_files_fail_with_a_reason(api, dataset, label, data, content_type, reason):
    audio_id = af.upload(api, dataset, data, filename="bad", content_type=content_type)
    body = af.wait_processed(api, dataset, audio_id)
    assert body["processing_status"] == "failed", label
    assert reason.lower() in body["error_message"].lower(), body["error_message"]
    assert body["duration_ms"] is None


MISLABELLED = [
    (
        "flac declared as wav",
        "audio/wav",
        lambda: af.encode_soundfile(af.signal(1.5, 22050), 22050, "FLAC"),
        "audio/flac",
    ),
    ("wav declared as flac", "audio/flac", lambda: af.wav(1.5, 22050), "audio/wav"),
    (
        "mp3 declared as ogg",
        "audio/ogg",
        lambda: af.encode_soundfile(af.signal(1.5, 22050), 22050, "MP3"),
        "audio/mpeg",
    ),
    ("m4a declared as wav", "audio/wav", lambda: af.encode_av(af.signal(1.5, 22050), 22050, "mp4", "aac"), "audio/mp4"),
    ("wav declared as webm", "audio/webm", lambda: af.wav(1.5, 22050), "audio/wav"),
]


@pytest.mark.parametrize("label, declared, make, actual", MISLABELLED, ids=[m[0] for m in MISLABELLED])
def test_a_mislabelled_but_readable_file_is_decoded_as_what_it_is(api, dataset, label, declared, make, actual):
    audio_id = af.upload(api, dataset, make(), filename="x.wav", content_type=declared)
    body = af.wait_processed(api, dataset, audio_id)
    assert body["processing_status"] == "ready", body["error_message"]
    assert body["content_type"] == actual and body["sample_rate"] == 22050
    assert abs(body["duration_ms"] - 1500) <= 100  # AAC: encoder priming and padding (see above)


def test_size_lie_is_refused_by_s3_and_confirm_says_why(api, dataset):
    data = af.wav(1.0)
    ticket = af.upload_url(api, dataset, data, file_size=len(data) - 100)
    assert af.post_to_s3(ticket, data).status_code in (400, 403)
    response = api.post(f"/datasets/{dataset}/audio/confirm", {"audio_id": ticket["audio_id"]})
    assert_error(response, 409, "no uploaded object")
    body = api.get(f"/datasets/{dataset}/audio/{ticket['audio_id']}").json()
    assert body["processing_status"] == "pending" and "no uploaded object" in body["error_message"]


def test_wrong_content_type_is_refused_by_s3(api, dataset):
    data = af.wav(1.0)
    ticket = af.upload_url(api, dataset, data)
    assert af.post_to_s3(ticket, data, content_type="audio/mpeg").status_code in (400, 403)
    assert not object_exists(ticket["key"])


def test_object_of_another_size_fails_at_confirm_and_is_removed(api, dataset):
    data = af.wav(1.0)
    ticket = af.upload_url(api, dataset, data)
    storage.put_bytes(ticket["key"], data[:-10], content_type="audio/wav")  # bypassing the presigned POST
    response = api.post(f"/datasets/{dataset}/audio/confirm", {"audio_id": ticket["audio_id"]})
    items = assert_422(response, ["body", "audio_id"])
    assert "bytes" in items[0]["msg"]
    body = api.get(f"/datasets/{dataset}/audio/{ticket['audio_id']}").json()
    assert body["processing_status"] == "failed" and "declared" in body["error_message"]
    from tests.helpers import wait_until

    wait_until(lambda: not object_exists(ticket["key"]), message="mismatched object to be deleted")


def test_zero_and_oversized_declared_sizes_are_422(api, dataset):
    for size in (0, settings.RELAY_MAX_UPLOAD_BYTES + 1, -5):
        response = api.post(
            f"/datasets/{dataset}/audio/upload-url",
            {"filename": "a.wav", "content_type": "audio/wav", "file_size": size},
        )
        assert_422(response, ["body", "file_size"])
    assert AudioFile.objects.count() == 0


def test_upload_url_validation(api, dataset):
    bad = [
        ({"filename": "", "content_type": "audio/wav", "file_size": 10}, ["body", "filename"]),
        ({"filename": "a" * 501, "content_type": "audio/wav", "file_size": 10}, ["body", "filename"]),
        ({"filename": "a.txt", "content_type": "text/plain", "file_size": 10}, ["body", "content_type"]),
        ({"filename": "a.wav", "content_type": "audio/wav", "file_size": "10"}, ["body", "file_size"]),
        ({"filename": "a.wav", "content_type": "audio/wav", "file_size": 10, "expires_in": 5}, ["body", "expires_in"]),
    ]
    for body, loc in bad:
        assert_422(api.post(f"/datasets/{dataset}/audio/upload-url", body), loc)
    assert AudioFile.objects.count() == 0


def test_confirm_before_upload_is_409(api, dataset):
    ticket = af.upload_url(api, dataset, af.wav(1.0))
    assert_error(api.post(f"/datasets/{dataset}/audio/confirm", {"audio_id": ticket["audio_id"]}), 409)


def test_confirm_twice_is_harmless(api, dataset):
    data = af.wav(1.0)
    audio_id = af.upload(api, dataset, data)
    again = api.post(f"/datasets/{dataset}/audio/confirm", {"audio_id": audio_id})
    assert again.status_code == 202 and again.json()["audio_id"] == audio_id
    body = af.wait_processed(api, dataset, audio_id)
    assert body["processing_status"] == "ready"
    assert AudioFile.objects.get(pk=audio_id).attempts == 1
    final = api.post(f"/datasets/{dataset}/audio/confirm", {"audio_id": audio_id}).json()
    assert final == {"audio_id": audio_id, "status": "ready", "message": "Ready"}


def test_another_tenants_audio_is_404(api, other_api, dataset):
    audio_id = af.upload(api, dataset, af.wav(0.5))
    other_dataset = other_api.post("/datasets", {"name": "b", "artifact_types": [{"name": "x"}]}).json()["id"]
    assert_error(
        other_api.post(f"/datasets/{other_dataset}/audio/confirm", {"audio_id": audio_id}), 404, "audio file not found"
    )
    assert_error(other_api.get(f"/datasets/{dataset}/audio/{audio_id}"), 404, "dataset not found")
    assert_error(other_api.get(f"/datasets/{other_dataset}/audio/{audio_id}"), 404)
    assert_error(other_api.delete(f"/datasets/{other_dataset}/audio/{audio_id}"), 404)
    assert_error(
        api.post(f"/datasets/{dataset}/audio/confirm", {"audio_id": "00000000-0000-0000-0000-000000000000"}), 404
    )
    assert_422(api.post(f"/datasets/{dataset}/audio/confirm", {"audio_id": "nope"}), ["body", "audio_id"])


def test_multipart_upload_larger_than_one_part(api, dataset):
    data = af.wav(duration_s=270, sample_rate=16000, channels=1)  # 8.6 MB: two 8 MiB parts
    started = api.post(
        f"/datasets/{dataset}/audio/multipart",
        {"filename": "long.wav", "content_type": "audio/wav", "file_size": len(data), "part_size": 8 * 1024 * 1024},
    )
    assert started.status_code == 201, started.json()
    ticket = started.json()
    assert [p["part_number"] for p in ticket["parts"]] == [1, 2]
    assert_error(api.post(f"/datasets/{dataset}/audio/confirm", {"audio_id": ticket["audio_id"]}), 409, "multipart")
    etags, offset = [], 0
    for part in ticket["parts"]:
        chunk = data[offset : offset + part["size"]]
        offset += part["size"]
        response = requests.put(part["url"], data=chunk, timeout=60)
        assert response.status_code == 200, response.text
        etags.append({"part_number": part["part_number"], "etag": response.headers["ETag"]})
    assert_422(
        api.post(f"/datasets/{dataset}/audio/multipart/complete", {"audio_id": ticket["audio_id"], "parts": etags[:1]}),
        ["body", "parts"],
    )
    completed = api.post(
        f"/datasets/{dataset}/audio/multipart/complete", {"audio_id": ticket["audio_id"], "parts": etags}
    )
    assert completed.status_code == 200, completed.json()
    assert api.post(f"/datasets/{dataset}/audio/confirm", {"audio_id": ticket["audio_id"]}).status_code == 202
    body = af.wait_processed(api, dataset, ticket["audio_id"])
    assert body["processing_status"] == "ready", body["error_message"]
    assert body["duration_ms"] == 270000
    assert requests.get(body["download_url"], timeout=60).content == data


def test_multipart_abort(api, dataset):
    started = api.post(
        f"/datasets/{dataset}/audio/multipart",
        {"filename": "x.wav", "content_type": "audio/wav", "file_size": 20 * 1024 * 1024},
    ).json()
    requests.put(started["parts"][0]["url"], data=b"\0" * started["parts"][0]["size"], timeout=60)
    aborted = api.post(f"/datasets/{dataset}/audio/multipart/abort", {"audio_id": started["audio_id"]})
    assert aborted.status_code == 200 and aborted.json()["processing_status"] == "failed"
    assert_error(api.post(f"/datasets/{dataset}/audio/multipart/abort", {"audio_id": started["audio_id"]}), 409)


def test_delete_removes_objects(api, dataset):
    audio_id = af.upload(api, dataset, af.wav(1.0))
    af.wait_processed(api, dataset, audio_id)
    audio = AudioFile.objects.get(pk=audio_id)
    assert object_exists(audio.storage_key) and object_exists(audio.canonical_key)
    assert api.delete(f"/datasets/{dataset}/audio/{audio_id}").status_code == 204
    from tests.helpers import wait_until

    wait_until(
        lambda: not object_exists(audio.storage_key) and not object_exists(audio.canonical_key),
        message="audio objects to be deleted",
    )
    assert_error(api.get(f"/datasets/{dataset}/audio/{audio_id}"), 404)


def test_list_filters_and_ordering(api, dataset):
    ready = af.upload(api, dataset, af.wav(1.0), filename="Beta.wav")
    af.wait_processed(api, dataset, ready)
    af.upload_url(api, dataset, af.wav(1.0), filename="alpha.wav")
    listing = api.get(f"/datasets/{dataset}/audio", {"ordering": "filename"}).json()
    assert [item["filename"] for item in listing["items"]] == ["alpha.wav", "Beta.wav"]
    only_ready = api.get(f"/datasets/{dataset}/audio", {"processing_status": "ready"}).json()
    assert [item["id"] for item in only_ready["items"]] == [ready]
    both = api.get(f"/datasets/{dataset}/audio?status=ready&status=pending").json()
    assert both["total"] == 2
    assert api.get(f"/datasets/{dataset}/audio", {"filename": "ALPHA"}).json()["total"] == 1
    assert_422(api.get(f"/datasets/{dataset}/audio", {"processing_status": "done"}), ["query", "processing_status"])


def test_a_new_upload_replaces_a_failed_file_of_the_same_name(api, dataset):
    from annotations.models import Annotation, AnnotationSet
    from datasets.models import ArtifactType
    from tests.helpers import wait_until

    bad_id = af.upload(api, dataset, b"not audio at all\n" * 40, filename="take.wav")
    assert af.wait_processed(api, dataset, bad_id)["processing_status"] == "failed"
    bad = AudioFile.objects.get(pk=bad_id)
    kept_id = af.upload(api, dataset, af.wav(1.0), filename="other.wav")
    af.wait_processed(api, dataset, kept_id)

    ticket = af.upload_url(api, dataset, af.wav(1.0), filename="take.wav")
    assert ticket["replaced_audio_ids"] == [bad_id]
    assert not AudioFile.objects.filter(pk=bad_id).exists()
    wait_until(lambda: not object_exists(bad.storage_key), message="the failed file's object to be deleted")
    assert af.post_to_s3(ticket, af.wav(1.0)).status_code == 204
    api.post(f"/datasets/{dataset}/audio/confirm", {"audio_id": ticket["audio_id"]})
    assert af.wait_processed(api, dataset, ticket["audio_id"])["processing_status"] == "ready"

    # A ready file of that name is never replaced; a failed one that annotations use is kept.
    again = af.upload_url(api, dataset, af.wav(1.0), filename="take.wav")
    assert again["replaced_audio_ids"] == []
    AudioFile.objects.filter(pk=again["audio_id"]).update(status="failed", error_message="x")
    draft = AnnotationSet.objects.create(dataset_id=dataset, version=1)
    Annotation.objects.create(
        annotation_set=draft,
        audio_file_id=again["audio_id"],
        artifact_type=ArtifactType.objects.get(dataset_id=dataset),
        start_ms=0,
        end_ms=10,
    )
    third = af.upload_url(api, dataset, af.wav(1.0), filename="take.wav")
    assert third["replaced_audio_ids"] == []
    assert AudioFile.objects.filter(dataset_id=dataset, filename="take.wav").count() == 3
    multipart = api.post(
        f"/datasets/{dataset}/audio/multipart", {"filename": "other.wav", "content_type": "audio/wav", "file_size": 10}
    ).json()
    assert multipart["replaced_audio_ids"] == []
