"""Input that used to answer 500 answers with the error envelope and the right status."""

import json

import pytest
from django.test import override_settings

from tests.helpers import assert_422, assert_error, make_audio
from tests.relay.test_tenant_isolation import fill, objects_of, operations
from tests.schema_check import _schema

pytestmark = pytest.mark.django_db


@pytest.fixture
def draft(api):
    dataset = api.post("/datasets", {"name": "d", "artifact_types": [{"name": "glitch"}]}).json()
    audio = make_audio(dataset["id"], "one.wav", duration_ms=3_600_000)
    annotation_set = api.post(f"/datasets/{dataset['id']}/annotation-sets").json()
    return f"/datasets/{dataset['id']}/annotation-sets/{annotation_set['id']}", str(audio.pk)


def bulk(audio_id, count, note=""):
    return {
        "annotations": [
            {
                "audio_file_id": audio_id,
                "artifact_type": "glitch",
                "start_ms": i * 10,
                "end_ms": i * 10 + 5,
                "extra_data": {"note": note},
            }
            for i in range(count)
        ]
    }


def test_a_json_body_over_django_default_limit_but_under_ours_succeeds(api, draft):
    path, audio_id = draft
    body = bulk(audio_id, 10_000, note="x" * 300)
    assert len(json.dumps(body)) > 3_000_000  # Django's default cap is 2.5 MB
    response = api.post(f"{path}/annotations/bulk", body, HTTP_IDEMPOTENCY_KEY="big-bulk")
    assert response.status_code == 201, response.content[:300]


@override_settings(RELAY_MAX_JSON_BODY_BYTES=100_000, DATA_UPLOAD_MAX_MEMORY_SIZE=100_000)
def test_a_body_over_the_limit_is_413_with_or_without_an_idempotency_key(api, draft):
    path, audio_id = draft
    body = bulk(audio_id, 2000)
    assert_error(api.post(f"{path}/annotations/bulk", body), 413)
    assert_error(api.post(f"{path}/annotations/bulk", body, HTTP_IDEMPOTENCY_KEY="k"), 413)


@override_settings(RELAY_MAX_IMPORT_BYTES=100_000)
def test_an_import_over_the_limit_is_413_with_or_without_an_idempotency_key(api, draft):
    path, audio_id = draft
    rows = "".join(f"{audio_id},glitch,{i * 10},{i * 10 + 5}\n" for i in range(3000))
    csv_body = "audio_file_id,artifact_type,start_ms,end_ms\n" + rows
    assert len(csv_body) > 100_000
    url = f"{path}/import?format=csv"
    assert_error(api.raw("post", url, csv_body, content_type="text/csv"), 413, "limit")
    assert_error(api.raw("post", url, csv_body, content_type="text/csv", HTTP_IDEMPOTENCY_KEY="big-import"), 413)
    assert api.get(f"{path}/annotations").json()["items"] == []  # nothing imported


def test_a_large_import_with_an_idempotency_key_succeeds(api, draft):
    path, audio_id = draft
    rows = "".join(f"{audio_id},glitch,{i * 10},{i * 10 + 5},{'y' * 300}\n" for i in range(10_000))
    csv_body = "audio_file_id,artifact_type,start_ms,end_ms,id\n" + rows
    assert len(csv_body) > 3_000_000
    response = api.raw("post", f"{path}/import?format=csv", csv_body, content_type="text/csv", HTTP_IDEMPOTENCY_KEY="i")
    assert response.status_code == 201, response.content[:300]


def test_json_nested_a_thousand_deep_is_400(api, draft):
    path, audio_id = draft
    deep = "[" * 1500 + "]" * 1500
    assert_error(api.raw("post", "/datasets", deep), 400, "nested deeper")
    inside = '{"annotations": [{"extra_data": {"a": ' + deep + "}}]}"
    assert_error(api.raw("post", f"{path}/annotations/bulk", inside), 400, "nested deeper")
    assert_error(api.raw("post", f"{path}/import?format=json", deep), 400, "nested deeper")
    assert_error(api.raw("post", f"{path}/import?format=jsonl", deep + "\n"), 400, "nested deeper")


def test_extra_data_nested_too_deep_or_holding_nul_is_refused(api, draft):
    path, audio_id = draft
    nested = {}
    for _ in range(80):
        nested = {"x": nested}
    item = bulk(audio_id, 1)["annotations"][0]
    assert_error(api.post(f"{path}/annotations", {**item, "extra_data": nested}), 400, "nested deeper")
    cell = json.dumps(nested).replace('"', '""')
    csv_body = f'audio_file_id,artifact_type,start_ms,end_ms,extra_data\n{audio_id},glitch,0,5,"{cell}"\n'
    imported = api.raw("post", f"{path}/import?format=csv", csv_body, content_type="text/csv")
    assert_422(imported, ["body", "annotations", 0, "extra_data"])
    assert_422(api.post(f"{path}/annotations", {**item, "extra_data": {"a": "nul\x00here"}}), ["body", "extra_data"])
    assert_422(api.post(f"{path}/annotations", {**item, "extra_data": {"nul\x00key": 1}}), ["body", "extra_data"])


def test_a_csv_field_over_128_kib_is_400(api, draft):
    path, audio_id = draft
    csv_body = f"audio_file_id,artifact_type,start_ms,end_ms,extra_data\n{audio_id},glitch,0,5,{'z' * 200_000}\n"
    assert_error(api.raw("post", f"{path}/import?format=csv", csv_body, content_type="text/csv"), 400, "csv")


@pytest.mark.parametrize(
    "moment", ["2026-01-01T00:00:00+23:00", "2026-01-01T00:00:00-23:59", "0001-01-01T00:30:00+01:00"]
)
def test_any_iso_offset_in_a_date_filter_is_answered(api, moment):
    response = api.get("/datasets", {"created_after": moment})
    assert response.status_code in (200, 422), response.content
    assert response.status_code == 200 or response.json()["detail"][0]["loc"] == ["query", "created_after"]


EMPTY_FILTERS = ("created_before", "created_after", "id", "model_id")


def test_an_empty_filter_is_422_on_every_list_that_has_it(api):
    """`?created_before=` and the like name the parameter; they are not a 500 nor ignored."""
    ids = objects_of(api, "filters")
    checked = set()
    for template, item in _schema()["paths"].items():
        names = {p["name"] for p in item.get("get", {}).get("parameters", []) if p["in"] == "query"}
        for name in sorted(names & set(EMPTY_FILTERS)):
            response = api.get(f"{fill(template, ids).removeprefix('/api/v1')}?{name}=")
            assert_422(response, ["query", name])
            checked.add(name)
    assert checked == set(EMPTY_FILTERS)


def test_options_answers_on_every_path_with_a_post(api):
    """Every path of the schema with a POST, its parameters filled with the caller's own
    objects (as the tenant isolation matrix does): a new endpoint is covered without a list."""
    ids = objects_of(api, "options")
    checked = 0
    for template, method in operations():
        if method != "post":
            continue
        response = api.client.options(fill(template, ids))
        assert response.status_code == 200, (template, response.status_code, response.content[:200])
        assert "POST" in response["Allow"], (template, response["Allow"])
        checked += 1
    assert checked >= 20
