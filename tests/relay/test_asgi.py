"""relay/asgi.py: event streams go to Django's ASGI handler (no thread held while open),
everything else to the fixed pool of threads (the streams themselves are tested through
the real web server in test_event_streams.py)."""

import uuid

import pytest

from relay import asgi


@pytest.mark.parametrize(
    "path, streams",
    [
        ("/api/v1/events/stream", True),
        (f"/api/v1/training-jobs/{uuid.uuid4()}/events", True),
        (f"/api/v1/inference-jobs/{uuid.uuid4()}/events", True),
        ("/api/v1/events", False),
        ("/api/v1/datasets", False),
        ("/admin/", False),
        ("/no/such/page", False),
    ],
)
def test_only_event_streams_run_on_the_event_loop(path, streams):
    assert asgi.streams(path) is streams


def test_api_requests_run_on_a_bounded_pool_of_threads(settings):
    assert asgi.threaded.executor._max_workers == settings.RELAY_WEB_THREADS


def test_the_web_command_serves_from_several_processes_and_stops_them_all(tmp_path):
    """`python -m relay.embedded.web --workers 2`: two serving processes on one port (each with
    its own SO_REUSEPORT socket); SIGTERM to the parent ends both."""
    import subprocess
    import urllib.request
    from pathlib import Path

    from relay.embedded import web
    from relay.embedded.servers import free_ports, wait_for
    from tests.helpers import worker_env

    (port,) = free_ports(1)
    log_path = tmp_path / "web.log"
    with open(log_path, "wb") as log:
        parent = subprocess.Popen(
            web.command("127.0.0.1", port, workers=2),
            cwd=Path(__file__).parents[2],
            env=worker_env(),
            stdout=log,
            stderr=log,
        )
    try:
        url = f"http://127.0.0.1:{port}/api/v1/health"
        wait_for(lambda: urllib.request.urlopen(url, timeout=1).status == 200, 60, "web", log_path)
        children = [int(pid) for pid in Path(f"/proc/{parent.pid}/task/{parent.pid}/children").read_text().split()]
        assert len(children) == 2
        assert all(urllib.request.urlopen(url, timeout=5).status == 200 for _ in range(20))
    finally:
        parent.terminate()
        assert parent.wait(30) == 0, log_path.read_text()[-2000:]
    assert not any(Path(f"/proc/{pid}").exists() for pid in children)
