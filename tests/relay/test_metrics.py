"""GET /metrics: Prometheus text, behind a bearer token, with what operators watch."""

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests import audio_factory as af

pytestmark = pytest.mark.django_db


def scrape(client, token="sekrit"):
    return client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {token}")


def samples(response):
    found = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            found.setdefault(sample.name, []).append(sample)
    return found


def test_metrics_are_off_without_a_token_and_refuse_a_wrong_one(client, settings):
    settings.RELAY_METRICS_TOKEN = ""
    assert scrape(client).status_code == 404
    settings.RELAY_METRICS_TOKEN = "sekrit"
    assert client.get("/metrics").status_code == 401
    assert scrape(client, "wrong").status_code == 401
    assert scrape(client).status_code == 200


def test_requests_work_uploads_queues_and_jobs_are_measured(client, api, settings, django_capture_on_commit_callbacks):
    settings.RELAY_METRICS_TOKEN = "sekrit"
    dataset = api.post("/datasets", {"name": "m", "artifact_types": [{"name": "glitch"}]}).json()["id"]
    api.get(f"/datasets/{dataset}/audio/{'0' * 8}-0000-0000-0000-{'0' * 12}")  # a 404
    data = af.wav(duration_s=1)
    ticket = af.upload_url(api, dataset, data, filename="a.wav")
    af.post_to_s3(ticket, data)
    with django_capture_on_commit_callbacks(execute=False):  # no worker of another test takes the task
        api.post(f"/datasets/{dataset}/audio/confirm", {"audio_id": ticket["audio_id"]})
    from datasets.models import AudioFile
    from datasets.tasks import process_audio

    process_audio.apply(args=[ticket["audio_id"]])  # the task, run here: its duration is counted here
    assert AudioFile.objects.get(pk=ticket["audio_id"]).status == "ready"

    response = scrape(client)
    assert response.status_code == 200 and response["Content-Type"].startswith("text/plain")
    found = samples(response)
    requests = {
        (s.labels["view"], s.labels["method"], s.labels["status"])
        for s in found["relay_http_request_duration_seconds_count"]
    }
    assert ("dataset-list", "POST", "201") in requests and ("audio-detail", "GET", "404") in requests
    work_done = {(s.labels["kind"], s.labels["outcome"]): s.value for s in found["relay_work_duration_seconds_count"]}
    assert work_done[("audio_file", "finished")] >= 1
    uploads = {s.labels["kind"]: s.value for s in found["relay_upload_bytes_total"]}
    assert uploads["audio_file"] >= len(data)
    assert {s.labels["queue"] for s in found["relay_queue_depth"]} >= {"default", "audio", "inference", "training"}
    assert "relay_workers_alive" in {f.name for f in text_string_to_metric_families(response.content.decode())}
    jobs = {(s.labels["kind"], s.labels["status"]) for s in found.get("relay_jobs", [])}
    assert jobs == set()  # no job yet: nothing to show


def test_jobs_by_kind_and_status(client, api, settings):
    from inference.models import InferenceJob

    settings.RELAY_METRICS_TOKEN = "sekrit"
    InferenceJob.objects.create(tenant=api.tenant)
    jobs = {(s.labels["kind"], s.labels["status"]): s.value for s in samples(scrape(client))["relay_jobs"]}
    assert jobs[("inference_job", "pending")] == 1
