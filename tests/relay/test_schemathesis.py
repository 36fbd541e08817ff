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


# Stateful: sequences of calls in which what one answer created feeds the next request (a
# dataset created, then read, patched, deleted), over the links Schemathesis infers between
# the dataset operations (no OpenAPI links needed). Few steps and examples: bounded.
DatasetStates = schema.include(path_regex=r"^/api/v1/datasets(/\{dataset_id\})?$").as_state_machine()


def incoming_links(machine):
    """{operation: the operations whose answers feed it}."""
    return {
        label: {link.source.label for link in entry.incoming}
        for label, entry in machine._transitions.operations.items()
    }


@pytest.mark.slow
@pytest.mark.django_db
@pytest.mark.timeout(180)
def test_datasets_keep_to_the_schema_from_create_to_read_patch_and_delete(key):
    links = incoming_links(DatasetStates)
    for target in ("GET", "PATCH", "DELETE"):
        assert "POST /api/v1/datasets" in links[f"{target} /api/v1/datasets/{{dataset_id}}"], links

    called = set()

    class Datasets(DatasetStates):
        def get_call_kwargs(self, case):
            called.add((case.method, case.path))
            return {"headers": {"X-API-Key": key}}

        def validate_response(self, response, case, **kwargs):
            # As above: the key is always valid, and a dataset's names have a rule of their own.
            excluded = [schemathesis.checks.ignored_auth, schemathesis.checks.positive_data_acceptance]
            case.validate_response(response, excluded_checks=excluded)

    Datasets.run(
        settings=hypothesis_settings(
            max_examples=5, stateful_step_count=5, deadline=None, suppress_health_check=list(HealthCheck)
        )
    )
    # The runs reached the path of one dataset (fed by the links), not only the collection.
    assert {method for method, path in called if path == "/api/v1/datasets/{dataset_id}"}, called
