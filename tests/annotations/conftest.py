import uuid

import pytest
from django.utils import timezone

from datasets.models import AudioFile, AudioStatus


def make_audio(dataset_id, filename="a.wav", duration_ms=60_000, status=AudioStatus.READY, confirmed=True):
    """An audio file row as the upload pipeline leaves it (the pipeline itself is tested in
    tests/datasets; here only its result matters)."""
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


@pytest.fixture
def dataset(api):
    return api.post(
        "/datasets", {"name": "labels", "artifact_types": [{"name": "glitch"}, {"name": "dropout"}, {"name": "hum"}]}
    ).json()


@pytest.fixture
def audio(dataset):
    return make_audio(dataset["id"], "one.wav", 60_000)


@pytest.fixture
def audio2(dataset):
    return make_audio(dataset["id"], "two.wav", 30_000)


@pytest.fixture
def draft(api, dataset):
    response = api.post(f"/datasets/{dataset['id']}/annotation-sets")
    assert response.status_code == 201, response.json()
    return response.json()


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
