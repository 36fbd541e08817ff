"""Evaluation on the tenant's data, the review loop and the model taken home, through a
real worker, with the model trained once for the session (tests/corpus.py)."""

import json
import subprocess
import sys

import pytest
import requests

from datasets.models import AudioFile
from datasets.runner import load_features
from detector.artifact import Detector
from relay import storage
from tests import corpus
from tests.detector.test_metrics_reference import reference_counts
from tests.helpers import JsonClient, wait_until
from training import demo_data

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


def model_on_corpus(api, trained):
    """The session's model, owned by `api`'s tenant, on a dataset holding its corpus."""
    client = JsonClient(api)
    dataset, published = corpus.corpus_for(api, trained["corpus"], client)
    model = corpus.model_for(api, trained["trained"])
    model.dataset_id, model.annotation_set_id = dataset["id"], published["id"]
    model.save()
    return client, dataset, published, model


def finished(client, path, timeout=300):
    return wait_until(
        lambda: (body := client.get(path))["status"] in ("completed", "failed", "cancelled") and body,
        timeout=timeout,
        interval=0.3,
        message=f"{path} to finish",
    )


def test_an_evaluation_scores_as_the_reference_implementation(api, trained):
    client, dataset, published, model = model_on_corpus(api, trained)
    audio_ids = [str(row["id"]) for row in trained["corpus"].audio_rows[:5]]
    response = api.post(
        f"/models/{model.pk}/evaluations", {"annotation_set_id": published["id"], "audio_file_ids": audio_ids}
    )
    assert response.status_code == 202, response.content
    evaluation = finished(client, f"/models/{model.pk}/evaluations/{response.json()['id']}")
    assert evaluation["status"] == "completed", evaluation["error_message"]
    metrics = evaluation["metrics"]
    assert [f["audio_file_id"] for f in metrics["files"]] == audio_ids
    assert metrics["collars"] == {"onset_collar_ms": 200, "offset_collar_ms": 200, "offset_collar_rate": 0.2}

    # The same detections, made here from the artifact and the feature cache, scored by sed_eval.
    names = model.artifact_types
    detector = Detector.from_bytes(storage.get_bytes(model.storage_key))
    detections, references = {}, {}
    for audio in AudioFile.objects.filter(pk__in=audio_ids):
        found = detector.detect(load_features(audio.features_key(detector.feature_config.cache_key)))
        detections[str(audio.pk)] = [(names.index(n), s, e) for n, s, e, _ in found]
        events = trained["corpus"].events[str(audio.pk)]
        references[str(audio.pk)] = [(names.index(k), s, e) for k, s, e in events]
    expected = reference_counts(references, detections, names)
    for name in names:
        scored = metrics["per_type"][name]
        assert (scored["tp"], scored["fp"], scored["fn"]) == expected[name], name
        assert sum(f["per_type"][name]["tp"] for f in metrics["files"]) == scored["tp"]
    listed = client.get(f"/models/{model.pk}/evaluations")
    assert [e["id"] for e in listed["items"]] == [evaluation["id"]]


def test_infer_then_correct_the_detections_publish_and_retrain(api, trained):
    client, dataset, _, model = model_on_corpus(api, trained)
    audio_ids = [str(row["id"]) for row in trained["corpus"].audio_rows[:8]]
    job = client.post("/inference-jobs", {"model_id": str(model.pk), "audio_file_ids": audio_ids})
    job = finished(client, f"/inference-jobs/{job['id']}")
    confident = sum(1 for f in job["files"] for d in f["detections"] if d["confidence"] >= 0.5)
    assert confident > 0

    draft = client.post(f"/datasets/{dataset['id']}/annotation-sets", {"from_inference_job": job["id"]})
    assert draft["status"] == "draft" and draft["total_annotations"] == confident
    set_path = f"/datasets/{dataset['id']}/annotation-sets/{draft['id']}"
    listed = client.get(f"{set_path}/annotations?page_size=200")["items"]
    assert all(a["extra_data"]["inference_job_id"] == job["id"] and a["confidence"] >= 0.5 for a in listed)
    # A person's corrections: one false detection removed, one missed artifact added.
    assert api.delete(f"{set_path}/annotations/{listed[0]['id']}").status_code == 204
    kind, start, end = trained["corpus"].events[audio_ids[0]][0]
    client.post(
        f"{set_path}/annotations",
        {"audio_file_id": audio_ids[0], "artifact_type": kind, "start_ms": start, "end_ms": end},
    )
    published = client.post(f"{set_path}/publish")
    assert published["total_annotations"] == confident

    retrain = client.post(
        "/training-jobs",
        {
            "dataset_id": dataset["id"],
            "annotation_set_id": draft["id"],
            "config": {"artifact_types": sorted(published["annotations_by_type"]), "epochs": 2},
        },
    )
    retrain = finished(client, f"/training-jobs/{retrain['id']}")
    assert retrain["status"] == "completed" and retrain["model_id"], retrain["error_message"]


def test_detections_go_to_label_studio_and_come_back(api, trained):
    client, dataset, _, model = model_on_corpus(api, trained)
    audio_ids = [str(row["id"]) for row in trained["corpus"].audio_rows[:3]]
    job = client.post("/inference-jobs", {"model_id": str(model.pk), "audio_file_ids": audio_ids})
    job = finished(client, f"/inference-jobs/{job['id']}")
    tasks = api.get(f"/inference-jobs/{job['id']}/results", {"format": "label-studio"}).json()
    assert {t["data"]["relay_audio_file_id"] for t in tasks} == set(audio_ids)
    assert all(t["predictions"][0]["result"] is not None for t in tasks)
    config = api.get(f"/inference-jobs/{job['id']}/results", {"format": "label-studio-config"}).content.decode()
    assert all(f'value="{name}"' in config for name in model.artifact_types)

    draft = client.post(f"/datasets/{dataset['id']}/annotation-sets")
    imported = api.raw(
        "post",
        f"/datasets/{dataset['id']}/annotation-sets/{draft['id']}/import?format=label-studio",
        json.dumps(tasks),
    )
    assert imported.status_code == 201, imported.content
    assert imported.json()["created"] == job["total_detections"]


def test_the_downloaded_model_detects_offline_as_through_the_api(api, trained, tmp_path):
    client = JsonClient(api)
    model = corpus.model_for(api, trained["trained"])
    response = api.get(f"/models/{model.pk}/download")
    assert response.status_code == 302
    artifact = requests.get(response["Location"], timeout=60)
    assert artifact.status_code == 200
    (tmp_path / "model.relay").write_bytes(artifact.content)

    (demo,) = demo_data.generate(seed=311, files=1, seconds_per_file=30, kinds=corpus.KINDS, sample_rates=(22050,))
    (tmp_path / demo.filename).write_bytes(demo.data)
    job = client.post("/inference-jobs", {"model_id": str(model.pk), "expected_files": 1})
    ticket = client.post(
        f"/inference-jobs/{job['id']}/files/upload-url",
        {"filename": demo.filename, "file_size": len(demo.data), "content_type": demo.content_type},
    )
    client.upload(ticket["upload_url"], ticket["upload_fields"], demo.data)
    client.post(f"/inference-jobs/{job['id']}/files/confirm", {"file_id": ticket["file_id"]})
    (through_api,) = finished(client, f"/inference-jobs/{job['id']}")["files"]

    offline = subprocess.run(
        [sys.executable, "-m", "detector", "detect", str(tmp_path / "model.relay"), str(tmp_path / demo.filename)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    (result,) = json.loads(offline.stdout)["files"]
    assert result["duration_ms"] == through_api["duration_ms"]
    simple = [(d["artifact_type"], d["start_ms"], d["end_ms"]) for d in through_api["detections"]]
    assert [(d["artifact_type"], d["start_ms"], d["end_ms"]) for d in result["detections"]] == simple
    for mine, theirs in zip(result["detections"], through_api["detections"], strict=True):
        assert mine["confidence"] == pytest.approx(theirs["confidence"], abs=1e-4)
