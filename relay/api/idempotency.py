"""`Idempotency-Key` on creating POSTs.

The same key with the same request replays the first answer for RELAY_IDEMPOTENCY_TTL_S
(24 hours); the same key with another request is a 422; while the first request still
runs, a retry is a 409. The first request holds the key for RELAY_IDEMPOTENCY_LEASE_S: a
web worker killed mid-request does not block the key for a day. Only successful answers
(2xx) are kept: after an error the key is free again, so that the corrected or retried
request runs. An answer that carries a secret (a new API key) is never stored: its replay
is a 409 naming what the first request created.
"""

import hashlib
import json
import logging
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from rest_framework.exceptions import APIException
from rest_framework.response import Response
from rest_framework.utils.encoders import JSONEncoder

from relay.errors import Conflict, InvalidInput
from relay.models import IdempotencyRecord

logger = logging.getLogger(__name__)

HEADER = "Idempotency-Key"


class Replay(APIException):
    """Carries the stored answer out of the view's `initial()`."""

    def __init__(self, record):
        super().__init__()
        self.record = record

    def response(self):
        response = Response(self.record.response_body, status=self.record.status_code)
        response["Idempotent-Replayed"] = "true"
        return response


def fingerprint(request):
    digest = hashlib.sha256()
    for part in (request.method, request.path, request.META.get("QUERY_STRING", "")):
        digest.update(part.encode() + b"\0")
    digest.update(request.body)
    return digest.hexdigest()


def begin(request, tenant):
    """Record a new key, or raise Replay / a 409 / a 422 for a key seen before."""
    key = request.headers.get(HEADER, "").strip()
    if not key:
        return None
    if len(key) > 255:
        raise InvalidInput.at(["header", HEADER], "at most 255 characters", "value_error.any_str.max_length")
    print_ = fingerprint(request)
    now = timezone.now()
    lease = now + timedelta(seconds=settings.RELAY_IDEMPOTENCY_LEASE_S)
    IdempotencyRecord.objects.filter(
        tenant=tenant, key=key, created_at__lt=now - timedelta(seconds=settings.RELAY_IDEMPOTENCY_TTL_S)
    ).delete()
    try:
        with transaction.atomic():
            return IdempotencyRecord.objects.create(tenant=tenant, key=key, fingerprint=print_, locked_until=lease)
    except IntegrityError:
        pass
    existing = IdempotencyRecord.objects.filter(tenant=tenant, key=key).first()
    if existing is None:  # removed meanwhile by its own failing request: try once more
        return begin(request, tenant)
    if existing.fingerprint != print_:
        raise InvalidInput.at(
            ["header", HEADER], "this Idempotency-Key was used with a different request", "value_error.reused"
        )
    if existing.status_code is None:
        expired = Q(locked_until__lt=now) | Q(locked_until__isnull=True)
        abandoned = IdempotencyRecord.objects.filter(expired, pk=existing.pk, status_code__isnull=True).update(
            locked_until=lease
        )
        if abandoned:  # the first request's worker died: this one runs it
            logger.warning("idempotency key %s: the first request never finished; running it again", key)
            existing.locked_until = lease
            return existing
        raise Conflict("A request with this Idempotency-Key is still being processed; retry in a moment")
    if existing.secret_response:
        raise Conflict(
            f"A request with this Idempotency-Key already created {existing.response_body.get('id')}; "
            "its answer held a secret, which is shown only once"
        )
    logger.info("idempotent replay key=%s status=%s", key, existing.status_code)
    raise Replay(existing)


def finish(record, response, *, secret=False):
    """Keep a successful answer (of an answer with a secret, only its id)."""
    if record is None:
        return
    if not 200 <= response.status_code < 300 or not hasattr(response, "data"):
        IdempotencyRecord.objects.filter(pk=record.pk).delete()
        return
    body = json.loads(json.dumps(response.data, cls=JSONEncoder))
    if secret:
        body = {"id": body.get("id")} if isinstance(body, dict) else {}
    IdempotencyRecord.objects.filter(pk=record.pk).update(
        status_code=response.status_code, response_body=body, secret_response=secret, locked_until=None
    )
