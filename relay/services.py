"""Tenants and API keys."""

import hashlib
import hmac
import logging
import re
import secrets
from datetime import timedelta
from functools import cache

from django.conf import settings
from django.db import connections, transaction
from django.utils import timezone

from relay import prepared
from relay.errors import Forbidden
from relay.models import ALL_SCOPES, ApiKey, IdempotencyRecord, Tenant

logger = logging.getLogger(__name__)

KEY_PATTERN = re.compile(r"^rk_(?P<prefix>[a-z0-9]{12})_(?P<secret>[A-Za-z0-9_-]{43})$")
_PREFIX_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"


class InvalidApiKey(Exception):
    """The key is malformed, unknown, revoked or expired (the message says which)."""


def hash_key(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode()).hexdigest()


def _new_raw_key() -> tuple[str, str]:
    prefix = "".join(secrets.choice(_PREFIX_ALPHABET) for _ in range(12))
    return prefix, f"rk_{prefix}_{secrets.token_urlsafe(32)}"


def validate_scopes(scopes) -> list[str]:
    unknown = sorted(set(scopes) - set(ALL_SCOPES))
    if unknown:
        raise ValueError(f"unknown scopes: {', '.join(unknown)} (known: {', '.join(ALL_SCOPES)})")
    return sorted(set(scopes), key=ALL_SCOPES.index)


def create_api_key(
    *, tenant: Tenant, name: str = "", scopes=ALL_SCOPES, expires_at=None, granted_by: ApiKey | None = None
) -> tuple[ApiKey, str]:
    """Create a key and return it with its plaintext, which is never stored or shown again.
    A key minted through the API (`granted_by`) holds at most the scopes of the key that
    asks for it: `admin` alone cannot mint a key that writes datasets."""
    if granted_by is not None:
        lacking = sorted(set(scopes) - set(granted_by.scopes))
        if lacking:
            raise Forbidden(f"This API key cannot grant scopes it does not hold: {', '.join(lacking)}")
    prefix, raw_key = _new_raw_key()
    api_key = ApiKey.objects.create(
        tenant=tenant,
        name=name,
        prefix=prefix,
        key_hash=hash_key(raw_key),
        scopes=validate_scopes(scopes),
        expires_at=expires_at,
    )
    logger.info("api key created tenant=%s key=rk_%s scopes=%s", tenant.name, prefix, ",".join(api_key.scopes))
    return api_key, raw_key


@transaction.atomic
def create_tenant(*, name: str, scopes=ALL_SCOPES) -> tuple[Tenant, ApiKey, str]:
    tenant = Tenant.objects.create(name=name)
    api_key, raw_key = create_api_key(tenant=tenant, name="initial key", scopes=scopes)
    logger.info("tenant created name=%s id=%s", tenant.name, tenant.id)
    return tenant, api_key, raw_key


def revoke_api_keys(*, tenant: Tenant | None = None, keys) -> int:
    """Revoke keys (idempotent); with a tenant, only that tenant's keys."""
    queryset = ApiKey.objects.filter(pk__in=[key.pk for key in keys], revoked_at__isnull=True)
    if tenant is not None:
        queryset = queryset.filter(tenant=tenant)
    count = queryset.update(revoked_at=timezone.now())
    logger.info("api keys revoked count=%d", count)
    return count


def authenticate_key(raw_key: str, *, record_use=True) -> ApiKey:
    """The good key `raw_key` is (InvalidApiKey otherwise); its use is recorded unless the
    caller does that itself later (record_key_use)."""
    match = KEY_PATTERN.match(raw_key)
    if match is None:
        raise InvalidApiKey("Invalid API key")
    api_key = find_key(match["prefix"])
    # Hash and compare even when the prefix is unknown, so both cases cost the same.
    stored_hash = api_key.key_hash if api_key else "0" * 64
    if not hmac.compare_digest(stored_hash, hash_key(raw_key)) or api_key is None:
        raise InvalidApiKey("Invalid API key")
    now = timezone.now()
    if api_key.is_revoked:
        raise InvalidApiKey("API key has been revoked")
    if api_key.is_expired(now):
        raise InvalidApiKey("API key has expired")
    if record_use:
        _touch(api_key, now)
    return api_key


def record_key_use(api_key: ApiKey) -> None:
    _touch(api_key, timezone.now())


def find_key(prefix: str) -> ApiKey | None:
    """The key with `prefix`, its tenant loaded: what every API request looks up, so its SQL
    is written once rather than compiled by the ORM each time (about half the lookup's cost)."""
    sql, key_fields, tenant_fields = _find_key_sql()
    with prepared.cursor(ApiKey.objects.db) as cursor:
        cursor.execute(sql, [prefix])
        row = cursor.fetchone()
    if row is None:
        return None
    api_key = ApiKey.from_db(ApiKey.objects.db, key_fields, row[: len(key_fields)])
    api_key.tenant = Tenant.from_db(ApiKey.objects.db, tenant_fields, row[len(key_fields) :])
    return api_key


@cache
def _find_key_sql():
    quote = connections[ApiKey.objects.db].ops.quote_name
    key_fields = [f.attname for f in ApiKey._meta.concrete_fields]
    tenant_fields = [f.attname for f in Tenant._meta.concrete_fields]
    columns = [f"k.{quote(f.column)}" for f in ApiKey._meta.concrete_fields]
    columns += [f"t.{quote(f.column)}" for f in Tenant._meta.concrete_fields]
    sql = (
        f"SELECT {', '.join(columns)} FROM {quote(ApiKey._meta.db_table)} k "
        f"JOIN {quote(Tenant._meta.db_table)} t ON t.{quote(Tenant._meta.pk.column)} = "
        f"k.{quote(ApiKey._meta.get_field('tenant').column)} "
        f"WHERE k.{quote(ApiKey._meta.get_field('prefix').column)} = %s"
    )
    return sql, key_fields, tenant_fields


def _touch(api_key: ApiKey, now) -> None:
    """Record use at most once per RELAY_API_KEY_LAST_USED_RESOLUTION seconds per key."""
    resolution = timedelta(seconds=settings.RELAY_API_KEY_LAST_USED_RESOLUTION)
    if api_key.last_used_at is not None and now - api_key.last_used_at < resolution:
        return
    stale = ApiKey.objects.filter(pk=api_key.pk, last_used_at__isnull=True) | ApiKey.objects.filter(
        pk=api_key.pk, last_used_at__lt=now - resolution
    )
    stale.update(last_used_at=now)
    api_key.last_used_at = now


def purge_expired_idempotency_records() -> int:
    expired = timezone.now() - timedelta(seconds=settings.RELAY_IDEMPOTENCY_TTL_S)
    count, _ = IdempotencyRecord.objects.filter(created_at__lt=expired).delete()
    return count
