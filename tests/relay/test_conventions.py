"""The API conventions shared by every view: the error envelope, pagination, filters, limits."""

import json

import pytest
from django.test import override_settings

from tests.helpers import assert_422, assert_error

pytestmark = pytest.mark.django_db

GOOD = {"name": "podcasts", "artifact_types": [{"name": "glitch"}]}


def test_malformed_json_is_400(api):
    response = api.raw("post", "/datasets", '{"name": "x", ', content_type="application/json")
    assert_error(response, 400, "malformed json")


def test_wrong_content_type_is_415(api):
    response = api.raw("post", "/datasets", "name=x", content_type="application/x-www-form-urlencoded")
    assert_error(response, 415, 'unsupported content-type "application/x-www-form-urlencoded"')
    assert "send the body as application/json" in response.json()["detail"]


def test_body_that_is_not_an_object_is_422_at_body(api):
    items = assert_422(api.post("/datasets", [1, 2]), ["body"])
    assert items[0]["type"]


def test_wrong_type_is_422_with_loc(api):
    items = assert_422(api.post("/datasets", {"name": 5, "artifact_types": [{"name": "glitch"}]}), ["body", "name"])
    assert items[0]["type"] == "type_error.str"


def test_missing_fields_are_each_reported(api):
    items = assert_422(api.post("/datasets", {}), ["body", "name"], ["body", "artifact_types"])
    assert {item["msg"] for item in items} == {"field required"}
    assert {item["type"] for item in items} == {"value_error.missing"}


def test_nested_list_item_errors_have_index_in_loc(api):
    body = {"name": "x", "artifact_types": [{"name": "ok"}, {"name": 7}, {"name": "fine", "color": "red"}]}
    assert_422(
        api.post("/datasets", body),
        ["body", "artifact_types", 1, "name"],
        ["body", "artifact_types", 2, "color"],
    )


@pytest.mark.parametrize("page_size", ["0", "1000", "-1", "abc"])
def test_bad_page_size_is_422_in_query(api, page_size):
    assert_422(api.get("/datasets", {"page_size": page_size}), ["query", "page_size"])


@pytest.mark.parametrize("page", ["0", "x"])
def test_bad_page_is_422_in_query(api, page):
    assert_422(api.get("/datasets", {"page": page}), ["query", "page"])


def test_pagination_shape_and_walk(api):
    for index in range(5):
        assert api.post("/datasets", {**GOOD, "name": f"set {index}"}).status_code == 201
    first = api.get("/datasets", {"page_size": 2}).json()
    assert {k: first[k] for k in ("total", "page", "page_size", "has_more")} == {
        "total": 5,
        "page": 1,
        "page_size": 2,
        "has_more": True,
    }
    assert len(first["items"]) == 2
    last = api.get("/datasets", {"page_size": 2, "page": 3}).json()
    assert len(last["items"]) == 1 and last["has_more"] is False
    beyond = api.get("/datasets", {"page_size": 2, "page": 9}).json()
    assert beyond["items"] == [] and beyond["total"] == 5 and beyond["has_more"] is False
    names = [
        item["name"]
        for page in (1, 2, 3)
        for item in api.get("/datasets", {"page_size": 2, "page": page}).json()["items"]
    ]
    assert sorted(names) == [f"set {i}" for i in range(5)]


def test_default_page_is_the_contract_shape(api):
    assert api.get("/datasets").json() == {
        "items": [],
        "total": 0,
        "total_is_estimate": False,
        "page": 1,
        "page_size": 50,
        "has_more": False,
        "next_cursor": None,
    }


def test_invalid_filter_value_is_422_in_query(api):
    items = assert_422(api.get("/datasets", {"ordering": "password"}), ["query", "ordering"])
    assert "'password' is not a valid ordering; valid: " in items[0]["msg"]
    assert "name, -name" in items[0]["msg"] and "created_at, -created_at" in items[0]["msg"]
    assert_422(api.get("/datasets", {"created_after": "yesterday"}), ["query", "created_after"])


def test_unknown_url_is_json_404(api):
    response = api.get("/no-such-thing")
    assert_error(response, 404)
    assert response["Content-Type"].startswith("application/json")


def test_malformed_id_in_path_is_404(api):
    assert_error(api.get("/datasets/not-a-uuid"), 404)


def test_method_not_allowed_is_405_envelope(api):
    assert_error(api.raw("put", "/datasets", json.dumps(GOOD)), 405)


@override_settings(RELAY_MAX_JSON_BODY_BYTES=1000)
def test_oversized_body_is_413(api):
    body = {**GOOD, "description": "x" * 2000}
    assert_error(api.post("/datasets", body), 413, "limit")


def test_request_id_is_echoed_or_made(api):
    response = api.get("/datasets", HTTP_X_REQUEST_ID="client-id-42")
    assert response["X-Request-ID"] == "client-id-42"
    generated = api.get("/datasets", HTTP_X_REQUEST_ID="bad id with spaces")["X-Request-ID"]
    assert generated != "bad id with spaces" and len(generated) == 32


def test_failed_request_writes_nothing(api):
    from datasets.models import ArtifactType, Dataset

    body = {"name": "x", "artifact_types": [{"name": "a"}, {"name": "A"}]}
    assert_422(api.post("/datasets", body), ["body", "artifact_types", 1, "name"])
    assert Dataset.objects.count() == 0 and ArtifactType.objects.count() == 0


def test_unknown_fields_are_422_on_every_kind_of_body(api):
    dataset = api.post("/datasets", GOOD).json()["id"]
    annotation_set = api.post(f"/datasets/{dataset}/annotation-sets").json()["id"]
    sets = f"/datasets/{dataset}/annotation-sets/{annotation_set}"
    cases = [
        ("post", "/datasets", {**GOOD, "colour": "red"}),
        ("post", "/datasets", {**GOOD, "artifact_types": [{"name": "glitch", "colour": "red"}]}),
        ("patch", f"/datasets/{dataset}", {"colour": "red"}),
        (
            "post",
            f"/datasets/{dataset}/audio/upload-url",
            {"filename": "a.wav", "file_size": 3, "content_type": "audio/wav", "x": 1},
        ),
        ("post", f"/datasets/{dataset}/audio/confirm", {"audio_id": "00000000-0000-0000-0000-000000000000", "x": 1}),
        ("post", f"/datasets/{dataset}/annotation-sets", {"x": 1}),
        ("post", f"{sets}/annotations/bulk", {"annotations": [], "x": 1}),
        ("post", "/api-keys", {"name": "k", "x": 1}),
        ("post", "/inference-jobs", {"model_id": "00000000-0000-0000-0000-000000000000", "x": 1}),
    ]
    for method, path, body in cases:
        response = getattr(api, method)(path, body)
        items = assert_422(response)
        assert any(item["type"] == "value_error.extra" for item in items), (path, items)


def test_file_size_is_accepted_under_either_name(api):
    dataset = api.post("/datasets", GOOD).json()["id"]
    path = f"/datasets/{dataset}/audio/upload-url"
    body = {"filename": "a.wav", "content_type": "audio/wav"}
    assert api.post(path, {**body, "file_size_bytes": 10}).status_code == 201
    assert api.post(path, {**body, "file_size": 10}).status_code == 201
    assert_422(api.post(path, {**body, "file_size": 10, "file_size_bytes": 11}), ["body", "file_size_bytes"])
    assert_422(api.post(path, body), ["body", "file_size"])


@pytest.mark.parametrize("accept", [None, "*/*", "application/json", "application/*", "*/*; q=0.5", "text/html, */*"])
def test_content_negotiation_answers_as_drfs(accept):
    """relay.api.negotiation's shortcut (no Accept, or */*) picks what DRF's own does."""
    from rest_framework.negotiation import DefaultContentNegotiation
    from rest_framework.request import Request
    from rest_framework.test import APIRequestFactory

    from relay.api.event_views import EventStreamBase
    from relay.api.negotiation import ContentNegotiation

    headers = {"HTTP_ACCEPT": accept} if accept is not None else {}
    request = Request(APIRequestFactory().get("/api/v1/datasets", **headers))
    renderers = [r() for r in EventStreamBase.renderer_classes]
    ours = ContentNegotiation().select_renderer(request, renderers)
    drfs = DefaultContentNegotiation().select_renderer(request, renderers)
    assert (type(ours[0]), ours[1]) == (type(drfs[0]), drfs[1])


def test_api_requests_pass_the_browser_middleware_by(api):
    """relay/middleware.py: no session, Django user or messages on /api/v1/ requests (the
    answer's headers are the same), while the admin site keeps its sessions and CSRF."""
    from django.test import Client

    response = api.get("/datasets")
    assert response.status_code == 200 and not response.cookies
    assert not any(hasattr(response.wsgi_request, name) for name in ("session", "_messages", "auser"))
    assert {"X-Frame-Options", "X-Content-Type-Options", "Referrer-Policy", "X-Request-ID"} <= set(response.headers)
    browser = Client(enforce_csrf_checks=True)
    login = browser.get("/admin/login/")
    assert login.status_code == 200 and "csrftoken" in login.cookies
    assert browser.post("/admin/login/", {"username": "x", "password": "y"}).status_code == 403  # no CSRF token
