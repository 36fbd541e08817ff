import pytest

from datasets.models import ArtifactType, Dataset
from datasets.services import PALETTE
from tests.helpers import assert_422, assert_error

pytestmark = pytest.mark.django_db


def create(api, name="podcasts", types=("glitch",), **extra):
    response = api.post("/datasets", {"name": name, "artifact_types": [{"name": t} for t in types], **extra})
    assert response.status_code == 201, response.json()
    return response.json()


def test_create_returns_the_contract_shape(api):
    body = create(api, description="episodes", types=("glitch", "dropout"))
    assert set(body) >= {
        "id",
        "tenant_id",
        "name",
        "description",
        "artifact_types",
        "audio_count",
        "total_duration_ms",
        "created_at",
        "updated_at",
    }
    assert body["tenant_id"] == str(api.tenant.id)
    assert body["audio_count"] == 0 and body["total_duration_ms"] == 0
    assert [t["name"] for t in body["artifact_types"]] == ["glitch", "dropout"]
    assert [t["color"] for t in body["artifact_types"]] == list(PALETTE[:2])
    assert body["created_at"].endswith("Z")
    assert api.get(f"/datasets/{body['id']}").json() == body


def test_color_and_description_of_types(api):
    response = api.post(
        "/datasets", {"name": "x", "artifact_types": [{"name": "hum", "description": "50 Hz", "color": "#00ff00"}]}
    )
    assert response.json()["artifact_types"][0] | {"id": None} == {
        "id": None,
        "name": "hum",
        "description": "50 Hz",
        "color": "#00FF00",
    }


@pytest.mark.parametrize(
    "body, loc",
    [
        ({"name": "", "artifact_types": [{"name": "a"}]}, ["body", "name"]),
        ({"name": "x" * 201, "artifact_types": [{"name": "a"}]}, ["body", "name"]),
        ({"name": "x", "artifact_types": []}, ["body", "artifact_types"]),
        ({"name": "x", "artifact_types": "glitch"}, ["body", "artifact_types"]),
        ({"name": "x", "artifact_types": [{"name": "a" * 101}]}, ["body", "artifact_types", 0, "name"]),
        ({"name": "x", "artifact_types": [{}]}, ["body", "artifact_types", 0, "name"]),
        ({"name": "x", "artifact_types": [{"name": "a", "color": "#12345"}]}, ["body", "artifact_types", 0, "color"]),
        ({"name": "x", "description": 3, "artifact_types": [{"name": "a"}]}, ["body", "description"]),
        ({"name": None, "artifact_types": [{"name": "a"}]}, ["body", "name"]),
    ],
)
def test_create_validation(api, body, loc):
    assert_422(api.post("/datasets", body), loc)
    assert Dataset.objects.count() == 0


def test_duplicate_type_names_are_422(api):
    body = {"name": "x", "artifact_types": [{"name": "glitch"}, {"name": "hum"}, {"name": "Glitch"}]}
    items = assert_422(api.post("/datasets", body), ["body", "artifact_types", 2, "name"])
    assert "duplicate" in items[0]["msg"]


def test_list_filters_and_ordering(api):
    create(api, "Beta podcasts")
    create(api, "alpha music")
    create(api, "gamma podcasts")
    names = lambda params: [d["name"] for d in api.get("/datasets", params).json()["items"]]  # noqa: E731
    assert names({}) == ["gamma podcasts", "alpha music", "Beta podcasts"]  # newest first
    assert names({"ordering": "name"}) == ["alpha music", "Beta podcasts", "gamma podcasts"]
    assert names({"ordering": "-name"}) == ["gamma podcasts", "Beta podcasts", "alpha music"]
    assert names({"name": "PODCAST", "ordering": "created_at"}) == ["Beta podcasts", "gamma podcasts"]


def test_patch_name_and_description(api):
    dataset = create(api)
    response = api.patch(f"/datasets/{dataset['id']}", {"name": "renamed", "description": "new"})
    assert response.status_code == 200
    assert response.json()["name"] == "renamed" and response.json()["description"] == "new"
    assert response.json()["artifact_types"] == dataset["artifact_types"]


def test_patch_replaces_artifact_types_by_name(api):
    dataset = create(api, types=("glitch", "hum"))
    glitch_id = dataset["artifact_types"][0]["id"]
    response = api.patch(
        f"/datasets/{dataset['id']}", {"artifact_types": [{"name": "Glitch", "color": "#0000FF"}, {"name": "dropout"}]}
    )
    assert response.status_code == 200, response.json()
    types = {t["name"]: t for t in response.json()["artifact_types"]}
    assert set(types) == {"Glitch", "dropout"}
    assert types["Glitch"]["id"] == glitch_id and types["Glitch"]["color"] == "#0000FF"


def test_patch_validation_and_duplicates(api):
    dataset = create(api)
    assert_422(api.patch(f"/datasets/{dataset['id']}", {"name": 5}), ["body", "name"])
    assert_422(
        api.patch(f"/datasets/{dataset['id']}", {"artifact_types": [{"name": "a"}, {"name": "a"}]}),
        ["body", "artifact_types", 1, "name"],
    )
    assert_422(api.patch(f"/datasets/{dataset['id']}", {"artifact_types": []}), ["body", "artifact_types"])
    assert api.get(f"/datasets/{dataset['id']}").json() == dataset


def test_other_tenant_gets_404_everywhere(api, other_api):
    dataset = create(api)
    path = f"/datasets/{dataset['id']}"
    assert_error(other_api.get(path), 404, "dataset not found")
    assert_error(other_api.patch(path, {"name": "stolen"}), 404)
    assert_error(other_api.delete(path), 404)
    assert api.get(path).json()["name"] == "podcasts"


def test_unknown_id_is_404(api):
    assert_error(api.get("/datasets/00000000-0000-0000-0000-000000000000"), 404, "dataset not found")


def test_delete(api):
    dataset = create(api, types=("a", "b"))
    assert api.delete(f"/datasets/{dataset['id']}").status_code == 204
    assert_error(api.get(f"/datasets/{dataset['id']}"), 404)
    assert ArtifactType.objects.count() == 0


def test_types_without_a_colour_get_distinct_palette_colours_skipping_those_used(api):
    types = [{"name": "a"}, {"name": "b", "color": PALETTE[1].lower()}, {"name": "c"}, {"name": "d"}]
    body = api.post("/datasets", {"name": "x", "artifact_types": types}).json()
    colors = [t["color"] for t in body["artifact_types"]]
    assert colors == [PALETTE[0], PALETTE[1], PALETTE[2], PALETTE[3]]
    many = api.post("/datasets", {"name": "y", "artifact_types": [{"name": f"t{i}"} for i in range(12)]}).json()
    colors = [t["color"] for t in many["artifact_types"]]
    assert colors[:10] == list(PALETTE) and len(set(colors)) == 10
    assert colors[10:] == list(PALETTE[:2])  # then around again


def test_patch_keeps_each_types_colour_and_description_unless_given(api):
    dataset = api.post(
        "/datasets",
        {
            "name": "x",
            "artifact_types": [{"name": "glitch", "color": "#123456", "description": "clicks"}, {"name": "dropout"}],
        },
    ).json()
    before = {t["name"]: t for t in dataset["artifact_types"]}
    response = api.patch(
        f"/datasets/{dataset['id']}",
        {"artifact_types": [{"name": "glitch"}, {"name": "dropout", "description": "gaps"}, {"name": "hum"}]},
    )
    assert response.status_code == 200, response.json()
    after = {t["name"]: t for t in response.json()["artifact_types"]}
    assert after["glitch"] == before["glitch"]
    assert after["dropout"] == before["dropout"] | {"description": "gaps"}
    # the new type takes the first palette colour not used in the dataset
    assert after["hum"]["color"] == next(c for c in PALETTE if c not in {"#123456", before["dropout"]["color"]})
    assert after["hum"]["description"] == ""
    recolored = api.patch(f"/datasets/{dataset['id']}", {"artifact_types": [{"name": "glitch", "color": "#00ff00"}]})
    assert [(t["name"], t["color"]) for t in recolored.json()["artifact_types"]] == [("glitch", "#00FF00")]
