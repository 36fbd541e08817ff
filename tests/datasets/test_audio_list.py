"""The audio list presigns a download URL per row only when asked; the detail always does."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from datasets.models import AudioFile, AudioStatus
from datasets.services import _new_audio
from tests.helpers import assert_422

pytestmark = pytest.mark.django_db


@pytest.fixture
def dataset(api):
    return api.post("/datasets", {"name": "list", "artifact_types": [{"name": "glitch"}]}).json()["id"]


def add_audio(dataset_id, count, confirmed=True):
    from datasets.models import Dataset

    dataset = Dataset.objects.get(pk=dataset_id)
    files = [
        _new_audio(dataset=dataset, filename=f"f{i}.wav", content_type="audio/wav", file_size=100 + i, expires_in=3600)
        for i in range(count)
    ]
    for audio in files:
        if confirmed:
            audio.status, audio.confirmed_at = AudioStatus.READY, timezone.now()
    AudioFile.objects.bulk_create(files)
    return [str(a.pk) for a in files]


def test_list_has_no_download_urls_unless_asked(api, dataset):
    ids = add_audio(dataset, 3)
    add_audio(dataset, 1, confirmed=False)
    plain = api.get(f"/datasets/{dataset}/audio").json()
    assert plain["total"] == 4
    assert all(item["download_url"] is None and item["download_expires_at"] is None for item in plain["items"])
    asked = api.get(f"/datasets/{dataset}/audio", {"include": "download_url"}).json()
    urls = {item["id"]: item["download_url"] for item in asked["items"]}
    assert all(urls[pk].startswith("http") for pk in ids)
    assert sum(url is None for url in urls.values()) == 1  # the unconfirmed file has none
    assert all(item["download_expires_at"] for item in asked["items"] if item["id"] in ids)
    detail = api.get(f"/datasets/{dataset}/audio/{ids[0]}").json()
    assert detail["download_url"].startswith("http") and detail["download_expires_at"]


def test_unknown_include_is_422(api, dataset):
    items = assert_422(
        api.get(f"/datasets/{dataset}/audio", {"include": "download_url,waveform"}), ["query", "include"]
    )
    assert "waveform" in items[0]["msg"]


def test_audio_list_walks_by_cursor(api, dataset):
    ids = set(add_audio(dataset, 9))
    seen, cursor = [], ""
    while cursor is not None:
        body = api.get(f"/datasets/{dataset}/audio", {"page_size": 4, "cursor": cursor}).json()
        seen += [item["id"] for item in body["items"]]
        cursor = body["next_cursor"]
    assert sorted(seen) == sorted(ids)


def test_list_query_count_does_not_grow_with_rows(api, dataset):
    add_audio(dataset, 2)
    with CaptureQueriesContext(connection) as few:
        api.get(f"/datasets/{dataset}/audio")
    add_audio(dataset, 30)
    with CaptureQueriesContext(connection) as many:
        api.get(f"/datasets/{dataset}/audio")
    assert len(many) == len(few)
