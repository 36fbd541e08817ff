import pytest

from tests.helpers import make_audio


@pytest.fixture
def dataset(api):
    return api.post(
        "/datasets", {"name": "labels", "artifact_types": [{"name": "glitch"}, {"name": "dropout"}, {"name": "hum"}]}
    ).json()


@pytest.fixture
def audio(dataset):
    return make_audio(dataset["id"], "one.wav", 60_000)


@pytest.fixture
def audio2(dataset):
    return make_audio(dataset["id"], "two.wav", 30_000)


@pytest.fixture
def draft(api, dataset):
    response = api.post(f"/datasets/{dataset['id']}/annotation-sets")
    assert response.status_code == 201, response.json()
    return response.json()
