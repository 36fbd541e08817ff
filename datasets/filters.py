from django_filters import rest_framework as filters

from datasets.models import AudioFile, AudioStatus, Dataset
from relay.api.filters import IsoDateTimeFilter, OrderingFilter, UUIDListFilter


class DatasetFilter(filters.FilterSet):
    name = filters.CharFilter(lookup_expr="icontains", help_text="Part of the name, any case.")
    created_after = IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")
    ordering = OrderingFilter(
        fields=("name", "created_at", "updated_at"),
        case_insensitive=("name",),
        help_text="name, created_at or updated_at; prefix - for descending (default -created_at).",
    )

    class Meta:
        model = Dataset
        fields = []


class AudioFileFilter(filters.FilterSet):
    id = UUIDListFilter(field_name="id", help_text="Repeat for several files; they come in that order.")
    processing_status = filters.MultipleChoiceFilter(
        field_name="status", choices=AudioStatus.choices, help_text="One or more statuses (repeat the parameter)."
    )
    filename = filters.CharFilter(lookup_expr="icontains", help_text="Part of the file name, any case.")
    content_type = filters.CharFilter()
    created_after = IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")
    ordering = OrderingFilter(
        fields=("filename", "created_at", "updated_at", "duration_ms", "file_size", ("status", "processing_status")),
        case_insensitive=("filename",),
        help_text="filename, created_at, updated_at, duration_ms, file_size or processing_status; - for descending.",
    )

    class Meta:
        model = AudioFile
        fields = []
