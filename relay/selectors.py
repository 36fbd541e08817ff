"""Reads the core offers every app: the one get-for-tenant-or-404."""

from django.core.exceptions import ValidationError

from relay.errors import NotFound
from relay.models import ApiKey


def get_one(queryset, what, **lookup):
    """The object of `queryset` (already filtered to the caller's tenant) matching `lookup`,
    or NotFound("<what> not found"): another tenant's object is not found either."""
    try:
        return queryset.get(**lookup)
    except (queryset.model.DoesNotExist, ValidationError, ValueError):
        raise NotFound(f"{what} not found") from None


def api_keys_of(*, tenant):
    return ApiKey.objects.filter(tenant=tenant)


def get_api_key(*, tenant, key_id):
    return get_one(api_keys_of(tenant=tenant), "API key", pk=key_id)
