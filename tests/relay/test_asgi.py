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
