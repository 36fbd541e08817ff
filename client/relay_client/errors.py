"""Exceptions: every answer of the API that is not a success becomes a `RelayError` that
carries the HTTP status and the error envelope's `detail` (a string, or for a 422 the list
of `{"loc", "msg", "type"}` items)."""

from __future__ import annotations

from datetime import UTC


class RelayError(Exception):
    """An error answer of the Relay API (or no answer at all, for `RelayConnectionError`)."""

    status: int | None = None

    def __init__(self, status, detail, *, body=None, request_id=None, method=None, url=None, headers=None):
        self.status = status
        self.detail = detail
        self.body = body
        self.request_id = request_id
        self.method = method
        self.url = url
        self.headers = dict(headers or {})
        super().__init__(self._message())

    def _message(self):
        detail = self.detail
        if isinstance(detail, list):
            detail = "; ".join(_item_text(item) for item in detail)
        where = f"{self.method} {self.url}: " if self.method else ""
        status = f"{self.status} " if self.status is not None else ""
        tail = f" (request id {self.request_id})" if self.request_id else ""
        return f"{where}{status}{detail}{tail}"

    @property
    def errors(self):
        """The 422 items (`loc`, `msg`, `type`), or [] for other errors."""
        return self.detail if isinstance(self.detail, list) else []


def _item_text(item):
    if isinstance(item, dict):
        loc = ".".join(str(part) for part in item.get("loc", []))
        return f"{loc}: {item.get('msg', '')}" if loc else str(item.get("msg", item))
    return str(item)


class BadRequest(RelayError):
    """400 (malformed JSON, ...)."""


class AuthenticationError(RelayError):
    """401: no key, an unknown, revoked or expired key."""


class PermissionDenied(RelayError):
    """403: the key lacks the scope."""


class NotFound(RelayError):
    """404: unknown id, or another tenant's object."""


class Conflict(RelayError):
    """409: the object's state forbids it (a published set, a file not uploaded yet, ...)."""


class PayloadTooLarge(RelayError):
    """413."""


class UnsupportedMediaType(RelayError):
    """415."""


class ValidationError(RelayError):
    """422: `errors` lists one `{"loc", "msg", "type"}` per problem."""


class RateLimited(RelayError):
    """429 (after the retries were used up): `retry_after` seconds, when the server said."""

    @property
    def retry_after(self):
        return _retry_after(self.headers)


class ServerError(RelayError):
    """5xx other than 503."""


class ServiceUnavailable(RelayError):
    """503: a dependency of the server is down (after the retries were used up)."""


class RelayConnectionError(RelayError):
    """No answer: the server could not be reached or the connection broke (after retries)."""


class JobFailed(RelayError):
    """A job that `wait()` waited for ended `failed` or `cancelled`; `job` is its last state."""

    def __init__(self, job):
        self.job = job
        super().__init__(None, f"{job.get('status')}: {job.get('error_message') or 'no reason given'}")

    def _message(self):
        return f"job {self.job.get('id')} {self.detail}"


class ConfigError(Exception):
    """No API URL or key configured."""


_BY_STATUS = {
    400: BadRequest,
    401: AuthenticationError,
    403: PermissionDenied,
    404: NotFound,
    409: Conflict,
    413: PayloadTooLarge,
    415: UnsupportedMediaType,
    422: ValidationError,
    429: RateLimited,
    503: ServiceUnavailable,
}


def error_for_status(status):
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    return ServerError if status >= 500 else RelayError


def _retry_after(headers):
    value = {k.lower(): v for k, v in (headers or {}).items()}.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        from datetime import datetime
        from email.utils import parsedate_to_datetime

        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        return max(0.0, (when - datetime.now(UTC)).total_seconds())
