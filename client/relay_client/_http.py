"""The HTTP layer: one `httpx.Client`, the API key, retries with backoff (429 and 503
honour `Retry-After`; network errors too), an `Idempotency-Key` on every POST (so that a
retried create is replayed by the server, never done twice), errors as exceptions and
iteration over pages."""

from __future__ import annotations

import logging
import random
import time
import uuid

import httpx

from relay_client._version import __version__
from relay_client.errors import RelayConnectionError, _retry_after, error_for_status

logger = logging.getLogger("relay_client")

RETRY_STATUSES = frozenset({429, 502, 503, 504})
PAGE_SIZE_MAX = 200


class Obj(dict):
    """A JSON object of the API: a dict whose keys also read as attributes (`job.status`)."""

    __slots__ = ()

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name, value):
        self[name] = value

    def __repr__(self):
        shown = {k: self[k] for k in ("id", "name", "filename", "original_filename", "status") if k in self}
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in shown.items())})"


def wrap(value, cls=Obj):
    """JSON -> Obj (recursively for nested objects and lists of objects)."""
    if isinstance(value, dict):
        return cls({k: wrap(v) for k, v in value.items()})
    if isinstance(value, list):
        return [wrap(v, cls) for v in value]
    return value


def clean_params(params):
    """Drop None; lists stay lists (httpx repeats the parameter: `?id=a&id=b`); booleans
    as `true`/`false`."""
    out = {}
    for key, value in (params or {}).items():
        if value is None:
            continue
        if isinstance(value, bool):
            value = "true" if value else "false"
        elif isinstance(value, (list, tuple)):
            value = [str(v) for v in value]
        out[key] = value
    return out


class Transport:
    def __init__(
        self,
        base_url,
        api_key,
        *,
        timeout=60.0,
        max_retries=6,
        backoff_s=0.5,
        max_backoff_s=30.0,
        max_retry_after_s=120.0,
        on_retry=None,
        sleep=time.sleep,
        http=None,
    ):
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.max_retries = max_retries
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self.max_retry_after_s = max_retry_after_s
        self.on_retry = on_retry
        self.sleep = sleep
        headers = {"User-Agent": f"relay-client/{__version__}", "Accept": "application/json"}
        if api_key:
            headers["X-API-Key"] = api_key
        self.http = http or httpx.Client(
            base_url=self.base_url,
            headers=headers,
            timeout=httpx.Timeout(timeout, connect=10.0),
            follow_redirects=False,
        )
        # Plain client for S3 (presigned URLs carry their own authorisation: never send the key there).
        self.s3 = httpx.Client(
            timeout=httpx.Timeout(600.0, connect=10.0), headers={"User-Agent": headers["User-Agent"]}
        )

    def close(self):
        self.http.close()
        self.s3.close()

    def url(self, path):
        return path if path.startswith("http") else f"{self.base_url}/{path.lstrip('/')}"

    def backoff(self, attempt):
        """Exponential backoff with full jitter: 0.5 s, 1 s, 2 s, ... capped."""
        ceiling = min(self.max_backoff_s, self.backoff_s * 2**attempt)
        return ceiling / 2 + random.uniform(0, ceiling / 2)

    def _wait(self, attempt, reason, response=None):
        wait = None
        if response is not None and response.status_code in (429, 503):
            wait = _retry_after(response.headers)
            if wait is not None:
                wait = min(wait, self.max_retry_after_s)
        if wait is None:
            wait = self.backoff(attempt)
        logger.info("retrying in %.1f s (%s)", wait, reason)
        if self.on_retry:
            self.on_retry(attempt + 1, wait, reason, response)
        self.sleep(wait)

    def request(
        self,
        method,
        path,
        *,
        json=None,
        params=None,
        content=None,
        headers=None,
        idempotency_key=None,
        ok=(200, 201, 202, 204),
        retry=True,
        timeout=None,
    ):
        """One call of the API, retried as needed; the answer, or a RelayError raised."""
        method = method.upper()
        headers = dict(headers or {})
        if method == "POST":
            headers.setdefault("Idempotency-Key", idempotency_key or str(uuid.uuid4()))
        url = self.url(path)
        params = clean_params(params)
        attempt = 0
        while True:
            kwargs = {"params": params, "headers": headers}
            if json is not None:
                kwargs["json"] = json
            elif content is not None:
                kwargs["content"] = content
            if timeout is not None:
                kwargs["timeout"] = timeout
            try:
                response = self.http.request(method, url, **kwargs)
            except httpx.TransportError as error:
                if retry and attempt < self.max_retries:
                    self._wait(attempt, f"{type(error).__name__}: {error}")
                    attempt += 1
                    continue
                raise RelayConnectionError(
                    None, f"no answer from {self.base_url}: {type(error).__name__}: {error}", method=method, url=url
                ) from error
            status = response.status_code
            if status in ok:
                return response
            retriable = status in RETRY_STATUSES or (
                # A retried POST whose first attempt the server still runs: wait for its answer.
                status == 409 and attempt > 0 and "still being processed" in response.text
            )
            if retry and retriable and attempt < self.max_retries:
                self._wait(attempt, f"HTTP {status}", response)
                attempt += 1
                continue
            raise self.error(response, method, url)

    @staticmethod
    def error(response, method, url):
        try:
            body = response.json()
        except ValueError:
            body = None
        detail = body.get("detail") if isinstance(body, dict) and "detail" in body else None
        if detail is None:
            detail = (response.text or response.reason_phrase or "").strip()[:500] or f"HTTP {response.status_code}"
        cls = error_for_status(response.status_code)
        return cls(
            response.status_code,
            detail,
            body=body,
            request_id=response.headers.get("X-Request-ID"),
            method=method,
            url=str(url).split("?")[0],
            headers=response.headers,
        )

    def json(self, method, path, cls=Obj, **kwargs):
        response = self.request(method, path, **kwargs)
        if response.status_code == 204 or not response.content:
            return None
        return wrap(response.json(), cls)

    def pages(self, path, params=None, *, page_size=PAGE_SIZE_MAX, cls=Obj, limit=None):
        """Every item of a paginated list (`page`, `page_size`, `has_more`), page after page."""
        params = dict(params or {})
        page, seen = 1, 0
        while True:
            body = self.request("GET", path, params={**params, "page": page, "page_size": page_size}).json()
            for item in body["items"]:
                yield wrap(item, cls)
                seen += 1
                if limit is not None and seen >= limit:
                    return
            if not body.get("has_more"):
                return
            page += 1
