"""OpenAPI documentation of the core's endpoints (platform, API keys, webhooks, events):
summaries, descriptions, examples and tags, kept out of the views. The views keep the
shapes (request, responses, parameters) next to the serializers that define them."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiResponse

from relay import jobs

PLATFORM_TAGS = ["platform"]
API_KEY_TAGS = ["api keys"]
WEBHOOK_TAGS = ["webhooks"]
EVENT_TAGS = ["events"]

# --- platform ---------------------------------------------------------------------------

ROOT = {
    "operation_id": "root",
    "summary": "Links to the documentation, the schema and the admin site",
    "description": "Served at `/` and at `/api/v1/`; needs no API key.",
    "examples": [
        OpenApiExample(
            "links",
            response_only=True,
            value={
                "name": "Relay",
                "description": "Find artifacts in audio. Send the API key as X-API-Key.",
                "links": {
                    "docs": "/api/docs/",
                    "schema": "/api/schema/",
                    "admin": "/admin/",
                    "api": "/api/v1/",
                    "health": "/api/v1/health",
                    "status": "/api/v1/status",
                },
            },
        )
    ],
    "tags": PLATFORM_TAGS,
}
HEALTH = {
    "summary": "Liveness check",
    "description": "Answers as long as the web process runs; needs no API key and touches no dependency.",
    "examples": [OpenApiExample("ok", value={"status": "ok"}, response_only=True)],
    "tags": PLATFORM_TAGS,
}
STATUS = {
    "summary": "Dependency status",
    "description": (
        "Checks the database, the broker and object storage, each with its latency, and counts the "
        "live workers. 200 when every dependency answers, 503 (same body, plus `detail`) when one does "
        "not. Queue depths and worker names are for operators (the admin site's dashboard)."
    ),
    "examples": [
        OpenApiExample(
            "all up",
            response_only=True,
            value={
                "status": "ok",
                "checks": {
                    "database": {"status": "ok", "latency_ms": 1.2},
                    "broker": {"status": "ok", "latency_ms": 0.9},
                    "storage": {"status": "ok", "latency_ms": 3.1},
                    "workers": {"count": 1},
                },
                "time": "2026-01-15T10:30:00Z",
            },
        )
    ],
    "tags": PLATFORM_TAGS,
}
INFO = {
    "summary": "Service information",
    "description": "Name, version, API version, limits and supported audio formats.",
    "tags": PLATFORM_TAGS,
}
NOW = {
    "summary": "Server time",
    "description": "The server's clock, to compare with expiry times of presigned URLs.",
    "examples": [
        OpenApiExample("now", value={"now": "2026-01-15T10:30:00Z", "unix": 1768473000.0}, response_only=True)
    ],
    "tags": PLATFORM_TAGS,
}
JOBS_COUNT = {
    "summary": "Count the caller's jobs",
    # The kinds are those registered (relay.work.register), known once the apps are loaded.
    "description": "Per kind of job (the keys: " + ", ".join(jobs.job_kinds()) + "): `queued` (pending or queued), "
    "`running` (processing), `total`, and the count of every status.",
    "tags": PLATFORM_TAGS,
}
LIST_WORKERS = {
    "summary": "List live workers",
    "description": "The Celery workers whose heartbeat is younger than RELAY_WORKER_ALIVE_S, oldest first; "
    "`start` and `limit` page through them (as Crynux Relay's nodes list).",
    "tags": PLATFORM_TAGS,
}
COUNT_WORKERS = {
    "summary": "Count live workers",
    "description": "Live workers, their task slots and running tasks in all, and live workers per queue.",
    "tags": PLATFORM_TAGS,
}

# --- API keys ---------------------------------------------------------------------------

LIST_API_KEYS = {"summary": "List API keys", "tags": API_KEY_TAGS}
CREATE_API_KEY = {
    "summary": "Create an API key",
    "description": "The secret `key` is in this response only; Relay keeps just its hash. The new key holds at "
    "most the scopes of the key that creates it (403 otherwise).",
    "examples": [
        OpenApiExample(
            "read-only CI key",
            request_only=True,
            value={"name": "ci", "scopes": ["datasets:read", "inference:read"]},
        ),
    ],
    "tags": API_KEY_TAGS,
}
GET_API_KEY = {"summary": "Get an API key", "tags": API_KEY_TAGS}
REVOKE_API_KEY = {
    "summary": "Revoke an API key",
    "description": "Takes effect on the next request. Revoking a revoked key changes nothing.",
    "tags": API_KEY_TAGS,
}

# --- webhooks ---------------------------------------------------------------------------

LIST_WEBHOOKS = {"summary": "List webhook endpoints", "tags": WEBHOOK_TAGS}
CREATE_WEBHOOK = {
    "summary": "Create a webhook endpoint",
    "description": (
        "Relay POSTs each event of the listed types (all if empty) that happens from now on to `url`, "
        "signed in `Relay-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of '<t>.<body>' with the secret>`. "
        "The `secret` is in this response only. A 2xx answer within RELAY_WEBHOOK_TIMEOUT_S delivers; "
        "anything else is retried with exponential backoff for a day. URLs that resolve to loopback, "
        "private or link-local addresses are refused (422)."
    ),
    "examples": [
        OpenApiExample(
            "jobs finishing",
            request_only=True,
            value={
                "url": "https://hooks.example.com/relay",
                "event_types": ["training_job.completed", "training_job.failed", "inference_job.completed"],
                "description": "notify the pipeline",
            },
        )
    ],
    "tags": WEBHOOK_TAGS,
}
GET_WEBHOOK = {"summary": "Get a webhook endpoint", "tags": WEBHOOK_TAGS}
UPDATE_WEBHOOK = {"summary": "Update a webhook endpoint", "tags": WEBHOOK_TAGS}
DELETE_WEBHOOK = {"summary": "Delete a webhook endpoint", "description": "Its deliveries go too.", "tags": WEBHOOK_TAGS}
LIST_DELIVERIES = {
    "summary": "List an endpoint's deliveries",
    "description": "Newest first: each with its status, attempts, the status code and latency of the last "
    "attempt and a log of every attempt.",
    "tags": WEBHOOK_TAGS,
}
GET_DELIVERY = {"summary": "Get a delivery", "tags": WEBHOOK_TAGS}
REDELIVER = {
    "summary": "Deliver again",
    "description": "A new attempt now (and retries after it), whether the delivery succeeded, failed or waits.",
    "tags": WEBHOOK_TAGS,
}

# --- events -----------------------------------------------------------------------------

LIST_EVENTS = {
    "summary": "List events",
    "description": (
        "The tenant's events in the order they happened: every status change of audio files, "
        "inference files and jobs (`<object>.<status>`), their creation (`<object>.created`) and job "
        "progress (`<job>.progress`, at most once a second per job). Only the kinds the key may read. "
        "Page with `after=<next_cursor>`: the cursor never skips or repeats an event, even while "
        "events are being written. Events are kept RELAY_EVENT_RETENTION_DAYS days."
    ),
    "examples": [
        OpenApiExample(
            "a page",
            response_only=True,
            value={
                "items": [
                    {
                        "id": 1207,
                        "cursor": "8812-1207",
                        "type": "training_job.completed",
                        "object_id": "3f0b6c52-8a57-4f5e-9a37-1d2c1f7a9b10",
                        "parent_id": None,
                        "created_at": "2026-01-15T10:31:02Z",
                        "data": {"status": "completed", "progress": 1.0, "model_id": "6c1e..."},
                    }
                ],
                "next_cursor": "8812-1207",
                "has_more": False,
            },
        )
    ],
    "tags": EVENT_TAGS,
}

STREAM_DESCRIPTION = (
    "Server-Sent Events (`text/event-stream`): each event as `id: <cursor>`, `event: <type>`, "
    "`data: <the event as in GET /events>`, with a `: keep-alive` comment every "
    "RELAY_SSE_KEEPALIVE_S seconds. Reconnect with `Last-Event-ID` (EventSource does) or "
    "`?after=<cursor>` to go on where it stopped; nothing is skipped or repeated. A key may hold "
    "RELAY_SSE_MAX_STREAMS_PER_KEY streams at once (429 beyond)."
)
STREAM_RESPONSES = {
    (200, "text/event-stream"): OpenApiResponse(OpenApiTypes.STR, description="The stream."),
    429: OpenApiResponse(description="Too many open streams for this key, or the read rate limit."),
}
AFTER_CURSOR = "Events after this cursor."

STREAM_EVENTS = {
    "summary": "Stream events",
    "description": STREAM_DESCRIPTION
    + " Without a cursor the stream starts now. It closes after RELAY_SSE_MAX_DURATION_S; reconnect.",
    "responses": STREAM_RESPONSES,
    "tags": EVENT_TAGS,
}


def stream_job(kind):
    """The documentation of `GET /<jobs>/{id}/events` of a kind of job ("training job")."""
    return {
        "summary": f"Stream a {kind}'s events",
        "description": STREAM_DESCRIPTION
        + f" The {kind}'s events from its creation (or after the cursor), its files' too, ending after its "
        "final status (completed, failed or cancelled). 204 when the job is over and nothing follows the cursor.",
        "responses": {**STREAM_RESPONSES, 204: OpenApiResponse(description="The job is over; nothing follows.")},
        "tags": EVENT_TAGS,
    }
