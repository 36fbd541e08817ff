from django.urls import path

from relay.api import event_views, key_views, platform_views, webhook_views

urlpatterns = [
    path("", platform_views.RootView.as_view(), name="api-root"),
    path("health", platform_views.HealthView.as_view(), name="health"),
    path("status", platform_views.StatusView.as_view(), name="status"),
    path("info", platform_views.InfoView.as_view(), name="info"),
    path("now", platform_views.NowView.as_view(), name="now"),
    path("jobs/count", platform_views.JobsCountView.as_view(), name="jobs-count"),
    path("workers", platform_views.WorkersView.as_view(), name="worker-list"),
    path("workers/count", platform_views.WorkersCountView.as_view(), name="worker-count"),
    path("events", event_views.EventListView.as_view(), name="event-list"),
    path("events/stream", event_views.EventStreamView.as_view(), name="event-stream"),
    path("webhooks", webhook_views.WebhookListView.as_view(), name="webhook-list"),
    path("webhooks/<uuid:webhook_id>", webhook_views.WebhookDetailView.as_view(), name="webhook-detail"),
    path("webhooks/<uuid:webhook_id>/deliveries", webhook_views.DeliveryListView.as_view(), name="delivery-list"),
    path(
        "webhooks/<uuid:webhook_id>/deliveries/<uuid:delivery_id>",
        webhook_views.DeliveryDetailView.as_view(),
        name="delivery-detail",
    ),
    path(
        "webhooks/<uuid:webhook_id>/deliveries/<uuid:delivery_id>/redeliver",
        webhook_views.RedeliverView.as_view(),
        name="delivery-redeliver",
    ),
    path("api-keys", key_views.ApiKeyListView.as_view(), name="api-key-list"),
    path("api-keys/<uuid:key_id>", key_views.ApiKeyDetailView.as_view(), name="api-key-detail"),
    path("api-keys/<uuid:key_id>/revoke", key_views.ApiKeyRevokeView.as_view(), name="api-key-revoke"),
]
