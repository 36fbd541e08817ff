"""The Celery app. Queues: `default` (small tasks), `audio`, `training`, `inference`,
`webhooks`. Each worker writes heartbeats to the fleet table (relay/fleet.py).

A kind of work's task goes to the queue its lifecycle names (the router `relay.work.route`,
set in settings); anything else goes to `default`. Beat runs the core's periodic tasks
(`relay/tasks.py`, scheduled in settings), which walk every registered kind of work.
"""

import os

from celery import Celery, signals
from kombu import Exchange, Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "relay.settings")

app = Celery("relay")
app.config_from_object("django.conf:settings", namespace="CELERY")
QUEUES = ("default", "audio", "training", "inference", "webhooks")
app.conf.task_queues = [Queue(name, Exchange(name, type="direct"), routing_key=name) for name in QUEUES]
app.autodiscover_tasks()


@signals.worker_ready.connect
def start_fleet_heartbeats(sender=None, **kwargs):
    from relay import fleet, metrics

    fleet.on_worker_ready(sender)
    metrics.serve_worker_metrics()


@signals.worker_process_init.connect
def share_the_cores(**kwargs):
    """Every pool process gets its share of torch threads before its first task: torch's
    default (a thread per core in every process) makes the processes' threads wait on each
    other, and turns a few milliseconds of small tensor work into tens."""
    from relay.compute import configure_torch

    configure_torch()


@signals.worker_process_shutdown.connect
def forget_pool_process_metrics(pid=None, **kwargs):
    from relay import metrics

    metrics.worker_process_exited(pid or os.getpid())


@signals.worker_shutdown.connect
def stop_fleet_heartbeats(sender=None, **kwargs):
    from relay import fleet

    fleet.on_worker_shutdown()


@signals.celeryd_init.connect
def remember_concurrency(sender=None, conf=None, options=None, **kwargs):
    """The pool's size, for relay.compute to give each process its share of the cores."""
    concurrency = (options or {}).get("concurrency") or os.cpu_count() or 1
    os.environ["RELAY_WORKER_CONCURRENCY_EFFECTIVE"] = str(concurrency)
