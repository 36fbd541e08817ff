import io

import pytest
from django.core.management import CommandError, call_command

from relay.models import ApiKey, Tenant
from tests.helpers import Api

pytestmark = pytest.mark.django_db


def run(*args):
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_create_tenant_prints_a_working_key():
    output = run("create_tenant", "acme")
    raw_key = output.strip().splitlines()[-1]
    assert raw_key.startswith("rk_")
    assert Api(raw_key).get("/datasets").status_code == 200
    assert Tenant.objects.get(name="acme")


def test_create_tenant_twice_fails():
    run("create_tenant", "acme")
    with pytest.raises(CommandError):
        run("create_tenant", "acme")


def test_create_api_key_with_scopes():
    run("create_tenant", "acme")
    output = run("create_api_key", "acme", "--scopes", "datasets:read,inference:read", "--expires-in-days", "30")
    raw_key = output.strip().splitlines()[-1]
    key = ApiKey.objects.get(prefix=raw_key.split("_")[1])
    assert key.scopes == ["datasets:read", "inference:read"] and key.expires_at is not None
    client = Api(raw_key)
    assert client.get("/datasets").status_code == 200
    assert client.post("/datasets", {"name": "x", "artifact_types": [{"name": "a"}]}).status_code == 403


def test_create_api_key_rejects_unknown_scope_and_tenant():
    run("create_tenant", "acme")
    with pytest.raises(CommandError, match="unknown scopes"):
        run("create_api_key", "acme", "--scopes", "datasets:read,everything")
    with pytest.raises(CommandError, match="No tenant"):
        run("create_api_key", "nobody")


def test_default_tenant_only_on_first_start():
    first = run("bootstrap_default_tenant")
    assert "export KEY=rk_" in first
    assert run("bootstrap_default_tenant") == ""
    assert Tenant.objects.filter(name="default").count() == 1
