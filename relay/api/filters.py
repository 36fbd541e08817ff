from django.db.models.functions import Lower
from django_filters import rest_framework as filters
from rest_framework.exceptions import ErrorDetail

from relay.api.exceptions import RequestValidationError


class FilterBackend(filters.DjangoFilterBackend):
    """django-filter, with invalid filter values answered as 422 with `loc ["query", name]`."""

    def filter_queryset(self, request, queryset, view):
        filterset = self.get_filterset(request, queryset, view)
        if filterset is None:
            return queryset
        if not filterset.is_valid():
            errors = {
                field: [ErrorDetail(" ".join(error.messages), code=error.code or "invalid") for error in field_errors]
                for field, field_errors in filterset.form.errors.as_data().items()
            }
            raise RequestValidationError(errors, location="query")
        return filterset.qs



class OrderingFilter(filters.OrderingFilter):
    """`?ordering=name,-created_at`; text fields in `case_insensitive` sort as people expect
    (alpha, Beta, gamma), whatever the database collation."""

    def __init__(self, *args, case_insensitive=(), **kwargs):
        self.case_insensitive = set(case_insensitive)
        super().__init__(*args, **kwargs)

    def get_ordering_value(self, param):
        value = super().get_ordering_value(param)
        field = value.lstrip("-")
        if field not in self.case_insensitive:
            return value
        expression = Lower(field)
        return expression.desc() if value.startswith("-") else expression.asc()

    def filter(self, qs, value):
        qs = super().filter(qs, value)
        if value:  # a stable order across pages, whatever the chosen key
            qs = qs.order_by(*qs.query.order_by, "-pk")
        return qs
