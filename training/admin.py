from django.contrib import admin, messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.urls import path, reverse
from django.utils.html import format_html

from relay.admin_kit import ReadOnlyAdmin, error_excerpt, progress_bar, short_id
from relay.jobs import cancel_each
from training import services
from training.models import Evaluation, Model, TrainingJob

PER_TYPE_COLUMNS = ("precision", "recall", "f1", "support", "tp", "fp", "fn")
WORKER_FIELDS = ("attempts", "task_id", "started_at", "heartbeat_at", "created_at", "updated_at", "completed_at")


def _number(value):
    if value is None:
        return "–"  # a ratio with nothing to divide: no reference and no detection of the type
    return f"{value:.3f}" if isinstance(value, float) else value


def _fact(value):
    if isinstance(value, bool):
        return "yes" if value else "no"
    return f"{value:g}" if isinstance(value, float) else value


def metrics_table(metrics):
    """Event metrics (detector.metrics.event_metrics and what training adds) as an HTML table."""
    if not metrics:
        return "-"
    per_type = [
        (name, [_number(scores.get(column)) for column in PER_TYPE_COLUMNS])
        for name, scores in (metrics.get("per_type") or {}).items()
    ]
    facts = [
        (key.replace("_", " "), _fact(value))
        for key, value in metrics.items()
        if key not in ("macro_f1", "micro_f1") and isinstance(value, (int, float, str))
    ]
    return render_to_string(
        "admin/training/metrics_table.html",
        {
            "per_type": per_type,
            "macro_f1": _number(metrics.get("macro_f1")),
            "micro_f1": _number(metrics.get("micro_f1")),
            "facts": facts,
        },
    )


def macro_f1(metrics):
    value = (metrics or {}).get("macro_f1")
    return "-" if value is None else f"{value:.3f}"


@admin.register(TrainingJob)
class TrainingJobAdmin(ReadOnlyAdmin):
    list_display = (
        "__str__",
        "tenant",
        "dataset",
        "annotation_set_version",
        "status",
        "progress_cell",
        "f1",
        "error",
        "created_at",
        "completed_at",
    )
    list_filter = ("status", "stage", "tenant", "created_at")
    list_select_related = ("tenant", "dataset")
    search_fields = ("id", "name", "dataset__name", "client_reference", "error_message")
    date_hierarchy = "created_at"
    actions = ["cancel"]
    readonly_fields = ("progress_cell", "history_chart", "metrics_summary", "error", *WORKER_FIELDS)
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "id",
                    "name",
                    "tenant",
                    "dataset",
                    "annotation_set",
                    "annotation_set_version",
                    "status",
                    "stage",
                    "progress_cell",
                    "error_message",
                    "model",
                    "client_reference",
                )
            },
        ),
        ("Training history", {"fields": ("history_chart",)}),
        ("Metrics on the held-out files", {"fields": ("metrics_summary",)}),
        ("Worker", {"fields": WORKER_FIELDS, "classes": ("collapse",)}),
        ("Raw", {"fields": ("config", "history", "metrics", "progress"), "classes": ("collapse",)}),
    )

    @admin.display(description="progress", ordering="progress")
    def progress_cell(self, job):
        return progress_bar(job.progress, job.stage if job.status == "processing" else "")

    @admin.display(description="macro F1")
    def f1(self, job):
        return macro_f1(job.metrics)

    @admin.display(description="error")
    def error(self, job):
        return error_excerpt(job.error_message)

    @admin.display(description="metrics")
    def metrics_summary(self, job):
        return metrics_table(job.metrics)

    @admin.display(description="chart")
    def history_chart(self, job):
        if not job.history:
            return "no epoch finished yet"
        # The query string changes with every epoch, so a reload never shows a cached chart.
        url = reverse("admin:training_trainingjob_history_chart", args=[job.pk]) + f"?epochs={len(job.history)}"
        return format_html('<img src="{}" style="max-width: 100%" alt="training history chart">', url)

    def get_urls(self):
        history = path(
            "<uuid:job_id>/history.svg",
            self.admin_site.admin_view(self.history_view),
            name="training_trainingjob_history_chart",
        )
        return [history, *super().get_urls()]

    def history_view(self, request, job_id):
        from training import history_plot  # matplotlib: loaded on the first chart

        job = get_object_or_404(TrainingJob, pk=job_id)
        svg = history_plot.svg_for(job.history, best_epoch=(job.metrics or {}).get("best_epoch"))
        return HttpResponse(svg, content_type="image/svg+xml")

    @admin.action(description="Cancel selected jobs")
    def cancel(self, request, queryset):
        cancelled = cancel_each(queryset, services.cancel_training_job)
        self.message_user(request, f"Cancelled {cancelled} job(s).", messages.SUCCESS)


@admin.register(Model)
class ModelAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "tenant",
        "dataset",
        "annotation_set_version",
        "types",
        "f1",
        "size_bytes",
        "created_at",
    )
    list_filter = ("tenant", "created_at")
    list_select_related = ("tenant", "dataset")
    search_fields = ("id", "name", "dataset__name")
    # Only the name may change (as through the API); the rest is what training measured.
    readonly_fields = ["metrics_summary", *(field.name for field in Model._meta.fields if field.name != "name")]
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "id",
                    "name",
                    "tenant",
                    "dataset",
                    "annotation_set",
                    "annotation_set_version",
                    "training_job",
                    "artifact_types",
                    "size_bytes",
                    "created_at",
                )
            },
        ),
        ("Metrics on the held-out files", {"fields": ("metrics_summary",)}),
        ("Raw", {"fields": ("config", "metrics", "storage_key", "updated_at"), "classes": ("collapse",)}),
    )

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # through the API: it removes the artifact and refuses while inference uses the model

    def save_model(self, request, obj, form, change):
        services.rename_model(model=obj, name=form.cleaned_data["name"])

    @admin.display(description="artifact types")
    def types(self, model):
        return ", ".join(model.artifact_types)

    @admin.display(description="macro F1")
    def f1(self, model):
        return macro_f1(model.metrics)

    @admin.display(description="metrics")
    def metrics_summary(self, model):
        return metrics_table(model.metrics)


@admin.register(Evaluation)
class EvaluationAdmin(ReadOnlyAdmin):
    list_display = (
        "evaluation_id",
        "model",
        "tenant",
        "annotation_set_version",
        "status",
        "progress_cell",
        "f1",
        "error",
    )
    list_filter = ("status", "tenant", "created_at")
    list_select_related = ("model", "tenant")
    search_fields = ("id", "model__name", "client_reference", "error_message")
    date_hierarchy = "created_at"
    readonly_fields = ("progress_cell", "metrics_summary", "error", *WORKER_FIELDS)
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "id",
                    "tenant",
                    "model",
                    "annotation_set",
                    "annotation_set_version",
                    "status",
                    "progress_cell",
                    "error_message",
                    "client_reference",
                )
            },
        ),
        ("Metrics", {"fields": ("metrics_summary",)}),
        ("Worker", {"fields": WORKER_FIELDS, "classes": ("collapse",)}),
        ("Raw", {"fields": ("audio_file_ids", "metrics", "progress"), "classes": ("collapse",)}),
    )

    @admin.display(description="id", ordering="id")
    def evaluation_id(self, evaluation):
        return short_id(evaluation)

    @admin.display(description="progress", ordering="progress")
    def progress_cell(self, evaluation):
        return progress_bar(evaluation.progress)

    @admin.display(description="macro F1")
    def f1(self, evaluation):
        return macro_f1(evaluation.metrics)

    @admin.display(description="error")
    def error(self, evaluation):
        return error_excerpt(evaluation.error_message)

    @admin.display(description="metrics")
    def metrics_summary(self, evaluation):
        return metrics_table(evaluation.metrics)
