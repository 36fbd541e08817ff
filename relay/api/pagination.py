from rest_framework.pagination import BasePagination
from rest_framework.response import Response

from relay.errors import InvalidInput

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200


MAX_OFFSET = 2**31 - 1


def positive_int(params, name, default, maximum=None):
    raw = params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InvalidInput.at(["query", name], "value is not a valid integer", "type_error.integer") from None
    if value < 1:
        raise InvalidInput.at(
            ["query", name], "ensure this value is greater than or equal to 1", "value_error.number.not_ge"
        )
    if maximum is not None and value > maximum:
        raise InvalidInput.at(
            ["query", name], f"ensure this value is less than or equal to {maximum}", "value_error.number.not_le"
        )
    return value


def non_negative_int(params, name, default, maximum=MAX_OFFSET):
    raw = params.get(name)
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit()):
        raise InvalidInput.at(
            ["query", name], "ensure this value is an integer greater than or equal to 0", "value_error.number.not_ge"
        )
    if int(raw) > maximum:
        raise InvalidInput.at(
            ["query", name], f"ensure this value is less than or equal to {maximum}", "value_error.number.not_le"
        )
    return int(raw)


class PagePagination(BasePagination):
    """`?page=1&page_size=50` -> `{items, total, page, page_size, has_more}`."""

    max_page_size = MAX_PAGE_SIZE

    def paginate_queryset(self, queryset, request, view=None):
        max_page_size = getattr(view, "max_page_size", self.max_page_size)
        self.page = positive_int(request.query_params, "page", 1)
        self.page_size = positive_int(request.query_params, "page_size", DEFAULT_PAGE_SIZE, max_page_size)
        offset = (self.page - 1) * self.page_size
        self.total = queryset.count()
        items = list(queryset[offset : offset + self.page_size]) if offset < self.total else []
        self.has_more = offset + len(items) < self.total
        self.missing_ids = getattr(request, "missing_ids", None)
        return items

    def get_paginated_response(self, data):
        return Response(
            {
                "items": data,
                "total": self.total,
                "page": self.page,
                "page_size": self.page_size,
                "has_more": self.has_more,
                **({"missing_ids": self.missing_ids} if self.missing_ids is not None else {}),
            }
        )

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "required": ["items", "total", "page", "page_size", "has_more"],
            "properties": {
                "items": schema,
                "total": {"type": "integer", "example": 150},
                "page": {"type": "integer", "example": 1},
                "page_size": {"type": "integer", "example": 50},
                "has_more": {"type": "boolean", "example": True},
                "missing_ids": {
                    "type": "array",
                    "items": {"type": "string", "format": "uuid"},
                    "description": "Only with `?id=`: the ids asked for that are not in the list (unknown, "
                    "another tenant's, or filtered out). The items come in the order asked.",
                },
            },
        }

    def get_schema_operation_parameters(self, view):
        max_page_size = getattr(view, "max_page_size", self.max_page_size)
        return [
            {
                "name": "page",
                "in": "query",
                "required": False,
                "description": "Page number, from 1.",
                "schema": {"type": "integer", "minimum": 1, "default": 1},
            },
            {
                "name": "page_size",
                "in": "query",
                "required": False,
                "description": f"Items per page, 1 to {max_page_size}.",
                "schema": {"type": "integer", "minimum": 1, "maximum": max_page_size, "default": DEFAULT_PAGE_SIZE},
            },
        ]
