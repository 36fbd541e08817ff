from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication

from relay.api import throttling
from relay.api.principal import ApiPrincipal
from relay.services import InvalidApiKey, authenticate_key


def raw_key_from(request):
    key = request.META.get("HTTP_X_API_KEY")
    if key is None:
        scheme, _, token = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
        if scheme.lower() == "bearer":
            key = token
    return key.strip() if key else None


class ApiKeyAuthentication(BaseAuthentication):
    """`X-API-Key: <key>` or `Authorization: Bearer <key>`. An address whose key lookups
    keep failing is refused for the rest of the minute (429), whatever key it sends.

    A bad key is refused here: 429 if its address has used up its failed lookups, else 401
    and the failure counted (one round trip to the rate limits' server). A good key's request
    is admitted later (throttling.admit): the look at its address's failed lookups goes with
    the round trip that counts the request against the key's rate limit, or, when the key
    lacks the view's scope, comes before the 403 (relay/api/permissions.py). Either way a
    refused address gets its 429 before any other answer, and the key's use (last_used_at)
    is recorded only once the address is let through."""

    def authenticate(self, request):
        raw_key = raw_key_from(request)
        if raw_key is None:
            return None
        try:
            api_key = authenticate_key(raw_key, record_use=False)
        except InvalidApiKey as error:
            throttling.count_failed_lookup(request)
            raise exceptions.AuthenticationFailed(str(error)) from None
        request._request.pending_admission = api_key
        if not api_key.tenant.is_active:
            throttling.admit(request)
            raise exceptions.PermissionDenied("This tenant is disabled")
        return ApiPrincipal(api_key), api_key

    def authenticate_header(self, request):
        return 'Bearer realm="relay"'
