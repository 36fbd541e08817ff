"""The one error envelope of the API, and the one place that maps errors to HTTP.

Every failure is `{"detail": "..."}`; validation failures are 422 with
`{"detail": [{"loc": [...], "msg": "...", "type": "..."}]}`, where `loc` starts with
`body`, `query`, `path` or `header` and walks into nested fields and list indexes.
Services raise the domain errors of `relay.errors`; DRF raises its own exceptions for
authentication, permissions, parsing and serializer validation; both end up here.
"""

import logging

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import set_rollback

from relay import errors

logger = logging.getLogger(__name__)

INTERNAL_ERROR = "Internal server error; the request id in X-Request-ID identifies it in the logs"

_STATUS = {
    errors.Malformed: status.HTTP_400_BAD_REQUEST,
    errors.Forbidden: status.HTTP_403_FORBIDDEN,
    errors.NotFound: status.HTTP_404_NOT_FOUND,
    errors.Conflict: status.HTTP_409_CONFLICT,
    errors.TooLarge: status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
    errors.Unavailable: status.HTTP_503_SERVICE_UNAVAILABLE,
}

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


def error_type(code):
    """The contract's `type` of a Django/DRF error code."""
    code = code or "invalid"
    return code if "." in code else _TYPES.get(code, f"value_error.{code}")


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
        yield errors.problem(loc, _MESSAGES.get(code, str(detail)), error_type(code))


def problems_of(exc, location="body"):
    """The `{loc, msg, type}` items of a domain InvalidInput or a DRF ValidationError."""
    if isinstance(exc, errors.InvalidInput):
        return exc.problems
    return list(error_items(exc.detail, [location]))


def error_status(exc):
    """The HTTP status a domain error answers with (per-item errors of batch endpoints)."""
    if isinstance(exc, errors.InvalidInput):
        return status.HTTP_422_UNPROCESSABLE_ENTITY
    for error_class, code in _STATUS.items():
        if isinstance(exc, error_class):
            return code
    return status.HTTP_400_BAD_REQUEST


def as_api_exception(exc):
    """A domain error (or a Django one) as the DRF exception the envelope is built from;
    None for anything else (an internal error)."""
    if isinstance(exc, exceptions.APIException):
        return exc
    if isinstance(exc, errors.InvalidInput):
        return exceptions.ValidationError(exc.problems)
    for error_class, code in _STATUS.items():
        if isinstance(exc, error_class):
            return _api_error(exc.message, code)
    if isinstance(exc, Http404):
        return exceptions.NotFound(str(exc) or "Not found")
    if isinstance(exc, DjangoPermissionDenied):
        return exceptions.PermissionDenied()
    if isinstance(exc, RequestDataTooBig):
        return _api_error(
            f"Request body too large: the limit is {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes",
            status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    if isinstance(exc, (OperationalError, InterfaceError)):
        logger.error("database unavailable: %s", exc)
        return _api_error("Database unavailable; try again shortly", status.HTTP_503_SERVICE_UNAVAILABLE)
    return None


def _api_error(message, code):
    error = exceptions.APIException(message)
    error.status_code = code
    return error


def _unsupported_media_type(exc, context):
    """DRF's 415, saying which Content-Type the view reads."""
    view = context.get("view")
    accepted = [parser.media_type for parser in getattr(view, "parser_classes", [])] or ["application/json"]
    sent = context["request"].content_type if context.get("request") is not None else ""
    error = exceptions.UnsupportedMediaType(
        sent, f'Unsupported Content-Type "{sent}": send the body as {" or ".join(accepted)}'
    )
    return error


def exception_handler(exc, context):
    original = exc
    if isinstance(exc, exceptions.UnsupportedMediaType):
        exc = _unsupported_media_type(exc, context)
    exc = as_api_exception(exc)
    set_rollback()
    if isinstance(original, errors.InvalidInput):
        return Response({"detail": original.problems}, status=status.HTTP_422_UNPROCESSABLE_ENTITY)
    if isinstance(exc, exceptions.ValidationError):
        items = list(error_items(exc.detail, [getattr(exc, "location", "body")]))
        return Response({"detail": items}, status=status.HTTP_422_UNPROCESSABLE_ENTITY)
    if exc is not None:
        headers = {}
        if getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = exc.auth_header
        if getattr(exc, "wait", None):
            headers["Retry-After"] = str(int(exc.wait))
        detail = exc.detail
        if isinstance(detail, (list, dict)):  # a non-validation error raised with structure
            detail = "; ".join(item["msg"] for item in error_items(detail, []))
        return Response({"detail": str(detail)}, status=exc.status_code, headers=headers)
    if isinstance(original, DatabaseError):
        logger.exception("database error")
    else:
        logger.exception("unhandled error in %s", context.get("view").__class__.__name__)
    return Response({"detail": INTERNAL_ERROR}, status=status.HTTP_500_INTERNAL_SERVER_ERROR)
