"""Inference through real worker processes (a prefork worker of 2 processes), with the model
trained once for the session on generated audio (tests/corpus.py)."""

import io
import zipfile

import numpy as np
import pytest
from PIL import Image

from detector.metrics import event_metrics
from inference.models import Detection, InferenceFile, InferenceJob
from tests import audio_factory as af
from tests import corpus
from tests.helpers import JsonClient, wait_until
from training import demo_data

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]

# The session model learns from 5.5 minutes of audio in 8 epochs, so that the suite stays
# fast; bench/detection.py measures the detector at full size (30+ minutes, 20 epochs).
# On held-out files it must still find most injected artifacts: a macro event F1 of 0.5
# is far above chance (a random detector scores ~0 with 200 ms collars) and below what
# the small model reaches, so a regression in features, model, decoding or storage of
# detections fails this test while run-to-run variation does not.
F1_FLOOR = 0.5


def new_job(client, model, **body):
    return client.post("/inference-jobs", {"model_id": str(model.pk), **body})


def upload(client, job, filename, data, content_type="audio/wav"):
    ticket = client.post(
        f"/inference-jobs/{job['id']}/files/upload-url",
        {"filename": filename, "file_size_bytes": len(data), "content_type": content_type},
    )
    client.upload(ticket["upload_url"], ticket["upload_fields"], data)
    client.post(f"/inference-jobs/{job['id']}/files/confirm", {"file_id": ticket["file_id"]})
    return ticket["file_id"]


def upload_all_then_confirm(client, job, named_data):
    """Upload every (filename, data, content_type), then confirm them all at once: a full queue."""
    tickets = []
    for filename, data, content_type in named_data:
        ticket = client.post(
            f"/inference-jobs/{job['id']}/files/upload-url",
            {"filename": filename, "file_size_bytes": len(data), "content_type": content_type},
        )
        client.upload(ticket["upload_url"], ticket["upload_fields"], data)
        tickets.append(ticket)
    for ticket in tickets:
        client.post(f"/inference-jobs/{job['id']}/files/confirm", {"file_id": ticket["file_id"]})
    return [ticket["file_id"] for ticket in tickets]


def wait_finished(client, job, timeout=300):
    return wait_until(
        lambda: (body := client.get(f"/inference-jobs/{job['id']}"))["status"] in ("completed", "cancelled") and body,
        timeout=timeout,
        interval=0.3,
        message="the inference job to finish",
    )


def test_detections_match_the_injected_artifacts(api, trained):
    client = JsonClient(api)
    model = corpus.model_for(api, trained["trained"])
    job = new_job(client, model, expected_files=4)
    # Held out: other seeds, other sample rates (8 kHz mono, 48 kHz stereo, 22.05 kHz FLAC).
    held_out = list(
        demo_data.generate(seed=97, files=3, seconds_per_file=40, sample_rates=(8000, 48000, 22050), kinds=corpus.KINDS)
    )
    truth = {}
    for demo in held_out:
        # Every file declared as audio/wav: the FLAC among them is detected and decoded as FLAC.
        file_id = upload(client, job, demo.filename, demo.data, "audio/wav")
        truth[file_id] = demo.events
    corrupt_id = upload(client, job, "corrupt.wav", b"RIFF....WAVEfmt definitely not audio" * 20)
    body = wait_finished(client, job)

    assert body["status"] == "completed"
    files = {f["id"]: f for f in body["files"]}
    assert files[corrupt_id]["status"] == "failed" and files[corrupt_id]["error_message"]
    assert all(files[file_id]["status"] == "completed" for file_id in truth)
    assert (body["total_files"], body["processed_files"], body["failed_files"]) == (4, 3, 1)
    stored = Detection.objects.filter(file__job_id=job["id"]).count()
    assert body["total_detections"] == sum(f["detection_count"] for f in body["files"]) == stored
    for file_id, demo in zip(truth, held_out, strict=True):
        assert abs(files[file_id]["duration_ms"] - demo.duration_ms) <= 10
        assert files[file_id]["content_type"] == demo.content_type
        assert files[file_id]["detection_count"] == len(files[file_id]["detections"])

    # The plot of an uploaded file (decoded again from the original for the picture).
    first_id = next(iter(truth))
    plot = api.get(f"/inference-jobs/{job['id']}/files/{first_id}/plot.png")
    assert plot.status_code == 200 and plot.content[:8] == b"\x89PNG\r\n\x1a\n"
    assert api.get(f"/inference-jobs/{job['id']}/files/{corrupt_id}/plot.png").status_code == 409

    names = model.artifact_types
    references = {f: [(names.index(k), s, e) for k, s, e in events] for f, events in truth.items()}
    found = {
        f: [(names.index(d["artifact_type"]), d["start_ms"], d["end_ms"]) for d in files[f]["detections"]]
        for f in truth
    }
    metrics = event_metrics(references, found, names)
    print(
        "training validation macro F1:",
        model.metrics["macro_f1"],
        "held-out event F1:",
        {k: round(v["f1"], 3) for k, v in metrics["per_type"].items()},
        "macro",
        round(metrics["macro_f1"], 3),
    )
    assert metrics["macro_f1"] >= F1_FLOOR, metrics


def test_counters_add_up_with_two_worker_processes(api, trained):
    client = JsonClient(api)
    model = corpus.model_for(api, trained["trained"])
    job = new_job(client, model, config={"min_duration_ms": 0}, expected_files=8)
    recordings = demo_data.generate(seed=200, files=8, seconds_per_file=30, kinds=corpus.KINDS, sample_rates=(16000,))
    upload_all_then_confirm(client, job, [(demo.filename, demo.data, demo.content_type) for demo in recordings])
    body = wait_finished(client, job)
    assert body["status"] == "completed"
    assert body["total_files"] == body["processed_files"] == 8 and body["failed_files"] == 0
    counts = [f["detection_count"] for f in body["files"]]
    assert body["total_detections"] == sum(counts) == Detection.objects.filter(file__job_id=job["id"]).count()
    # The two processes of the worker really ran files at the same time.
    spans = sorted(InferenceFile.objects.filter(job_id=job["id"]).values_list("started_at", "processed_at"))
    assert any(later[0] < earlier[1] for earlier, later in zip(spans, spans[1:], strict=False)), spans


def test_cancel_mid_job_stops_the_files_not_started(api, trained):
    client = JsonClient(api)
    model = corpus.model_for(api, trained["trained"])
    job = new_job(client, model, expected_files=24)
    data = af.wav(duration_s=60, sample_rate=16000)
    upload_all_then_confirm(client, job, [(f"long{index}.wav", data, "audio/wav") for index in range(24)])
    wait_until(
        lambda: client.get(f"/inference-jobs/{job['id']}")["processed_files"] >= 1,
        timeout=120,
        message="a first file to finish",
    )
    cancelled = client.post(f"/inference-jobs/{job['id']}/cancel")
    assert cancelled["status"] == "cancelled"
    wait_until(
        lambda: not InferenceFile.objects.filter(job_id=job["id"], status="processing").exists(),
        timeout=60,
        message="running files to finish",
    )
    body = client.get(f"/inference-jobs/{job['id']}")
    assert body["status"] == "cancelled"
    statuses = [f["status"] for f in body["files"]]
    assert statuses.count("completed") == body["processed_files"] >= 1
    never_ran = [f for f in body["files"] if f["status"] == "failed"]
    assert never_ran and all("cancelled" in f["error_message"] for f in never_ran)
    assert len(never_ran) + body["processed_files"] == 24
    assert InferenceJob.objects.get(pk=job["id"]).status == "cancelled"


def test_dataset_audio_results_and_plot(api, trained):
    client = JsonClient(api)
    model = corpus.model_for(api, trained["trained"])
    dataset, _ = corpus.corpus_for(api, trained["corpus"], client)
    audio_ids = [str(row["id"]) for row in trained["corpus"].audio_rows[:2]]
    job = new_job(client, model, audio_file_ids=audio_ids, config={"threshold": 0.5, "min_duration_ms": 0})
    body = wait_finished(client, job)
    assert body["status"] == "completed" and body["processed_files"] == 2
    file_with = max(body["files"], key=lambda f: f["detection_count"])
    assert file_with["detection_count"] > 0

    csv_text = api.get(f"/inference-jobs/{job['id']}/results", {"format": "csv"}).content.decode()
    assert len(csv_text.strip().splitlines()) == 1 + body["total_detections"]
    archive = zipfile.ZipFile(
        io.BytesIO(api.get(f"/inference-jobs/{job['id']}/results", {"format": "audacity"}).content)
    )
    assert len(archive.namelist()) == 2
    track = api.get(f"/inference-jobs/{job['id']}/results", {"format": "audacity", "file_id": file_with["id"]})
    assert len(track.content.decode().strip().splitlines()) == file_with["detection_count"]

    response = api.get(f"/inference-jobs/{job['id']}/files/{file_with['id']}/plot.png")
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    image = Image.open(io.BytesIO(response.content))
    assert image.size == (1400, 600)
    pixels = np.asarray(image.convert("RGB"))
    assert pixels.std() > 10  # a drawing, not a blank image
    again = api.get(f"/inference-jobs/{job['id']}/files/{file_with['id']}/plot.png")
    assert again.content == response.content  # served from the S3 cache
