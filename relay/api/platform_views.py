"""Platform endpoints: health, status, info, now, job counts, the worker fleet."""

import time
from datetime import UTC, datetime

from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from detector.audio import described_formats
from relay import fleet, health, jobs
from relay.api import docs
from relay.api.pagination import MAX_OFFSET, MAX_PAGE_SIZE, non_negative_int, positive_int


class RootView(APIView):
    """`GET /` and `GET /api/v1/`: where to go from here, for a person or a script that
    found the server. Needs no key and names nothing about the deployment."""

    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(
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
        **docs.ROOT,
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

    @extend_schema(responses=inline_serializer("Health", {"status": serializers.CharField()}), **docs.HEALTH)
    def get(self, request):
        return Response({"status": "ok"})


class StatusSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["ok", "degraded"])
    checks = serializers.DictField(child=serializers.DictField())
    time = serializers.DateTimeField()
    detail = serializers.CharField(required=False, help_text="Only when degraded (503): which checks failed.")


class StatusView(APIView):
    @extend_schema(responses={200: StatusSerializer, 503: StatusSerializer}, **docs.STATUS)
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
        **docs.INFO,
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
        responses=inline_serializer("Now", {"now": serializers.DateTimeField(), "unix": serializers.FloatField()}),
        **docs.NOW,
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
        # The kinds are those registered (relay.work.register), known once the apps are loaded.
        responses=inline_serializer("JobsCount", {kind: JobCountSerializer() for kind in jobs.job_kinds()}),
        **docs.JOBS_COUNT,
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
    @extend_schema(parameters=[WorkersQuery], responses=WorkerPageSerializer, **docs.LIST_WORKERS)
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
        responses=inline_serializer(
            "WorkersCount",
            {
                "alive": serializers.IntegerField(),
                "concurrency": serializers.IntegerField(),
                "active_tasks": serializers.IntegerField(),
                "by_queue": serializers.DictField(child=serializers.IntegerField()),
            },
        ),
        **docs.COUNT_WORKERS,
    )
    def get(self, request):
        return Response(fleet.count())
