"""What the benchmarks share: a throwaway stack, Django, an API client, a real worker.

The API is called through Django's full stack in-process (no HTTP server to time), while
uploads go to S3 over HTTP with presigned POSTs and slow work runs in real `celery
worker` processes, as in production.
"""

import json
import os
import sys
import time
from contextlib import contextmanager
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

from relay.embedded.throwaway import ThrowawayStack  # noqa: E402


@contextmanager
def stack():
    """Servers, settings, migrated database; yields nothing, cleans everything up."""
    throwaway = ThrowawayStack(prefix="relay-bench-").start()
    try:
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "relay.settings")
        os.environ.setdefault("LOG_LEVEL", "WARNING")
        os.environ["ALLOWED_HOSTS"] = "testserver,127.0.0.1,localhost"
        import django

        django.setup()
        from django.core.management import call_command

        from relay import storage

        call_command("migrate", verbosity=0)
        storage.ensure_bucket()
        yield
    finally:
        throwaway.stop()


class Api:
    def __init__(self, tenant_name="bench"):
        import uuid

        from django.test import Client

        from relay import services

        _, _, self.key = services.create_tenant(name=f"{tenant_name}-{uuid.uuid4().hex[:6]}")
        self.client = Client(HTTP_X_API_KEY=self.key)

    def _check(self, response, expected):
        if response.status_code not in expected:
            raise RuntimeError(f"{response.status_code}: {response.content[:500]!r}")
        return response.json() if response["Content-Type"].startswith("application/json") else response

    def get(self, path, params=None, expected=(200,)):
        return self._check(self.client.get(f"/api/v1{path}", params or {}), expected)

    def post(self, path, body=None, expected=(200, 201, 202)):
        return self._check(
            self.client.post(f"/api/v1{path}", json.dumps(body or {}), content_type="application/json"), expected
        )

    def upload(self, upload_url, fields, data):
        from training.demo_data import post_upload

        post_upload(upload_url, fields, data)

    def wait(self, path, done, timeout=3600, interval=0.5):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            body = self.get(path)
            if done(body):
                return body
            time.sleep(interval)
        raise TimeoutError(f"{path} did not finish in {timeout} s")


@contextmanager
def worker(queues="default,audio,training,inference,webhooks", concurrency=2, log_path=None):
    """A real `celery worker` process on the benchmark's stack; yields its Popen."""
    from relay.celery import app
    from relay.embedded.servers import CeleryWorker

    process = CeleryWorker(os.environ, log_path or os.devnull, queues=queues, concurrency=concurrency, name="bench")
    try:
        yield process.start(app)
    finally:
        process.stop()


def peak_rss_mb(pid):
    """The highest resident memory any process of the tree reached (VmHWM), MB."""
    peak = 0
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(p) for p in children.read_text().split()]
    for each in pids:
        try:
            for line in Path(f"/proc/{each}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak = max(peak, int(line.split()[1]))
        except OSError:
            pass
    return peak / 1024


@contextmanager
def web_server():
    """The web app served as `make run` serves it (relay/embedded/web.py), on a free
    loopback port; yields its base URL."""
    import subprocess
    import urllib.request

    from relay.embedded import web
    from relay.embedded.servers import free_ports, wait_for

    (port,) = free_ports(1)
    process = subprocess.Popen(web.command("127.0.0.1", port), cwd=BASE_DIR, env=dict(os.environ))
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: urllib.request.urlopen(f"{url}/api/v1/health", timeout=1).status == 200, 60, "the web server")
        yield url
    finally:
        process.terminate()
        process.wait(30)


# --- results for bench/run_all.py ---------------------------------------------------------

REPORT_PREFIX = "RELAY-BENCH "


def figure(name, measured, value=None, goal="", met=None):
    """One measured figure: `measured` is human text with units, `value` the number behind it
    (or None), `met` whether `goal` was reached (None when there is no goal)."""
    return {"figure": name, "goal": goal, "measured": measured, "value": value, "met": met}


def report(benchmark, figures):
    """Print the benchmark's figures as one `RELAY-BENCH <json>` line for bench/run_all.py."""
    line = json.dumps({"benchmark": benchmark, "figures": figures}, default=float)
    print(REPORT_PREFIX + line, flush=True)
