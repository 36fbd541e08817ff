"""Event streams through the served app (uvicorn, as `make run` serves it) while a real
worker runs the jobs: every status change once, in order, across reconnects."""

import threading
import time

import pytest
from django.db.models import Q

from relay import fleet
from relay.models import Event
from tests import audio_factory as af
from tests import corpus
from tests.helpers import JsonClient
from tests.inference.test_inference_worker import upload
from tests.sse import frames, open_stream, read_events
from tests.waiting import wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


def job_events_in_db(job_id):
    rows = Event.objects.filter(Q(object_id=job_id) | Q(parent_id=job_id)).order_by("txid", "id")
    return [(e.type, str(e.object_id)) for e in rows]


def as_pairs(found):
    return [(e["type"], e["object_id"]) for e in found]


@pytest.fixture
def model(api, trained):
    return corpus.model_for(api, trained["trained"])


def test_an_inference_job_stream_sends_each_change_once_and_ends(api, model, web_server):
    client = JsonClient(api)
    job = client.post("/inference-jobs", {"model_id": str(model.pk), "expected_files": 2})
    received = []
    stream = open_stream(web_server, f"/inference-jobs/{job['id']}/events", api.raw_key, timeout=120)
    assert stream.status_code == 200 and stream.headers["Content-Type"].startswith("text/event-stream")
    reader = threading.Thread(target=lambda: received.extend(read_events(stream)))
    reader.start()
    files = [upload(client, job, f"{n}.wav", af.wav(duration_s=2)) for n in range(2)]
    reader.join(timeout=120)
    assert not reader.is_alive(), "the stream did not end with the job"

    assert as_pairs(received) == job_events_in_db(job["id"])
    assert received[-1]["type"] == "inference_job.completed" and received[-1]["object_id"] == job["id"]
    for file_id in files:
        states = [e["type"] for e in received if e["object_id"] == file_id]
        assert states == [f"inference_file.{s}" for s in ("created", "pending", "queued", "processing", "completed")]
    job_states = [e["type"] for e in received if e["object_id"] == job["id"] and e["type"] != "inference_job.progress"]
    assert job_states == [f"inference_job.{s}" for s in ("created", "pending", "processing", "completed")]
    completed = received[-1]["data"]
    assert completed["processed_files"] == 2 and completed["progress"] == 1.0

    # The same changes through GET /events, with nothing in between skipped or repeated.
    listed = api.get("/events", {"object_id": [job["id"], *files], "limit": 500}).json()["items"]
    assert as_pairs(listed) == as_pairs(received)

    # Reconnecting after the end: nothing follows, and 204 tells EventSource to stop.
    again = open_stream(
        web_server, f"/inference-jobs/{job['id']}/events", api.raw_key, last_event_id=received[-1]["cursor"]
    )
    assert again.status_code == 204


def test_reconnecting_with_last_event_id_goes_on_where_it_stopped(api, model, web_server):
    client = JsonClient(api)
    job = client.post("/inference-jobs", {"model_id": str(model.pk), "expected_files": 1})
    upload(client, job, "a.wav", af.wav(duration_s=2))
    path = f"/inference-jobs/{job['id']}/events"
    first = read_events(open_stream(web_server, path, api.raw_key, timeout=120), count=3)
    rest = read_events(open_stream(web_server, path, api.raw_key, last_event_id=first[-1]["cursor"], timeout=120))
    assert rest and rest[-1]["type"] == "inference_job.completed"
    assert as_pairs(first + rest) == job_events_in_db(job["id"])
    # `?after=` does the same for clients that cannot set headers.
    assert as_pairs(read_events(open_stream(web_server, path, api.raw_key, after=first[0]["cursor"]))) == as_pairs(
        first[1:] + rest
    )


def test_the_tenant_stream_starts_now_and_wakes_within_a_second(api, other_api, web_server):
    dataset = api.post("/datasets", {"name": "live", "artifact_types": [{"name": "glitch"}]}).json()["id"]
    af.upload_url(api, dataset, af.wav(duration_s=1), filename="before.wav")
    stream = open_stream(web_server, "/events/stream", api.raw_key, type="audio_file.created")
    other = open_stream(web_server, "/events/stream", other_api.raw_key)
    time.sleep(0.5)  # the streams are open
    started = time.monotonic()
    ticket = af.upload_url(api, dataset, af.wav(duration_s=1), filename="after.wav")
    (event,) = read_events(stream, count=1)
    delay = time.monotonic() - started
    assert event["object_id"] == ticket["audio_id"] and event["data"]["filename"] == "after.wav"
    assert delay < 1.0, f"the event came {delay:.2f} s after the change"
    # The other tenant's stream only keeps alive.
    comments = []
    for frame in frames(other):
        assert "data" not in frame, frame
        comments.append(frame)
        if frame.get("comment") == "keep-alive":
            break
    stream.close()
    other.close()


def test_a_key_holds_a_limited_number_of_streams(api, web_server):
    streams = [open_stream(web_server, "/events/stream", api.raw_key) for _ in range(3)]
    assert all(s.status_code == 200 for s in streams)
    refused = open_stream(web_server, "/events/stream", api.raw_key)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
    assert "open event streams" in refused.json()["detail"]
    streams[0].close()
    time.sleep(1.5)  # the server notices the closed connection
    reopened = open_stream(web_server, "/events/stream", api.raw_key)
    assert reopened.status_code == 200
    for stream in [*streams[1:], reopened]:
        stream.close()


def test_stream_errors_are_json(api, other_api, web_server):
    dataset = api.post("/datasets", {"name": "x", "artifact_types": [{"name": "glitch"}]}).json()["id"]
    job = f"/inference-jobs/{dataset}/events"  # not a job id
    response = open_stream(web_server, job, api.raw_key)
    assert response.status_code == 404 and "detail" in response.json()
    assert open_stream(web_server, "/events/stream", "rk_nope_nope").status_code == 401
    bad = open_stream(web_server, "/events/stream", api.raw_key, after="garbage")
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["query", "after"]


def test_metrics_are_summed_over_the_web_and_worker_processes(api, model, web_server):
    """The worker counted the inference files; the served app's /metrics shows them."""
    import requests
    from prometheus_client.parser import text_string_to_metric_families

    from tests.helpers import METRICS_TOKEN

    client = JsonClient(api)
    job = client.post("/inference-jobs", {"model_id": str(model.pk), "expected_files": 1})
    upload(client, job, "a.wav", af.wav(duration_s=2))
    read_events(open_stream(web_server, f"/inference-jobs/{job['id']}/events", api.raw_key, timeout=120))
    requests.get(f"{web_server}/api/v1/workers", headers={"X-API-Key": api.raw_key}, timeout=10)
    wait_until(lambda: fleet.alive().exists(), timeout=30, message="a worker heartbeat")
    text = requests.get(f"{web_server}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}, timeout=10).text
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found.setdefault(sample.name, []).append(sample)
    files = [
        s
        for s in found["relay_work_duration_seconds_count"]
        if s.labels == {"kind": "inference_file", "outcome": "finished"}
    ]
    assert files and files[0].value >= 1
    views = {s.labels["view"] for s in found["relay_http_request_duration_seconds_count"]}
    assert "worker-list" in views
    alive = {s.labels["queue"]: s.value for s in found["relay_workers_alive"]}
    assert alive.get("inference", 0) >= 1
