"""A WSGI application (Django's handler) served to ASGI on a fixed pool of threads, with one
hand-off from the event loop to a thread and one back per request.

a2wsgi's WSGIMiddleware, which this replaces, sends every message of a response from the
thread to the loop and waits for it there: the start, each chunk and the end, three
round trips between threads per request on top of the hand-off itself, each one a wake-up
of the loop and of the thread and a pass of the GIL. Here an ordinary response (Django's
HttpResponse, whose body is already in memory) is run and closed on the thread (so its
database connection is back in the pool at once) and handed back whole; the loop sends it.
A streaming response (exports, static files) is iterated on its thread as a2wsgi does,
each chunk sent from there, so that a large body never sits in memory. The request body
is read from the thread as the application asks for it (a2wsgi's Body): nothing is read
ahead of Django's own limits.
"""

import asyncio
import contextvars
from concurrent.futures import ThreadPoolExecutor

from a2wsgi.wsgi import Body, build_environ


class ThreadedWSGI:
    def __init__(self, app, threads):
        self.app = app
        self.executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="WSGI")

    async def __call__(self, scope, receive, send):
        loop = asyncio.get_running_loop()
        environ = build_environ(scope, Body(loop, receive))
        context = contextvars.copy_context()
        answer = await loop.run_in_executor(self.executor, context.run, self._respond, environ, loop, send)
        if answer is not None:
            start, body = answer
            await send(start)
            await send({"type": "http.response.body", "body": body})

    def _respond(self, environ, loop, send):
        """On a pool thread: (start message, whole body) of an in-memory response, or None
        once a streaming response has been sent from here."""
        start = []

        def start_response(status, headers, exc_info=None):
            if exc_info is not None and sent:
                raise exc_info[1].with_traceback(exc_info[2])
            headers = [
                (name.strip().lower().encode("latin1"), value.strip().encode("latin1")) for name, value in headers
            ]
            start[:] = [{"type": "http.response.start", "status": int(status.split(" ", 1)[0]), "headers": headers}]
            return write

        sent = []

        def to_loop(message):
            asyncio.run_coroutine_threadsafe(send(message), loop).result()

        def write(chunk):  # WSGI's write callable, and each chunk of a streaming body
            if not sent:
                sent.append(True)
                to_loop(start[0])
            if chunk:
                to_loop({"type": "http.response.body", "body": chunk, "more_body": True})

        iterable = self.app(environ, start_response)
        try:
            if not sent and (getattr(iterable, "streaming", None) is False or isinstance(iterable, list | tuple)):
                return start[0], b"".join(iterable)
            for chunk in iterable:
                write(chunk)
            write(b"")  # the start, for an empty streaming body
            to_loop({"type": "http.response.body", "body": b""})
            return None
        finally:
            getattr(iterable, "close", lambda: None)()
