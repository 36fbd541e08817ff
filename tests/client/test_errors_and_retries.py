"""Errors as exceptions (status and the envelope's detail), exit codes of the command, and
retries that honour the server's Retry-After: a real rate limit of the served app, reached
by filling this key's window in the limiter's own store."""

import time

import pytest
from relay_client import (
    AuthenticationError,
    NotFound,
    RateLimited,
    Relay,
    RelayConnectionError,
    RelayError,
    ValidationError,
)

from relay import kv, ratelimit

pytestmark = pytest.mark.django_db(transaction=True)


def test_errors_carry_status_and_detail(relay, web_server):
    with pytest.raises(NotFound) as caught:
        relay.get_dataset("00000000-0000-0000-0000-000000000000")
    assert caught.value.status == 404 and isinstance(caught.value.detail, str) and caught.value.detail
    assert caught.value.request_id

    with pytest.raises(ValidationError) as caught:
        relay.create_dataset("", artifact_types=["glitch"])
    assert caught.value.status == 422
    assert any(item["loc"][:2] == ["body", "name"] for item in caught.value.errors), caught.value.detail
    assert "body.name" in str(caught.value)

    with Relay(web_server, "rk_nope_" + "x" * 40, max_retries=0) as stranger:
        with pytest.raises(AuthenticationError) as caught:
            stranger.list_datasets()
    assert caught.value.status == 401 and isinstance(caught.value, RelayError)

    with Relay("http://127.0.0.1:9", "rk_x", max_retries=1, backoff_s=0.01) as nowhere:
        with pytest.raises(RelayConnectionError):
            nowhere.health()


def test_exit_codes_of_the_command(cli):
    assert cli("datasets", "show", "no-such-dataset", expect=5).returncode == 5
    failed = cli("datasets", "show", "x", "--json", expect=4, env={"RELAY_API_KEY": "rk_nope_" + "y" * 40})
    assert failed.data["status"] == 401 and failed.data["detail"]
    assert cli("datasets", expect=3, env={"RELAY_API_KEY": ""}).returncode == 3
    assert "exit codes" in cli("upload", "--help").stdout
    cli("datasets", "create", "twice", "--type", "glitch")
    assert cli("datasets", "show", "twice", "--json").data["name"] == "twice"
    assert cli("upload", "twice", "/no/such/file.wav", expect=2).returncode == 2
    assert {d["name"] for d in cli("--json", "datasets").data} == {"twice"}  # options before the command too


def test_keys_and_status(cli):
    created = cli("keys", "create", "ci", "--scope", "datasets:read", "--json").data
    assert created["key"].startswith("rk_") and created["scopes"] == ["datasets:read"]
    reader = {"RELAY_API_KEY": created["key"]}
    assert cli("datasets", "--json", env=reader).data == []
    assert cli("datasets", "create", "nope", "--json", env=reader, expect=4).data["status"] == 403
    assert "ci" in cli("keys").stdout
    cli("keys", "revoke", created["id"])
    assert cli("datasets", env=reader, expect=4).returncode == 4
    status = cli("status", "--json", expect=None)
    assert status.returncode in (0, 8) and status.data["checks"]["database"]["status"] == "ok"


def fill_window(api_key, kind, seconds):
    """Use up this key's `kind` requests for the current window, which then ends in `seconds`
    (as if the limit had been reached that long before the minute's end)."""
    window_s = ratelimit.WINDOW_S
    if window_s - time.time() % window_s < seconds + 3:
        time.sleep(window_s - time.time() % window_s + 0.2)  # not across a window's edge
    from relay.api.throttling import limit_of

    key = f"relay:ratelimit:key:{api_key.pk}:{kind}:{int(time.time() // window_s)}"
    kv.client().set(key, limit_of(kind), ex=seconds)


def test_retries_honour_retry_after_of_a_real_rate_limit(api, web_server):
    waits = []
    with Relay(web_server, api.raw_key, on_retry=lambda attempt, wait, reason, response: waits.append(
        (wait, reason, response.headers.get("Retry-After") if response is not None else None))) as relay:  # fmt: skip
        fill_window(api.api_key, "read", 2)
        started = time.monotonic()
        assert relay.list_datasets()["total"] == 0
        elapsed = time.monotonic() - started
        assert waits and waits[0][1] == "HTTP 429", waits
        assert waits[0][0] == float(waits[0][2]) and 1 <= waits[0][0] <= 2, waits
        assert elapsed >= waits[0][0] - 0.1

        # A create that meets the limit is retried with the same Idempotency-Key: one dataset.
        waits.clear()
        fill_window(api.api_key, "write", 2)
        relay.create_dataset("once", artifact_types=["glitch"])
        assert [w[1] for w in waits] == ["HTTP 429"]
        assert [d["name"] for d in relay.iter_datasets()] == ["once"]

    with Relay(web_server, api.raw_key, max_retries=0) as impatient:
        fill_window(api.api_key, "read", 5)
        with pytest.raises(RateLimited) as caught:
            impatient.list_datasets()
    assert caught.value.status == 429 and 1 <= caught.value.retry_after <= 5
    assert "Rate limit" in caught.value.detail
