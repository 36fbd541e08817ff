from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from relay import services
from relay.models import ApiKey, Tenant
from tests.helpers import Api, assert_error

pytestmark = pytest.mark.django_db


def test_missing_key_is_401_with_envelope(anonymous):
    response = anonymous.get("/datasets")
    body = assert_error(response, 401, "missing api key")
    assert body == {"detail": body["detail"]}
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "raw_key",
    ["nonsense", "rk_abc_def", "rk_aaaaaaaaaaaa_" + "x" * 43, "Bearer rk_x", ""],
)
def test_invalid_keys_are_401(api, raw_key):
    response = Api(raw_key).get("/datasets")
    assert_error(response, 401)


def test_wrong_secret_with_a_real_prefix_is_401(api):
    forged = api.raw_key[:-4] + ("AAAA" if not api.raw_key.endswith("AAAA") else "BBBB")
    assert_error(Api(forged).get("/datasets"), 401, "invalid api key")


def test_bearer_header_is_accepted(api):
    client = Api()
    client.client.credentials(HTTP_AUTHORIZATION=f"Bearer {api.raw_key}")
    assert client.get("/datasets").status_code == 200


def test_revoked_key_is_401(api):
    services.revoke_api_keys(keys=[api.api_key])
    assert_error(api.get("/datasets"), 401, "revoked")


def test_expired_key_is_401(api):
    ApiKey.objects.filter(pk=api.api_key.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert_error(api.get("/datasets"), 401, "expired")


def test_key_that_expires_later_works(api):
    ApiKey.objects.filter(pk=api.api_key.pk).update(expires_at=timezone.now() + timedelta(days=1))
    assert api.get("/datasets").status_code == 200


def test_read_only_key_can_read_but_not_write(readonly_api):
    assert readonly_api.get("/datasets").status_code == 200
    response = readonly_api.post("/datasets", {"name": "x", "artifact_types": [{"name": "glitch"}]})
    assert_error(response, 403, "datasets:write")


def test_key_without_the_resource_scope_is_403(api):
    _, raw_key = services.create_api_key(tenant=api.tenant, scopes=["inference:read"])
    assert_error(Api(raw_key).get("/datasets"), 403, "datasets:read")


def test_disabled_tenant_is_403(api):
    Tenant.objects.filter(pk=api.tenant.pk).update(is_active=False)
    assert_error(api.get("/datasets"), 403, "disabled")


def test_only_a_hash_is_stored(api):
    stored = ApiKey.objects.get(pk=api.api_key.pk)
    secret = api.raw_key.split("_", 2)[2]
    assert secret not in stored.key_hash
    assert stored.key_hash == services.hash_key(api.raw_key)
    assert api.raw_key.startswith(f"rk_{stored.prefix}_")


@override_settings(RELAY_API_KEY_LAST_USED_RESOLUTION=3600)
def test_last_used_at_is_written_once_per_resolution(api, django_assert_max_num_queries):
    assert ApiKey.objects.get(pk=api.api_key.pk).last_used_at is None
    api.get("/datasets")
    first = ApiKey.objects.get(pk=api.api_key.pk).last_used_at
    assert first is not None
    api.get("/datasets")
    assert ApiKey.objects.get(pk=api.api_key.pk).last_used_at == first


@override_settings(RELAY_API_KEY_LAST_USED_RESOLUTION=3600)
def test_a_recently_used_key_costs_no_write(api, django_assert_num_queries):
    api.get("/datasets")
    # key lookup + count + page of datasets: no UPDATE of last_used_at
    with django_assert_num_queries(2):
        api.get("/datasets")


def test_other_tenants_key_sees_other_data(api, other_api):
    created = api.post("/datasets", {"name": "mine", "artifact_types": [{"name": "glitch"}]})
    assert created.status_code == 201
    assert other_api.get("/datasets").json()["total"] == 0
    assert api.get("/datasets").json()["total"] == 1
