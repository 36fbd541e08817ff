from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication

from relay.api.principal import ApiPrincipal
from relay.api.throttling import check_failed_lookups, count_failed_lookup
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
    keep failing is refused for the rest of the minute (429), whatever key it sends."""

    def authenticate(self, request):
        raw_key = raw_key_from(request)
        if raw_key is None:
            return None
        check_failed_lookups(request)
        try:
            api_key = authenticate_key(raw_key)
        except InvalidApiKey as error:
            count_failed_lookup(request)
            raise exceptions.AuthenticationFailed(str(error)) from None
        if not api_key.tenant.is_active:
            raise exceptions.PermissionDenied("This tenant is disabled")
        return ApiPrincipal(api_key), api_key

    def authenticate_header(self, request):
        return 'Bearer realm="relay"'
