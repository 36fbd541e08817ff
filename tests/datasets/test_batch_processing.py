"""Small files confirmed together are processed several to a task (datasets.process_audio_batch),
through the real worker: each ends ready or failed on its own, with its events and objects."""

import pytest

from datasets import services
from datasets.models import AudioFile
from relay import storage
from relay.models import Event
from tests import audio_factory as af
from tests.helpers import wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


def test_a_batch_of_small_files_ends_each_file_on_its_own(api, celery_worker_process, monkeypatch):
    dataset = api.post("/datasets", {"name": "small", "artifact_types": [{"name": "glitch"}]}).json()["id"]
    payloads = [af.wav(0.3), af.wav(0.5, sample_rate=44100), b"RIFF" + b"\0" * 400, af.wav(0.2)]
    files = [
        {"filename": f"f{i}.wav", "content_type": "audio/wav", "file_size": len(d)} for i, d in enumerate(payloads)
    ]
    tickets = api.post(f"/datasets/{dataset}/audio/upload-urls", {"files": files}).json()["uploads"]
    for ticket, data in zip(tickets, payloads, strict=True):
        assert af.post_to_s3(ticket, data).status_code == 204
    ids = [t["audio_id"] for t in tickets]
    # Two batch tasks (3 + 1 files) and nothing sent one by one.
    monkeypatch.setattr(services, "SMALL_FILES_PER_TASK", 3)
    sent = []
    original = services.work.enqueue_batch
    monkeypatch.setattr(
        services.work, "enqueue_batch", lambda model, pks: sent.append(len(pks)) or original(model, pks)
    )
    assert api.post(f"/datasets/{dataset}/audio/confirm-batch", {"audio_ids": ids}).status_code == 202
    assert sent == [3]  # the fourth file goes alone, on the task of single files

    def settled():
        rows = AudioFile.objects.filter(pk__in=ids)
        return all(row.status in ("ready", "failed") for row in rows) and {str(row.pk): row for row in rows}

    rows = wait_until(settled, timeout=60, message="the files to be processed")
    good = [rows[ids[i]] for i in (0, 1, 3)]
    assert [row.status for row in good] == ["ready"] * 3
    assert [row.duration_ms for row in good] == [300, 500, 200]
    assert rows[ids[1]].sample_rate == 44100 and all(row.attempts == 1 for row in good)
    broken = rows[ids[2]]
    assert broken.status == "failed" and "internal error" not in broken.error_message
    for row in good:
        assert storage.head(row.canonical_key) is not None
        types = list(Event.objects.filter(object_id=row.pk).order_by("txid", "id").values_list("type", flat=True))
        assert types[-3:] == ["audio_file.normalizing", "audio_file.embedding", "audio_file.ready"]
    detail = api.get(f"/datasets/{dataset}/audio/{ids[1]}").json()
    assert detail["processing_status"] == "ready" and detail["duration_ms"] == 500
