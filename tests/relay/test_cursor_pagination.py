"""Keyset (cursor) pagination next to page/page_size, and a `total` that stays cheap."""

import datetime

import pytest
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from datasets.models import Dataset
from tests.helpers import assert_422
from tests.schema_check import _schema

pytestmark = pytest.mark.django_db


def make_datasets(api, count, prefix="d"):
    return [Dataset.objects.create(tenant=api.tenant, name=f"{prefix}{i}").pk for i in range(count)]


def walk(api, params, between_pages=None):
    """Every item of the list through `next_cursor`, page after page."""
    seen, cursor, pages = [], "", 0
    while True:
        body = api.get("/datasets", {**params, "cursor": cursor}).json()
        assert "page" not in body and body["total_is_estimate"] is False
        seen += [item["id"] for item in body["items"]]
        pages += 1
        if not body["has_more"]:
            assert body["next_cursor"] is None
            return seen, pages
        cursor = body["next_cursor"]
        assert cursor
        if between_pages:
            between_pages()


@pytest.mark.parametrize("ordering", [None, "created_at", "-updated_at"])
def test_walk_returns_every_row_once_while_rows_are_inserted(api, other_api, ordering):
    original = {str(pk) for pk in make_datasets(api, 23)}
    # ties on the ordering key are broken by id
    Dataset.objects.filter(pk__in=list(original)[:8]).update(
        created_at=timezone.now() - datetime.timedelta(hours=1), updated_at=timezone.now()
    )
    make_datasets(other_api, 3, "theirs")
    inserted = []
    params = {"page_size": 4, **({"ordering": ordering} if ordering else {})}
    seen, pages = walk(api, params, between_pages=lambda: inserted.extend(make_datasets(api, 2, "new")))
    assert len(seen) == len(set(seen)), "a row came twice"
    assert original <= set(seen), "a row was skipped"
    assert set(seen) <= original | {str(pk) for pk in inserted}
    assert pages >= 6


def test_cursor_follows_the_page_mode_order(api):
    make_datasets(api, 7)
    by_page = [
        item["id"]
        for page in (1, 2, 3)
        for item in api.get("/datasets", {"page_size": 3, "page": page}).json()["items"]
    ]
    first = api.get("/datasets", {"page_size": 3}).json()
    assert first["page"] == 1 and first["next_cursor"]
    second = api.get("/datasets", {"page_size": 3, "cursor": first["next_cursor"]}).json()
    third = api.get("/datasets", {"page_size": 3, "cursor": second["next_cursor"]}).json()
    assert [i["id"] for i in first["items"] + second["items"] + third["items"]] == by_page
    assert third["has_more"] is False and third["next_cursor"] is None and second["total"] == 7


@pytest.mark.parametrize("cursor", ["nonsense", "eyJvIjpbXX0:1abc:xyz", "a" * 300])
def test_bad_cursor_is_422(api, cursor):
    make_datasets(api, 2)
    items = assert_422(api.get("/datasets", {"cursor": cursor}), ["query", "cursor"])
    assert items[0]["type"] == "value_error.cursor"


def test_cursor_is_tied_to_its_ordering(api):
    make_datasets(api, 3)
    cursor = api.get("/datasets", {"page_size": 1}).json()["next_cursor"]
    assert_422(api.get("/datasets", {"page_size": 1, "cursor": cursor, "ordering": "created_at"}), ["query", "cursor"])


def test_tampered_cursor_is_422(api):
    make_datasets(api, 3)
    cursor = api.get("/datasets", {"page_size": 1}).json()["next_cursor"]
    tampered = cursor[:-2] + ("AA" if cursor[-2:] != "AA" else "BB")
    assert_422(api.get("/datasets", {"cursor": tampered}), ["query", "cursor"])


def test_unsupported_ordering_and_page_with_cursor_are_422(api):
    make_datasets(api, 3)
    body = api.get("/datasets", {"ordering": "name", "page_size": 1}).json()
    assert body["has_more"] is True and body["next_cursor"] is None  # case-insensitive: pages only
    items = assert_422(api.get("/datasets", {"ordering": "name", "cursor": ""}), ["query", "cursor"])
    assert items[0]["type"] == "value_error.cursor_ordering"
    assert_422(api.get("/datasets", {"page": 1, "cursor": ""}), ["query", "cursor"])


def test_total_is_an_estimate_above_the_exact_limit(api):
    make_datasets(api, 6)
    with override_settings(RELAY_EXACT_COUNT_LIMIT=4):
        body = api.get("/datasets", {"page_size": 2}).json()
        assert body["total_is_estimate"] is True and body["total"] >= 5 and body["has_more"] is True
    body = api.get("/datasets", {"page_size": 2}).json()
    assert body["total_is_estimate"] is False and body["total"] == 6


def test_planner_estimate_is_read(api):
    from relay.api.pagination import planner_estimate

    make_datasets(api, 3)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE datasets_dataset")
    assert planner_estimate(Dataset.objects.filter(tenant=api.tenant)) >= 1


def test_schema_documents_cursor_pagination(api):
    schema = _schema()
    operation = schema["paths"]["/api/v1/datasets"]["get"]
    assert "cursor" in {p["name"] for p in operation["parameters"]}
    page = operation["responses"]["200"]["content"]["application/json"]["schema"]
    if "$ref" in page:
        page = schema["components"]["schemas"][page["$ref"].rsplit("/", 1)[1]]
    assert {"next_cursor", "total_is_estimate"} <= set(page["required"])
    assert "422" in operation["responses"]


def test_a_page_beyond_64_bits_is_an_empty_page(api):
    """The JSON renderer (orjson) cannot write integers beyond 64 bits; such answers are
    written by the standard library instead (found by schemathesis)."""
    page = 447712535508400446235274641408
    response = api.get("/datasets", {"page": page, "page_size": 100})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["page"] == page and body["items"] == [] and body["has_more"] is False
