"""Platform endpoints: health, status, info, now, job counts, the worker fleet."""

import time
from datetime import UTC, datetime

from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.utils import OpenApiExample, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from detector.audio import described_formats
from relay import fleet, health, jobs
from relay.api.pagination import MAX_OFFSET, MAX_PAGE_SIZE, non_negative_int, positive_int


class RootView(APIView):
    """`GET /` and `GET /api/v1/`: where to go from here, for a person or a script that
    found the server. Needs no key and names nothing about the deployment."""

    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="root",
        summary="Links to the documentation, the schema and the admin site",
        description="Served at `/` and at `/api/v1/`; needs no API key.",
        responses=inline_serializer(
            "Root",
            {
                "name": serializers.CharField(),
                "description": serializers.CharField(),
                "links": inline_serializer(
                    "RootLinks",
                    {name: serializers.CharField() for name in ("docs", "schema", "admin", "api", "health", "status")},
                ),
            },
        ),
        examples=[
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
        tags=["platform"],
    )
    def get(self, request):
        return Response(
            {
                "name": "Relay",
                "description": (
                    "Find artifacts in audio. Send the API key as X-API-Key; docs has every endpoint, schema the "
                    "OpenAPI document, status (with a key) the health of the dependencies."
                ),
                "links": {
                    "docs": reverse("docs"),
                    "schema": reverse("schema"),
                    "admin": reverse("admin:index"),
                    "api": reverse("api-root"),
                    "health": reverse("health"),
                    "status": reverse("status"),
                },
            }
        )


@extend_schema(exclude=True)  # the same as GET /api/v1/, which the schema documents
class SiteRootView(RootView):
    pass


class HealthView(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(
        summary="Liveness check",
        description="Answers as long as the web process runs; needs no API key and touches no dependency.",
        responses=inline_serializer("Health", {"status": serializers.CharField()}),
        examples=[OpenApiExample("ok", value={"status": "ok"}, response_only=True)],
        tags=["platform"],
    )
    def get(self, request):
        return Response({"status": "ok"})


class StatusSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["ok", "degraded"])
    checks = serializers.DictField(child=serializers.DictField())
    time = serializers.DateTimeField()
    detail = serializers.CharField(required=False, help_text="Only when degraded (503): which checks failed.")


class StatusView(APIView):
    @extend_schema(
        summary="Dependency status",
        description=(
            "Checks the database, the broker and object storage, each with its latency, and counts the "
            "live workers. 200 when every dependency answers, 503 (same body, plus `detail`) when one does "
            "not. Queue depths and worker names are for operators (the admin site's dashboard)."
        ),
        responses={200: StatusSerializer, 503: StatusSerializer},
        examples=[
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
        tags=["platform"],
    )
    def get(self, request):
        checks = health.summary(health.run_checks())
        down = [name for name in health.CHECKS if checks[name]["status"] != "ok"]
        body = {"status": "degraded" if down else "ok", "checks": checks, "time": timezone.now()}
        if down:
            body["detail"] = f"Unavailable: {', '.join(down)}"
            return Response(body, status=503)
        return Response(body)


class InfoView(APIView):
    @extend_schema(
        summary="Service information",
        description="Name, version, API version, limits and supported audio formats.",
        responses=inline_serializer(
            "Info",
            {
                "name": serializers.CharField(),
                "version": serializers.CharField(),
                "api_version": serializers.CharField(),
                "limits": serializers.DictField(),
                "supported_formats": serializers.ListField(child=serializers.DictField()),
            },
        ),
        tags=["platform"],
    )
    def get(self, request):
        return Response(
            {
                "name": "Relay",
                "version": settings.VERSION,
                "api_version": "v1",
                "limits": {
                    "max_upload_bytes": settings.RELAY_MAX_UPLOAD_BYTES,
                    "max_json_body_bytes": settings.RELAY_MAX_JSON_BODY_BYTES,
                    "page_size_max": MAX_PAGE_SIZE,
                },
                "supported_formats": described_formats(),
            }
        )


class NowView(APIView):
    @extend_schema(
        summary="Server time",
        description="The server's clock, to compare with expiry times of presigned URLs.",
        responses=inline_serializer("Now", {"now": serializers.DateTimeField(), "unix": serializers.FloatField()}),
        examples=[
            OpenApiExample("now", value={"now": "2026-01-15T10:30:00Z", "unix": 1768473000.0}, response_only=True)
        ],
        tags=["platform"],
    )
    def get(self, request):
        now = time.time()
        return Response({"now": datetime.fromtimestamp(now, tz=UTC), "unix": now})


class JobCountSerializer(serializers.Serializer):
    queued = serializers.IntegerField(help_text="Pending or queued.")
    running = serializers.IntegerField(help_text="Processing.")
    total = serializers.IntegerField()
    by_status = serializers.DictField(child=serializers.IntegerField())


class JobsCountView(APIView):
    @extend_schema(
        summary="Count the caller's jobs",
        description="Per kind of job (the keys: " + ", ".join(jobs.job_kinds()) + "): `queued` (pending or queued), "
        "`running` (processing), `total`, and the count of every status.",
        # The kinds are those registered (relay.work.register), known once the apps are loaded.
        responses=inline_serializer("JobsCount", {kind: JobCountSerializer() for kind in jobs.job_kinds()}),
        tags=["platform"],
    )
    def get(self, request):
        return Response(jobs.counts(tenant=request.user.tenant))


class WorkerSerializer(serializers.Serializer):
    name = serializers.CharField(help_text="A stable pseudonym of the worker's host (unless hostnames are exposed).")
    queues = serializers.ListField(child=serializers.CharField())
    concurrency = serializers.IntegerField(help_text="Tasks it runs at once.")
    active_tasks = serializers.IntegerField()
    processed_tasks = serializers.IntegerField(help_text="Since it started.")
    version = serializers.CharField()
    started_at = serializers.DateTimeField()
    last_seen_at = serializers.DateTimeField()


class WorkerPageSerializer(serializers.Serializer):
    items = WorkerSerializer(many=True)
    total = serializers.IntegerField()
    start = serializers.IntegerField()
    limit = serializers.IntegerField()


class WorkersQuery(serializers.Serializer):
    start = serializers.IntegerField(
        required=False, min_value=0, max_value=MAX_OFFSET, help_text="Skip this many (default 0)."
    )
    limit = serializers.IntegerField(
        required=False, min_value=1, max_value=MAX_PAGE_SIZE, help_text="At most this many (default 50)."
    )


class WorkersView(APIView):
    @extend_schema(
        summary="List live workers",
        description="The Celery workers whose heartbeat is younger than RELAY_WORKER_ALIVE_S, oldest first; "
        "`start` and `limit` page through them (as Crynux Relay's nodes list).",
        parameters=[WorkersQuery],
        responses=WorkerPageSerializer,
        tags=["platform"],
    )
    def get(self, request):
        start = non_negative_int(request.query_params, "start", 0)
        limit = positive_int(request.query_params, "limit", 50, MAX_PAGE_SIZE)
        workers = fleet.alive()
        items = [
            {"name": fleet.public_name(row["hostname"]), **{k: v for k, v in row.items() if k != "hostname"}}
            for row in workers.values(
                "hostname", "queues", "concurrency", "active_tasks", "processed_tasks", "version", "started_at",
                "last_seen_at",
            )[start : start + limit]
        ]  # fmt: skip
        return Response({"items": items, "total": workers.count(), "start": start, "limit": limit})


class WorkersCountView(APIView):
    @extend_schema(
        summary="Count live workers",
        description="Live workers, their task slots and running tasks in all, and live workers per queue.",
        responses=inline_serializer(
            "WorkersCount",
            {
                "alive": serializers.IntegerField(),
                "concurrency": serializers.IntegerField(),
                "active_tasks": serializers.IntegerField(),
                "by_queue": serializers.DictField(child=serializers.IntegerField()),
            },
        ),
        tags=["platform"],
    )
    def get(self, request):
        return Response(fleet.count())
