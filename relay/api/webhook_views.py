"""Webhook endpoints of the caller's tenant and their deliveries (scope `admin`); the
delivery machinery is relay/webhooks.py."""

from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from relay import selectors, webhooks
from relay.api import docs
from relay.api.fields import Input, StrictBooleanField, StrictCharField
from relay.api.filters import OrderingFilter
from relay.api.views import TenantAPIView
from relay.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint


class WebhookSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    url = serializers.CharField()
    description = serializers.CharField()
    event_types = serializers.ListField(child=serializers.CharField(), help_text="Empty: every event type.")
    enabled = serializers.BooleanField()
    disabled_reason = serializers.CharField(help_text="Why Relay disabled it (empty if it did not).")
    failing_since = serializers.DateTimeField(allow_null=True, help_text="Every attempt has failed since then.")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class WebhookCreatedSerializer(WebhookSerializer):
    secret = serializers.CharField(help_text="Signs every delivery. Shown only in this response.")


class WebhookCreateSerializer(Input):
    url = serializers.URLField(max_length=2048, help_text="http(s); it must resolve to a public address.")
    event_types = serializers.ListField(
        child=StrictCharField(max_length=64), required=False, default=list, max_length=100, help_text="Empty: all."
    )
    description = StrictCharField(required=False, allow_blank=True, max_length=200, default="")
    enabled = StrictBooleanField(required=False, default=True)


class WebhookUpdateSerializer(Input):
    url = serializers.URLField(max_length=2048, required=False)
    event_types = serializers.ListField(child=StrictCharField(max_length=64), required=False, max_length=100)
    description = StrictCharField(required=False, allow_blank=True, max_length=200)
    enabled = StrictBooleanField(required=False, help_text="true again resumes a disabled endpoint, from now on.")


class DeliverySerializer(serializers.Serializer):
    id = serializers.UUIDField()
    event_id = serializers.IntegerField()
    event_type = serializers.CharField()
    status = serializers.ChoiceField(choices=DeliveryStatus.choices)
    attempts = serializers.IntegerField()
    next_attempt_at = serializers.DateTimeField(allow_null=True)
    status_code = serializers.IntegerField(allow_null=True, help_text="Of the last attempt.")
    latency_ms = serializers.FloatField(allow_null=True, help_text="Of the last attempt.")
    error = serializers.CharField(help_text="Of the last attempt.")
    log = serializers.ListField(child=serializers.DictField(), help_text="Every attempt: at, status_code, latency_ms.")
    delivered_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    payload = serializers.DictField(help_text="The body sent: the event as GET /events shows it.")


class DeliveryFilter(filters.FilterSet):
    status = filters.MultipleChoiceFilter(choices=DeliveryStatus.choices, help_text="Repeat for several.")
    event_type = filters.CharFilter()
    ordering = OrderingFilter(fields=("created_at", "delivered_at"))

    class Meta:
        model = WebhookDelivery
        fields = []


class WebhookListView(TenantAPIView):
    scope = "admin"
    answers_with_secret = True
    queryset = WebhookEndpoint.objects.none()

    def tenant_queryset(self):
        return WebhookEndpoint.objects.filter(tenant=self.tenant)

    @extend_schema(responses=WebhookSerializer(many=True), **docs.LIST_WEBHOOKS)
    def get(self, request):
        return self.list_response(WebhookSerializer)

    @extend_schema(request=WebhookCreateSerializer, responses={201: WebhookCreatedSerializer}, **docs.CREATE_WEBHOOK)
    def post(self, request):
        endpoint = webhooks.create_endpoint(tenant=self.tenant, **self.validated(WebhookCreateSerializer))
        return Response(WebhookCreatedSerializer(endpoint).data, status=status.HTTP_201_CREATED)


class WebhookView(TenantAPIView):
    scope = "admin"

    def load_path_objects(self):
        self.endpoint = selectors.get_one(
            WebhookEndpoint.objects.filter(tenant=self.tenant), "Webhook endpoint", pk=self.kwargs["webhook_id"]
        )


class WebhookDetailView(WebhookView):
    @extend_schema(responses=WebhookSerializer, **docs.GET_WEBHOOK)
    def get(self, request, webhook_id):
        return Response(WebhookSerializer(self.endpoint).data)

    @extend_schema(request=WebhookUpdateSerializer, responses=WebhookSerializer, **docs.UPDATE_WEBHOOK)
    def patch(self, request, webhook_id):
        endpoint = webhooks.update_endpoint(self.endpoint, **self.validated(WebhookUpdateSerializer))
        return Response(WebhookSerializer(endpoint).data)

    @extend_schema(responses={204: None}, **docs.DELETE_WEBHOOK)
    def delete(self, request, webhook_id):
        self.endpoint.delete()
        return Response(status=status.HTTP_204_NO_CONTENT)


class DeliveryListView(WebhookView):
    filterset_class = DeliveryFilter
    queryset = WebhookDelivery.objects.none()

    def tenant_queryset(self):
        return WebhookDelivery.objects.filter(endpoint=self.endpoint)

    @extend_schema(responses=DeliverySerializer(many=True), **docs.LIST_DELIVERIES)
    def get(self, request, webhook_id):
        return self.list_response(DeliverySerializer)


class DeliveryView(WebhookView):
    def get_delivery(self):
        return selectors.get_one(
            WebhookDelivery.objects.filter(endpoint=self.endpoint), "Webhook delivery", pk=self.kwargs["delivery_id"]
        )


class DeliveryDetailView(DeliveryView):
    @extend_schema(responses=DeliverySerializer, **docs.GET_DELIVERY)
    def get(self, request, webhook_id, delivery_id):
        return Response(DeliverySerializer(self.get_delivery()).data)


class RedeliverView(DeliveryView):
    @extend_schema(request=None, responses={202: DeliverySerializer}, **docs.REDELIVER)
    def post(self, request, webhook_id, delivery_id):
        delivery = webhooks.redeliver(self.get_delivery())
        return Response(DeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)
