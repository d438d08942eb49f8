"""Django settings for VisionHub.

This is the only module that reads ``VISIONHUB_*`` environment variables. Every other module
reads ``django.conf.settings``. Bad values fail loudly at start-up rather than at first use.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

import dj_database_url
import django_stubs_ext
from django.core.exceptions import ImproperlyConfigured

# Lets admin and queryset classes be subscripted at run time (ModelAdmin[Model]).
django_stubs_ext.monkeypatch()


def env_str(name: str, default: str) -> str:
    value = os.environ.get(name, "").strip()
    return value or default


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in {"1", "true", "yes", "on"}:
        return True
    if raw in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (true/false), not {raw!r}")


def env_int(name: str, default: int, *, minimum: int = 0) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, not {raw!r}") from None
    if value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, not {value}")
    return value


def env_float(name: str, default: float, *, minimum: float = 0.0) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, not {raw!r}") from None
    if value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, not {value}")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_secret(name: str) -> str | None:
    """A secret from ``NAME`` or from the file named by ``NAME_FILE`` (Docker/K8s secrets)."""
    value = os.environ.get(name, "").strip()
    if value:
        return value
    path = os.environ.get(f"{name}_FILE", "").strip()
    if path:
        try:
            return Path(path).read_text().strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}_FILE: cannot read {path}: {exc}") from None
    return None


def _generated_secret(home: Path) -> str:
    """The secret key kept in the home folder, created once with mode 0600."""
    path = home / "secret_key"
    if not path.exists():
        candidate = secrets.token_urlsafe(50)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process created it first; use theirs
        else:
            with os.fdopen(fd, "w") as fh:
                fh.write(candidate)
    return path.read_text().strip()


VISIONHUB_HOME = Path(env_str("VISIONHUB_HOME", "~/.visionhub")).expanduser().resolve()
VISIONHUB_HOME.mkdir(parents=True, exist_ok=True, mode=0o700)

SECRET_KEY = env_secret("VISIONHUB_SECRET_KEY") or _generated_secret(VISIONHUB_HOME)
VAULT_KEY = env_secret("VISIONHUB_VAULT_KEY")
# Keys the vault may still decrypt with during a rotation (see docs/vault.md).
VAULT_PREVIOUS_KEYS = env_list("VISIONHUB_VAULT_PREVIOUS_KEYS", [])
DEBUG = env_bool("VISIONHUB_DEBUG", False)
ALLOWED_HOSTS = env_list("VISIONHUB_ALLOWED_HOSTS", ["*"])
CSRF_TRUSTED_ORIGINS = env_list("VISIONHUB_CSRF_TRUSTED_ORIGINS", [])

# --- database -----------------------------------------------------------------------------------

DATABASE_URL = env_str(
    "VISIONHUB_DATABASE_URL", f"sqlite:///{VISIONHUB_HOME / 'visionhub.sqlite3'}"
)


def _database(url: str) -> dict[str, Any]:
    if url.startswith("postgresql://"):
        url = "postgres://" + url.removeprefix("postgresql://")
    if not (url.startswith("sqlite:") or url.startswith("postgres://")):
        raise ImproperlyConfigured(
            "VISIONHUB_DATABASE_URL must be sqlite:///path or postgres://user:pass@host:port/db"
        )
    config: dict[str, Any] = dict(dj_database_url.parse(url))
    if config["ENGINE"] == "django.db.backends.sqlite3":
        # WAL lets readers run beside the single writer; IMMEDIATE takes the write lock at BEGIN
        # so concurrent writers queue on the busy timeout instead of failing with "locked".
        config["OPTIONS"] = {
            "transaction_mode": "IMMEDIATE",
            "timeout": env_int("VISIONHUB_SQLITE_TIMEOUT", 30, minimum=1),
            "init_command": (
                "PRAGMA journal_mode=WAL;"
                "PRAGMA synchronous=NORMAL;"
                "PRAGMA foreign_keys=ON;"
                "PRAGMA cache_size=-64000;"
            ),
        }
        Path(config["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    else:
        pool_size = env_int("VISIONHUB_DB_POOL_SIZE", 16)
        if pool_size:
            # A pool per server process: connections are reused across requests (opening one
            # per request costs more than a claim), and the process never holds more than
            # pool_size however many threads wait in long-polls.
            config["CONN_MAX_AGE"] = 0
            config["OPTIONS"] = {
                "pool": {"min_size": 1, "max_size": pool_size, "timeout": 30, "max_idle": 300}
            }
        else:
            config["CONN_MAX_AGE"] = env_int("VISIONHUB_DB_CONN_MAX_AGE", 0)
            config["CONN_HEALTH_CHECKS"] = True
    return config


DATABASES = {"default": _database(DATABASE_URL)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- blob storage -------------------------------------------------------------------------------

STORAGE_URL = env_str("VISIONHUB_STORAGE_URL", (VISIONHUB_HOME / "blobs").as_uri())
if not (STORAGE_URL.startswith("file://") or STORAGE_URL.startswith("s3://")):
    raise ImproperlyConfigured("VISIONHUB_STORAGE_URL must be file:///path or s3://bucket/prefix")
# Endpoint for S3-compatible servers (MinIO, Ceph, moto); boto3 reads the keys from AWS_*.
S3_ENDPOINT_URL = env_str("VISIONHUB_S3_ENDPOINT_URL", os.environ.get("AWS_ENDPOINT_URL", ""))
BLOB_URL_TTL = env_int("VISIONHUB_BLOB_URL_TTL", 3600, minimum=10)

# --- limits and behaviour -----------------------------------------------------------------------

API_TOKEN_LOGIN_HOURS = env_int("VISIONHUB_LOGIN_TOKEN_HOURS", 24 * 7, minimum=1)
MAX_IMAGE_BYTES = env_int("VISIONHUB_MAX_IMAGE_MB", 50, minimum=1) * 1024 * 1024
MAX_IMAGE_PIXELS = env_int("VISIONHUB_MAX_IMAGE_PIXELS", 100_000_000, minimum=1)
# Decodes of images past 16 megapixels at once per server process (each can take ~1 GB).
LARGE_DECODES = env_int("VISIONHUB_LARGE_DECODES", 1, minimum=1)
# A server-wide cap on one model file, on top of each file spec's max_mb (0: no cap).
MAX_MODEL_FILE_MB = env_int("VISIONHUB_MAX_MODEL_FILE_MB", 0) or None
LEASE_SECONDS = env_int("VISIONHUB_LEASE_SECONDS", 60, minimum=1)
MAX_ATTEMPTS = env_int("VISIONHUB_MAX_ATTEMPTS", 3, minimum=1)
WORKER_MIN_AGREEMENT = env_float("VISIONHUB_WORKER_MIN_AGREEMENT", 0.5)
# Votes a worker account casts before its agreement rate can bar it from quorum-1 work.
WORKER_MIN_VOTES = env_int("VISIONHUB_WORKER_MIN_VOTES", 10, minimum=1)
OIDC_ISSUERS = env_list("VISIONHUB_OIDC_ISSUERS", [])
OIDC_AUDIENCE = env_str("VISIONHUB_OIDC_AUDIENCE", "visionhub")
# The web UI's "Sign in with …": the client registered with each provider of OIDC_ISSUERS (a
# public client with PKCE needs no secret).
OIDC_CLIENT_ID = env_str("VISIONHUB_OIDC_CLIENT_ID", OIDC_AUDIENCE)
OIDC_CLIENT_SECRET = env_secret("VISIONHUB_OIDC_CLIENT_SECRET") or ""
WEB_WORKERS = env_int("VISIONHUB_WEB_WORKERS", 2, minimum=1)
WEB_THREADS = env_int("VISIONHUB_WEB_THREADS", 128, minimum=1)

# --- background tasks (django-tasks, database backend; see docs/tasks.md) -----------------------

# QUEUES empty: any queue name; a worker serves the queues it is given (--queue).
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": []}}
# Task workers `visionhub serve` runs beside the API (0: none; run `visionhub tasks worker`).
SERVE_TASK_WORKERS = env_int("VISIONHUB_SERVE_TASK_WORKERS", 1)
# A worker writes a heartbeat this often; a RUNNING task whose worker has been silent for
# TASK_WORKER_TIMEOUT seconds is handed to another worker (or failed after TASK_MAX_ATTEMPTS).
TASK_HEARTBEAT_SECONDS = env_float("VISIONHUB_TASK_HEARTBEAT_SECONDS", 10.0, minimum=0.1)
TASK_WORKER_TIMEOUT = env_float("VISIONHUB_TASK_WORKER_TIMEOUT", 60.0, minimum=0.5)
TASK_MAX_ATTEMPTS = env_int("VISIONHUB_TASK_MAX_ATTEMPTS", 3, minimum=1)
if TASK_WORKER_TIMEOUT <= TASK_HEARTBEAT_SECONDS:
    raise ImproperlyConfigured(
        "VISIONHUB_TASK_WORKER_TIMEOUT must be longer than VISIONHUB_TASK_HEARTBEAT_SECONDS"
    )

# JSON bodies (bulk annotations, batches) are read into memory; files are streamed to disk.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("VISIONHUB_MAX_JSON_MB", 64, minimum=1) * 1024 * 1024
DATA_UPLOAD_MAX_NUMBER_FIELDS = 100_000
FILE_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024
FILE_UPLOAD_TEMP_DIR = str(VISIONHUB_HOME / "tmp")
Path(FILE_UPLOAD_TEMP_DIR).mkdir(parents=True, exist_ok=True)

# --- Django -------------------------------------------------------------------------------------

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "ninja",
    "django_tasks_db",
    "visionhub.tasks",
    "visionhub.accounts",
    "visionhub.datasets",
    "visionhub.registry",
    "visionhub.vault",
    "visionhub.inference",
    "visionhub.benchmarks",
    "visionhub.labeling",
    "visionhub.web",
    "visionhub.evaluation",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "visionhub.web.middleware.SecurityHeadersMiddleware",
    "visionhub.web.middleware.SignedInMiddleware",
    "visionhub.api.middleware.ErrorEnvelopeMiddleware",
    "visionhub.api.middleware.StorableTextMiddleware",
]

ROOT_URLCONF = "visionhub.urls"
LOGIN_URL = "web:login"
LOGIN_REDIRECT_URL = "web:home"
WSGI_APPLICATION = "visionhub.wsgi.application"
AUTH_USER_MODEL = "accounts.User"
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
                "visionhub.web.context.navigation",
            ]
        },
    }
]

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

# --- the web UI's sessions and headers ------------------------------------------------------

# Behind TLS (directly or through a proxy): cookies are sent over HTTPS only.
HTTPS = env_bool("VISIONHUB_HTTPS", False)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = HTTPS
SESSION_COOKIE_AGE = env_int("VISIONHUB_SESSION_HOURS", 24 * 14, minimum=1) * 3600
CSRF_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SECURE = HTTPS
CSRF_FAILURE_VIEW = "visionhub.web.views.errors.csrf_failure"
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CONTENT_TYPE_NOSNIFF = True
# Password guessing: this many failed sign-ins for one username (or from one address, times
# four) within the window refuse further tries until it has passed.
LOGIN_MAX_FAILURES = env_int("VISIONHUB_LOGIN_MAX_FAILURES", 5, minimum=1)
LOGIN_FAILURE_WINDOW = env_int("VISIONHUB_LOGIN_FAILURE_MINUTES", 15, minimum=1) * 60

STATIC_URL = "/static/"
STATIC_ROOT = str(VISIONHUB_HOME / "static")
Path(STATIC_ROOT).mkdir(exist_ok=True)  # WhiteNoise warns about a missing root
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = False

EMAIL_BACKEND = env_str("VISIONHUB_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env_str("VISIONHUB_EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("VISIONHUB_EMAIL_PORT", 25)
DEFAULT_FROM_EMAIL = env_str("VISIONHUB_EMAIL_FROM", "visionhub@localhost")

LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["stderr"], "level": env_str("VISIONHUB_LOG_LEVEL", "INFO")},
    "loggers": {
        # Django logs every 4xx with the request path; our API errors are expected answers.
        "django.request": {"level": "ERROR"},
    },
}
