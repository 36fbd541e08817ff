import uuid

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils import timezone


class Scope(models.TextChoices):
    DATASETS_READ = "datasets:read"
    DATASETS_WRITE = "datasets:write"
    ANNOTATIONS_READ = "annotations:read"
    ANNOTATIONS_WRITE = "annotations:write"
    TRAINING_READ = "training:read"
    TRAINING_WRITE = "training:write"
    INFERENCE_READ = "inference:read"
    INFERENCE_WRITE = "inference:write"
    ADMIN = "admin"


ALL_SCOPES = tuple(Scope.values)
READ_ONLY_SCOPES = tuple(scope for scope in Scope.values if scope.endswith(":read"))


class Tenant(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=200, unique=True)
    is_active = models.BooleanField(
        default=True, help_text="An inactive tenant's keys are refused (403) but nothing is deleted."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class ApiKeyQuerySet(models.QuerySet):
    def usable(self, now=None):
        now = now or timezone.now()
        return self.filter(revoked_at__isnull=True).filter(
            models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=now)
        )


class ApiKey(models.Model):
    """A tenant's API key. The secret is shown once; only its SHA-256 is stored.

    A key reads `rk_<prefix>_<secret>`: the prefix is public (it finds the row and
    appears in logs and the admin), the secret is 256 bits of randomness.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=200, blank=True)
    prefix = models.CharField(max_length=16, unique=True, editable=False)
    key_hash = models.CharField(max_length=64, editable=False)
    scopes = ArrayField(models.CharField(max_length=32, choices=Scope.choices), default=list)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = ApiKeyQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API key"

    def __str__(self):
        return f"rk_{self.prefix}_… ({self.name or self.tenant})"

    @property
    def is_revoked(self):
        return self.revoked_at is not None

    def is_expired(self, now=None):
        return self.expires_at is not None and self.expires_at <= (now or timezone.now())

    def has_scope(self, scope):
        return scope in self.scopes


class IdempotencyRecord(models.Model):
    """The first answer to a creating POST sent with an `Idempotency-Key`, replayed for
    RELAY_IDEMPOTENCY_TTL_S (24 h)."""

    id = models.BigAutoField(primary_key=True)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of method, path, query and body.")
    status_code = models.PositiveSmallIntegerField(null=True, blank=True, help_text="Empty while the first runs.")
    response_body = models.JSONField(null=True, blank=True, help_text="Never an answer that carries a secret.")
    # While the first request runs: past this, its web worker is taken to have died, and a
    # retry runs the request again.
    locked_until = models.DateTimeField(null=True, blank=True)
    secret_response = models.BooleanField(default=False, help_text="The answer held a secret: it is not replayed.")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "key"], name="idempotency_key_unique")]

    def __str__(self):
        return f"{self.key} ({self.status_code or 'running'})"


class Event(models.Model):
    """A change of state, written in the same transaction as the change (the outbox).

    `txid` is the writing transaction's id. Readers take events in (txid, id) order and only
    those of transactions older than every transaction still running (see relay.events), so
    a reader that asks for what follows the last event it saw never skips or repeats one."""

    id = models.BigAutoField(primary_key=True)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    txid = models.BigIntegerField(help_text="The id of the transaction that wrote it.")
    type = models.CharField(max_length=64, help_text="<object>.<state>, e.g. training_job.completed")
    resource = models.CharField(max_length=32, help_text="The scope resource that may read it (datasets, ...).")
    object_id = models.UUIDField()
    parent_id = models.UUIDField(null=True, blank=True, help_text="The job of a file, the dataset of an audio file.")
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["txid", "id"]
        indexes = [
            models.Index(fields=["tenant", "txid", "id"]),
            models.Index(fields=["tenant", "object_id", "txid", "id"]),
            models.Index(fields=["tenant", "parent_id", "txid", "id"]),
        ]

    def __str__(self):
        return f"{self.type} {self.object_id} (#{self.id})"

    @property
    def cursor(self):
        return f"{self.txid}-{self.id}"


class WebhookEndpoint(models.Model):
    """A URL of the tenant that receives its events, signed with `secret`.

    The secret is stored as it is (signing needs it) and shown once, at creation. `cursor_*`
    is the fan-out's place in the tenant's event feed: events after it are still to be
    turned into deliveries."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="webhook_endpoints")
    url = models.URLField(max_length=2048)
    description = models.CharField(max_length=200, blank=True, default="")
    event_types = ArrayField(models.CharField(max_length=64), default=list, blank=True, help_text="Empty: all.")
    enabled = models.BooleanField(default=True)
    secret = models.CharField(max_length=64, editable=False)
    disabled_reason = models.TextField(blank=True, default="")
    failing_since = models.DateTimeField(
        null=True, blank=True, help_text="First failed attempt since the last success."
    )
    consecutive_failures = models.PositiveIntegerField(default=0)
    cursor_txid = models.BigIntegerField(default=0, editable=False)
    cursor_id = models.BigIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["tenant", "enabled"])]

    def __str__(self):
        return self.url


class DeliveryStatus(models.TextChoices):
    PENDING = "pending"  # waiting for its (next) attempt
    SENDING = "sending"
    DELIVERED = "delivered"
    FAILED = "failed"  # every attempt failed until the retry period ran out


class WebhookDelivery(models.Model):
    """One event to one endpoint: its attempts until a 2xx answer or the end of the retry
    period. The payload is kept here, so that redelivery outlives the event's retention."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    event_id = models.BigIntegerField()
    event_type = models.CharField(max_length=64)
    payload = models.JSONField()
    status = models.CharField(
        max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING, db_index=True
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    locked_until = models.DateTimeField(null=True, blank=True, help_text="While an attempt is being made.")
    status_code = models.PositiveSmallIntegerField(null=True, blank=True, help_text="Of the last attempt.")
    latency_ms = models.FloatField(null=True, blank=True, help_text="Of the last attempt.")
    error = models.TextField(blank=True, default="", help_text="Of the last attempt.")
    log = models.JSONField(default=list, blank=True, help_text="Every attempt: at, status_code, latency_ms, error.")
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "webhook deliveries"
        constraints = [models.UniqueConstraint(fields=["endpoint", "event_id"], name="one_delivery_per_event")]
        indexes = [models.Index(fields=["status", "next_attempt_at"])]

    def __str__(self):
        return f"{self.event_type} -> {self.endpoint_id} ({self.status})"


class WorkerHeartbeat(models.Model):
    """A Celery worker, as its own heartbeats describe it (relay/fleet.py)."""

    hostname = models.CharField(max_length=255, unique=True)
    queues = ArrayField(models.CharField(max_length=64), default=list)
    concurrency = models.PositiveIntegerField(default=0)
    active_tasks = models.PositiveIntegerField(default=0)
    processed_tasks = models.PositiveBigIntegerField(default=0)
    version = models.CharField(max_length=64, blank=True, default="")
    pid = models.PositiveIntegerField(null=True, blank=True)
    started_at = models.DateTimeField()
    last_seen_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["started_at", "hostname"]

    def __str__(self):
        return self.hostname


class JobStatusCount(models.Model):
    """How many jobs of a kind a tenant has in a status, as of the last roll-up; the changes
    since are rows of JobStatusDelta (relay/jobs.py). Tenant ids, not keys: rows of a
    deleted tenant are dropped by the roll-up."""

    tenant_id = models.UUIDField()
    kind = models.CharField(max_length=32)
    status = models.CharField(max_length=16)
    count = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant_id", "kind", "status"], name="one_count_per_status")]

    def __str__(self):
        return f"{self.kind} {self.status}: {self.count}"


class JobStatusDelta(models.Model):
    """+1 or -1 jobs of a kind in a status, written with the change; rolled up into
    JobStatusCount every minute."""

    id = models.BigAutoField(primary_key=True)
    tenant_id = models.UUIDField(db_index=True)
    kind = models.CharField(max_length=32)
    status = models.CharField(max_length=16)
    delta = models.IntegerField()

    def __str__(self):
        return f"{self.kind} {self.status} {self.delta:+d}"
