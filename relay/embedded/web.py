"""The command that serves the web app: one place for `make run` and the benchmarks.

uvicorn (ASGI) worker processes, RELAY_WEB_WORKERS of them (default: one per core), with
HTTP keep-alive. Each process runs API requests on RELAY_WEB_THREADS threads and event
streams on its event loop (relay/asgi.py), so an open stream holds a connection but no
thread.
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
