"""Webhooks: the tenant's events POSTed to its endpoints, signed, retried, logged.

- **Fan-out.** After a transaction that wrote events commits, a `relay.fan_out_webhooks`
  task for the tenant (at most one waiting per tenant) reads the feed after each enabled
  endpoint's cursor and writes one delivery per matching event (unique per endpoint and
  event, so a repeated fan-out changes nothing). Beat runs it for every tenant now and
  then, in case a trigger was lost.
- **Delivery.** `relay.deliver_webhook` claims the delivery with a conditional update,
  resolves the host once, refuses loopback, private, link-local and other non-public
  addresses (unless RELAY_WEBHOOK_ALLOW_PRIVATE), and POSTs to the address it resolved
  (the name goes in Host and TLS SNI, so DNS cannot be changed under the request). No
  redirects are followed. A 2xx answer delivers it.
- **Signature.** `Relay-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>">` with
  the endpoint's secret (as Stripe does): receivers check it and the age of `t`.
- **Retries.** A failed attempt is tried again after RELAY_WEBHOOK_RETRY_BASE_S doubling
  each time (with jitter), for RELAY_WEBHOOK_RETRY_FOR_S after the event; then the
  delivery is `failed`. An endpoint whose attempts have all failed for
  RELAY_WEBHOOK_DISABLE_AFTER_S is disabled with the reason; enabling it again resumes.
"""

import hashlib
import hmac
import ipaddress
import json
import logging
import random
import secrets
import socket
import time
from datetime import timedelta
from urllib.parse import urlsplit

import urllib3
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from relay import events, kv, work
from relay.errors import Conflict, InvalidInput, problem
from relay.models import DeliveryStatus, Tenant, WebhookDelivery, WebhookEndpoint

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "Relay-Signature"
USER_AGENT = "Relay-Webhooks/1"
ALL_RESOURCES = ("datasets", "annotations", "training", "inference")
FAN_OUT_BATCH = 500
MAX_LOG = 30  # attempts kept in a delivery's log
RESPONSE_SNIPPET = 500


class Refused(Exception):
    """The URL may not be called (a non-public address, a bad scheme, ...)."""


# --- endpoints --------------------------------------------------------------------------


def check_event_types(types, loc):
    known = work.event_types()
    unknown = [(index, name) for index, name in enumerate(types) if name not in known]
    if unknown:
        raise InvalidInput(
            [
                problem([*loc, index], f"unknown event type '{name}'", "value_error.event_type")
                for index, name in unknown
            ]
        )


def check_url(url, loc=("body", "url")):
    try:
        resolve(url)
    except Refused as error:
        raise InvalidInput.at(list(loc), str(error), "value_error.url") from None


def create_endpoint(*, tenant, url, event_types=(), description="", enabled=True):
    """A new endpoint (its secret in `.secret`, shown once); it receives events from now on."""
    check_event_types(event_types, ["body", "event_types"])
    check_url(url)
    txid, event_id = start_cursor()
    endpoint = WebhookEndpoint.objects.create(
        tenant=tenant,
        url=url,
        event_types=list(event_types),
        description=description,
        enabled=enabled,
        secret="whsec_" + secrets.token_urlsafe(32),
        cursor_txid=txid,
        cursor_id=event_id,
    )
    _endpoints_changed(tenant.pk)
    logger.info("webhook endpoint created id=%s tenant=%s url=%s", endpoint.pk, tenant.pk, url)
    return endpoint


def update_endpoint(endpoint, **changes):
    if "event_types" in changes:
        check_event_types(changes["event_types"], ["body", "event_types"])
    if "url" in changes:
        check_url(changes["url"])
    if changes.get("enabled") and not endpoint.enabled:
        # Enabled again: a fresh start, from now on (what it missed is in GET /events).
        changes.update(disabled_reason="", failing_since=None, consecutive_failures=0)
        changes["cursor_txid"], changes["cursor_id"] = start_cursor()
    for name, value in changes.items():
        setattr(endpoint, name, value)
    endpoint.save()
    if endpoint.enabled:
        _endpoints_changed(endpoint.tenant_id)
    return endpoint


def start_cursor():
    """A cursor before every event not yet settled (the endpoint gets what happens next)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint")
        (xmin,) = cursor.fetchone()
    return xmin - 1, 2**63 - 1


def redeliver(delivery):
    """Attempt the delivery again now, whatever became of it (a new series of retries)."""
    if not delivery.endpoint.enabled:
        raise Conflict("The webhook endpoint is disabled: enable it first (PATCH enabled=true)")
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status=DeliveryStatus.PENDING, next_attempt_at=timezone.now(), locked_until=None, updated_at=timezone.now()
    )
    send_delivery(delivery.pk)
    delivery.refresh_from_db()
    return delivery


# --- fan-out ----------------------------------------------------------------------------


def _fan_out_flag(tenant_id):
    return f"relay:webhooks:fanout:{tenant_id}"


def _no_endpoints_flag(tenant_id):
    return f"relay:webhooks:none:{tenant_id}"


# How long "this tenant has no enabled endpoint" is believed without asking the database. An
# endpoint created or enabled clears it at once; in the rare race where an answer read before
# that lands after it, the endpoint's first events wait at most this long for the next commit's
# fan-out, or until the sweep.
NO_ENDPOINTS_TTL_S = 5


@events.on_commit
def trigger_fan_out(tenant_id, txid):
    """After events commit: one fan-out task per tenant waiting at a time, if it has endpoints."""
    client = kv.client()
    if client is not None:
        try:
            if client.exists(_no_endpoints_flag(tenant_id)):
                return
            if not client.set(_fan_out_flag(tenant_id), "1", nx=True, ex=60):
                return  # one is waiting; it reads these events too
        except Exception as error:
            logger.warning("webhook fan-out flag not set (%s); sending the task anyway", error)
    if WebhookEndpoint.objects.filter(tenant_id=tenant_id, enabled=True).exists():
        work.send_on_commit("relay.fan_out_webhooks", str(tenant_id), queue="webhooks")
    elif client is not None:
        pipe = client.pipeline(transaction=False)
        pipe.delete(_fan_out_flag(tenant_id))
        pipe.set(_no_endpoints_flag(tenant_id), "1", ex=NO_ENDPOINTS_TTL_S)
        pipe.execute()


def _endpoints_changed(tenant_id):
    """Once the change commits, commits of this tenant ask the database for endpoints again."""

    def forget():
        client = kv.client()
        if client is not None:
            try:
                client.delete(_no_endpoints_flag(tenant_id))
            except Exception as error:  # the flag expires on its own within NO_ENDPOINTS_TTL_S
                logger.warning("webhook endpoints flag not cleared: %s", error)

    transaction.on_commit(forget)


def fan_out(tenant_id) -> int:
    """Deliveries for the events after each enabled endpoint's cursor; how many."""
    client = kv.client()
    if client is not None:
        try:
            client.delete(_fan_out_flag(tenant_id))  # events committed from now on trigger another
        except Exception as error:
            logger.warning("webhook fan-out flag not cleared: %s", error)
    created = 0
    tenant = Tenant(pk=tenant_id)
    for endpoint_id in WebhookEndpoint.objects.filter(tenant_id=tenant_id, enabled=True).values_list("pk", flat=True):
        while True:
            with transaction.atomic():
                endpoint = (
                    WebhookEndpoint.objects.select_for_update(skip_locked=True)
                    .filter(pk=endpoint_id, enabled=True)
                    .first()
                )
                if endpoint is None:
                    break  # disabled, deleted, or another fan-out holds it
                cursor = (endpoint.cursor_txid, endpoint.cursor_id)
                found = events.after(tenant=tenant, resources=ALL_RESOURCES, cursor=cursor, limit=FAN_OUT_BATCH)
                wanted = [e for e in found if not endpoint.event_types or e.type in endpoint.event_types]
                new = WebhookDelivery.objects.bulk_create(
                    [
                        WebhookDelivery(
                            endpoint=endpoint,
                            event_id=e.id,
                            event_type=e.type,
                            payload=json.loads(json.dumps(events.as_api(e), cls=DjangoJSONEncoder)),
                            next_attempt_at=timezone.now(),
                        )
                        for e in wanted
                    ],
                    ignore_conflicts=True,
                )
                if found:
                    endpoint.cursor_txid, endpoint.cursor_id = found[-1].txid, found[-1].id
                    endpoint.save(update_fields=["cursor_txid", "cursor_id"])
                for delivery in new:
                    send_delivery(delivery.pk)
                created += len(new)
            if len(found) < FAN_OUT_BATCH:
                break
    return created


# --- delivery ---------------------------------------------------------------------------


def send_delivery(delivery_id, countdown=None):
    eta = timezone.now() + timedelta(seconds=countdown) if countdown else None
    work.send_on_commit("relay.deliver_webhook", str(delivery_id), queue="webhooks", eta=eta)


def resolve(url):
    """(scheme, host, port, address) of `url`, its host resolved once; Refused if it may
    not be called."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Refused("the URL must be http:// or https:// with a host")
    if parts.username or parts.password:
        raise Refused("the URL must not hold credentials")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise Refused("the URL's port is not valid") from None
    try:
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise Refused(f"the host {parts.hostname} does not resolve ({error})") from None
    addresses = [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]
    if not settings.RELAY_WEBHOOK_ALLOW_PRIVATE:
        for address in addresses:
            mapped = getattr(address, "ipv4_mapped", None) or address
            if not mapped.is_global or mapped.is_multicast:
                raise Refused(
                    f"the host {parts.hostname} resolves to {address}, a loopback, private, link-local or "
                    "reserved address; webhooks only go to public addresses"
                )
    return parts.scheme, parts.hostname, port, str(addresses[0])


def sign(secret, body: bytes, timestamp: int) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def post(url, body: bytes, headers: dict, timeout_s: float):
    """POST to the address `url` resolves to now, with the name in Host and SNI; the
    (status code, first bytes of the answer)."""
    scheme, host, port, address = resolve(url)
    parts = urlsplit(url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    default_port = port == (443 if scheme == "https" else 80)
    headers = {**headers, "Host": host if default_port else f"{host}:{port}"}
    timeout = urllib3.Timeout(connect=min(timeout_s, 5.0), read=timeout_s)
    if scheme == "https":
        import certifi

        pool = urllib3.HTTPSConnectionPool(
            address, port, timeout=timeout, retries=False, server_hostname=host, assert_hostname=host,
            cert_reqs="CERT_REQUIRED", ca_certs=certifi.where(),
        )  # fmt: skip
    else:
        pool = urllib3.HTTPConnectionPool(address, port, timeout=timeout, retries=False)
    try:
        response = pool.urlopen(
            "POST", target, body=body, headers=headers, redirect=False, retries=False, preload_content=False
        )
        snippet = response.read(RESPONSE_SNIPPET, decode_content=False)
        response.release_conn()
        return response.status, snippet.decode("utf-8", "replace")
    finally:
        pool.close()


def _claim(delivery_id, now):
    lease = now + timedelta(seconds=settings.RELAY_WEBHOOK_TIMEOUT_S + 30)
    due = Q(status=DeliveryStatus.PENDING, next_attempt_at__lte=now) | Q(
        status=DeliveryStatus.SENDING, locked_until__lt=now
    )
    return WebhookDelivery.objects.filter(due, pk=delivery_id, endpoint__enabled=True).update(
        status=DeliveryStatus.SENDING, locked_until=lease, attempts=F("attempts") + 1, updated_at=now
    )


def deliver(delivery_id):
    """One attempt of a delivery (nothing if it is not due or its endpoint is disabled)."""
    now = timezone.now()
    if not _claim(delivery_id, now):
        return None
    delivery = WebhookDelivery.objects.select_related("endpoint").get(pk=delivery_id)
    endpoint = delivery.endpoint
    body = json.dumps(delivery.payload, separators=(",", ":")).encode()
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        SIGNATURE_HEADER: sign(endpoint.secret, body, timestamp),
        "Relay-Event-Id": str(delivery.event_id),
        "Relay-Event-Type": delivery.event_type,
        "Relay-Delivery-Id": str(delivery.pk),
        "Relay-Attempt": str(delivery.attempts),
    }
    started = time.perf_counter()
    status_code, error = None, ""
    try:
        status_code, answer = post(endpoint.url, body, headers, settings.RELAY_WEBHOOK_TIMEOUT_S)
        if not 200 <= status_code < 300:
            error = f"HTTP {status_code}: {answer[:200]}"
    except Refused as refused:
        error = str(refused)
    except (urllib3.exceptions.HTTPError, OSError) as failure:
        error = f"{failure.__class__.__name__}: {failure}"[:500]
    latency_ms = round((time.perf_counter() - started) * 1000, 1)
    record_attempt(delivery, status_code, latency_ms, error)
    return status_code


def record_attempt(delivery, status_code, latency_ms, error):
    now = timezone.now()
    entry = {"at": now.isoformat(), "status_code": status_code, "latency_ms": latency_ms, "error": error}
    log = ([*delivery.log, entry])[-MAX_LOG:]
    fields = {"status_code": status_code, "latency_ms": latency_ms, "error": error, "log": log, "locked_until": None}
    endpoint = delivery.endpoint
    with transaction.atomic():
        if not error:
            fields.update(status=DeliveryStatus.DELIVERED, delivered_at=now, next_attempt_at=None)
            WebhookEndpoint.objects.filter(pk=endpoint.pk).update(failing_since=None, consecutive_failures=0)
            retry_in = None
        else:
            retry_in = _backoff_s(delivery.attempts)
            next_at = now + timedelta(seconds=retry_in)
            if next_at > delivery.created_at + timedelta(seconds=settings.RELAY_WEBHOOK_RETRY_FOR_S):
                fields.update(status=DeliveryStatus.FAILED, next_attempt_at=None)
                retry_in = None
            else:
                fields.update(status=DeliveryStatus.PENDING, next_attempt_at=next_at)
            _count_failure(endpoint, now, error)
        WebhookDelivery.objects.filter(pk=delivery.pk, status=DeliveryStatus.SENDING).update(**fields, updated_at=now)
        if retry_in is not None and retry_in <= settings.RELAY_WEBHOOK_SWEEP_S * 4:
            send_delivery(delivery.pk, countdown=retry_in)  # later ones: the sweep sends them
    logger.info(
        "webhook delivery=%s event=%s endpoint=%s attempt=%d status=%s %.0fms%s",
        delivery.pk,
        delivery.event_type,
        endpoint.pk,
        delivery.attempts,
        status_code,
        latency_ms,
        f" error={error}" if error else "",
    )


def _backoff_s(attempts):
    base = settings.RELAY_WEBHOOK_RETRY_BASE_S * 2 ** max(attempts - 1, 0)
    return min(base, settings.RELAY_WEBHOOK_BACKOFF_MAX_S) * random.uniform(0.9, 1.1)


def _count_failure(endpoint, now, error):
    WebhookEndpoint.objects.filter(pk=endpoint.pk, failing_since__isnull=True).update(failing_since=now)
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(consecutive_failures=F("consecutive_failures") + 1)
    since = now - timedelta(seconds=settings.RELAY_WEBHOOK_DISABLE_AFTER_S)
    failing_since = (endpoint.failing_since or now).isoformat()
    reason = f"disabled at {now.isoformat()}: every attempt failed since {failing_since}; last error: {error}"
    disabled = WebhookEndpoint.objects.filter(
        pk=endpoint.pk, enabled=True, failing_since__lte=since, consecutive_failures__gte=3
    ).update(enabled=False, disabled_reason=reason[:2000])
    if disabled:
        logger.warning("webhook endpoint %s disabled: failing since %s", endpoint.pk, endpoint.failing_since)


# --- beat -------------------------------------------------------------------------------


def sweep(now=None, limit=1000):
    """Beat: fan out for every tenant with enabled endpoints, and send the deliveries that
    are due (retries too far off for a countdown, attempts whose worker died)."""
    now = now or timezone.now()
    for tenant_id in WebhookEndpoint.objects.filter(enabled=True).values_list("tenant_id", flat=True).distinct():
        work.send_on_commit("relay.fan_out_webhooks", str(tenant_id), queue="webhooks")
    due = WebhookDelivery.objects.filter(endpoint__enabled=True).filter(
        Q(status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
        | Q(status=DeliveryStatus.SENDING, locked_until__lt=now)
    )
    ids = list(due.values_list("pk", flat=True)[:limit])
    for delivery_id in ids:
        send_delivery(delivery_id)
    return len(ids)
