from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from annotations import selectors, services
from annotations.models import Annotation, AnnotationSet
from relay.errors import Conflict


def with_counts(annotation_sets):
    """The sets with their counts: live for drafts, stored at publish time for published
    sets, and how many files each annotates."""
    annotation_sets = selectors.with_stats(annotation_sets)
    files = selectors.annotated_file_counts([s.pk for s in annotation_sets])
    for annotation_set in annotation_sets:
        annotation_set.files_annotated = files[annotation_set.pk]
    return annotation_sets


@admin.register(AnnotationSet)
class AnnotationSetAdmin(admin.ModelAdmin):
    list_display = (
        "__str__",
        "version",
        "status",
        "annotation_count",
        "files",
        "by_type",
        "positive_duration",
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
        "counted",
        "annotation_count",
        "files",
        "by_type_table",
        "positive_duration",
        "created_at",
        "updated_at",
        "published_at",
        "annotations_link",
    )
    fields = ("name",) + readonly_fields

    def has_add_permission(self, request):
        return False  # sets are made through the API, which assigns versions safely

    def has_change_permission(self, request, obj=None):
        return obj is None or not obj.is_published  # a draft's name may change; a published set never

    def has_delete_permission(self, request, obj=None):
        return False  # through the API, which refuses for published sets

    def save_model(self, request, obj, form, change):
        # Only the name, and only while a draft (under the set's lock): a full save writes
        # back every field as it was read, undoing a publish that lands in between.
        try:
            services.rename_draft(annotation_set=obj, name=form.cleaned_data["name"])
        except Conflict as refused:
            self.message_user(request, str(refused), messages.ERROR)

    def get_changelist_instance(self, request):
        changelist = super().get_changelist_instance(request)
        changelist.result_list = with_counts(changelist.result_list)
        return changelist

    def get_object(self, request, object_id, from_field=None):
        annotation_set = super().get_object(request, object_id, from_field)
        return None if annotation_set is None else with_counts([annotation_set])[0]

    @admin.display(description="counts")
    def counted(self, annotation_set):
        if annotation_set.is_published:
            return "stored when the set was published"
        return "live: counted now, as the draft still changes"

    @admin.display(description="annotations")
    def annotation_count(self, annotation_set):
        return annotation_set.total_annotations

    @admin.display(description="files annotated")
    def files(self, annotation_set):
        return annotation_set.files_annotated

    @admin.display(description="per type")
    def by_type(self, annotation_set):
        counts = annotation_set.annotations_by_type
        if not counts:
            return "-"
        return format_html_join(" · ", '<span style="white-space: nowrap">{}: {}</span>', sorted(counts.items()))

    @admin.display(description="per type")
    def by_type_table(self, annotation_set):
        counts = annotation_set.annotations_by_type
        if not counts:
            return "-"
        rows = format_html_join("", "<tr><td>{}</td><td style='text-align: right'>{}</td></tr>", sorted(counts.items()))
        return format_html("<table><thead><tr><th>type</th><th>annotations</th></tr></thead>{}</table>", rows)

    @admin.display(description="time annotated")
    def positive_duration(self, annotation_set):
        return f"{annotation_set.total_positive_duration_ms / 1000:.1f} s"

    @admin.display(description="annotations")
    def annotations_link(self, annotation_set):
        url = reverse("admin:annotations_annotation_changelist") + f"?annotation_set__id__exact={annotation_set.pk}"
        return format_html('<a href="{}">annotations of this set</a>', url)


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
