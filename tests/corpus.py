"""A generated corpus and a model trained on it through the real worker, once per test run.

Transactional tests empty the database after each test, but S3 keeps what the pipeline
stored (originals, canonical audio, features, the model artifact). So the session
fixtures remember the rows they made, and `corpus_for(api)` / `model_for(api)` put
equivalent rows back for each test's own tenant, pointing at the same objects.
"""

import time
from dataclasses import dataclass

from datasets.models import AudioFile
from training import demo_data
from training.models import Model

KINDS = ("glitch", "dropout", "long_pause", "hum", "clipping")
TRAIN_SEED = 11
FILES = 20
SECONDS = 60  # 20 minutes: above the 5-minute minimum, and enough for a useful model
EPOCHS = 20


@dataclass
class Corpus:
    audio_rows: list  # dicts of AudioFile fields
    events: dict  # audio id -> [(kind, start_ms, end_ms)]


@dataclass
class Trained:
    job: dict
    model: dict
    storage_key: str


def build_corpus(client, dataset_name="corpus"):
    files = list(demo_data.generate(TRAIN_SEED, FILES, SECONDS, kinds=KINDS))
    dataset, annotation_set, audio_ids = demo_data.load_into_relay(
        client, files, dataset_name, kinds=KINDS, log=lambda *_: None
    )
    rows = list(AudioFile.objects.filter(pk__in=audio_ids.values()).values())
    events = {audio_ids[f.filename]: f.events for f in files}
    return dataset, annotation_set, Corpus(rows, events)


def train(client, dataset, annotation_set, epochs=EPOCHS, timeout=900, **config):
    """Train through the API and wait until the job ends; `config` adds to the job's config."""
    job = client.post(
        "/training-jobs",
        {
            "dataset_id": dataset["id"],
            "annotation_set_id": annotation_set["id"],
            "name": "test model",
            "config": {"artifact_types": list(KINDS), "epochs": epochs, "validation_split": 0.25, "seed": 3, **config},
        },
    )
    deadline = time.monotonic() + timeout
    while job["status"] not in ("completed", "failed", "cancelled"):
        assert time.monotonic() < deadline, f"training did not finish in {timeout} s: {job}"
        time.sleep(1)
        job = client.get(f"/training-jobs/{job['id']}")
    return job


def all_events(client):
    """Every event of the client's tenant, through GET /events."""
    found, cursor = [], None
    while True:
        page = client.get("/events?limit=500" + (f"&after={cursor}" if cursor else ""))
        found += page["items"]
        cursor = page["next_cursor"]
        if not page["has_more"]:
            return found


def corpus_for(api, corpus, client):
    """The corpus as a published set of a new dataset of `api`'s tenant (no re-upload)."""
    dataset = client.post("/datasets", {"name": "corpus", "artifact_types": [{"name": k} for k in KINDS]})
    for row in corpus.audio_rows:
        AudioFile.objects.create(**{**row, "dataset_id": dataset["id"]})
    annotation_set = client.post(f"/datasets/{dataset['id']}/annotation-sets")
    path = f"/datasets/{dataset['id']}/annotation-sets/{annotation_set['id']}"
    items = [
        {"audio_file_id": str(audio_id), "artifact_type": kind, "start_ms": start, "end_ms": end}
        for audio_id, events in corpus.events.items()
        for kind, start, end in events
    ]
    client.post(f"{path}/annotations/bulk", {"annotations": items})
    return dataset, client.post(f"{path}/publish")


def model_for(api, trained):
    """A Model of `api`'s tenant backed by the artifact trained once for the session."""
    model = trained.model
    return Model.objects.create(
        tenant=api.tenant,
        name=model["name"],
        annotation_set_version=model["annotation_set_version"],
        artifact_types=model["artifact_types"],
        config=model["config"],
        metrics=model["metrics"],
        storage_key=trained.storage_key,
        size_bytes=model["size_bytes"],
    )
