"""The command that serves the web app: one place for `make run` and the benchmarks.

uvicorn (ASGI) worker processes, RELAY_WEB_WORKERS of them (default: one per core), with
HTTP keep-alive. Django runs each request's sync views on a thread of its own, so a
worker serves many requests at once, and an event stream (an async view) holds a
connection without holding a thread.
"""

import os
import sys
from pathlib import Path


def default_workers():
    return int(os.environ.get("RELAY_WEB_WORKERS") or os.cpu_count() or 1)


def command(host, port, workers=None):
    uvicorn = Path(sys.executable).parent / "uvicorn"
    return [
        str(uvicorn), "relay.asgi:application", "--host", host, "--port", str(port),
        "--workers", str(workers or default_workers()), "--loop", "uvloop", "--http", "httptools", "--lifespan", "off",
        "--no-access-log", "--timeout-keep-alive", "30", "--timeout-graceful-shutdown", "10",
    ]  # fmt: skip
