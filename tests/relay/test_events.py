"""The event outbox and GET /events: written with each change, read in order with a cursor
that neither skips nor repeats, even while other transactions write."""

import random
import threading
import time
import uuid

import pytest
from django.db import connection, transaction

from datasets.models import AudioFile, AudioStatus
from relay import events, services, work
from relay.models import Event
from tests import audio_factory as af
from tests.helpers import Api, assert_422

# Events become readable once their transaction and every older one are over: these tests
# commit (a test wrapped in one transaction would never see its own events).
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def dataset(api):
    return api.post("/datasets", {"name": "events", "artifact_types": [{"name": "glitch"}]}).json()["id"]


def all_events(api, **params):
    found, cursor = [], None
    while True:
        page = api.get("/events", {**params, **({"after": cursor} if cursor else {}), "limit": 3}).json()
        found += page["items"]
        cursor = page["next_cursor"]
        if not page["has_more"]:
            return found


def test_creating_an_upload_writes_created_and_pending(api, dataset):
    ticket = af.upload_url(api, dataset, af.wav(duration_s=1), filename="a.wav")
    found = all_events(api)
    assert [(e["type"], e["object_id"]) for e in found] == [
        ("audio_file.created", ticket["audio_id"]),
        ("audio_file.pending", ticket["audio_id"]),
    ]
    created = found[0]
    assert created["parent_id"] == dataset
    assert created["data"] == {"status": "pending", "dataset_id": dataset, "filename": "a.wav", "duration_ms": None}
    assert created["cursor"] == f"{Event.objects.get(pk=created['id']).txid}-{created['id']}"


def test_a_failure_carries_its_reason_and_each_change_is_written_once(api, dataset):
    ticket = af.upload_url(api, dataset, af.wav(duration_s=1), filename="a.wav")
    audio_id = uuid.UUID(ticket["audio_id"])
    assert work.fail(AudioFile, audio_id, "the file is not audio")
    assert not work.fail(AudioFile, audio_id, "again")  # no change, no event
    types = [e["type"] for e in all_events(api)]
    assert types == ["audio_file.created", "audio_file.pending", "audio_file.failed"]
    failed = all_events(api, type="audio_file.failed")
    assert [e["data"]["error_message"] for e in failed] == ["the file is not audio"]


def test_filters_by_type_and_object(api, dataset):
    first = af.upload_url(api, dataset, af.wav(duration_s=1), filename="a.wav")["audio_id"]
    second = af.upload_url(api, dataset, af.wav(duration_s=1), filename="b.wav")["audio_id"]
    assert [e["object_id"] for e in all_events(api, type="audio_file.created")] == [first, second]
    assert {e["object_id"] for e in all_events(api, object_id=second)} == {second}
    both = api.get("/events", {"object_id": [first, second], "type": ["audio_file.pending"]}).json()["items"]
    assert [e["object_id"] for e in both] == [first, second]


def test_next_cursor_waits_at_the_end(api, dataset):
    af.upload_url(api, dataset, af.wav(duration_s=1), filename="a.wav")
    page = api.get("/events").json()
    assert len(page["items"]) == 2 and not page["has_more"]
    empty = api.get("/events", {"after": page["next_cursor"]}).json()
    assert empty == {"items": [], "next_cursor": page["next_cursor"], "has_more": False}
    af.upload_url(api, dataset, af.wav(duration_s=1), filename="b.wav")
    later = api.get("/events", {"after": page["next_cursor"]}).json()["items"]
    assert [e["data"]["filename"] for e in later] == ["b.wav", "b.wav"]


def test_other_tenants_and_unreadable_kinds_are_invisible(api, other_api, dataset):
    af.upload_url(api, dataset, af.wav(duration_s=1), filename="a.wav")
    assert other_api.get("/events").json()["items"] == []
    # A key of the same tenant without datasets:read does not see audio files.
    _, raw = services.create_api_key(tenant=api.tenant, name="t", scopes=["training:read"])
    assert Api(raw).get("/events").json()["items"] == []
    assert len(api.get("/events").json()["items"]) == 2


@pytest.mark.parametrize(
    "params, loc",
    [
        ({"after": "x"}, ["after"]),
        ({"after": "1-"}, ["after"]),
        ({"type": "audio_file.exploded"}, ["type", 0]),
        ({"object_id": "nope"}, ["object_id", 0]),
        ({"limit": "0"}, ["limit"]),
        ({"limit": "501"}, ["limit"]),
    ],
)
def test_bad_query_is_422(api, params, loc):
    assert_422(api.get("/events", params), ["query", *loc])


def test_prune_keeps_recent_events(api, dataset, settings):
    af.upload_url(api, dataset, af.wav(duration_s=1), filename="a.wav")
    Event.objects.update(created_at=Event.objects.first().created_at.replace(year=2000))
    af.upload_url(api, dataset, af.wav(duration_s=1), filename="b.wav")
    assert events.prune() == 2
    assert [e["data"]["filename"] for e in all_events(api)] == ["b.wav", "b.wav"]


@pytest.mark.django_db(transaction=True)
def test_the_cursor_never_skips_or_repeats_under_concurrent_writers(api, dataset):
    """Writers hold their transactions open for random times, so they commit out of the
    order they started (and of their ids); a reader paging all along sees every event once."""
    audio_ids = [
        uuid.UUID(af.upload_url(api, dataset, af.wav(duration_s=1), filename=f"{i}.wav")["audio_id"]) for i in range(4)
    ]
    tenant_id = api.tenant.pk
    written = []
    lock = threading.Lock()
    stop = threading.Event()

    def writer(seed):
        rng = random.Random(seed)
        try:
            for n in range(15):
                with transaction.atomic():
                    object_id = rng.choice(audio_ids)
                    events.record(tenant_id, "datasets", [events.New("audio_file.embedding", object_id, data={"n": n})])
                    time.sleep(rng.uniform(0, 0.03))
                with lock:
                    written.append((seed, n))
        finally:
            connection.close()

    seen = []

    def reader():
        cursor = None
        try:
            while True:
                params = {"type": "audio_file.embedding", "limit": 7, **({"after": cursor} if cursor else {})}
                response = api.get("/events", params)
                assert response.status_code == 200, response.content
                page = response.json()
                seen.extend(page["items"])
                cursor = page["next_cursor"]
                if stop.is_set() and not page["has_more"]:
                    if not page["items"]:
                        return
                time.sleep(0.005)
        finally:
            connection.close()

    threads = [threading.Thread(target=writer, args=(seed,)) for seed in range(4)]
    read = threading.Thread(target=reader)
    read.start()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stop.set()
    read.join(timeout=60)
    ids = [e["id"] for e in seen]
    assert len(ids) == len(set(ids)) == len(written) == 60
    assert AudioFile.objects.filter(status=AudioStatus.PENDING).count() == 4
