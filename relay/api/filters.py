import uuid
from datetime import UTC

from django import forms
from django.db.models import Case, IntegerField, Value, When
from django.db.models.functions import Lower
from django_filters import rest_framework as filters
from django_filters.fields import IsoDateTimeField

from relay.api.exceptions import error_type
from relay.errors import InvalidInput, problem
from relay.prepared import Lazy


class FilterBackend(filters.DjangoFilterBackend):
    """django-filter, with invalid filter values answered as 422 with `loc ["query", name]`."""

    def filter_queryset(self, request, queryset, view):
        nul = sorted({name for name, values in request.query_params.lists() if any("\x00" in v for v in values)})
        if nul:
            raise InvalidInput(
                [problem(["query", n], "NUL characters are not allowed", "value_error.nul") for n in nul]
            )
        if isinstance(queryset, Lazy) and getattr(view, "filterset_fields", None):
            queryset = queryset.queryset  # its filter set is made from its model
        filterset_class = self.get_filterset_class(view, None if isinstance(queryset, Lazy) else queryset)
        if filterset_class is None or not any(name in filterset_class.base_filters for name in request.query_params):
            return queryset  # no filter asked for: the filter form would change nothing (and costs a millisecond)
        if isinstance(queryset, Lazy):  # (relay/prepared.py) built now, and checked against the filter set
            queryset = queryset.queryset
            filterset_class = self.get_filterset_class(view, queryset)
        filterset = filterset_class(**self.get_filterset_kwargs(request, queryset, view))
        empty = [
            name
            for name, values in request.query_params.lists()
            if "" in values
            and name in filterset.filters
            and not isinstance(filterset.filters[name], filters.CharFilter)
        ]
        if empty:  # an empty id, date or number is a mistake, not "no filter"
            raise InvalidInput(
                [
                    problem(["query", name], "empty value; leave the parameter out instead", "value_error.empty")
                    for name in empty
                ]
            )
        if not filterset.is_valid():
            raise InvalidInput(
                [
                    problem(["query", field], " ".join(error.messages), error_type(error.code))
                    for field, field_errors in filterset.form.errors.as_data().items()
                    for error in field_errors
                ]
            )
        queryset = filterset.qs
        ids = filterset.form.cleaned_data.get("id") if isinstance(filterset.filters.get("id"), UUIDListFilter) else None
        if ids:
            if len(ids) > MAX_IDS:
                raise InvalidInput.at(["query", "id"], f"at most {MAX_IDS} ids", "value_error.list.max_items")
            asked = list(dict.fromkeys(ids))
            found = {str(pk) for pk in queryset.values_list("pk", flat=True)}
            request.missing_ids = [str(pk) for pk in asked if str(pk) not in found]
            queryset = in_order_asked(queryset, asked)
        return queryset


def includes(params, allowed):
    """`?include=a,b` (or repeated): the optional parts of a response asked for, each one of `allowed`."""
    asked = {part.strip() for value in params.getlist("include") for part in value.split(",") if part.strip()}
    unknown = sorted(asked - set(allowed))
    if unknown:
        raise InvalidInput.at(
            ["query", "include"],
            f"unknown include {', '.join(map(repr, unknown))}; one of: {', '.join(sorted(allowed))}",
            "type_error.enum",
        )
    return asked


class OrderingFilter(filters.OrderingFilter):
    """`?ordering=name,-created_at`; text fields in `case_insensitive` sort as people expect
    (alpha, Beta, gamma), whatever the database collation."""

    def __init__(self, *args, case_insensitive=(), **kwargs):
        self.case_insensitive = set(case_insensitive)
        super().__init__(*args, **kwargs)
        valid = ", ".join(value for value, _ in self.extra["choices"])
        self.extra.setdefault("error_messages", {})["invalid_choice"] = (
            f"'%(value)s' is not a valid ordering; valid: {valid} (comma-separate several)"
        )

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


class _MultipleUUIDField(forms.Field):
    widget = forms.MultipleHiddenInput  # reads every value of a repeated parameter

    def clean(self, value):
        values = [part for item in (value or []) for part in str(item).split(",") if part]
        try:
            return [uuid.UUID(part) for part in values]
        except ValueError:
            raise forms.ValidationError("value is not a valid uuid", code="type_error.uuid") from None


MAX_IDS = 200


class UUIDListFilter(filters.Filter):
    """`?id=<uuid>&id=<uuid>` (or comma-separated): any of these ids. Named `id`, it is a
    multi-get: the list comes in the order asked, and the ids not found are reported
    (`missing_ids`, see FilterBackend)."""

    field_class = _MultipleUUIDField

    def filter(self, qs, value):
        return qs.filter(**{f"{self.field_name}__in": value}) if value else qs


def in_order_asked(queryset, ids):
    """`queryset` ordered as `ids` lists its rows."""
    position = Case(*[When(pk=pk, then=Value(index)) for index, pk in enumerate(ids)], output_field=IntegerField())
    return queryset.order_by(position)


class _UtcIsoDateTimeField(IsoDateTimeField):
    """ISO 8601 with any offset ISO allows (up to +-23:59), turned into UTC: PostgreSQL
    refuses offsets beyond +-15:59."""

    def to_python(self, value):
        value = super().to_python(value)
        if value is None:
            return None
        try:
            return value.astimezone(UTC)
        except OverflowError:
            raise forms.ValidationError("date out of range", code="value_error.datetime.range") from None


class IsoDateTimeFilter(filters.IsoDateTimeFilter):
    field_class = _UtcIsoDateTimeField
