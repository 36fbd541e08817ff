import pytest

from relay import services
from relay.models import ApiKey
from tests.helpers import Api, assert_422, assert_error

pytestmark = pytest.mark.django_db


def test_create_list_revoke(api):
    created = api.post("/api-keys", {"name": "ci", "scopes": ["datasets:read"]})
    assert created.status_code == 201
    body = created.json()
    assert body["key"].startswith(body["prefix"]) and body["scopes"] == ["datasets:read"]
    new = Api(body["key"])
    assert new.get("/datasets").status_code == 200
    assert_error(new.post("/datasets", {"name": "x", "artifact_types": [{"name": "a"}]}), 403)

    listed = api.get("/api-keys").json()
    assert listed["total"] == 2
    assert all("key" not in item for item in listed["items"])
    assert all(body["key"] not in str(item) for item in listed["items"])

    revoked = api.post(f"/api-keys/{body['id']}/revoke")
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    assert_error(new.get("/datasets"), 401, "revoked")
    # Revoking again is harmless.
    assert api.post(f"/api-keys/{body['id']}/revoke").json()["revoked_at"] == revoked.json()["revoked_at"]


def test_unknown_scope_is_422(api):
    assert_422(api.post("/api-keys", {"scopes": ["datasets:read", "root"]}), ["body", "scopes", 1])


def test_past_expiry_is_422(api):
    assert_422(api.post("/api-keys", {"expires_at": "2001-01-01T00:00:00Z"}), ["body", "expires_at"])


def test_needs_admin_scope(api):
    _, raw_key = services.create_api_key(tenant=api.tenant, scopes=["datasets:write"])
    assert_error(Api(raw_key).get("/api-keys"), 403, "admin")


def test_other_tenants_key_is_404(api, other_api):
    assert_error(api.post(f"/api-keys/{other_api.api_key.id}/revoke"), 404, "api key not found")
    assert ApiKey.objects.get(pk=other_api.api_key.pk).revoked_at is None
    assert_error(api.get(f"/api-keys/{other_api.api_key.id}"), 404)


def test_a_key_grants_at_most_its_own_scopes(api):
    _, admin_only = services.create_api_key(tenant=api.tenant, name="admin only", scopes=["admin"])
    admin = Api(admin_only)
    refused = admin.post("/api-keys", {"name": "sneaky", "scopes": ["datasets:write"]})
    assert_error(refused, 403, "datasets:write")
    assert admin.post("/api-keys", {"name": "another admin", "scopes": ["admin"]}).status_code == 201
    assert api.post("/api-keys", {"name": "writer", "scopes": ["datasets:write"]}).status_code == 201
