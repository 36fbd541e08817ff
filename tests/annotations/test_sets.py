import json
import threading
import time

import pytest
from django.db import connection

from annotations.models import Annotation, AnnotationSet
from tests.annotations.conftest import annotation, set_path
from tests.helpers import assert_422, assert_error

pytestmark = pytest.mark.django_db


def test_versions_count_up(api, dataset):
    path = f"/datasets/{dataset['id']}/annotation-sets"
    first, second = api.post(path).json(), api.post(path, {"name": "second pass"}).json()
    assert (first["version"], first["status"], second["version"], second["name"]) == (1, "draft", 2, "second pass")
    assert first["total_annotations"] == 0 and first["published_at"] is None
    assert set(first) >= {
        "id",
        "dataset_id",
        "version",
        "status",
        "total_annotations",
        "total_positive_duration_ms",
        "annotations_by_type",
        "created_at",
        "published_at",
    }
    listing = api.get(path).json()
    assert [s["version"] for s in listing["items"]] == [2, 1]


def test_from_version_copies_annotations(api, dataset, draft, audio):
    api.post(
        set_path(dataset, draft, "/annotations/bulk"),
        {
            "annotations": [
                annotation(audio, "glitch", 0, 10, confidence=0.5, extra_data={"k": 1}),
                annotation(audio, "hum", 5, 50),
            ]
        },
    )
    copy = api.post(f"/datasets/{dataset['id']}/annotation-sets", {"from_version": 1})
    assert copy.status_code == 201
    body = copy.json()
    assert body["version"] == 2 and body["from_version"] == 1 and body["total_annotations"] == 2
    copied = Annotation.objects.filter(annotation_set_id=body["id"]).order_by("start_ms")
    assert [(a.start_ms, a.end_ms, a.confidence, a.extra_data) for a in copied] == [
        (0, 10, 0.5, {"k": 1}),
        (5, 50, 1.0, {}),
    ]
    assert_422(api.post(f"/datasets/{dataset['id']}/annotation-sets", {"from_version": 9}), ["body", "from_version"])
    assert_422(api.post(f"/datasets/{dataset['id']}/annotation-sets", {"from_version": "1"}), ["body", "from_version"])


def test_publish_computes_stats_and_locks(api, dataset, draft, audio, audio2):
    api.post(
        set_path(dataset, draft, "/annotations/bulk"),
        {
            "annotations": [
                annotation(audio, "glitch", 1000, 2000),
                annotation(audio, "hum", 1500, 3000),  # overlap: 2000 ms covered
                annotation(audio, "glitch", 3000, 3100),  # touches the hum: still one island, 2100 ms
                annotation(audio2, "dropout", 0, 500),
            ]
        },
    )
    response = api.post(set_path(dataset, draft, "/publish"))
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "published" and body["published_at"]
    assert body["total_annotations"] == 4
    assert body["annotations_by_type"] == {"dropout": 1, "glitch": 2, "hum": 1}
    assert body["total_positive_duration_ms"] == 2100 + 500
    assert api.get(set_path(dataset, draft)).json()["total_annotations"] == 4


def test_draft_stats_are_live(api, dataset, draft, audio):
    api.post(set_path(dataset, draft, "/annotations"), annotation(audio, "hum", 0, 250))
    body = api.get(set_path(dataset, draft)).json()
    assert body["total_annotations"] == 1 and body["total_positive_duration_ms"] == 250
    assert body["annotations_by_type"] == {"hum": 1} and len(body["annotations"]) == 1
    assert body["annotations_truncated"] is False


def test_publish_twice_and_empty_are_409(api, dataset, draft, audio):
    assert_error(api.post(set_path(dataset, draft, "/publish")), 409, "empty")
    api.post(set_path(dataset, draft, "/annotations"), annotation(audio))
    assert api.post(set_path(dataset, draft, "/publish")).status_code == 200
    assert_error(api.post(set_path(dataset, draft, "/publish")), 409, "already published")


def test_every_write_to_a_published_set_is_409(api, dataset, draft, audio):
    created = api.post(set_path(dataset, draft, "/annotations"), annotation(audio)).json()
    api.post(set_path(dataset, draft, "/publish"))
    one = set_path(dataset, draft, f"/annotations/{created['id']}")
    attempts = [
        api.post(set_path(dataset, draft, "/annotations"), annotation(audio, start_ms=5, end_ms=9)),
        api.post(set_path(dataset, draft, "/annotations/bulk"), {"annotations": [annotation(audio)]}),
        api.patch(one, {"end_ms": 5000}),
        api.delete(one),
        api.delete(set_path(dataset, draft)),
        api.raw(
            "post",
            set_path(dataset, draft, "/import?format=jsonl"),
            json.dumps({"audio_file_id": str(audio.id), "artifact_type": "hum", "start_ms": 1, "end_ms": 2}),
        ),
    ]
    for index, response in enumerate(attempts):
        assert response.status_code == 409, (index, response.content)
        assert_error(response, 409, "published")
    # Things that refer to the set cannot change either.
    assert_error(api.delete(f"/datasets/{dataset['id']}/audio/{audio.id}"), 409, "published annotation set")
    assert_error(api.patch(f"/datasets/{dataset['id']}", {"artifact_types": [{"name": "hum"}]}), 409, "glitch")
    assert Annotation.objects.get(pk=created["id"]).end_ms == 1040
    assert api.get(set_path(dataset, draft)).json()["total_annotations"] == 1


def test_draft_can_be_deleted_and_audio_in_drafts_too(api, dataset, draft, audio):
    api.post(set_path(dataset, draft, "/annotations"), annotation(audio))
    assert api.delete(f"/datasets/{dataset['id']}/audio/{audio.id}").status_code == 204
    assert Annotation.objects.count() == 0
    assert api.delete(set_path(dataset, draft)).status_code == 204
    assert_error(api.get(set_path(dataset, draft)), 404, "annotation set not found")


def test_filters(api, dataset, draft, audio):
    api.post(set_path(dataset, draft, "/annotations"), annotation(audio))
    api.post(set_path(dataset, draft, "/publish"))
    api.post(f"/datasets/{dataset['id']}/annotation-sets")
    path = f"/datasets/{dataset['id']}/annotation-sets"
    assert [s["version"] for s in api.get(path, {"status": "published"}).json()["items"]] == [1]
    assert [s["version"] for s in api.get(path, {"ordering": "version"}).json()["items"]] == [1, 2]
    assert_422(api.get(path, {"status": "final"}), ["query", "status"])


def test_other_tenant_gets_404(api, other_api, dataset, draft):
    assert_error(other_api.get(set_path(dataset, draft)), 404, "dataset not found")
    assert_error(other_api.post(set_path(dataset, draft, "/publish")), 404)
    assert_error(other_api.post(f"/datasets/{dataset['id']}/annotation-sets"), 404)
    other_dataset = other_api.post("/datasets", {"name": "b", "artifact_types": [{"name": "x"}]}).json()
    assert_error(
        other_api.get(f"/datasets/{other_dataset['id']}/annotation-sets/{draft['id']}"), 404, "annotation set not found"
    )


def _in_thread(function, results, index):
    try:
        results[index] = function()
    except Exception as error:  # reported by the test
        results[index] = error
    finally:
        connection.close()


def run_concurrently(*functions):
    results = [None] * len(functions)
    barrier = threading.Barrier(len(functions))

    def start(function, index):
        barrier.wait()
        _in_thread(function, results, index)

    threads = [threading.Thread(target=start, args=(f, i)) for i, f in enumerate(functions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


@pytest.mark.django_db(transaction=True)
def test_versions_stay_unique_under_10_concurrent_creates(api, dataset):
    path = f"/datasets/{dataset['id']}/annotation-sets"
    results = run_concurrently(*[lambda: api.post(path) for _ in range(10)])
    assert [r.status_code for r in results] == [201] * 10, results
    assert sorted(r.json()["version"] for r in results) == list(range(1, 11))
    assert AnnotationSet.objects.filter(dataset_id=dataset["id"]).count() == 10


@pytest.mark.django_db(transaction=True)
def test_concurrent_publish_and_bulk_never_leave_uncounted_annotations(api, dataset, audio):
    outcomes = set()
    for round_number in range(20):
        if round_number >= 8 and outcomes == {201, 409}:
            break
        draft = api.post(f"/datasets/{dataset['id']}/annotation-sets").json()
        api.post(set_path(dataset, draft, "/annotations"), annotation(audio, start_ms=0, end_ms=10))
        batch = [annotation(audio, start_ms=i * 10, end_ms=i * 10 + 5) for i in range(2000)]
        # Odd rounds give the publish a head start, even ones the bulk, by twice as much each
        # time (however slow the machine, the bulk wins some): both orders happen, and so do
        # the races in between.
        head_start = 0.02 * 2 ** (round_number // 2)
        bulk_delay, publish_delay = (0.0, head_start) if round_number % 2 == 0 else (0.05, 0.0)
        bulk_path, publish_path = set_path(dataset, draft, "/annotations/bulk"), set_path(dataset, draft, "/publish")
        bulk, publish = run_concurrently(
            lambda: time.sleep(bulk_delay) or api.post(bulk_path, {"annotations": batch}),  # noqa: B023
            lambda: time.sleep(publish_delay) or api.post(publish_path),  # noqa: B023
        )
        assert publish.status_code == 200, publish.content
        stored = Annotation.objects.filter(annotation_set_id=draft["id"]).count()
        published = AnnotationSet.objects.get(pk=draft["id"])
        assert published.total_annotations == stored, (round_number, bulk.status_code)
        assert bulk.status_code in (201, 409)
        assert stored == (2001 if bulk.status_code == 201 else 1)
        outcomes.add(bulk.status_code)
    assert outcomes == {201, 409}, outcomes
