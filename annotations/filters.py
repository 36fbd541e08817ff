from django_filters import rest_framework as filters

from annotations.models import Annotation, AnnotationSet, SetStatus
from relay.api.filters import OrderingFilter


class AnnotationSetFilter(filters.FilterSet):
    status = filters.ChoiceFilter(choices=SetStatus.choices)
    ordering = OrderingFilter(
        fields=("version", "created_at", "published_at"),
        help_text="version, created_at or published_at; - for descending (default -version).",
    )

    class Meta:
        model = AnnotationSet
        fields = []


class AnnotationFilter(filters.FilterSet):
    audio_file_id = filters.UUIDFilter(field_name="audio_file_id")
    artifact_type = filters.CharFilter(field_name="artifact_type__name", lookup_expr="iexact")
    start_after_ms = filters.NumberFilter(
        field_name="end_ms", lookup_expr="gt", help_text="Only annotations that end after this time."
    )
    end_before_ms = filters.NumberFilter(
        field_name="start_ms", lookup_expr="lt", help_text="Only annotations that start before this time."
    )
    ordering = OrderingFilter(
        fields=("start_ms", "end_ms", "created_at", "audio_file_id", "confidence"),
        help_text="start_ms, end_ms, created_at, audio_file_id or confidence; - for descending.",
    )

    class Meta:
        model = Annotation
        fields = []
