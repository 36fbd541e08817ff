"""The one error envelope of the API (api.md, "Errors").

Every failure is `{"detail": "..."}`; validation failures are 422 with
`{"detail": [{"loc": [...], "msg": "...", "type": "..."}]}`, where `loc` starts with
`body`, `query` or `path` and walks into nested fields and list indexes.
"""

import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import set_rollback

logger = logging.getLogger(__name__)


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the current state of the resource"
    default_code = "conflict"


class ServiceUnavailable(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "A service Relay depends on is unavailable; try again shortly"
    default_code = "service_unavailable"


class RequestValidationError(exceptions.ValidationError):
    """A 422 whose `loc` starts at `location` (`body`, `query` or `path`)."""

    def __init__(self, detail, location="body"):
        super().__init__(detail)
        self.location = location


class ValidationItems(RequestValidationError):
    """A 422 whose items (`{loc, msg, type}`) were built by the caller, e.g. a fast bulk validator."""

    def __init__(self, items):
        super().__init__({"detail": [item["msg"] for item in items]})
        self.items = items


def item(loc, msg, type_):
    return {"loc": list(loc), "msg": msg, "type": type_}


def query_error(field, message, code="invalid"):
    return RequestValidationError({field: [exceptions.ErrorDetail(message, code=code)]}, location="query")


# DRF error codes -> the `type` strings of the contract (pydantic's vocabulary).
_TYPES = {
    "required": "value_error.missing",
    "null": "type_error.none.not_allowed",
    "blank": "value_error.any_str.min_length",
    "max_length": "value_error.any_str.max_length",
    "min_length": "value_error.any_str.min_length",
    "max_value": "value_error.number.not_le",
    "min_value": "value_error.number.not_ge",
    "invalid_choice": "type_error.enum",
    "not_a_list": "type_error.list",
    "not_a_dict": "type_error.dict",
    "empty": "value_error.list.min_items",
    "max_items": "value_error.list.max_items",
    "min_items": "value_error.list.min_items",
    "does_not_exist": "value_error.not_found",
    "unique": "value_error.unique",
    "max_digits": "value_error.decimal.max_digits",
    "max_decimal_places": "value_error.decimal.max_places",
    "max_whole_digits": "value_error.decimal.whole_digits",
}
_MESSAGES = {"required": "field required"}


def error_items(detail, loc):
    """Flatten DRF's nested error structure into the contract's list of `{loc, msg, type}`."""
    if isinstance(detail, dict):
        for key, value in detail.items():
            is_object_level = key in (api_settings.NON_FIELD_ERRORS_KEY, "non_field_errors")
            yield from error_items(value, loc if is_object_level else [*loc, key])
    elif isinstance(detail, list):
        if all(isinstance(item, str) for item in detail):
            for item in detail:
                yield from error_items(item, loc)
        else:
            # ListSerializer: one entry per item, empty for the valid ones.
            for index, item in enumerate(detail):
                if item:
                    yield from error_items(item, [*loc, index])
    else:
        code = getattr(detail, "code", None) or "invalid"
        error_type = code if "." in code else _TYPES.get(code, f"value_error.{code}")
        yield {"loc": loc, "msg": _MESSAGES.get(code, str(detail)), "type": error_type}


def validation_response(exc: exceptions.ValidationError) -> Response:
    items = getattr(exc, "items", None)
    if items is None:
        items = list(error_items(exc.detail, [getattr(exc, "location", "body")]))
    return Response({"detail": items}, status=status.HTTP_422_UNPROCESSABLE_ENTITY)


def exception_handler(exc, context):
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(str(exc) if str(exc) else "Not found")
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, (OperationalError, InterfaceError)):
        logger.error("database unavailable: %s", exc)
        exc = ServiceUnavailable("Database unavailable; try again shortly")

    set_rollback()
    if isinstance(exc, exceptions.ValidationError):
        return validation_response(exc)
    if isinstance(exc, exceptions.APIException):
        headers = {}
        if getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = exc.auth_header
        if getattr(exc, "wait", None):
            headers["Retry-After"] = str(int(exc.wait))
        detail = exc.detail
        if isinstance(detail, (list, dict)):  # a non-validation error raised with structure
            detail = "; ".join(item["msg"] for item in error_items(detail, []))
        return Response({"detail": str(detail)}, status=exc.status_code, headers=headers)
    if isinstance(exc, DatabaseError):
        logger.exception("database error")
    else:
        logger.exception("unhandled error in %s", context.get("view").__class__.__name__)
    return Response(
        {"detail": "Internal server error; the request id in X-Request-ID identifies it in the logs"},
        status=status.HTTP_500_INTERNAL_SERVER_ERROR,
    )
