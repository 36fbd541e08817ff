import pytest

from annotations.models import Annotation
from datasets.models import AudioStatus
from tests.helpers import annotation, assert_422, assert_error, make_audio, set_path

pytestmark = pytest.mark.django_db


def test_create_one(api, dataset, draft, audio):
    response = api.post(set_path(dataset, draft, "/annotations"), annotation(audio, "Glitch", 1200, 1240))
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["artifact_type"] == "glitch" and body["confidence"] == 1.0 and body["extra_data"] == {}
    assert (body["start_ms"], body["end_ms"], body["audio_file_id"]) == (1200, 1240, str(audio.id))
    assert body["annotation_set_id"] == draft["id"] and body["id"] and body["created_at"].endswith("Z")
    assert api.get(set_path(dataset, draft, f"/annotations/{body['id']}")).json() == body


def test_overlapping_annotations_are_allowed(api, dataset, draft, audio):
    for start, end, kind in [(1000, 2000, "glitch"), (1500, 2500, "glitch"), (1200, 1800, "hum")]:
        assert (
            api.post(set_path(dataset, draft, "/annotations"), annotation(audio, kind, start, end)).status_code == 201
        )
    assert api.get(set_path(dataset, draft, "/annotations")).json()["total"] == 3


@pytest.mark.parametrize(
    "change, field, kind",
    [
        ({"artifact_type": "click"}, "artifact_type", "value_error.artifact_type"),
        ({"artifact_type": 3}, "artifact_type", "type_error.str"),
        ({"start_ms": -1}, "start_ms", "value_error.number.not_ge"),
        ({"start_ms": "10"}, "start_ms", "type_error.integer"),
        ({"start_ms": 1.5}, "start_ms", "type_error.integer"),
        ({"end_ms": 1000}, "end_ms", "value_error.end_before_start"),
        ({"end_ms": 60_001}, "end_ms", "value_error.past_end"),
        ({"confidence": 1.5}, "confidence", "value_error.number.range"),
        ({"confidence": True}, "confidence", "type_error.float"),
        ({"extra_data": [1]}, "extra_data", "type_error.dict"),
        ({"extra_data": {"note": "x" * 5000}}, "extra_data", "value_error.too_large"),
        ({"audio_file_id": "nope"}, "audio_file_id", "type_error.uuid"),
        ({"audio_file_id": "00000000-0000-0000-0000-000000000000"}, "audio_file_id", "value_error.not_found"),
    ],
)
def test_create_validation(api, dataset, draft, audio, change, field, kind):
    items = assert_422(
        api.post(set_path(dataset, draft, "/annotations"), {**annotation(audio), **change}), ["body", field]
    )
    assert kind in {item["type"] for item in items}
    assert Annotation.objects.count() == 0


def test_missing_fields_are_reported(api, dataset, draft):
    assert_422(
        api.post(set_path(dataset, draft, "/annotations"), {}),
        ["body", "audio_file_id"],
        ["body", "artifact_type"],
        ["body", "start_ms"],
        ["body", "end_ms"],
    )


def test_audio_of_another_dataset_is_422(api, dataset, draft):
    other = api.post("/datasets", {"name": "other", "artifact_types": [{"name": "glitch"}]}).json()
    foreign = make_audio(other["id"])
    items = assert_422(
        api.post(set_path(dataset, draft, "/annotations"), annotation(foreign)), ["body", "audio_file_id"]
    )
    assert "not found in this dataset" in items[0]["msg"]


def test_unconfirmed_audio_is_422(api, dataset, draft):
    pending = make_audio(dataset["id"], status=AudioStatus.PENDING, confirmed=False)
    items = assert_422(
        api.post(set_path(dataset, draft, "/annotations"), annotation(pending)), ["body", "audio_file_id"]
    )
    assert "confirmed" in items[0]["msg"]


def test_end_beyond_duration_is_checked_only_once_known(api, dataset, draft):
    processing = make_audio(dataset["id"], status=AudioStatus.NORMALIZING)  # confirmed, duration unknown yet
    assert api.post(set_path(dataset, draft, "/annotations"), annotation(processing, end_ms=10**9)).status_code == 201


def test_bulk_all_or_nothing_with_the_bad_index(api, dataset, draft, audio):
    items = [annotation(audio, start_ms=i * 100, end_ms=i * 100 + 50) for i in range(500)]
    items[7]["end_ms"] = 1  # before its start
    errors = assert_422(
        api.post(set_path(dataset, draft, "/annotations/bulk"), {"annotations": items}),
        ["body", "annotations", 7, "end_ms"],
    )
    assert len(errors) == 1
    assert Annotation.objects.count() == 0


def test_bulk_reports_every_bad_item(api, dataset, draft, audio):
    items = [annotation(audio, start_ms=i * 10, end_ms=i * 10 + 5) for i in range(20)]
    items[3]["artifact_type"] = "nope"
    items[11] = "not an object"
    items[19]["confidence"] = -1
    assert_422(
        api.post(set_path(dataset, draft, "/annotations/bulk"), {"annotations": items}),
        ["body", "annotations", 3, "artifact_type"],
        ["body", "annotations", 11],
        ["body", "annotations", 19, "confidence"],
    )


def test_bulk_create(api, dataset, draft, audio, audio2):
    items = [annotation(audio if i % 2 else audio2, "hum", i * 100, i * 100 + 60, confidence=0.5) for i in range(300)]
    response = api.post(set_path(dataset, draft, "/annotations/bulk"), {"annotations": items})
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["created"] == 300 and len(body["annotations"]) == 300
    assert body["annotations"][5]["start_ms"] == 500 and body["annotations"][5]["confidence"] == 0.5
    assert Annotation.objects.filter(annotation_set_id=draft["id"]).count() == 300


def test_bulk_limits_and_shape(api, dataset, draft, audio):
    path = set_path(dataset, draft, "/annotations/bulk")
    assert_422(api.post(path, {}), ["body", "annotations"])
    assert_422(api.post(path, {"annotations": {"a": 1}}), ["body", "annotations"])
    too_many = [annotation(audio, start_ms=0, end_ms=10)] * 10_001
    assert_422(api.post(path, {"annotations": too_many}), ["body", "annotations"])


def test_patch_and_delete(api, dataset, draft, audio):
    created = api.post(set_path(dataset, draft, "/annotations"), annotation(audio, start_ms=1000, end_ms=2000)).json()
    path = set_path(dataset, draft, f"/annotations/{created['id']}")
    patched = api.patch(path, {"end_ms": 3000, "artifact_type": "hum", "extra_data": {"by": "me"}})
    assert patched.status_code == 200
    assert (patched.json()["start_ms"], patched.json()["end_ms"], patched.json()["artifact_type"]) == (
        1000,
        3000,
        "hum",
    )
    assert_422(api.patch(path, {"end_ms": 500}), ["body", "end_ms"])
    assert_422(api.patch(path, {"start_ms": "x"}), ["body", "start_ms"])
    assert api.get(path).json()["end_ms"] == 3000
    assert api.delete(path).status_code == 204
    assert_error(api.get(path), 404, "annotation not found")


def test_list_filters_ordering_and_pages(api, dataset, draft, audio, audio2):
    items = [
        annotation(audio, "glitch", 5000, 5050),
        annotation(audio, "hum", 100, 900),
        annotation(audio2, "glitch", 2000, 2100),
        annotation(audio2, "dropout", 0, 80),
    ]
    api.post(set_path(dataset, draft, "/annotations/bulk"), {"annotations": items})
    path = set_path(dataset, draft, "/annotations")
    by_start = api.get(path, {"ordering": "start_ms"}).json()["items"]
    assert [a["start_ms"] for a in by_start] == [0, 100, 2000, 5000]
    assert api.get(path, {"audio_file_id": str(audio2.id)}).json()["total"] == 2
    assert [
        a["start_ms"] for a in api.get(path, {"artifact_type": "GLITCH", "ordering": "-start_ms"}).json()["items"]
    ] == [5000, 2000]
    window = api.get(path, {"start_after_ms": 950, "end_before_ms": 5000}).json()
    assert [a["start_ms"] for a in window["items"]] == [2000]
    page = api.get(path, {"page_size": 3, "page": 2, "ordering": "start_ms"}).json()
    assert page["total"] == 4 and len(page["items"]) == 1 and page["has_more"] is False
    assert_422(api.get(path, {"audio_file_id": "x"}), ["query", "audio_file_id"])


def test_list_page_costs_the_same_queries_for_10_and_100_items(api, dataset, draft, audio):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    items = [annotation(audio, start_ms=i * 100, end_ms=i * 100 + 50) for i in range(100)]
    api.post(set_path(dataset, draft, "/annotations/bulk"), {"annotations": items})
    counts = []
    for size in (10, 99):  # both with more to come (a last page needs no count)
        with CaptureQueriesContext(connection) as queries:
            assert len(api.get(set_path(dataset, draft, "/annotations"), {"page_size": size}).json()["items"]) == size
        counts.append(len(queries))
    assert counts[0] == counts[1], counts


def test_other_tenants_cannot_touch_annotations(api, other_api, dataset, draft, audio):
    created = api.post(set_path(dataset, draft, "/annotations"), annotation(audio)).json()
    path = set_path(dataset, draft, f"/annotations/{created['id']}")
    assert_error(other_api.get(path), 404)
    assert_error(other_api.patch(path, {"end_ms": 5000}), 404)
    assert_error(other_api.delete(path), 404)
    assert_error(other_api.post(set_path(dataset, draft, "/annotations"), annotation(audio)), 404)
    # the list is one query scoped to the caller's set: none of it shows, and the answer is the 404
    assert_error(other_api.get(set_path(dataset, draft, "/annotations")), 404, "dataset not found")
    assert_error(other_api.get(set_path(dataset, draft, "/annotations"), {"cursor": ""}), 404)
    assert api.get(path).json()["end_ms"] == 1040


def test_scopes(api, dataset, draft, audio):
    from relay import services
    from tests.helpers import Api

    _, raw = services.create_api_key(tenant=api.tenant, scopes=["annotations:read", "datasets:read"])
    reader = Api(raw)
    assert reader.get(set_path(dataset, draft, "/annotations")).status_code == 200
    assert_error(reader.post(set_path(dataset, draft, "/annotations"), annotation(audio)), 403, "annotations:write")


@pytest.mark.parametrize("ordering", [None, "-start_ms", "confidence"])
def test_list_walks_by_cursor_while_annotations_are_added(api, dataset, draft, audio, ordering):
    path = set_path(dataset, draft, "/annotations")
    items = [annotation(audio, start_ms=i * 100, end_ms=i * 100 + 50, confidence=0.5) for i in range(11)]
    created = {a["id"] for a in api.post(f"{path}/bulk", {"annotations": items}).json()["annotations"]}
    seen, cursor, added = [], "", 0
    while cursor is not None:
        params = {"page_size": 3, "cursor": cursor, **({"ordering": ordering} if ordering else {})}
        body = api.get(path, params).json()
        seen += [item["id"] for item in body["items"]]
        cursor = body["next_cursor"]
        api.post(path, annotation(audio, start_ms=5000 + added, end_ms=5100 + added))
        added += 1
    assert len(seen) == len(set(seen)) and created <= set(seen)


def test_list_items_are_the_detail_written_by_the_database(api, dataset, draft, audio):
    """The list's items are rendered by PostgreSQL (relay/jsonrows.py); each must equal the
    detail Python renders: nested and unicode extra_data, fractional confidence, and a
    timestamp on a whole second (written without microseconds, as isoformat does)."""
    import datetime

    extras = [{}, {"by": 'é"\\/<>', "nested": {"list": [1, 2.5, None, True]}}, {"n": 10**15}]
    items = [
        {**annotation(audio, "glitch", 100 * i, 100 * i + 50), "confidence": c, "extra_data": e}
        for i, (c, e) in enumerate(zip((1.0, 0.25, 0.123456789), extras, strict=True))
    ]
    assert api.post(set_path(dataset, draft, "/annotations/bulk"), {"annotations": items}).status_code == 201
    whole_second = datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.UTC)
    Annotation.objects.filter(annotation_set_id=draft["id"], start_ms=0).update(created_at=whole_second)
    listed = api.get(set_path(dataset, draft, "/annotations"), {"ordering": "start_ms"}).json()["items"]
    assert len(listed) == 3
    for item in listed:
        detail = api.get(set_path(dataset, draft, f"/annotations/{item['id']}")).json()
        assert item == detail
        assert list(item) == list(detail)  # and the keys in the same order
    assert listed[0]["created_at"] == "2026-01-02T03:04:05Z"
    assert listed[1]["extra_data"] == extras[1] and listed[2]["confidence"] == 0.123456789
    assert api.get(set_path(dataset, draft, "/annotations")).json()["items"] == listed  # unfiltered: prepared SQL
