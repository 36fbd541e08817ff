"""The Celery app. Queues: `default` (small tasks), `audio`, `training`, `inference`."""

import os

from celery import Celery
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
    "training.*": {"queue": "training"},
    "inference.*": {"queue": "inference"},
    "relay.*": {"queue": "default"},
}
app.conf.beat_schedule = {
    "expire-uploads": {"task": "datasets.expire_uploads", "schedule": 60.0},
    "requeue-stuck-audio": {"task": "datasets.requeue_stuck_audio", "schedule": 60.0},
}
app.autodiscover_tasks()
