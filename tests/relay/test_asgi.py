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


def _serve(app, method="GET", body_parts=(b"",)):
    """Run one request through ThreadedWSGI(app): (the messages sent, the threads the
    application ran on)."""
    import asyncio

    from relay.threaded import ThreadedWSGI

    sent = []
    parts = list(body_parts)

    async def receive():
        chunk = parts.pop(0)
        return {"type": "http.request", "body": chunk, "more_body": bool(parts)}

    async def send(message):
        sent.append(message)

    scope = {
        "type": "http",
        "method": method,
        "path": "/x",
        "query_string": b"a=1",
        "http_version": "1.1",
        "headers": [(b"content-length", str(sum(map(len, body_parts))).encode())],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8000),
    }
    served = ThreadedWSGI(app, threads=2)
    try:
        asyncio.run(served(scope, receive, send))
    finally:
        served.executor.shutdown()
    return sent


def test_an_in_memory_response_is_sent_whole_from_the_loop():
    from django.http import HttpResponse

    closed = []

    def app(environ, start_response):
        response = HttpResponse(b"body of " + environ["wsgi.input"].read(), status=201, headers={"X-One": "1"})
        response.close = lambda: closed.append(True)
        start_response("201 Created", list(response.items()))
        return response

    sent = _serve(app, "POST", [b"two ", b"parts"])
    assert sent[0]["status"] == 201 and (b"x-one", b"1") in sent[0]["headers"]
    assert sent[1:] == [{"type": "http.response.body", "body": b"body of two parts"}]
    assert closed == [True]


def test_a_streaming_response_is_sent_chunk_by_chunk_from_its_thread():
    import threading

    from django.http import StreamingHttpResponse

    threads = set()

    def chunks():
        for chunk in (b"a", b"", b"b"):
            threads.add(threading.current_thread().name)
            yield chunk

    def app(environ, start_response):
        threads.add(threading.current_thread().name)
        response = StreamingHttpResponse(chunks())
        start_response("200 OK", list(response.items()))
        return response

    sent = _serve(app)
    assert sent[0]["type"] == "http.response.start" and sent[0]["status"] == 200
    assert [(m["body"], m.get("more_body", False)) for m in sent[1:]] == [(b"a", True), (b"b", True), (b"", False)]
    assert len(threads) == 1 and threads.pop().startswith("WSGI")  # the response's thread throughout


def test_an_application_error_reaches_the_server():
    def app(environ, start_response):
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        _serve(app)


def test_an_api_request_resolves_its_url_once(monkeypatch):
    """The match found on the loop to choose the handler is the one Django's handler uses."""
    import asyncio

    from django.urls.resolvers import URLResolver

    resolved = []
    original = URLResolver.resolve

    def counting(self, path):
        if self.pattern.regex.pattern == "^/":
            resolved.append(path)
        return original(self, path)

    monkeypatch.setattr(URLResolver, "resolve", counting)
    sent = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    scope = {
        "type": "http",
        "method": "GET",
        "path": "/api/v1/datasets",
        "query_string": b"",
        "http_version": "1.1",
        "headers": [(b"host", b"testserver")],
        "client": ("127.0.0.1", 5000),
        "server": ("testserver", 80),
    }
    asyncio.run(asgi.application(scope, receive, send))
    assert sent[0]["status"] == 401, sent  # (no key: answered without the database)
    assert resolved == ["/api/v1/datasets"]
