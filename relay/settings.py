"""Relay settings: everything that differs between machines comes from the environment.

Every variable read here is listed, with its default, in README.md ("Configuration").
"""

from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from relay import __version__

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

# --- Core -------------------------------------------------------------------------------

# "production" (default), "development" (what `make run` sets) or "test".
RELAY_ENV = env.str("RELAY_ENV", default="production")
if RELAY_ENV not in {"production", "development", "test"}:
    raise ImproperlyConfigured(f"RELAY_ENV must be production, development or test, not {RELAY_ENV!r}")
DEBUG = env.bool("DEBUG", default=False)

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if RELAY_ENV == "production" and not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY must be set in production (any long random string; "
            "python -c 'import secrets; print(secrets.token_urlsafe(50))')."
        )
    SECRET_KEY = "insecure-development-key-never-use-in-production"

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

VERSION = __version__

INSTALLED_APPS = [
    "relay.apps.RelayAdminConfig",  # django.contrib.admin with the operators dashboard
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "relay",
    "datasets",
    "annotations",
    "training",
    "inference",
]

# Sessions, CSRF, the logged-in user and messages are Django's, for the admin site only: API
# requests (/api/v1/) pass them by (relay/middleware.py).
MIDDLEWARE = [
    "relay.api.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "relay.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "relay.middleware.CsrfViewMiddleware",
    "relay.middleware.AuthenticationMiddleware",
    "relay.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "relay.urls"
WSGI_APPLICATION = "relay.wsgi.application"
APPEND_SLASH = False

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Web server (relay/asgi.py, relay/embedded/web.py) ---------------------------------

# Threads per web process that run API requests (event streams need none). Each takes a
# database connection from the pool while it works: keep DATABASE_POOL_MAX at least as large.
RELAY_WEB_THREADS = env.int("RELAY_WEB_THREADS", default=4)

# --- Database ---------------------------------------------------------------------------

if "DATABASE_URL" not in env:
    raise ImproperlyConfigured(
        "DATABASE_URL is not set (e.g. postgres://user:password@host:5432/relay). "
        "`make run` and `make test` set it for you."
    )
DATABASES = {"default": env.db_url("DATABASE_URL")}
# libpq's `?host=/socket/dir` form (what pgserver gives) names a Unix socket directory.
if "host" in DATABASES["default"].get("OPTIONS", {}):
    DATABASES["default"]["HOST"] = DATABASES["default"]["OPTIONS"].pop("host")
DATABASES["default"].setdefault("OPTIONS", {})
# A pool of connections per process (psycopg_pool): web requests run on threads of their
# own under ASGI, and take a connection from the pool instead of opening one.
DATABASE_POOL_MAX = env.int("DATABASE_POOL_MAX", default=8)
if DATABASE_POOL_MAX > 0:
    DATABASES["default"]["OPTIONS"]["pool"] = {"min_size": 1, "max_size": DATABASE_POOL_MAX, "timeout": 10}
    DATABASES["default"]["CONN_MAX_AGE"] = 0
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
# Django's PostgreSQL backend with two additions (relay/postgresql/base.py): a pooled
# connection is checked as it is taken without a round trip to the server, and the few
# statements every API request runs (the key lookup, an annotation page) are prepared on each
# connection the first time -- unless DATABASE_PREPARED_STATEMENTS is off, behind a connection
# pooler that cannot keep prepared statements (PgBouncer in transaction mode before 1.21).
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["ENGINE"] = "relay.postgresql"
    if env.bool("DATABASE_PREPARED_STATEMENTS", default=True):
        DATABASES["default"]["OPTIONS"].setdefault("prepare_threshold", 0)  # (only its own cursors prepare)
# A kept connection is checked before it is used, so that after a restart of the database no
# request or task is given a connection the restart ended: with a pool, as it is taken from it
# (by relay.postgresql's check, else psycopg_pool's); without, by Django.
DATABASES["default"]["CONN_HEALTH_CHECKS"] = (
    DATABASE_POOL_MAX <= 0 or DATABASES["default"]["ENGINE"] != "relay.postgresql"
)
DATABASES["default"]["OPTIONS"].setdefault("connect_timeout", env.int("DATABASE_CONNECT_TIMEOUT", default=5))
# pytest-django names the test database test_<NAME>; RELAY_TEST_DATABASE_NAME picks another
# so that two test runs on one shared server never meet.
if "RELAY_TEST_DATABASE_NAME" in env:
    DATABASES["default"]["TEST"] = {"NAME": env.str("RELAY_TEST_DATABASE_NAME")}

# --- Security ---------------------------------------------------------------------------

# Cookies exist only for the admin site. Browsers accept Secure cookies on http://localhost,
# so the default stays on even for `make run`.
SESSION_COOKIE_SECURE = env.bool("SECURE_COOKIES", default=True)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0)
if env.bool("TRUST_X_FORWARDED_PROTO", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- API --------------------------------------------------------------------------------

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["relay.api.authentication.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["relay.api.permissions.HasScope"],
    "DEFAULT_PARSER_CLASSES": ["relay.api.parsers.JSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["relay.api.renderers.JSONRenderer"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "relay.api.negotiation.ContentNegotiation",
    "DEFAULT_PAGINATION_CLASS": "relay.api.pagination.PagePagination",
    "DEFAULT_FILTER_BACKENDS": ["relay.api.filters.FilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "relay.api.schema.AutoSchema",
    "EXCEPTION_HANDLER": "relay.api.exceptions.exception_handler",
    "DEFAULT_METADATA_CLASS": "relay.api.metadata.Metadata",
    "DEFAULT_THROTTLE_CLASSES": ["relay.api.throttling.ApiKeyRateThrottle"],
    "UNAUTHENTICATED_USER": None,
    "DATETIME_FORMAT": "iso-8601",
    "COERCE_DECIMAL_TO_STRING": False,
    # `?format=` names export and import formats here, not a renderer.
    "URL_FORMAT_OVERRIDE": None,
}

# A list's `total` is counted exactly up to this many rows; above it, it is PostgreSQL's
# planner estimate and the page says `total_is_estimate: true` (counting 100,000 rows on every
# page costs more than the page itself).
RELAY_EXACT_COUNT_LIMIT = env.int("RELAY_EXACT_COUNT_LIMIT", default=10_000)
# Largest JSON body the API reads (a bulk of 10,000 annotations is about 2 MB).
RELAY_MAX_JSON_BODY_BYTES = env.int("RELAY_MAX_JSON_BODY_BYTES", default=16 * 1024 * 1024)
# A request sent with an Idempotency-Key holds the key this long at most (seconds); a retry
# after that runs it again (its web worker is taken to have died). Longer than any request.
RELAY_IDEMPOTENCY_LEASE_S = env.int("RELAY_IDEMPOTENCY_LEASE_S", default=300)
# The first answer to a request with an Idempotency-Key is replayed for this long (seconds).
RELAY_IDEMPOTENCY_TTL_S = env.int("RELAY_IDEMPOTENCY_TTL_S", default=86400)
# last_used_at on an API key is written at most once per this many seconds.
RELAY_API_KEY_LAST_USED_RESOLUTION = env.int("RELAY_API_KEY_LAST_USED_RESOLUTION", default=60)
# Rate limits, per API key and minute, by class of request (0 turns one off); and failed
# key lookups per client address and minute. Counted in the broker's Redis-protocol
# server, or in RELAY_REDIS_URL (with a RabbitMQ broker and no such URL, off).
RELAY_RATE_LIMIT_READ = env.int("RELAY_RATE_LIMIT_READ", default=1200)
RELAY_RATE_LIMIT_WRITE = env.int("RELAY_RATE_LIMIT_WRITE", default=600)
RELAY_RATE_LIMIT_UPLOAD = env.int("RELAY_RATE_LIMIT_UPLOAD", default=600)
RELAY_RATE_LIMIT_JOBS = env.int("RELAY_RATE_LIMIT_JOBS", default=120)
RELAY_RATE_LIMIT_AUTH_FAILURES = env.int("RELAY_RATE_LIMIT_AUTH_FAILURES", default=30)
# A Redis-protocol server for rate limits and event stream wake-ups (default: the broker's).
RELAY_REDIS_URL = env.str("RELAY_REDIS_URL", default="")
# Events are kept this many days (GET /events, streams, webhook redeliveries).
RELAY_EVENT_RETENTION_DAYS = env.int("RELAY_EVENT_RETENTION_DAYS", default=7)
# Event streams (Server-Sent Events): a keep-alive comment every RELAY_SSE_KEEPALIVE_S, at
# most RELAY_SSE_MAX_STREAMS_PER_KEY open at once per API key, each closed after
# RELAY_SSE_MAX_DURATION_S (clients reconnect with Last-Event-ID); RELAY_SSE_DB_POOL
# database connections per web process serve every stream of that process.
RELAY_SSE_KEEPALIVE_S = env.float("RELAY_SSE_KEEPALIVE_S", default=15.0)
RELAY_SSE_MAX_STREAMS_PER_KEY = env.int("RELAY_SSE_MAX_STREAMS_PER_KEY", default=50)
RELAY_SSE_MAX_DURATION_S = env.int("RELAY_SSE_MAX_DURATION_S", default=3600)
RELAY_SSE_DB_POOL = env.int("RELAY_SSE_DB_POOL", default=4)
# Webhooks: each attempt may take RELAY_WEBHOOK_TIMEOUT_S; a failed one is retried after
# RELAY_WEBHOOK_RETRY_BASE_S, doubling, for RELAY_WEBHOOK_RETRY_FOR_S; an endpoint failing
# for RELAY_WEBHOOK_DISABLE_AFTER_S is disabled. No wait between two attempts is longer
# than RELAY_WEBHOOK_BACKOFF_MAX_S. Beat sends due retries every
# RELAY_WEBHOOK_SWEEP_S. Loopback, private and link-local addresses are refused unless
# RELAY_WEBHOOK_ALLOW_PRIVATE (a receiver on the same network).
RELAY_WEBHOOK_TIMEOUT_S = env.float("RELAY_WEBHOOK_TIMEOUT_S", default=10.0)
RELAY_WEBHOOK_RETRY_BASE_S = env.float("RELAY_WEBHOOK_RETRY_BASE_S", default=30.0)
RELAY_WEBHOOK_RETRY_FOR_S = env.int("RELAY_WEBHOOK_RETRY_FOR_S", default=86400)
RELAY_WEBHOOK_DISABLE_AFTER_S = env.int("RELAY_WEBHOOK_DISABLE_AFTER_S", default=86400)
RELAY_WEBHOOK_BACKOFF_MAX_S = env.int("RELAY_WEBHOOK_BACKOFF_MAX_S", default=6 * 3600)
RELAY_WEBHOOK_SWEEP_S = env.int("RELAY_WEBHOOK_SWEEP_S", default=15)
RELAY_WEBHOOK_ALLOW_PRIVATE = env.bool("RELAY_WEBHOOK_ALLOW_PRIVATE", default=False)
# The worker fleet: each worker writes a heartbeat every RELAY_WORKER_HEARTBEAT_S and is
# alive while its last one is younger than RELAY_WORKER_ALIVE_S; one not seen for
# RELAY_WORKER_FORGET_AFTER_S is forgotten. Tenants see workers under pseudonyms unless
# RELAY_EXPOSE_WORKER_HOSTNAMES.
RELAY_WORKER_HEARTBEAT_S = env.float("RELAY_WORKER_HEARTBEAT_S", default=10.0)
RELAY_WORKER_ALIVE_S = env.float("RELAY_WORKER_ALIVE_S", default=35.0)
RELAY_WORKER_FORGET_AFTER_S = env.int("RELAY_WORKER_FORGET_AFTER_S", default=86400)
RELAY_EXPOSE_WORKER_HOSTNAMES = env.bool("RELAY_EXPOSE_WORKER_HOSTNAMES", default=False)
# GET /metrics (Prometheus) answers `Authorization: Bearer <RELAY_METRICS_TOKEN>`; off while
# empty. A worker machine of its own serves its metrics on RELAY_WORKER_METRICS_PORT (0: not).
# PROMETHEUS_MULTIPROC_DIR (read by prometheus-client) sums every process of a machine.
RELAY_METRICS_TOKEN = env.str("RELAY_METRICS_TOKEN", default="")
RELAY_WORKER_METRICS_PORT = env.int("RELAY_WORKER_METRICS_PORT", default=0)
# How many proxies in front of Relay add to X-Forwarded-For (0: the client is REMOTE_ADDR).
RELAY_TRUSTED_PROXIES = env.int("RELAY_TRUSTED_PROXIES", default=0)
# Time limit of each dependency check of GET /api/v1/status.
RELAY_DEPENDENCY_TIMEOUT = env.float("RELAY_DEPENDENCY_TIMEOUT", default=2.0)

SPECTACULAR_SETTINGS = {
    "TITLE": "Relay API",
    "DESCRIPTION": (
        "Find artifacts in audio: datasets with artifact types, presigned audio uploads, "
        "draft and published annotation sets, training jobs, models and inference jobs. "
        "Authenticate with `X-API-Key: <key>` (or `Authorization: Bearer <key>`)."
    ),
    "VERSION": __version__,
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "ENUM_NAME_OVERRIDES": {
        "AnnotationSetStatusEnum": "annotations.models.SetStatus",
        "PlatformStatusEnum": ["ok", "degraded"],
        "JobStatusEnum": "relay.jobs.JobStatus",
    },
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SWAGGER_UI_SETTINGS": {"persistAuthorization": True, "displayOperationId": False},
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "relay.api.schema.request_bodies_allow_no_other_fields",
    ],
}

# --- Object storage (S3) ----------------------------------------------------------------

# Unset for AWS S3; the URL of MinIO, SeaweedFS, R2... otherwise.
S3_ENDPOINT_URL = env.str("S3_ENDPOINT_URL", default="") or None
# The S3 address that clients use for presigned URLs, when it differs from the one the
# servers use (e.g. an internal hostname behind a proxy).
S3_PUBLIC_ENDPOINT_URL = env.str("S3_PUBLIC_ENDPOINT_URL", default="") or S3_ENDPOINT_URL
S3_BUCKET = env.str("S3_BUCKET", default="relay")
S3_REGION = env.str("S3_REGION", default="us-east-1")
# Empty means the usual boto3 chain: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, profile, role.
S3_ACCESS_KEY_ID = env.str("S3_ACCESS_KEY_ID", default="") or None
S3_SECRET_ACCESS_KEY = env.str("S3_SECRET_ACCESS_KEY", default="") or None
S3_ADDRESSING_STYLE = env.str("S3_ADDRESSING_STYLE", default="path" if S3_ENDPOINT_URL else "auto")
if S3_ADDRESSING_STYLE not in {"auto", "path", "virtual"}:
    raise ImproperlyConfigured("S3_ADDRESSING_STYLE must be auto, path or virtual")

# --- Celery -----------------------------------------------------------------------------

if "CELERY_BROKER_URL" not in env:
    raise ImproperlyConfigured(
        "CELERY_BROKER_URL is not set (e.g. redis://host:6379/0 or amqp://user:password@host:5672//). "
        "`make run` and `make test` set it for you."
    )
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL")
CELERY_BROKER_CONNECTION_TIMEOUT = RELAY_DEPENDENCY_TIMEOUT
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {
    # Redis: a task not acknowledged within this time is handed to another worker.
    # It must exceed the longest task (training), or the task runs twice.
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=6 * 3600),
    "socket_connect_timeout": RELAY_DEPENDENCY_TIMEOUT,
    "socket_timeout": 30,
}
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_DEFAULT_QUEUE = "default"
# A kind of work's task goes to the queue its lifecycle names; anything else to `default`.
CELERY_TASK_ROUTES = ("relay.work.route",)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=600)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=660)
CELERY_WORKER_SEND_TASK_EVENTS = False
# Task log lines go through LOGGING below, tagged with the task id.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_TIMEZONE = "UTC"
# When the broker is down, publishing gives up after this many retries (then a 503).
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.5}
# Seconds between two passes of the reaper that re-sends lost work (relay/work.py).
RELAY_REAPER_EVERY_S = env.int("RELAY_REAPER_EVERY_S", default=30)
CELERY_BEAT_SCHEDULE = {
    "requeue-stuck-work": {"task": "relay.requeue_stuck_work", "schedule": float(RELAY_REAPER_EVERY_S)},
    "expire-uploads": {"task": "relay.expire_uploads", "schedule": 60.0},
    "purge-idempotency-records": {"task": "relay.purge_idempotency_records", "schedule": 3600.0},
    "prune-events": {"task": "relay.prune_events", "schedule": 3600.0},
    "roll-up-job-counts": {"task": "relay.roll_up_job_counts", "schedule": 60.0},
    "sweep-webhooks": {"task": "relay.sweep_webhooks", "schedule": float(RELAY_WEBHOOK_SWEEP_S)},
}

# --- Logging ----------------------------------------------------------------------------

LOG_LEVEL = env.str("LOG_LEVEL", default="INFO").upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "relay.api.middleware.RequestIdLogFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)-7s %(name)s [%(request_id)s] %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["request_id"],
        },
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # The request log of relay.request says the same, with the request id and tenant.
        "django.server": {"level": "WARNING"},
        "django.request": {"level": "ERROR"},
        "botocore": {"level": "WARNING"},
        "urllib3": {"level": "WARNING"},
    },
}

# --- Limits -----------------------------------------------------------------------------

# Largest audio upload (500 MB by default).
RELAY_MAX_UPLOAD_BYTES = env.int("RELAY_MAX_UPLOAD_BYTES", default=524_288_000)
# Longest audio Relay accepts (seconds); longer files end `failed`.
RELAY_MAX_AUDIO_DURATION_S = env.int("RELAY_MAX_AUDIO_DURATION_S", default=4 * 3600)
# Lifetime of presigned upload URLs and of download URLs, seconds (S3 allows up to 7 days):
# an upload URL lives RELAY_UPLOAD_URL_EXPIRES unless the request asks for 60 s to
# RELAY_UPLOAD_URL_MAX_EXPIRES. Download URLs (also the admin's audio players) live
# RELAY_DOWNLOAD_URL_EXPIRES.
RELAY_UPLOAD_URL_EXPIRES = env.int("RELAY_UPLOAD_URL_EXPIRES", default=3600)
RELAY_UPLOAD_URL_MAX_EXPIRES = env.int("RELAY_UPLOAD_URL_MAX_EXPIRES", default=86400)
RELAY_DOWNLOAD_URL_EXPIRES = env.int("RELAY_DOWNLOAD_URL_EXPIRES", default=3600)
# The objects of a deleted pending upload are deleted again this long after its upload URL
# expires (seconds), catching an upload that was still arriving then.
RELAY_UPLOAD_CLEANUP_GRACE_S = env.int("RELAY_UPLOAD_CLEANUP_GRACE_S", default=60)
# Default part size of multipart uploads (8-64 MiB).
RELAY_MULTIPART_PART_SIZE = env.int("RELAY_MULTIPART_PART_SIZE", default=16 * 1024 * 1024)
# --- Background work (relay/work.py) ----------------------------------------------------

# A worker writes the heartbeat of what it works on this often (seconds).
RELAY_HEARTBEAT_S = env.int("RELAY_HEARTBEAT_S", default=10)
# Work whose heartbeat is older than this is taken to have lost its worker and is handed
# to another (seconds; several heartbeats).
RELAY_STUCK_AFTER_S = env.int("RELAY_STUCK_AFTER_S", default=90)
# Work queued this long without a worker starting it is sent again (seconds).
RELAY_NEVER_STARTED_AFTER_S = env.int("RELAY_NEVER_STARTED_AFTER_S", default=300)
# Attempts before work that keeps killing its worker is failed.
RELAY_MAX_PROCESSING_ATTEMPTS = env.int("RELAY_MAX_PROCESSING_ATTEMPTS", default=3)
# When a service work depends on is down (database, broker, S3), its task is retried
# RELAY_OUTAGE_RETRIES times, after 5 s, doubling, at most RELAY_OUTAGE_BACKOFF_MAX_S apart
# (by default about 20 minutes in all); then the work fails.
RELAY_OUTAGE_RETRIES = env.int("RELAY_OUTAGE_RETRIES", default=8)
RELAY_OUTAGE_BACKOFF_MAX_S = env.int("RELAY_OUTAGE_BACKOFF_MAX_S", default=300)
# Time limit of decoding one uploaded audio file (seconds).
RELAY_AUDIO_TIME_LIMIT_S = env.int("RELAY_AUDIO_TIME_LIMIT_S", default=600)
# Largest annotation import, in bytes and in annotations.
RELAY_MAX_IMPORT_BYTES = env.int("RELAY_MAX_IMPORT_BYTES", default=64 * 1024 * 1024)
RELAY_MAX_IMPORT_ANNOTATIONS = env.int("RELAY_MAX_IMPORT_ANNOTATIONS", default=100_000)
# Django's own cap on a request body read in memory: the larger of the API's two limits,
# which then answer 413 themselves.
DATA_UPLOAD_MAX_MEMORY_SIZE = max(RELAY_MAX_JSON_BODY_BYTES, RELAY_MAX_IMPORT_BYTES)

# --- Training and inference -------------------------------------------------------------

# Least audio (ms) in the files of an annotation set before training is allowed.
RELAY_MIN_TRAINING_AUDIO_MS = env.int("RELAY_MIN_TRAINING_AUDIO_MS", default=5 * 60 * 1000)
# Time limit of one training job (seconds); the job fails when it is reached.
RELAY_TRAINING_TIME_LIMIT_S = env.int("RELAY_TRAINING_TIME_LIMIT_S", default=2 * 3600)
# Time limit of one inference file (seconds).
RELAY_INFERENCE_TIME_LIMIT_S = env.int("RELAY_INFERENCE_TIME_LIMIT_S", default=1800)
# Time limit of one evaluation of a model on annotated files (seconds).
RELAY_EVALUATION_TIME_LIMIT_S = env.int("RELAY_EVALUATION_TIME_LIMIT_S", default=3600)
# CPU threads torch may use in each worker process (0: cores / worker concurrency).
RELAY_TORCH_THREADS = env.int("RELAY_TORCH_THREADS", default=0)
