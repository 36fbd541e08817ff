from django_filters import rest_framework as filters

from inference.models import FileStatus, InferenceFile, InferenceJob
from relay.api.filters import IsoDateTimeFilter, OrderingFilter, UUIDListFilter
from relay.jobs import JobStatus


class InferenceJobFilter(filters.FilterSet):
    id = UUIDListFilter(field_name="id", help_text="Repeat for several jobs; they come in that order.")
    status = filters.MultipleChoiceFilter(choices=JobStatus.choices, help_text="Repeat for several statuses.")
    model_id = filters.UUIDFilter(field_name="model_id")
    client_reference = filters.CharFilter()
    created_after = IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")
    ordering = OrderingFilter(fields=("created_at", "completed_at", "status", "total_detections"))

    class Meta:
        model = InferenceJob
        fields = []


class InferenceFileFilter(filters.FilterSet):
    id = UUIDListFilter(field_name="id", help_text="Repeat for several files; they come in that order.")
    status = filters.MultipleChoiceFilter(choices=FileStatus.choices)
    original_filename = filters.CharFilter(field_name="filename", lookup_expr="icontains")
    has_detections = filters.BooleanFilter(
        field_name="detection_count", lookup_expr="gt", exclude=False, method="filter_has_detections"
    )
    ordering = OrderingFilter(
        fields=("created_at", "processed_at", "detection_count", ("filename", "original_filename")),
        case_insensitive=("filename",),
    )

    class Meta:
        model = InferenceFile
        fields = []

    def filter_has_detections(self, queryset, name, value):
        return queryset.filter(detection_count__gt=0) if value else queryset.filter(detection_count=0)
