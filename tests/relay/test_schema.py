import io
import json

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def schema():
    out = io.StringIO()
    # --fail-on-warn turns any drf-spectacular warning into an error; --validate checks
    # the result against the OpenAPI 3 JSON schema.
    call_command("spectacular", "--fail-on-warn", "--validate", "--format", "openapi-json", stdout=out)
    return json.loads(out.getvalue())


def operations(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            yield path, method, operation


def test_schema_builds_without_warnings_and_validates(schema):
    assert schema["openapi"].startswith("3.")
    assert "/api/v1/datasets" in schema["paths"]


def test_every_operation_has_a_summary_and_error_responses(schema):
    for path, method, operation in operations(schema):
        assert operation.get("summary"), (method, path)
        if path not in ("/api/v1/health", "/api/v1/"):  # no key needed
            codes = set(operation["responses"])
            assert {"401", "503"} <= codes, (method, path, codes)
            error_ref = operation["responses"]["401"]["content"]["application/json"]["schema"]["$ref"]
            assert error_ref.endswith("/Error")
        if method in ("post", "patch") and "requestBody" in operation:
            assert {"400", "415", "422"} <= set(operation["responses"]), (method, path)


def test_api_key_schemes(schema):
    schemes = schema["components"]["securitySchemes"]
    assert schemes["ApiKeyAuth"] == {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
        "description": schemes["ApiKeyAuth"]["description"],
    }
    assert schemes["BearerAuth"]["scheme"] == "bearer"
    health = schema["paths"]["/api/v1/health"]["get"]
    assert health.get("security") in ([], [{}], None) or {} in health["security"]


def test_examples_are_present(schema):
    create = schema["paths"]["/api/v1/datasets"]["post"]
    assert create["requestBody"]["content"]["application/json"].get("examples")


def test_schema_and_docs_are_served(anonymous):
    assert anonymous.get("/api/schema/").status_code == 200
    docs = anonymous.get("/api/docs/")
    assert docs.status_code == 200 and b"swagger" in docs.content.lower()
    # Served from our own static files, not a CDN: self-hosted installs may be offline.
    assert b"cdn.jsdelivr" not in docs.content and b"/static/drf_spectacular_sidecar/" in docs.content
