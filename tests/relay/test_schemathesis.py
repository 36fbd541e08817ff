"""Schemathesis against the live schema, in-process (WSGI): generated requests, valid and
invalid, to every operation; no server error and no disagreement between the schema and
the answers (status codes, content types, bodies)."""

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

from relay.wsgi import application

schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application)

# Operations with a rule OpenAPI 3.0 cannot express: a body the schema allows may still be
# a 422 there (each rule has tests of its own). Every other check still runs on them.
RULES_THE_SCHEMA_CANNOT_STATE = {
    ("POST", "/api/v1/api-keys"): "expires_at lies in the future",
    ("POST", "/api/v1/datasets"): "artifact type names are unique, whatever their case",
    ("PATCH", "/api/v1/datasets/{dataset_id}"): "artifact type names are unique, whatever their case",
    ("POST", "/api/v1/webhooks"): "the url's host resolves to a public address (nothing resolves here)",
    ("PATCH", "/api/v1/webhooks/{webhook_id}"): "the url's host resolves to a public address (nothing resolves here)",
}


@pytest.fixture(autouse=True)
def short_streams(settings):
    """Event streams (Server-Sent Events) end after a second here, not an hour."""
    settings.RELAY_SSE_MAX_DURATION_S = 1
    settings.RELAY_SSE_KEEPALIVE_S = 0.5


@pytest.fixture
def key(api):
    """The API key, with the WSGI handler kept from closing the test's database connection
    after each request (Django's own test client does the same)."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield api.raw_key
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.mark.slow
@pytest.mark.django_db
@schema.parametrize()
@hypothesis_settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_api_keeps_to_its_schema(case, key):
    case.headers = {**(case.headers or {}), "X-API-Key": key}
    # Authentication has tests of its own (test_auth.py): the key sent here is always valid.
    excluded = [schemathesis.checks.ignored_auth]
    if (case.method, case.path) in RULES_THE_SCHEMA_CANNOT_STATE or "cursor" in (case.query or {}):
        # A `cursor` is a signed token from an earlier page (not with `page`): a generated one is
        # refused with a 422 (test_cursor_pagination.py has the rules).
        excluded.append(schemathesis.checks.positive_data_acceptance)
    case.call_and_validate(excluded_checks=excluded)
