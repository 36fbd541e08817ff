"""The application the web server (uvicorn) runs.

Two handlers behind one port. The API's views are synchronous: each request runs whole on
one of a fixed pool of threads (RELAY_WEB_THREADS per process) through Django's WSGI
handler, one hand-off from the event loop and back (relay/threaded.py). Views that stream
Server-Sent Events (`streams_events = True`) run on Django's ASGI handler instead, so an
open stream holds a connection but no thread. (Django's ASGI handler alone would run every
sync request on a new thread of its own and cross between threads and the loop once per
middleware kind.) The URL is resolved once, on the loop, to choose.
"""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "relay.settings")

from django.conf import settings  # noqa: E402
from django.core.asgi import get_asgi_application  # noqa: E402
from django.core.handlers.wsgi import WSGIHandler  # noqa: E402
from django.urls import Resolver404, resolve  # noqa: E402

from relay.threaded import ThreadedWSGI  # noqa: E402

RESOLVED = "relay.resolved"  # scope key: (path, ResolverMatch) found by `application`


class ResolvedWSGIHandler(WSGIHandler):
    """Django's WSGI handler, which takes the URL's match `application` found already (the
    path was resolved there to pick the handler) instead of resolving it again."""

    def resolve_request(self, request):
        path, match = request.environ.get("asgi.scope", {}).get(RESOLVED, (None, None))
        if match is None or path != request.path_info or hasattr(request, "urlconf"):
            return super().resolve_request(request)
        request.resolver_match = match
        return match


streaming = get_asgi_application()  # (sets Django up)
threaded = ThreadedWSGI(ResolvedWSGIHandler(), threads=settings.RELAY_WEB_THREADS)


def match_of(path):
    try:
        return resolve(path)
    except Resolver404:
        return None


def streams(path: str) -> bool:
    return _streams(match_of(path))


def _streams(match):
    return match is not None and getattr(getattr(match.func, "view_class", None), "streams_events", False)


async def application(scope, receive, send):
    if scope["type"] == "http":
        match = match_of(scope["path"])
        if not _streams(match):
            await threaded({**scope, RESOLVED: (scope["path"], match)}, receive, send)
            return
    await streaming(scope, receive, send)
