import datetime
import json
import logging
import uuid

import orjson
from django.conf import settings
from django.core import signing
from django.db import connections
from django.db.models import F, Q
from rest_framework.pagination import BasePagination
from rest_framework.response import Response

from relay.errors import InvalidInput
from relay.prepared import Lazy, Template, resolve

logger = logging.getLogger(__name__)

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200


MAX_OFFSET = 2**31 - 1

CURSOR_SALT = "relay.api.pagination.cursor"


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


# --- keyset (cursor) pagination -----------------------------------------------------------


class Keyset:
    """The ordering of a queryset as a keyset: plain non-null fields, the primary key last
    (added when missing, so that the order is total). None when the ordering cannot be
    walked by key (expressions such as case-insensitive names, or nullable fields)."""

    def __init__(self, model, terms):
        self.model = model
        self.terms = terms  # [(field, descending)]

    @classmethod
    def of(cls, queryset):
        model = queryset.model
        query = queryset.query
        ordering = (
            list(query.order_by) if query.order_by else list(model._meta.ordering if query.default_ordering else [])
        )
        terms, seen = [], set()
        for item in ordering:
            if not isinstance(item, str) or "__" in item or item.lstrip("-") in ("?",):
                return None
            descending = item.startswith("-")
            name = item.lstrip("-")
            try:
                field = model._meta.pk if name == "pk" else model._meta.get_field(name)
            except Exception:
                return None
            if field.null or not getattr(field, "concrete", False) or field in seen:
                return None
            seen.add(field)
            terms.append((field, descending))
        if model._meta.pk not in seen:
            terms.append((model._meta.pk, terms[-1][1] if terms else False))
        return cls(model, terms)

    @property
    def names(self):
        return [("-" if descending else "") + field.attname for field, descending in self.terms]

    def order(self, queryset):
        return queryset.order_by(*self.names)

    def encode(self, row):
        values = [row[f.attname] if isinstance(row, dict) else getattr(row, f.attname) for f, _ in self.terms]
        return signing.dumps({"o": self.names, "v": [_plain(v) for v in values]}, salt=CURSOR_SALT, compress=True)

    def decode(self, cursor):
        try:
            payload = signing.loads(cursor, salt=CURSOR_SALT)
            if payload["o"] != self.names:
                raise ValueError("the cursor was made for another ordering")
            if len(payload["v"]) != len(self.terms):
                raise ValueError("wrong number of values")
            return [field.to_python(value) for (field, _), value in zip(self.terms, payload["v"], strict=True)]
        except Exception:
            raise InvalidInput.at(
                ["query", "cursor"],
                "invalid cursor: pass the next_cursor of a previous page of this list, with the same ordering",
                "value_error.cursor",
            ) from None

    def after(self, queryset, values):
        """Rows strictly after `values` in this order. The first field is also bounded on its
        own (`<=`/`>=`) so that an index on it gives the scan a start."""
        alternatives = Q()
        for index, (field, descending) in enumerate(self.terms):
            equal = {f.attname: v for (f, _), v in zip(self.terms[:index], values[:index], strict=True)}
            beyond = {f"{field.attname}__{'lt' if descending else 'gt'}": values[index]}
            alternatives |= Q(**equal, **beyond)
        first, descending = self.terms[0]
        bound = Q(**{f"{first.attname}__{'lte' if descending else 'gte'}": values[0]})
        return self.order(queryset).filter(bound & alternatives)


def _plain(value):
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def cheap_count(queryset):
    """(total, is_estimate): exact up to RELAY_EXACT_COUNT_LIMIT rows (a count that stops there),
    PostgreSQL's planner estimate above it (never below the rows already counted)."""
    limit = settings.RELAY_EXACT_COUNT_LIMIT
    queryset = queryset.order_by()
    counted = queryset.values("pk")[: limit + 1].count()
    if counted <= limit:
        return counted, False
    return max(planner_estimate(queryset), counted), True


def planner_estimate(queryset):
    """The rows PostgreSQL's planner expects `queryset` to return (0 if it cannot tell)."""
    try:
        sql, params = queryset.values("pk").query.sql_with_params()
        with connections[queryset.db].cursor() as cursor:
            cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
            plan = cursor.fetchone()[0]
        plan = json.loads(plan) if isinstance(plan, str | bytes) else plan
        return int(plan[0]["Plan"]["Plan Rows"])
    except Exception:  # not PostgreSQL, or a plan we cannot read: the exact floor still holds
        logger.warning("no planner estimate for a list total", exc_info=True)
        return 0


def _documents(queryset, keyset, document, keyset_columns=True):
    """`queryset` (in `keyset`'s order) as rows of the keyset's columns and `_document`, last."""
    columns = [field.attname for field, _ in keyset.terms] if keyset is not None and keyset_columns else []
    return queryset.values(*columns, _document=document)


def _in_document(keyset, document):
    """Whether each field of `keyset` is in `document` as it is (a key of its name, F(name)),
    so that a cursor can be made from the document alone."""
    fields = dict(zip(document.keys, document.get_source_expressions(), strict=True))
    return keyset is not None and all(
        isinstance(fields.get(field.attname), F) and fields[field.attname].name == field.attname
        for field, _ in keyset.terms
    )


_templates = {}


def _page_template(lazy, document):
    """(the relay.prepared.Template of pages of `lazy`'s documents, its Keyset, whether its
    rows are the documents alone): one per kind of Lazy queryset (its build function and the
    names of its values) and document. When the document holds the keyset's fields, rows
    have no other column: a cursor is made from the last document."""
    key = (lazy.build, id(document), tuple(sorted(lazy.values)))
    found = _templates.get(key)
    if found is None:
        build = lazy.build
        keyset = Keyset.of(build(**{name: uuid.uuid4() for name in lazy.values}))
        alone = _in_document(keyset, document)

        def documents(**values):
            queryset = build(**values)
            queryset = keyset.order(queryset) if keyset is not None else queryset
            return _documents(queryset, keyset, document, keyset_columns=not alone)

        found = _templates.setdefault(key, (Template(documents), keyset, alone, document))
    return found[:3]


class PagePagination(BasePagination):
    """`?page=1&page_size=50` or `?cursor=<next_cursor>&page_size=50` ->
    `{items, total, total_is_estimate, page, page_size, has_more, next_cursor}`."""

    max_page_size = MAX_PAGE_SIZE

    def paginate_queryset(self, queryset, request, view=None, document=None):
        """The page's rows; with `document` (a relay.jsonrows.JSONRow), each item is that JSON
        as the database wrote it (an orjson.Fragment, embedded as is by the renderer).
        `queryset` may be a relay.prepared.Lazy: a page (not a cursor) of its documents then
        runs SQL compiled once, and the queryset is built only if a count is needed."""
        params = request.query_params
        max_page_size = getattr(view, "max_page_size", self.max_page_size)
        self.page_size = positive_int(params, "page_size", DEFAULT_PAGE_SIZE, max_page_size)
        self.missing_ids = getattr(request, "missing_ids", None)
        cursor = params.get("cursor")
        lazy = queryset if isinstance(queryset, Lazy) and document is not None and cursor is None else None
        if lazy is not None:
            template, keyset, alone = _page_template(lazy, document)
        else:
            queryset = resolve(queryset)
            keyset = Keyset.of(queryset)
            if keyset is not None:
                queryset = keyset.order(queryset)
            counted = queryset
            if document is not None:
                queryset = _documents(queryset, keyset, document)
        if cursor is not None:
            if "page" in params:
                raise InvalidInput.at(["query", "cursor"], "give page or cursor, not both", "value_error.conflict")
            if keyset is None:
                raise InvalidInput.at(
                    ["query", "cursor"],
                    "cursor pagination needs the default ordering or an ordering by fields that are never null "
                    "and not case-insensitive (created_at, updated_at, file_size, ...); use page with this ordering",
                    "value_error.cursor_ordering",
                )
            self.page = None
            window = keyset.after(queryset, keyset.decode(cursor)) if cursor else queryset
            rows = list(window[: self.page_size + 1])
        else:
            self.page = positive_int(params, "page", 1)
            offset = (self.page - 1) * self.page_size
            if offset > MAX_OFFSET:
                rows = []
            elif lazy is not None:
                rows = template.rows(lazy.values, limit=self.page_size + 1, offset=offset)
            else:
                rows = list(queryset[offset : offset + self.page_size + 1])
        self.has_more = len(rows) > self.page_size
        items = rows[: self.page_size]
        last = items[-1] if self.has_more and keyset is not None else None
        if last is not None and lazy is not None:  # a tuple of a Template's rows
            last = orjson.loads(last[-1]) if alone else dict(zip(template.columns(lazy.values), last, strict=True))
        self.next_cursor = keyset.encode(last) if last is not None else None
        if self.page is not None and not self.has_more and (items or offset == 0):
            self.total, self.total_is_estimate = offset + len(items), False  # the last page: no count needed
        else:
            self.total, self.total_is_estimate = cheap_count(lazy.queryset if lazy is not None else counted)
        if lazy is not None:
            return [orjson.Fragment(row[-1]) for row in items]
        if document is not None:
            return [orjson.Fragment(row["_document"]) for row in items]
        return items

    def get_paginated_response(self, data):
        return Response(self.body(data))

    def body(self, data):
        return {
            "items": data,
            "total": self.total,
            "total_is_estimate": self.total_is_estimate,
            **({"page": self.page} if self.page is not None else {}),
            "page_size": self.page_size,
            "has_more": self.has_more,
            "next_cursor": self.next_cursor,
            **({"missing_ids": self.missing_ids} if self.missing_ids is not None else {}),
        }

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "required": ["items", "total", "total_is_estimate", "page_size", "has_more", "next_cursor"],
            "properties": {
                "items": schema,
                "total": {
                    "type": "integer",
                    "example": 150,
                    "description": "Rows in the list (with the filters). Exact up to RELAY_EXACT_COUNT_LIMIT "
                    "(10,000); above it PostgreSQL's estimate, and `total_is_estimate` is true.",
                },
                "total_is_estimate": {"type": "boolean", "example": False},
                "page": {"type": "integer", "example": 1, "description": "Page mode only (absent with `cursor`)."},
                "page_size": {"type": "integer", "example": 50},
                "has_more": {"type": "boolean", "example": True},
                "next_cursor": {
                    "type": "string",
                    "nullable": True,
                    "description": "Pass as `?cursor=` for the next page (keyset pagination: constant cost at any "
                    "depth, no row skipped or repeated when rows are added). Null on the last page, and with an "
                    "ordering cursors do not support (case-insensitive names, nullable fields, `?id=` lists).",
                },
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
                "description": "Page number, from 1 (OFFSET pagination: deep pages cost more; see `cursor`).",
                "schema": {"type": "integer", "minimum": 1, "default": 1},
            },
            {
                "name": "page_size",
                "in": "query",
                "required": False,
                "description": f"Items per page, 1 to {max_page_size}.",
                "schema": {"type": "integer", "minimum": 1, "maximum": max_page_size, "default": DEFAULT_PAGE_SIZE},
            },
            {
                "name": "cursor",
                "in": "query",
                "required": False,
                "description": "Keyset pagination: the `next_cursor` of the previous page (empty for the first "
                "page). Not with `page`. Works with the default ordering and with `ordering` by fields that are "
                "never null and not case-insensitive; otherwise 422. A cursor is opaque and signed, and only "
                "valid with the ordering it was made for.",
                "schema": {"type": "string"},
            },
        ]
