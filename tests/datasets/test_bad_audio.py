"""A corpus of bad input through the API and a real worker: what users and attackers send.
Each ends with a clear state: ready, or failed with a reason; never a 500 or a worker crash."""

import io
import zipfile

import numpy as np
import pytest
import soundfile as sf

from datasets.models import AudioFile
from tests import audio_factory as af
from tests.helpers import assert_422

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


@pytest.fixture
def dataset(api, celery_worker_process):
    return api.post("/datasets", {"name": "bad input", "artifact_types": [{"name": "glitch"}]}).json()["id"]


def encode(samples, rate, fmt="WAV", subtype=None):
    buffer = io.BytesIO()
    sf.write(buffer, samples, rate, format=fmt, subtype=subtype)
    return buffer.getvalue()


def processed(api, dataset, data, content_type, filename="x"):
    audio_id = af.upload(api, dataset, data, filename=filename, content_type=content_type)
    return af.wait_processed(api, dataset, audio_id, timeout=120)


def test_an_hour_of_digital_silence_is_ready(api, dataset):
    body = processed(api, dataset, encode(np.zeros(3600 * 8000, np.int16), 8000, "FLAC"), "audio/flac")
    assert body["processing_status"] == "ready" and body["duration_ms"] == 3_600_000


def test_float_samples_that_are_not_numbers_become_silence(api, dataset):
    samples = (0.3 * np.sin(np.arange(16000) * 0.05)).astype(np.float32)
    samples[1000:1100], samples[5000], samples[6000] = np.nan, np.inf, -np.inf
    body = processed(api, dataset, encode(samples, 16000, subtype="FLOAT"), "audio/wav")
    assert body["processing_status"] == "ready" and body["duration_ms"] == 1000, body["error_message"]


@pytest.mark.parametrize(
    "label, data, content_type",
    [
        ("wrong magic", b"OggS" + af.wav(0.5)[4:], "audio/ogg"),
        ("random bytes as wav", np.random.default_rng(7).bytes(20_000), "audio/wav"),
        ("random bytes as mp3", np.random.default_rng(8).bytes(20_000), "audio/mpeg"),
        ("zip as flac", b"PK\x03\x04" + b"\x00" * 2000, "audio/flac"),
        ("truncated flac", encode(af.signal(2.0, 16000), 16000, "FLAC")[:500], "audio/flac"),
    ],
)
def test_files_that_are_not_the_audio_they_claim_fail_with_a_reason(api, dataset, label, data, content_type):
    body = processed(api, dataset, data, content_type)
    assert body["processing_status"] == "failed", label
    assert body["error_message"] and "internal error" not in body["error_message"], (label, body["error_message"])


@pytest.mark.parametrize(
    "filename", ["../../etc/passwd", "..\\..\\windows\\win.ini", "a\r\nX-Injected: yes.wav", "\u202egnp.wav", "   "]
)
def test_any_filename_is_kept_as_data_and_never_as_a_path(api, dataset, filename):
    audio_id = af.upload(api, dataset, af.wav(0.5), filename=filename)
    stored = AudioFile.objects.get(pk=audio_id)
    assert stored.filename == filename and filename not in stored.storage_key
    assert "\n" not in api.get(f"/datasets/{dataset}/audio/{audio_id}").json()["download_url"]
    af.wait_processed(api, dataset, audio_id)
    draft = api.post(f"/datasets/{dataset}/annotation-sets").json()
    path = f"/datasets/{dataset}/annotation-sets/{draft['id']}"
    api.post(f"{path}/annotations", {"audio_file_id": audio_id, "artifact_type": "glitch", "start_ms": 0, "end_ms": 5})
    exported = api.get(f"{path}/export", {"format": "audacity"})
    names = zipfile.ZipFile(io.BytesIO(exported.content)).namelist()
    assert all("/" not in n and "\\" not in n and not n.startswith(".") for n in names), names


def test_huge_declared_sizes_are_refused_before_anything_is_stored(api, dataset):
    for size in (2**63, 10**12, -1, 0):
        body = {"filename": "big.wav", "content_type": "audio/wav", "file_size": size}
        assert_422(api.post(f"/datasets/{dataset}/audio/upload-url", body), ["body", "file_size"])
    assert AudioFile.objects.count() == 0
