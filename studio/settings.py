"""Dailies settings: one file; whatever differs between machines comes from the environment."""

import os
import re
from datetime import timedelta
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)

SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("Set SECRET_KEY (or DEBUG=1 for a local demo).")
    SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "template_partials",
    "csp",
    # django-ninja serves the Swagger UI from its own static files (no CDN) when installed here.
    "ninja",
    "axes",
    "generations",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "generations.middleware.private_cache",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # django-axes: turns a locked-out login into its 429 answer.
    "axes.middleware.AxesMiddleware",
    # Last, so it sees the view's exceptions first: 403/409 as app pages, no tracebacks logged.
    "generations.middleware.ErrorPageMiddleware",
]
# A refused form (expired page, another site) gets the app's 403 page with what to do.
CSRF_FAILURE_VIEW = "generations.views.errors.csrf_failure"

ROOT_URLCONF = "studio.urls"
WSGI_APPLICATION = "studio.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            # {% partialdef %} everywhere, as in Django 6: htmx requests render a named partial.
            "builtins": ["template_partials.templatetags.partials"],
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# Default: a SQLite file beside manage.py, so the demo needs no server.
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=env_int("DB_CONN_MAX_AGE", 60),
    )
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # Busy timeout: the eager task path and the dev server write from the same process.
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
    DATABASES["default"]["CONN_MAX_AGE"] = 0
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# Media is never served as public static files: every file goes through a view that checks
# project membership (generations.views.media).
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(BASE_DIR / "media")))
MEDIA_URL = "/media/"

# Upload cap per video file, in megabytes. Django streams bigger bodies to temp files, so the
# cap is enforced by the upload form and the service, not by memory settings.
DAILIES_MAX_UPLOAD_MB = env_int("DAILIES_MAX_UPLOAD_MB", 500)
DAILIES_MAX_UPLOAD_BYTES = DAILIES_MAX_UPLOAD_MB * 1024 * 1024
# Manifests uploaded on the project page (a million takes is ~500 MB of JSONL).
DAILIES_MAX_IMPORT_MB = env_int("DAILIES_MAX_IMPORT_MB", 1024)
# A web import runs as one task: longer limits than the default ones, and its statements time out
# below the soft limit, so a stuck import fails (and can be retried) instead of holding a worker.
DAILIES_IMPORT_SOFT_TIME_LIMIT = env_int("DAILIES_IMPORT_SOFT_TIME_LIMIT", 1700)
DAILIES_IMPORT_TIME_LIMIT = env_int("DAILIES_IMPORT_TIME_LIMIT", 1800)
DAILIES_MAX_FILES_PER_UPLOAD = env_int("DAILIES_MAX_FILES_PER_UPLOAD", 50)
DATA_UPLOAD_MAX_NUMBER_FILES = DAILIES_MAX_FILES_PER_UPLOAD
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_HANDLERS = [
    "generations.uploads.SizeCapUploadHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]

# Outbound URLs (API media registration, provider outputs, webhooks) must reach public addresses;
# tests and local fake providers on 127.0.0.1 set this.
DAILIES_ALLOW_PRIVATE_URLS = env_bool("DAILIES_ALLOW_PRIVATE_URLS", False)

# Login throttling (django-axes): after DAILIES_LOGIN_FAILURES wrong passwords for one account,
# or from one IP address, further attempts are refused for DAILIES_LOGIN_COOLOFF_MINUTES.
AUTHENTICATION_BACKENDS = [
    "studio.auth_backends.LoginThrottleBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("DAILIES_LOGIN_FAILURES", 10)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("DAILIES_LOGIN_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]  # either one locks
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False

# REST API (/api/v1/): requests per minute per token (or per user for a browser session).
DAILIES_API_RATE_PER_MINUTE = env_int("DAILIES_API_RATE_PER_MINUTE", 600)
# An Idempotency-Key is remembered this long for replays.
DAILIES_IDEMPOTENCY_HOURS = env_int("DAILIES_IDEMPOTENCY_HOURS", 24)
# Video providers (generations/providers/): DAILIES_PROVIDER_<NAME>_KEY and, to point an adapter
# at another host (a proxy, a fake in tests), DAILIES_PROVIDER_<NAME>_BASE_URL. Read here only;
# never stored in the database. Django's error pages hide settings whose name contains KEY.
DAILIES_PROVIDER_KEYS = {
    m[1].lower(): value
    for name, value in os.environ.items()
    if (m := re.fullmatch(r"DAILIES_PROVIDER_(\w+?)_KEY", name)) and value
}
DAILIES_PROVIDER_BASE_URLS = {
    m[1].lower(): value
    for name, value in os.environ.items()
    if (m := re.fullmatch(r"DAILIES_PROVIDER_(\w+?)_BASE_URL", name)) and value
}
DAILIES_PROVIDER_TIMEOUT = env_int("DAILIES_PROVIDER_TIMEOUT", 30)
# Polling: first after POLL_SECONDS, then 1.5× slower per poll up to MAX, with jitter; a job
# without a result after DEADLINE minutes is cancelled and failed.
DAILIES_GENERATION_POLL_SECONDS = float(env_str("DAILIES_GENERATION_POLL_SECONDS", "5"))
DAILIES_GENERATION_POLL_MAX_SECONDS = float(env_str("DAILIES_GENERATION_POLL_MAX_SECONDS", "60"))
DAILIES_GENERATION_DEADLINE_MINUTES = env_int("DAILIES_GENERATION_DEADLINE_MINUTES", 30)
# Runway reports its charge in credits; their price in USD (list price: one cent).
DAILIES_RUNWAY_USD_PER_CREDIT = env_str("DAILIES_RUNWAY_USD_PER_CREDIT", "0.01")

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "project_list"
LOGOUT_REDIRECT_URL = "login"

SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
# HTTPS, set by the deployment (README "Running in production"): `manage.py check --deploy`
# passes with them. Off by default so the demo and a plain-HTTP trial still work.
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
# Only behind a proxy that sets X-Forwarded-Proto itself (and strips it from clients): otherwise
# any client could claim HTTPS.
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("SECURE_PROXY_SSL_HEADER", False) else None
)
SECURE_REFERRER_POLICY = "same-origin"

# Content-Security-Policy (django-csp 4 format). Scripts and styles come only from our static
# files: no inline <script>, no on* handlers, no style attributes (positions go through
# static/js/layout.js and the CSSOM, which CSP allows). Media may also be a provider's HTTPS URL:
# imported takes play from where the provider stored them.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF],
        "media-src": [SELF, "https:"],
        "connect-src": [SELF],
        "font-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

# --- Celery -------------------------------------------------------------------------------------
# Unset broker: tasks run in-process (eager), so the embedded default needs no Redis. Tests and
# production set CELERY_BROKER_URL and run a real worker.
CELERY_TASK_ALWAYS_EAGER = not env_str("CELERY_BROKER_URL")
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL") or "memory://localhost/"
CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND") or None
CELERY_TASK_EAGER_PROPAGATES = False
# JSON only: tasks take ids, never pickled model instances.
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
# A stuck media decode or recompute must not hold a worker forever: soft limit raises inside the
# task (so it can mark the row broken), the hard limit kills the process.
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 240)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 300)
# One task at a time per worker process: media tasks are long, rollups must not wait behind them.
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# When the broker is down, .delay() must fail fast instead of hanging the request.
# visibility_timeout: an unacked (acks_late) message goes back to the queue after this long, so it
# must exceed the longest countdown (60 s media retry backoff) plus the 300 s hard time limit, or a
# running task would be handed to a second worker; a killed worker's task comes back at once
# (reject_on_worker_lost), not after it.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.2,
    "visibility_timeout": 3600,
}
CELERY_TASK_DEFAULT_QUEUE = env_str("CELERY_TASK_DEFAULT_QUEUE", "dailies")
# Rollup refreshes get a queue (and a worker) of their own: two long media decodes must never hold
# every worker slot while a verdict waits to reach the dashboards (SPEC §5: 2 s).
DAILIES_ROLLUPS_QUEUE = env_str("CELERY_ROLLUPS_QUEUE", f"{CELERY_TASK_DEFAULT_QUEUE}-rollups")
CELERY_TASK_ROUTES = {"generations.tasks.rollups.*": {"queue": DAILIES_ROLLUPS_QUEUE}}
# Rollup tasks have limits of their own, and every query they run has PostgreSQL timeouts below
# the soft limit: a refresh that times out is cancelled in the database (no query left running,
# no advisory lock held), recorded as failed and retried. A worker killed outright cannot cancel
# anything; then the statement timeout ends its query.
DAILIES_ROLLUP_SOFT_TIME_LIMIT = env_int("DAILIES_ROLLUP_SOFT_TIME_LIMIT", 240)
DAILIES_ROLLUP_TIME_LIMIT = max(
    env_int("DAILIES_ROLLUP_TIME_LIMIT", 270), DAILIES_ROLLUP_SOFT_TIME_LIMIT + 1
)
DAILIES_ROLLUP_STATEMENT_TIMEOUT = min(
    env_int("DAILIES_ROLLUP_STATEMENT_TIMEOUT", 180), DAILIES_ROLLUP_SOFT_TIME_LIMIT - 1
)
DAILIES_ROLLUP_LOCK_TIMEOUT = min(
    env_int("DAILIES_ROLLUP_LOCK_TIMEOUT", 60), DAILIES_ROLLUP_STATEMENT_TIMEOUT
)
# Analytics: the reconciler catches projects left dirty (broker was down, a claim went stale);
# the nightly check refreshes every project and logs drift.
CELERY_BEAT_SCHEDULE = {
    # Every 30 s, so a refresh whose worker died is picked up again within a minute.
    "rollups-reconcile": {"task": "generations.tasks.rollups.rollups_reconcile", "schedule": 30.0},
    "rollups-check-all": {
        "task": "generations.tasks.rollups.rollups_check_all",
        "schedule": crontab(hour=3, minute=17),
    },
    # Generation jobs whose message or worker was lost (services/generation/jobs.py).
    "generations-reconcile": {
        "task": "generations.tasks.generation.generations_reconcile",
        "schedule": 60.0,
    },
    # Web imports whose task was never delivered or whose worker died (no heartbeat).
    "manifest-imports-reclaim": {
        "task": "generations.tasks.imports.manifest_imports_reclaim",
        "schedule": 60.0,
    },
    # Takes whose processing task was never delivered (broker down at upload) or was lost.
    "takes-requeue-stuck": {
        "task": "generations.tasks.media.takes_requeue_stuck",
        "schedule": 300.0,
    },
    # Webhook attempts whose backoff is too long for a countdown, and sends a down broker lost.
    "webhooks-dispatch-due": {
        "task": "generations.tasks.webhooks.webhooks_dispatch_due",
        "schedule": 60.0,
    },
}

# --- Webhooks ----------------------------------------------------------------------------------
# Prefix of the links in webhook payloads ("https://dailies.example.com"); empty: site-relative.
DAILIES_SITE_URL = env_str("DAILIES_SITE_URL")

# --- Cache -------------------------------------------------------------------------------------
# Shared by web and workers: a recompute reports its progress here from inside its database
# snapshot, where the page cannot see it. Redis when configured (CACHE_URL, else the broker's
# Redis); the embedded demo runs tasks in-process, so a local-memory cache is shared enough.
CACHE_URL = env_str("CACHE_URL") or (
    CELERY_BROKER_URL if CELERY_BROKER_URL.startswith(("redis://", "rediss://")) else ""
)
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache"
        if CACHE_URL
        else "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": CACHE_URL,
        "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", "dailies"),
    }
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # httpx logs every request's URL at INFO: provider output URLs are pre-signed.
        "httpx": {"level": "WARNING"},
        # In-process (eager) tasks would log a line per task into the dev server's console.
        "celery.app.trace": {"level": "WARNING" if CELERY_TASK_ALWAYS_EAGER else "INFO"},
    },
}
