"""The event feed: `GET /events` (pages in order, with a cursor), `GET /events/stream` and
the job streams (Server-Sent Events, relay/streams.py)."""

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connections
from django.http import StreamingHttpResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import exceptions, renderers, serializers
from rest_framework.response import Response

from relay import events, streams, work
from relay.api import docs
from relay.api.exceptions import problems_of
from relay.api.permissions import readable_resources
from relay.api.renderers import JSONRenderer
from relay.api.views import TenantAPIView
from relay.errors import InvalidInput

MAX_LIMIT = 500


class EventSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="Unique; increases within a transaction, not across them.")
    cursor = serializers.CharField(help_text="Pass as `after` (or `Last-Event-ID`) to read what follows.")
    type = serializers.CharField(help_text="`<object>.<state>`, e.g. `training_job.completed`.")
    object_id = serializers.UUIDField()
    parent_id = serializers.UUIDField(
        allow_null=True,
        help_text="The job of an inference file, the dataset of an audio file, the model of an evaluation.",
    )
    created_at = serializers.DateTimeField()
    data = serializers.DictField(help_text="The object's fields at that moment (status, progress, reason, ...).")


class EventPageSerializer(serializers.Serializer):
    items = EventSerializer(many=True)
    next_cursor = serializers.CharField(
        allow_null=True, help_text="Ask again with `after` set to this to read what follows (also when empty)."
    )
    has_more = serializers.BooleanField(help_text="More events follow now; otherwise poll or stream.")


CURSOR_PATTERN = r"^[0-9]{1,18}-[0-9]{1,18}$"


@extend_schema_field({"type": "string", "pattern": CURSOR_PATTERN})
class Cursor(serializers.CharField):
    def to_internal_value(self, data):
        text = super().to_internal_value(data)
        try:
            return events.parse_cursor(text)
        except ValueError:
            raise serializers.ValidationError(
                "not a cursor: pass the `cursor` of an event (or `next_cursor`)", code="value_error.cursor"
            ) from None


class StreamQuery(serializers.Serializer):
    after = Cursor(required=False, help_text="Events after this cursor.")
    type = serializers.ListField(
        child=serializers.ChoiceField(choices=[]), required=False, help_text="Only these types (repeat the parameter)."
    )
    object_id = serializers.ListField(
        child=serializers.UUIDField(), required=False, max_length=100, help_text="Only these objects (repeat)."
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["type"].child.choices = sorted(work.event_types())


class EventQuery(StreamQuery):
    limit = serializers.IntegerField(required=False, default=100, min_value=1, max_value=MAX_LIMIT)


def query_of(request, fields):
    """The query parameters in `fields`, validated (422 at `["query", name]`)."""
    params = request.query_params
    data = {}
    for name in fields:
        if name in ("type", "object_id"):
            if name in params:
                data[name] = params.getlist(name)
        elif name in params:
            data[name] = params[name]
    query = (EventQuery if "limit" in fields else StreamQuery)(data=data)
    if not query.is_valid():
        raise InvalidInput(problems_of(serializers.ValidationError(query.errors), "query"))
    return {key: value for key, value in query.validated_data.items() if key in fields}


def after_from(request, query):
    """The starting cursor: `Last-Event-ID` (a reconnecting EventSource) or `after`."""
    header = request.headers.get("Last-Event-ID")
    if header is not None:
        try:
            return events.parse_cursor(header)
        except ValueError:
            raise InvalidInput.at(["header", "Last-Event-ID"], "not a cursor", "value_error.cursor") from None
    return query.get("after")


class EventStreamRenderer(renderers.BaseRenderer):
    """Lets `Accept: text/event-stream` through content negotiation; errors are JSON."""

    media_type = "text/event-stream"
    format = "sse"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return JSONRenderer().render(data)


def _release_database_connections():
    for connection in connections.all(initialized_only=True):
        if not connection.in_atomic_block:  # a transaction around the request (tests) keeps it
            connection.close()  # with a pool: back to the pool


async def _without_request_connections(body):
    """The request's pooled database connections go back before the stream starts (they
    would otherwise be held until it ends); streams read through their own async pool."""
    await sync_to_async(_release_database_connections)()  # the request's thread holds them
    async for chunk in body:
        yield chunk


def event_stream(body):
    response = StreamingHttpResponse(_without_request_connections(body), content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # nginx: pass each event on at once
    return response


class EventStreamBase(TenantAPIView):
    renderer_classes = [JSONRenderer, EventStreamRenderer]
    streams_events = True  # served by the ASGI handler (relay/asgi.py)

    def open_stream(self, query, cursor, ends_with=None):
        slot = streams.StreamSlot(self.request.auth.pk)
        if not slot.acquire():
            raise exceptions.Throttled(
                wait=settings.RELAY_SSE_KEEPALIVE_S,
                detail=f"This API key has {settings.RELAY_SSE_MAX_STREAMS_PER_KEY} open event streams, the most "
                "it may hold; close one first",
            )
        return event_stream(streams.sse(query, cursor, slot, ends_with=ends_with))


class EventListView(TenantAPIView):
    @extend_schema(parameters=[EventQuery], responses=EventPageSerializer, **docs.LIST_EVENTS)
    def get(self, request):
        query = query_of(request, ("after", "type", "object_id", "limit"))
        cursor = query.get("after")
        found = events.after(
            tenant=self.tenant,
            resources=readable_resources(request.auth.scopes),
            cursor=cursor,
            types=query.get("type", ()),
            object_ids=query.get("object_id", ()),
            limit=query["limit"] + 1,
        )
        has_more = len(found) > query["limit"]
        found = found[: query["limit"]]
        next_cursor = found[-1].cursor if found else (f"{cursor[0]}-{cursor[1]}" if cursor else None)
        items = [events.as_api(e) for e in found]
        return Response(EventPageSerializer({"items": items, "next_cursor": next_cursor, "has_more": has_more}).data)


class EventStreamView(EventStreamBase):
    @extend_schema(
        parameters=[
            StreamQuery,
            OpenApiParameter("Last-Event-ID", str, OpenApiParameter.HEADER, required=False, pattern=CURSOR_PATTERN),
        ],
        **docs.STREAM_EVENTS,
    )
    def get(self, request):
        query = query_of(request, ("after", "type", "object_id"))
        what = streams.Query(
            tenant_id=self.tenant.pk,
            resources=readable_resources(request.auth.scopes),
            types=query.get("type", []),
            object_ids=query.get("object_id", []),
        )
        return self.open_stream(what, after_from(request, query))


class JobEventStreamView(EventStreamBase):
    """The events of one job and of its files, ending with its final status. Subclasses
    name `job_model` and `get_job(job_id)`."""

    job_model = None

    def get_job(self, job_id):
        raise NotImplementedError

    def stream(self, request, job_id):
        job = self.get_job(job_id)
        query = query_of(request, ("after",))
        cursor = after_from(request, query)
        final = work.final_event_types(self.job_model)
        resources = [self.job_model.lifecycle.resource]
        if job.status in self.job_model.lifecycle.final:
            if not events.after(tenant=self.tenant, resources=resources, cursor=cursor, related_to=job.pk, limit=1):
                return Response(status=204)  # over: EventSource stops reconnecting
        what = streams.Query(tenant_id=self.tenant.pk, resources=resources, related_to=job.pk)
        start = cursor or (0, 0)  # a job's stream starts with its first event
        return self.open_stream(what, start, ends_with=lambda e: e["type"] in final and e["object_id"] == job.pk)


def job_stream_schema(kind):
    return extend_schema(
        parameters=[
            OpenApiParameter("after", str, required=False, description=docs.AFTER_CURSOR, pattern=CURSOR_PATTERN),
            OpenApiParameter("Last-Event-ID", str, OpenApiParameter.HEADER, required=False, pattern=CURSOR_PATTERN),
        ],
        **docs.stream_job(kind),
    )
