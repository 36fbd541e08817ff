from django.contrib import admin, messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html

from inference import services
from inference.models import Detection, FileStatus, InferenceFile, InferenceJob
from relay.jobs import cancel_each


class InferenceFileInline(admin.TabularInline):
    model = InferenceFile
    extra = 0
    can_delete = False
    show_change_link = True
    fields = ("filename", "status", "duration_ms", "detection_count", "error_message", "processed_at")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(InferenceJob)
class InferenceJobAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "tenant",
        "model",
        "status",
        "total_files",
        "processed_files",
        "failed_files",
        "total_detections",
        "created_at",
        "completed_at",
    )
    list_filter = ("status", "tenant", "created_at")
    list_select_related = ("tenant", "model")
    search_fields = ("id", "client_reference", "model__name")
    date_hierarchy = "created_at"
    readonly_fields = [field.name for field in InferenceJob._meta.fields]
    inlines = [InferenceFileInline]
    actions = ["cancel"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Cancel selected jobs")
    def cancel(self, request, queryset):
        cancelled = cancel_each(queryset, services.cancel_job)
        self.message_user(request, f"Cancelled {cancelled} job(s).", messages.SUCCESS)


class DetectionInline(admin.TabularInline):
    model = Detection
    extra = 0
    can_delete = False
    fields = ("artifact_type", "start_ms", "end_ms", "confidence")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(InferenceFile)
class InferenceFileAdmin(admin.ModelAdmin):
    list_display = ("filename", "job", "status", "duration_ms", "detection_count", "processed_at")
    list_filter = ("status", "job__tenant")
    list_select_related = ("job",)
    search_fields = ("filename", "id", "job__id")
    readonly_fields = ["plot"] + [field.name for field in InferenceFile._meta.fields]
    inlines = [DetectionInline]

    def has_add_permission(self, request):
        return False

    @admin.display(description="plot")
    def plot(self, inference_file):
        if inference_file.status != FileStatus.COMPLETED:
            return "-"
        url = reverse("admin:inference_inferencefile_plot", args=[inference_file.pk])
        return format_html('<img src="{}" style="max-width: 100%" alt="detections plot">', url)

    def get_urls(self):
        plot = path(
            "<uuid:file_id>/plot.png", self.admin_site.admin_view(self.plot_view), name="inference_inferencefile_plot"
        )
        return [plot, *super().get_urls()]

    def plot_view(self, request, file_id):
        """plot.png for the admin (a staff session instead of an API key)."""
        from inference import plot  # matplotlib: loaded on the first plot

        inference_file = get_object_or_404(InferenceFile, pk=file_id, status=FileStatus.COMPLETED)
        return HttpResponse(plot.png_for(inference_file), content_type="image/png")
