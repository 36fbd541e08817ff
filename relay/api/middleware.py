"""Request ids and the request log."""

import contextvars
import logging
import re
import time
import uuid

from relay import metrics

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)

logger = logging.getLogger("relay.request")
_CLIENT_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


class RequestIdMiddleware:
    """Give each request an id (the client's X-Request-ID if it is sane), echo it in the
    response, tag every log line with it, and write one log line per request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        client_id = request.headers.get("X-Request-ID", "")
        request_id = client_id if _CLIENT_ID.match(client_id) else uuid.uuid4().hex
        request.request_id = request_id
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            response["X-Request-ID"] = request_id
            self._log(request, response.status_code, started)
            return response
        finally:
            request_id_var.reset(token)

    @staticmethod
    def _log(request, status_code, started):
        principal = getattr(request, "user", None)
        api_key = getattr(principal, "api_key", None)
        who = f"tenant={api_key.tenant.name} key=rk_{api_key.prefix}" if api_key else "anonymous"
        seconds = time.perf_counter() - started
        logger.log(
            logging.WARNING if status_code >= 500 else logging.INFO,
            "%s %s %s %.1fms %s",
            request.method,
            request.get_full_path(),
            status_code,
            seconds * 1000,
            who,
        )
        metrics.observe_request(request, status_code, seconds)


class RequestIdLogFilter(logging.Filter):
    """Adds `request_id` to every record: the HTTP request's, the Celery task's, or '-'."""

    def filter(self, record):
        request_id = request_id_var.get()
        if request_id is None:
            request_id = _current_task_id()
        record.request_id = request_id or "-"
        return True


def _current_task_id():
    from celery import current_task

    task_request = getattr(current_task, "request", None) if current_task else None
    task_id = getattr(task_request, "id", None)
    return f"task:{task_id}" if task_id else None
