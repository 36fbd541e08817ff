"""Training through a real Celery worker on generated audio (>= 5 minutes, 5 artifact types)."""

import itertools
from datetime import datetime

import numpy as np
import pytest

from annotations.models import Annotation
from datasets.runner import load_features
from detector.artifact import Detector
from detector.features import FeatureConfig
from detector.metrics import event_metrics
from relay import storage
from tests import corpus
from tests.helpers import JsonClient, wait_until
from tests.waiting import worker_idle
from training.models import Model, TrainingJob

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


def test_training_job_produces_a_model_with_computed_metrics(trained):
    job, model = trained["job"], trained["model"]
    assert job["status"] == "completed", job["error_message"]
    assert job["progress"] == 1.0 and job["stage"] == "saving" and job["started_at"] and job["completed_at"]
    assert model is not None and model["id"] == job["model_id"]
    assert model["artifact_types"] == list(corpus.KINDS) and model["size_bytes"] > 1000
    metrics = model["metrics"]
    assert metrics == job["metrics"]
    assert set(metrics["per_type"]) == set(corpus.KINDS)
    assert metrics["validation_files"] == len(metrics["validation_file_ids"]) == 5
    assert metrics["evaluation"].startswith("event-based")
    for name, values in metrics["per_type"].items():
        assert 0.0 <= values["precision"] <= 1.0 and 0.0 <= values["recall"] <= 1.0, name
        assert values["support"] == values["tp"] + values["fn"] > 0, name
    history = job["history"]
    assert [entry["epoch"] for entry in history] == list(range(1, metrics["epochs_run"] + 1))
    assert all(entry["train_loss"] > 0 and 0 <= entry["validation_macro_f1"] <= 1 for entry in history)
    assert metrics["macro_f1"] == pytest.approx(np.mean([v["f1"] for v in metrics["per_type"].values()]), abs=1e-6)
    assert model["config"]["feature_config"]["version"] == FeatureConfig().version
    assert set(model["config"]["decoding"]) == set(corpus.KINDS)
    assert job["config"]["start_from"] == "prior"
    assert model["config"]["started_from"] == "relay-prior-2 (5 of 5 types known)"


def test_every_change_of_the_pipeline_is_one_event_in_order(trained):
    """Uploads decoded by the worker and a training job, as GET /events listed them."""
    found = trained["events"]
    assert len({e["id"] for e in found}) == len(found)
    by_object = {}
    for event in found:
        by_object.setdefault(event["object_id"], []).append(event)
    audio = [items for items in by_object.values() if items[0]["type"].startswith("audio_file.")]
    assert len(audio) == corpus.FILES
    for items in audio:
        assert [e["type"].split(".")[1] for e in items] == ["created", "pending", "normalizing", "embedding", "ready"]
    job = by_object[trained["job"]["id"]]
    states = [e["type"].split(".")[1] for e in job]
    assert states[:4] == ["created", "queued", "processing", "progress"] and states[-1] == "completed"
    assert set(states[3:-1]) == {"progress"}
    epochs = [e["data"] for e in job if "epoch" in e["data"]]
    assert epochs, "no progress event carried an epoch"
    for data in epochs:
        assert data["stage"] == "training" and 0 < data["progress"] < 1
        assert {"train_loss", "validation_loss", "validation_macro_f1"} <= set(data)
    stamps = [datetime.fromisoformat(e["created_at"]) for e in job if e["type"] == "training_job.progress"]
    assert all((b - a).total_seconds() > 0.95 for a, b in itertools.pairwise(stamps)), "more than one a second"
    assert job[-1]["data"]["model_id"] == trained["job"]["model_id"]


def test_stored_metrics_are_what_the_model_does_on_the_held_out_files(trained):
    """Recompute the event metrics from the stored artifact and the held-out files' features:
    the numbers on the model are measured, not made up."""
    model = trained["model"]
    detector = Detector.from_bytes(storage.get_bytes(trained["trained"].storage_key))
    rows = {str(row["id"]): row for row in trained["corpus"].audio_rows}
    type_names = model["artifact_types"]
    references, detections = {}, {}
    for audio_id in model["metrics"]["validation_file_ids"]:
        row = rows[audio_id]
        prefix = row["storage_key"].rsplit("/", 1)[0] + "/"
        features = load_features(prefix + f"features-{detector.feature_config.cache_key}.npy")
        references[audio_id] = [(type_names.index(k), s, e) for k, s, e in trained["corpus"].events[audio_id]]
        detections[audio_id] = [(type_names.index(n), s, e) for n, s, e, _ in detector.detect(features)]
    recomputed = event_metrics(references, detections, type_names)
    assert recomputed["macro_f1"] == pytest.approx(model["metrics"]["macro_f1"], abs=1e-6)
    for name in type_names:
        assert recomputed["per_type"][name]["support"] == model["metrics"]["per_type"][name]["support"]
        assert recomputed["per_type"][name]["f1"] == pytest.approx(model["metrics"]["per_type"][name]["f1"], abs=1e-6)


def test_cancel_mid_training_never_completes(api, trained):
    client = JsonClient(api)
    dataset, annotation_set = corpus.corpus_for(api, trained["corpus"], client)
    job = client.post(
        "/training-jobs",
        {
            "dataset_id": dataset["id"],
            "annotation_set_id": annotation_set["id"],
            "config": {"artifact_types": list(corpus.KINDS), "epochs": 100},
        },
    )

    def training():
        body = client.get(f"/training-jobs/{job['id']}")
        return body if body["stage"] == "training" and body["progress"] > 0.16 else None

    wait_until(training, timeout=300, interval=0.5, message="the job to be training")
    cancelled = client.post(f"/training-jobs/{job['id']}/cancel")
    assert cancelled["status"] == "cancelled"
    # The worker notices at its next batch and stops; the job stays cancelled, with no model.
    wait_until(
        lambda: not TrainingJob.objects.filter(pk=job["id"], heartbeat_at__isnull=False).exists() or worker_idle(),
        timeout=60,
        message="the worker to stop training",
    )
    final = client.get(f"/training-jobs/{job['id']}")
    assert final["status"] == "cancelled" and final["model_id"] is None
    assert Model.objects.filter(training_job_id=job["id"]).count() == 0


def test_missing_stored_audio_fails_the_job_readably(api, trained):
    client = JsonClient(api)
    dataset, annotation_set = corpus.corpus_for(api, trained["corpus"], client)
    # A file whose feature cache and decoded audio are gone (pointed elsewhere).
    first = trained["corpus"].audio_rows[0]
    from datasets.models import AudioFile

    AudioFile.objects.filter(pk=first["id"]).update(storage_key=f"tests/missing/{first['id']}/original.wav")
    job = corpus.train(client, dataset, annotation_set, epochs=1, timeout=120)
    assert job["status"] == "failed" and "no longer in storage" in job["error_message"], job
    assert Annotation.objects.filter(annotation_set_id=annotation_set["id"]).exists()


def test_training_on_augmented_copies_of_the_audio(api, trained):
    """waveform_copies: each file's canonical audio is fetched and augmented before training."""
    client = JsonClient(api)
    dataset, annotation_set = corpus.corpus_for(api, trained["corpus"], client)
    job = corpus.train(client, dataset, annotation_set, epochs=1, timeout=300, waveform_copies=1)
    assert job["status"] == "completed" and job["config"]["waveform_copies"] == 1, job
    assert job["metrics"]["epochs_run"] == 1 and "macro_f1" in job["metrics"]
    files = job["metrics"]["training_files"] + job["metrics"]["validation_files"]
    assert job["metrics"]["augmented_copies"] == files  # one copy of every file
