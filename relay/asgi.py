"""The application the web server (uvicorn) runs.

Two handlers behind one port. The API's views are synchronous: each request runs whole on
one of a fixed pool of threads (RELAY_WEB_THREADS per process) through Django's WSGI
handler, one hand-off from the event loop and back (relay/threaded.py). Views that stream Server-Sent Events
(`streams_events = True`) run on Django's ASGI handler instead, so an open stream holds a
connection but no thread. (Django's ASGI handler alone would run every sync request on a
new thread of its own and cross between threads and the loop once per middleware kind.)
"""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "relay.settings")

from django.conf import settings  # noqa: E402
from django.core.asgi import get_asgi_application  # noqa: E402
from django.core.wsgi import get_wsgi_application  # noqa: E402
from django.urls import Resolver404, resolve  # noqa: E402

from relay.threaded import ThreadedWSGI  # noqa: E402

streaming = get_asgi_application()
threaded = ThreadedWSGI(get_wsgi_application(), threads=settings.RELAY_WEB_THREADS)


def streams(path: str) -> bool:
    try:
        match = resolve(path)
    except Resolver404:
        return False
    return getattr(getattr(match.func, "view_class", None), "streams_events", False)


async def application(scope, receive, send):
    if scope["type"] == "http" and not streams(scope["path"]):
        await threaded(scope, receive, send)
    else:
        await streaming(scope, receive, send)
