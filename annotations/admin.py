from django.contrib import admin

from annotations.models import Annotation, AnnotationSet


@admin.register(AnnotationSet)
class AnnotationSetAdmin(admin.ModelAdmin):
    list_display = (
        "__str__",
        "dataset",
        "version",
        "status",
        "total_annotations",
        "total_positive_duration_ms",
        "created_at",
        "published_at",
    )
    list_filter = ("status", "dataset__tenant", "created_at")
    list_select_related = ("dataset",)
    search_fields = ("dataset__name", "name", "id")
    readonly_fields = (
        "id",
        "dataset",
        "version",
        "status",
        "from_version",
        "total_annotations",
        "total_positive_duration_ms",
        "annotations_by_type",
        "created_at",
        "updated_at",
        "published_at",
        "annotations_link",
    )
    fields = ("name",) + readonly_fields

    def has_add_permission(self, request):
        return False  # sets are made through the API, which assigns versions safely

    @admin.display(description="annotations")
    def annotations_link(self, annotation_set):
        from django.urls import reverse
        from django.utils.html import format_html

        url = reverse("admin:annotations_annotation_changelist") + f"?annotation_set__id__exact={annotation_set.pk}"
        return format_html('<a href="{}">annotations of this set</a>', url)

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.is_published:
            return ("name", *self.readonly_fields)
        return self.readonly_fields


@admin.register(Annotation)
class AnnotationAdmin(admin.ModelAdmin):
    list_display = ("id", "annotation_set", "audio_file", "artifact_type", "start_ms", "end_ms", "confidence")
    list_filter = ("annotation_set__status", "artifact_type__name", "annotation_set")
    list_select_related = ("annotation_set", "annotation_set__dataset", "audio_file", "artifact_type")
    search_fields = ("id", "audio_file__filename", "artifact_type__name")
    readonly_fields = (
        "id",
        "annotation_set",
        "audio_file",
        "artifact_type",
        "start_ms",
        "end_ms",
        "confidence",
        "extra_data",
        "created_at",
        "updated_at",
    )

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False  # edits go through the API, which enforces the draft/published lock

    def has_delete_permission(self, request, obj=None):
        return False
