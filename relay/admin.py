from django import forms
from django.contrib import admin, messages
from django.utils import timezone
from django.utils.html import format_html

from relay import services, webhooks
from relay.admin_kit import ReadOnlyAdmin, error_excerpt
from relay.errors import Conflict
from relay.models import (
    ALL_SCOPES,
    ApiKey,
    Event,
    Scope,
    Tenant,
    WebhookDelivery,
    WebhookEndpoint,
    WorkerHeartbeat,
)


class ApiKeyInline(admin.TabularInline):
    model = ApiKey
    extra = 0
    can_delete = False
    show_change_link = True
    fields = ("name", "prefix", "scopes", "created_at", "expires_at", "revoked_at", "last_used_at")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    list_display = ("name", "is_active", "key_count", "created_at")
    list_filter = ("is_active",)
    search_fields = ("name", "id")
    readonly_fields = ("id", "created_at", "updated_at")
    inlines = [ApiKeyInline]

    @admin.display(description="API keys")
    def key_count(self, tenant):
        return tenant.api_keys.count()

    def has_delete_permission(self, request, obj=None):
        return False  # deactivate instead: a deleted tenant's rows would go, its stored objects would stay


class ApiKeyForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        choices=Scope.choices, initial=list(ALL_SCOPES), widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = ApiKey
        fields = ("tenant", "name", "scopes", "expires_at")


class KeyStateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("active", "Active"), ("revoked", "Revoked"), ("expired", "Expired")]

    def queryset(self, request, queryset):
        now = timezone.now()
        if self.value() == "active":
            return queryset.usable(now)
        if self.value() == "revoked":
            return queryset.filter(revoked_at__isnull=False)
        if self.value() == "expired":
            return queryset.filter(revoked_at__isnull=True, expires_at__lte=now)
        return queryset


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    form = ApiKeyForm
    list_display = ("display_prefix", "name", "tenant", "scope_list", "state", "last_used_at", "created_at")
    list_filter = (KeyStateFilter, "tenant")
    list_select_related = ("tenant",)
    search_fields = ("prefix", "name", "tenant__name")
    readonly_fields = ("id", "prefix", "created_at", "revoked_at", "last_used_at")
    actions = ["revoke"]
    date_hierarchy = "created_at"

    def get_readonly_fields(self, request, obj=None):
        # A key's tenant and scopes are fixed once it exists: make a new key instead.
        if obj is not None:
            return (*self.readonly_fields, "tenant", "scopes")
        return self.readonly_fields

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is not None:
            kwargs["fields"] = ("name", "expires_at")
        return super().get_form(request, obj, change=change, **kwargs)

    @admin.display(description="key", ordering="prefix")
    def display_prefix(self, api_key):
        return f"rk_{api_key.prefix}_…"

    @admin.display(description="scopes")
    def scope_list(self, api_key):
        return ", ".join(api_key.scopes)

    @admin.display(description="state")
    def state(self, api_key):
        if api_key.is_revoked:
            return format_html('<span style="color:{}">{}</span>', "#b00", "revoked")
        if api_key.is_expired():
            return format_html('<span style="color:{}">{}</span>', "#b60", "expired")
        return "active"

    def save_model(self, request, obj, form, change):
        if change:
            # Only what the form edits: a full save writes back every field as it was read,
            # undoing a revocation that lands in between.
            return obj.save(update_fields=["name", "expires_at"])
        api_key, raw_key = services.create_api_key(
            tenant=form.cleaned_data["tenant"],
            name=form.cleaned_data["name"],
            scopes=form.cleaned_data["scopes"],
            expires_at=form.cleaned_data["expires_at"],
        )
        obj.pk = api_key.pk
        obj.refresh_from_db()
        messages.warning(
            request,
            format_html(
                "The new key is <code style='user-select:all'>{}</code>. Copy it now: it is not stored and "
                "will not be shown again.",
                raw_key,
            ),
        )

    @admin.action(description="Revoke selected keys")
    def revoke(self, request, queryset):
        count = services.revoke_api_keys(keys=list(queryset))
        self.message_user(request, f"Revoked {count} key(s).", messages.SUCCESS)

    def has_delete_permission(self, request, obj=None):
        return False  # revoke instead: keys stay for the audit trail


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    list_display = ("id", "type", "object_id", "tenant", "created_at")
    list_filter = ("resource", "type", "tenant")
    list_select_related = ("tenant",)
    search_fields = ("=object_id", "=parent_id", "type")
    date_hierarchy = "created_at"
    show_full_result_count = False  # the outbox grows large: no COUNT(*) per page


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(ReadOnlyAdmin):
    list_display = ("url", "tenant", "enabled", "failing_since", "disabled_excerpt", "created_at")
    list_filter = ("enabled", "tenant")
    list_select_related = ("tenant",)
    search_fields = ("url", "description", "tenant__name")
    exclude = ("secret",)
    actions = ["enable", "disable"]

    @admin.display(description="disabled because")
    def disabled_excerpt(self, endpoint):
        return error_excerpt(endpoint.disabled_reason)

    @admin.action(description="Enable (deliver what happens from now on)")
    def enable(self, request, queryset):
        for endpoint in queryset.filter(enabled=False):
            webhooks.update_endpoint(endpoint, enabled=True)
        self.message_user(request, "Enabled.", messages.SUCCESS)

    @admin.action(description="Disable")
    def disable(self, request, queryset):
        count = queryset.update(enabled=False, disabled_reason=f"disabled by {request.user} in the admin")
        self.message_user(request, f"Disabled {count} endpoint(s).", messages.SUCCESS)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = (
        "event_type",
        "endpoint",
        "status",
        "attempts",
        "status_code",
        "latency_ms",
        "error_column",
        "created_at",
    )
    list_filter = ("status", "event_type")
    list_select_related = ("endpoint",)
    search_fields = ("=id", "endpoint__url")
    date_hierarchy = "created_at"
    actions = ["redeliver"]

    @admin.display(description="last error")
    def error_column(self, delivery):
        return error_excerpt(delivery.error)

    @admin.action(description="Deliver again now")
    def redeliver(self, request, queryset):
        done = 0
        for delivery in queryset.select_related("endpoint"):
            try:
                webhooks.redeliver(delivery)
                done += 1
            except Conflict as refused:
                self.message_user(request, f"{delivery.pk}: {refused.message}", messages.WARNING)
        self.message_user(request, f"{done} delivery(ies) sent again.", messages.SUCCESS)


@admin.register(WorkerHeartbeat)
class WorkerAdmin(ReadOnlyAdmin):
    list_display = (
        "hostname",
        "queue_list",
        "concurrency",
        "active_tasks",
        "processed_tasks",
        "version",
        "last_seen_at",
    )
    search_fields = ("hostname",)

    @admin.display(description="queues")
    def queue_list(self, worker):
        return ", ".join(worker.queues)
