"""Rate limits of the API (relay/ratelimit.py): per API key and class of request, with
`X-RateLimit-*` headers on every answer and 429 + `Retry-After` past the limit; and failed
key lookups per client address (relay/api/authentication.py)."""

from django.conf import settings
from rest_framework import exceptions
from rest_framework.permissions import SAFE_METHODS
from rest_framework.throttling import BaseThrottle

from relay import ratelimit
from relay.services import record_key_use

HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")


def rate_class(view, method):
    """reads, writes, uploads (presigned URLs) or jobs (creating jobs): a view's POST names
    its class with `rate_class`."""
    if method in SAFE_METHODS:
        return "read"
    return getattr(view, "rate_class", None) or "write"


def limit_of(kind):
    return {
        "read": settings.RELAY_RATE_LIMIT_READ,
        "write": settings.RELAY_RATE_LIMIT_WRITE,
        "upload": settings.RELAY_RATE_LIMIT_UPLOAD,
        "jobs": settings.RELAY_RATE_LIMIT_JOBS,
    }[kind]


class Throttled(exceptions.Throttled):
    def __init__(self, verdict, what):
        super().__init__(
            wait=verdict.reset_s,
            detail=f"Rate limit reached: {verdict.limit} {what} per minute; retry in {verdict.reset_s} s",
        )


class ApiKeyRateThrottle(BaseThrottle):
    """Counts each request of an API key in its class's window. The round trip that counts
    it also looks at the client address's failed key lookups, when authentication left that
    to it (pending_admission): a refused address is not counted."""

    def allow_request(self, request, view):
        api_key = request.auth
        if api_key is None:
            return True
        kind = rate_class(view, request.method)
        pending = pending_admission(request)
        blocked, verdict = ratelimit.hit_unless_blocked(
            f"key:{api_key.pk}:{kind}",
            limit_of(kind),
            failed_lookups_bucket(request),
            settings.RELAY_RATE_LIMIT_AUTH_FAILURES if pending else 0,
        )
        if blocked is not None:
            raise Throttled(blocked, FAILED_LOOKUPS)
        admit(request, address_checked=True)
        request._request.rate_limit = verdict
        if verdict is not None and not verdict.allowed:
            raise Throttled(verdict, f"{kind} requests of this API key")
        return True


def limit_headers(request, response):
    """X-RateLimit-* of the request's window, when one was counted."""
    verdict = getattr(request, "rate_limit", None)
    if verdict is not None:
        response["X-RateLimit-Limit"] = str(verdict.limit)
        response["X-RateLimit-Remaining"] = str(max(verdict.remaining, 0))
        response["X-RateLimit-Reset"] = str(verdict.reset_s)
    return response


FAILED_LOOKUPS = "failed API key lookups from one address"


def failed_lookups_bucket(request):
    return f"authfail:{ratelimit.client_address(request)}"


def check_failed_lookups(request):
    """Throttled while the client address has used up its failed key lookups."""
    verdict = ratelimit.peek(failed_lookups_bucket(request), settings.RELAY_RATE_LIMIT_AUTH_FAILURES)
    if verdict is not None and verdict.remaining <= 0:
        raise Throttled(verdict, FAILED_LOOKUPS)


def count_failed_lookup(request):
    """Count a failed key lookup of the client address; Throttled instead (nothing counted)
    when it has used them up already. One round trip."""
    bucket, limit = failed_lookups_bucket(request), settings.RELAY_RATE_LIMIT_AUTH_FAILURES
    blocked, _ = ratelimit.hit_unless_blocked(bucket, limit, bucket, limit)
    if blocked is not None:
        raise Throttled(blocked, FAILED_LOOKUPS)


def pending_admission(request):
    """Whether the request's good key still awaits `admit` (relay/api/authentication.py)."""
    return getattr(request._request, "pending_admission", None) is not None


def admit(request, address_checked=False):
    """The rest of a good key's authentication, once: refuse (429) an address that has used
    up its failed key lookups -- unless the caller has looked at them itself -- then record
    the key's use."""
    api_key = getattr(request._request, "pending_admission", None)
    if api_key is None:
        return
    if not address_checked:
        check_failed_lookups(request)
    request._request.pending_admission = None
    record_key_use(api_key)
