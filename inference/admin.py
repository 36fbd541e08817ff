from django.contrib import admin, messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html

from inference import services
from inference.models import Detection, FileStatus, InferenceFile, InferenceJob
from relay.admin_kit import ReadOnlyAdmin, audio_player, error_excerpt, progress_bar, short_id
from relay.jobs import cancel_each

WORKER_FIELDS = ("attempts", "task_id", "started_at", "heartbeat_at", "updated_at")


def report_retry(model_admin, request, outcome):
    """The messages of a retry: what was queued again, and each refusal."""
    reopened = f"; reopened {outcome.jobs_reopened} completed job(s)" if outcome.jobs_reopened else ""
    level = messages.SUCCESS if outcome.files else messages.INFO
    model_admin.message_user(request, f"Queued {outcome.files} failed file(s) again{reopened}.", level)
    for refusal in outcome.refused:
        model_admin.message_user(request, f"Not retried: {refusal}", messages.WARNING)


class InferenceFileInline(admin.TabularInline):
    model = InferenceFile
    extra = 0
    can_delete = False
    show_change_link = True
    fields = ("filename", "status", "duration_ms", "detection_count", "error", "processed_at")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    @admin.display(description="error")
    def error(self, inference_file):
        return error_excerpt(inference_file.error_message, 80)


@admin.register(InferenceJob)
class InferenceJobAdmin(ReadOnlyAdmin):
    list_display = (
        "job_id",
        "tenant",
        "model",
        "status",
        "progress_cell",
        "failed_files",
        "total_detections",
        "error",
        "created_at",
        "completed_at",
    )
    list_filter = ("status", "tenant", "created_at")
    list_select_related = ("tenant", "model")
    search_fields = ("id", "client_reference", "model__name")
    date_hierarchy = "created_at"
    readonly_fields = ("progress_cell", "error")
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "id",
                    "tenant",
                    "model",
                    "status",
                    "progress_cell",
                    "error_message",
                    ("total_files", "expected_files", "processed_files", "failed_files", "total_detections"),
                    "client_reference",
                    ("created_at", "completed_at"),
                )
            },
        ),
        ("Raw", {"fields": ("config", "progress", *WORKER_FIELDS), "classes": ("collapse",)}),
    )
    inlines = [InferenceFileInline]
    actions = ["cancel", "retry_failed_files"]

    @admin.display(description="id", ordering="id")
    def job_id(self, job):
        return short_id(job)

    @admin.display(description="progress")
    def progress_cell(self, job):
        # The job's own progress moves only when it completes; its files tell more.
        expected = max(job.total_files, job.expected_files or 0)
        if not expected:
            return progress_bar(job.progress)
        done = job.processed_files + job.failed_files
        return progress_bar(done / expected, f"{done} of {expected} files")

    @admin.display(description="error")
    def error(self, job):
        return error_excerpt(job.error_message)

    @admin.action(description="Cancel selected jobs")
    def cancel(self, request, queryset):
        cancelled = cancel_each(queryset, services.cancel_job)
        self.message_user(request, f"Cancelled {cancelled} job(s).", messages.SUCCESS)

    @admin.action(description="Retry the failed files of selected jobs")
    def retry_failed_files(self, request, queryset):
        outcome = services.retry_failed_files(InferenceFile.objects.filter(job__in=queryset))
        report_retry(self, request, outcome)


class DetectionInline(admin.TabularInline):
    model = Detection
    extra = 0
    can_delete = False
    fields = ("artifact_type", "start_ms", "end_ms", "score")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    @admin.display(description="confidence")
    def score(self, detection):
        return f"{detection.confidence:.3f}"


@admin.register(InferenceFile)
class InferenceFileAdmin(ReadOnlyAdmin):
    list_display = ("filename", "job_link", "status", "duration", "detection_count", "error", "processed_at")
    list_filter = ("status", "job__tenant")
    search_fields = ("filename", "id", "job__id")
    readonly_fields = ("player", "plot", "error")
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "id",
                    "job",
                    "filename",
                    "player",
                    "status",
                    "error_message",
                    ("duration_ms", "sample_rate", "detection_count"),
                    ("created_at", "processed_at"),
                    "plot",
                )
            },
        ),
        (
            "Upload",
            {
                "fields": ("audio_file", "content_type", "file_size", "storage_key", "upload_expires_at"),
                "classes": ("collapse",),
            },
        ),
        ("Worker", {"fields": (*WORKER_FIELDS, "confirmed_at"), "classes": ("collapse",)}),
    )
    inlines = [DetectionInline]
    actions = ["retry"]

    @admin.display(description="error")
    def error(self, inference_file):
        return error_excerpt(inference_file.error_message)

    @admin.display(description="job", ordering="job")
    def job_link(self, inference_file):
        job_id = inference_file.job_id
        url = reverse("admin:inference_inferencejob_change", args=[job_id])
        return format_html('<a href="{}" title="{}">{}…</a>', url, job_id, str(job_id)[:8])

    @admin.display(description="duration", ordering="duration_ms")
    def duration(self, inference_file):
        return "-" if inference_file.duration_ms is None else f"{inference_file.duration_ms / 1000:.1f} s"

    @admin.display(description="listen")
    def player(self, inference_file):
        if inference_file.confirmed_at is None:
            return "not uploaded"
        return audio_player(inference_file.storage_key)

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

    @admin.action(description="Retry selected failed files")
    def retry(self, request, queryset):
        report_retry(self, request, services.retry_failed_files(queryset))
