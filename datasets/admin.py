from django.contrib import admin
from django.db.models import Count

from datasets.models import ArtifactType, Dataset


class ArtifactTypeInline(admin.TabularInline):
    model = ArtifactType
    extra = 0
    fields = ("name", "description", "color")


@admin.register(Dataset)
class DatasetAdmin(admin.ModelAdmin):
    list_display = ("name", "tenant", "type_count", "audio_count", "created_at", "updated_at")
    list_filter = ("tenant", "created_at")
    list_select_related = ("tenant",)
    search_fields = ("name", "description", "id", "tenant__name")
    readonly_fields = ("id", "created_at", "updated_at")
    date_hierarchy = "created_at"
    inlines = [ArtifactTypeInline]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(_types=Count("artifact_types", distinct=True), _audio=Count("audio_files", distinct=True))
        )

    @admin.display(description="artifact types", ordering="_types")
    def type_count(self, dataset):
        return dataset._types

    @admin.display(description="audio files", ordering="_audio")
    def audio_count(self, dataset):
        return dataset._audio
