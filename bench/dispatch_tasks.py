"""The bare task of bench/dispatch.py: it writes the time it started (the worker loads it
with `--include bench.dispatch_tasks`)."""

import time

from celery import shared_task


@shared_task(name="bench.stamp")
def stamp(key):
    from relay import kv

    kv.client().set(key, repr(time.time()), ex=60)
