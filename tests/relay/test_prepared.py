"""relay/prepared.py: SQL compiled once and run with other values; the annotation list's
unfiltered pages use it (the page's SQL is not compiled again)."""

import uuid

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db.models import F

from annotations import selectors
from annotations.models import Annotation
from relay.prepared import Lazy, Template
from tests.helpers import make_audio

pytestmark = pytest.mark.django_db


def annotations_of_set(*, set_id):
    return Annotation.objects.filter(annotation_set_id=set_id).order_by("start_ms").values("id", "start_ms")


@pytest.fixture
def two_sets(api, other_api):
    sets = []
    for owner in (api, other_api):
        dataset = owner.post("/datasets", {"name": "d", "artifact_types": [{"name": "glitch"}]}).json()
        audio = make_audio(dataset["id"], "a.wav", 60_000)
        draft = owner.post(f"/datasets/{dataset['id']}/annotation-sets").json()
        items = [
            {"audio_file_id": str(audio.pk), "artifact_type": "glitch", "start_ms": i * 10, "end_ms": i * 10 + 5}
            for i in range(7)
        ]
        path = f"/datasets/{dataset['id']}/annotation-sets/{draft['id']}/annotations"
        assert owner.post(f"{path}/bulk", {"annotations": items}).status_code == 201
        sets.append((owner, dataset, draft, path))
    return sets


def test_a_template_runs_its_sql_with_each_calls_values(two_sets):
    template = Template(annotations_of_set)
    for _, _, draft, _ in two_sets:
        set_id = uuid.UUID(draft["id"])
        for limit, offset in ((3, 0), (3, 5), (10, 0)):
            expected = list(annotations_of_set(set_id=set_id)[offset : offset + limit])
            columns = template.columns({"set_id": set_id})
            rows = template.rows({"set_id": set_id}, limit=limit, offset=offset)
            assert [dict(zip(columns, row, strict=True)) for row in rows] == expected
    assert template.rows({"set_id": uuid.uuid4()}, limit=5) == []
    with pytest.raises(TypeError):
        template.rows({"set_id": draft["id"]}, limit=5)  # a string, not a UUID


def test_a_query_it_cannot_run_faithfully_is_refused():
    def value_not_a_parameter(*, set_id):
        return Annotation.objects.filter(annotation_set_id=set_id).values("id").filter(id=F("id"))[:1]

    def converted_rows(*, set_id):
        return Annotation.objects.filter(annotation_set_id=set_id).values("extra_data", "id")  # JSON, decoded by Django

    def by_name(*, name):
        return Annotation.objects.filter(artifact_type__name=str(name).upper()).values("id")

    for build, name in ((value_not_a_parameter, "set_id"), (converted_rows, "set_id"), (by_name, "name")):
        with pytest.raises(ImproperlyConfigured):
            Template(build).rows({name: uuid.uuid4()}, limit=1)


def test_a_lazy_queryset_is_built_when_used():
    built = []

    def build(**values):
        built.append(values)
        return Annotation.objects.none()

    lazy = Lazy(build, set_id=1)
    assert built == []
    assert lazy.queryset is lazy.queryset and built == [{"set_id": 1}]


def test_unfiltered_annotation_pages_compile_no_sql(two_sets, monkeypatch, django_assert_num_queries):
    """After the first, a page costs the key lookup and the page's query, none of them compiled
    by the ORM; filtered pages, cursors and counts still are, and each tenant sees its own."""
    from django.db.models.sql.compiler import SQLCompiler

    (owner, _, _, path), (other, _, _, other_path) = two_sets
    compiled = []
    as_sql = SQLCompiler.as_sql
    monkeypatch.setattr(SQLCompiler, "as_sql", lambda self, *a, **k: compiled.append(1) or as_sql(self, *a, **k))
    owner.get(path)  # warm: the page's SQL, the key's last_used_at
    compiled.clear()
    with django_assert_num_queries(2):  # the key, the page (the last one: no count)
        whole = owner.get(path, {"page_size": 10}).json()
    assert compiled == []
    assert [i["start_ms"] for i in whole["items"]] == [0, 10, 20, 30, 40, 50, 60] and whole["total"] == 7
    first = owner.get(path, {"page_size": 3}).json()
    assert [i["start_ms"] for i in first["items"]] == [0, 10, 20] and first["has_more"] and first["total"] == 7
    assert compiled != []  # the count of a page that is not the last
    generic = owner.get(path, {"page_size": 3, "artifact_type": "glitch"}).json()  # a filter: the ORM's queryset
    assert generic == first  # the same page, and the same cursor (made from the last document)
    last = owner.get(path, {"page_size": 3, "page": 3}).json()
    assert [i["start_ms"] for i in last["items"]] == [60] and last["total"] == 7 and not last["has_more"]
    filtered = owner.get(path, {"ordering": "-start_ms", "page_size": 2}).json()
    assert [i["start_ms"] for i in filtered["items"]] == [60, 50]
    by_cursor = owner.get(path, {"cursor": first["next_cursor"], "page_size": 3}).json()
    assert [i["start_ms"] for i in by_cursor["items"]] == [30, 40, 50]
    theirs = other.get(other_path).json()["items"]
    assert len(theirs) == 7 and not {i["id"] for i in theirs} & {i["id"] for i in first["items"]}
    assert owner.get(other_path).status_code == 404  # another tenant's set: nothing found, then the 404
    assert selectors.annotation_list  # the selector the view uses


def test_the_key_lookup_and_the_page_are_prepared_on_the_connection(two_sets):
    """relay.postgresql's prepared_cursor: PostgreSQL plans them once per connection."""
    from django.db import connection

    (owner, _, _, path), _ = two_sets
    for _ in range(2):
        assert owner.get(path).status_code == 200
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        statements = [row[0] for row in cursor.fetchall()]
    assert sum('FROM "relay_apikey"' in s and "$1" in s for s in statements) == 1
    assert sum("row_to_json" in s and "LIMIT $" in s for s in statements) == 1
