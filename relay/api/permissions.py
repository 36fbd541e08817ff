from rest_framework import exceptions
from rest_framework.permissions import SAFE_METHODS, BasePermission

from relay.api import throttling

MISSING_KEY = "Missing API key: send it in the X-API-Key header (or Authorization: Bearer)"


def required_scope(view, method):
    """The scope a request needs. A view names its resource (`scope = "datasets"`):
    reads need `datasets:read` or `datasets:write`, writes need `datasets:write`.
    `scope = "admin"` needs `admin`; no scope means any valid key."""
    resource = getattr(view, "scope", None)
    if resource is None or resource == "admin":
        return resource
    return f"{resource}:read" if method in SAFE_METHODS else f"{resource}:write"


def readable_resources(scopes):
    """The resources (datasets, training, ...) a key with `scopes` may read."""
    return sorted({scope.split(":")[0] for scope in scopes if ":" in scope})


class HasScope(BasePermission):
    def has_permission(self, request, view):
        if request.auth is None:
            raise exceptions.NotAuthenticated(MISSING_KEY)
        scope = required_scope(view, request.method)
        if scope is None:
            return True
        granted = set(request.auth.scopes)
        if scope in granted or (scope.endswith(":read") and scope.replace(":read", ":write") in granted):
            return True
        throttling.admit(request)  # an address refused for failed key lookups gets its 429 first
        self.message = f"This API key lacks the {scope} scope"
        return False
