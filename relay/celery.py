"""The Celery app. Queues: `default` (small tasks), `audio`, `training`, `inference`."""

import os

from celery import Celery, signals
from kombu import Exchange, Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "relay.settings")

app = Celery("relay")
app.config_from_object("django.conf:settings", namespace="CELERY")
QUEUES = ("default", "audio", "training", "inference")
app.conf.task_queues = [Queue(name, Exchange(name, type="direct"), routing_key=name) for name in QUEUES]
# Exact names first, then patterns: audio processing has a queue of its own so that a
# burst of uploads never waits behind a training job.
app.conf.task_routes = {
    "datasets.delete_storage_prefix": {"queue": "default"},
    "datasets.expire_uploads": {"queue": "default"},
    "datasets.requeue_stuck_audio": {"queue": "default"},
    "datasets.*": {"queue": "audio"},
    "annotations.*": {"queue": "default"},
    "training.requeue_stuck_jobs": {"queue": "default"},
    "training.*": {"queue": "training"},
    "inference.expire_uploads": {"queue": "default"},
    "inference.requeue_stuck": {"queue": "default"},
    "inference.*": {"queue": "inference"},
    "relay.*": {"queue": "default"},
}
app.conf.beat_schedule = {
    "expire-uploads": {"task": "datasets.expire_uploads", "schedule": 60.0},
    "requeue-stuck-audio": {"task": "datasets.requeue_stuck_audio", "schedule": 60.0},
    "requeue-stuck-training": {"task": "training.requeue_stuck_jobs", "schedule": 60.0},
    "expire-inference-uploads": {"task": "inference.expire_uploads", "schedule": 60.0},
    "requeue-stuck-inference": {"task": "inference.requeue_stuck", "schedule": 60.0},
    "purge-idempotency-records": {"task": "relay.purge_idempotency_records", "schedule": 3600.0},
}
app.autodiscover_tasks()


@signals.celeryd_init.connect
def remember_concurrency(sender=None, conf=None, options=None, **kwargs):
    """The pool's size, for relay.compute to give each process its share of the cores."""
    concurrency = (options or {}).get("concurrency") or os.cpu_count() or 1
    os.environ["RELAY_WORKER_CONCURRENCY_EFFECTIVE"] = str(concurrency)
