from django_filters import rest_framework as filters

from relay.api.filters import IsoDateTimeFilter, OrderingFilter, UUIDListFilter
from relay.jobs import JobStatus
from training.models import Evaluation, Model, TrainingJob


class TrainingJobFilter(filters.FilterSet):
    id = UUIDListFilter(field_name="id", help_text="Repeat for several jobs; they come in that order.")
    status = filters.MultipleChoiceFilter(choices=JobStatus.choices, help_text="Repeat for several statuses.")
    dataset_id = filters.UUIDFilter(field_name="dataset_id")
    client_reference = filters.CharFilter()
    created_after = IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")
    ordering = OrderingFilter(
        fields=("created_at", "started_at", "completed_at", "status"),
        help_text="created_at, started_at, completed_at or status; - for descending.",
    )

    class Meta:
        model = TrainingJob
        fields = []


class ModelFilter(filters.FilterSet):
    id = UUIDListFilter(field_name="id", help_text="Repeat for several models; they come in that order.")
    dataset_id = filters.UUIDFilter(field_name="dataset_id")
    name = filters.CharFilter(lookup_expr="icontains")
    ordering = OrderingFilter(fields=("created_at", "name"), case_insensitive=("name",))

    class Meta:
        model = Model
        fields = []


class EvaluationFilter(filters.FilterSet):
    id = UUIDListFilter(field_name="id", help_text="Repeat for several evaluations; they come in that order.")
    status = filters.MultipleChoiceFilter(choices=JobStatus.choices)
    ordering = OrderingFilter(fields=("created_at", "completed_at"))

    class Meta:
        model = Evaluation
        fields = []
