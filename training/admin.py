from django.contrib import admin, messages

from relay.jobs import cancel_each
from training import services
from training.models import Model, TrainingJob


@admin.register(TrainingJob)
class TrainingJobAdmin(admin.ModelAdmin):
    list_display = (
        "__str__",
        "tenant",
        "dataset",
        "annotation_set_version",
        "status",
        "stage",
        "percent",
        "macro_f1",
        "created_at",
        "completed_at",
    )
    list_filter = ("status", "stage", "tenant", "created_at")
    list_select_related = ("tenant", "dataset")
    search_fields = ("id", "name", "dataset__name", "client_reference", "error_message")
    date_hierarchy = "created_at"
    actions = ["cancel"]
    readonly_fields = [field.name for field in TrainingJob._meta.fields]

    def has_add_permission(self, request):
        return False

    @admin.display(description="progress")
    def percent(self, job):
        return f"{job.progress * 100:.0f}%"

    @admin.display(description="macro F1")
    def macro_f1(self, job):
        return "-" if not job.metrics else f"{job.metrics.get('macro_f1', 0):.3f}"

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
        "macro_f1",
        "size_bytes",
        "created_at",
    )
    list_filter = ("tenant", "created_at")
    list_select_related = ("tenant", "dataset")
    search_fields = ("id", "name", "dataset__name")
    readonly_fields = [field.name for field in Model._meta.fields if field.name != "name"]

    def has_add_permission(self, request):
        return False

    @admin.display(description="artifact types")
    def types(self, model):
        return ", ".join(model.artifact_types)

    @admin.display(description="macro F1")
    def macro_f1(self, model):
        return f"{model.metrics.get('macro_f1', 0):.3f}" if model.metrics else "-"
