"""The middleware that only browsers need (the admin site's), passed by on the API."""

from django.contrib.auth.middleware import AuthenticationMiddleware as DjangoAuthenticationMiddleware
from django.contrib.messages.middleware import MessageMiddleware as DjangoMessageMiddleware
from django.contrib.sessions.middleware import SessionMiddleware as DjangoSessionMiddleware
from django.middleware.csrf import CsrfViewMiddleware as DjangoCsrfViewMiddleware

API = "/api/v1/"


class BrowserOnly:
    """Django's session, CSRF, logged-in user and message middleware serve the admin site's
    browsers. Requests to the JSON API (under /api/v1/: an API key, no cookie, no form, no
    message) pass them by, unchanged: on a small API request they cost about 5% of all
    the CPU it takes (web process and database). The API's views are CSRF-exempt, so CSRF
    passed them anyway."""

    def __call__(self, request):
        if request.path_info.startswith(API):
            return self.get_response(request)  # (with an async handler, a coroutine its caller awaits)
        return super().__call__(request)


class SessionMiddleware(BrowserOnly, DjangoSessionMiddleware):
    pass


class CsrfViewMiddleware(BrowserOnly, DjangoCsrfViewMiddleware):
    def process_view(self, request, callback, callback_args, callback_kwargs):
        if request.path_info.startswith(API):
            return None
        return super().process_view(request, callback, callback_args, callback_kwargs)


class AuthenticationMiddleware(BrowserOnly, DjangoAuthenticationMiddleware):
    pass


class MessageMiddleware(BrowserOnly, DjangoMessageMiddleware):
    pass
