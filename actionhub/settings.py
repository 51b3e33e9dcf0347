"""Django settings for ActionHub; the only module that reads the environment."""

from __future__ import annotations

import json
import os
import re
import secrets
from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from lib.durations import parse_duration

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("ACTIONHUB_VAR_DIR", BASE_DIR / "var"))


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0), got {value!r}")


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, got {value!r}") from exc


def env_float(name: str, default: float) -> float:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return float(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be a number, got {value!r}") from exc


def env_duration(name: str, default: str) -> timedelta:
    try:
        return parse_duration(os.environ.get(name) or default)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name}: {exc}") from exc


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def env_secret(name: str) -> str | None:
    """A secret from NAME, or from the file named by NAME_FILE (Docker/K8s secrets)."""
    file_name = os.environ.get(f"{name}_FILE")
    if file_name:
        try:
            return Path(file_name).read_text().strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}_FILE: cannot read {file_name}: {exc}") from exc
    return os.environ.get(name) or None


def _env_json(name: str) -> object:
    """The JSON in `name`, {} when unset or blank; the setting's own check says what shape it needs."""
    value = os.environ.get(name, "").strip()
    if not value:
        return {}
    try:
        return json.loads(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be a JSON object: {exc}") from exc


def env_levels(name: str) -> dict[str, str]:
    """A JSON object from action type to security level, e.g. {"api_call": "high"}."""
    levels = _env_json(name)
    known = ("low", "medium", "high", "critical")
    if not isinstance(levels, dict) or not all(
        isinstance(key, str) and key and level in known for key, level in levels.items()
    ):
        raise ImproperlyConfigured(
            f'{name} must map action types to one of {", ".join(known)}, e.g. {{"api_call": "high"}}'
        )
    return levels


def env_routing(name: str) -> dict[str, list[str]]:
    """A JSON object from `action_type` or `action_type:skill_id` to a list of group names."""
    routing = _env_json(name)
    if not isinstance(routing, dict) or not all(
        isinstance(key, str)
        and isinstance(groups, list)
        and groups
        and all(isinstance(group, str) and group for group in groups)
        for key, groups in routing.items()
    ):
        raise ImproperlyConfigured(
            f'{name} must map "action_type" or "action_type:skill_id" to a non-empty list of group names, '
            'e.g. {"file_operation": ["ops"], "skill_execution:python": ["ml-reviewers"]}'
        )
    return routing


DEBUG = env_bool("DJANGO_DEBUG", False)


def _secret_key() -> str:
    key = env_secret("DJANGO_SECRET_KEY")
    if key:
        return key
    key_file = VAR_DIR / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    if not DEBUG:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY (or DJANGO_SECRET_KEY_FILE) is required when DJANGO_DEBUG=0")
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(50)
    key_file.write_text(key)
    key_file.chmod(0o600)
    return key


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "template_partials",
    "channels",
    "django_tasks",
    "django_tasks_db",
    "ninja",
    "audit",
    "approvals",
    "review",
    "notifications",
    "callbacks",
    "worker",
    "health",
    "rules",
    "skills",
    "api",
    "llm",
    "realtime",
    "chat",
    "toolcalls",
    "axes",
]

MIDDLEWARE = [
    # First: container probes reach the process by its own address, before host checks and redirects.
    "health.probes.HealthProbeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "lib.staticfiles.AsyncWhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Pages show times in the signed-in person's chosen zone (lib.moments), UTC otherwise.
    "lib.moments.TimeZoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "lib.ratelimit.PagePostRateLimitMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last, so it sees the outcome of every login attempt.
    "axes.middleware.AxesMiddleware",
]

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Lock a username from one address after repeated failures; a success resets the count.
AXES_FAILURE_LIMIT = env_int("ACTIONHUB_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = env_duration("ACTIONHUB_LOGIN_LOCKOUT", "15m")
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked.html"
AXES_VERBOSE = False
# The client address the ASGI server settled on (it applies forwarded headers only from trusted proxies).
AXES_IPWARE_META_PRECEDENCE_ORDER = ("REMOTE_ADDR",)

ROOT_URLCONF = "actionhub.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
            # One time format across the site: `{{ when|moment }}` in every template, no load needed.
            "builtins": ["lib.moments"],
        },
    },
]

WSGI_APPLICATION = "actionhub.wsgi.application"
ASGI_APPLICATION = "actionhub.asgi.application"

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'actionhub.sqlite3'}",
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
# The password apart from the URL, so that it can come from a secret file (DATABASE_PASSWORD_FILE).
if database_password := env_secret("DATABASE_PASSWORD"):
    DATABASES["default"]["PASSWORD"] = database_password
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web and worker processes share the file: IMMEDIATE transactions + WAL remove
    # "database is locked" under concurrent read-then-write transactions.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # A file, not memory, so worker processes started by tests share the test database.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test_actionhub.sqlite3")}
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
# The image collects static files into itself (ACTIONHUB_STATIC_ROOT), out of the data volume.
STATIC_ROOT = Path(env_str("ACTIONHUB_STATIC_ROOT") or VAR_DIR / "staticfiles")
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
WHITENOISE_USE_FINDERS = True

LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
    # Pub/sub: one message per group per process, fanned out locally (not one Redis entry per socket).
    CHANNEL_LAYERS = {"default": {"BACKEND": "realtime.layers.RedisPubSubLayer", "CONFIG": {"hosts": [REDIS_URL]}}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    # Cross-process through the database: workers' status changes reach open pages without Redis.
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "realtime.layers.DatabaseChannelLayer",
            # capacity: messages waiting per consumer before its change messages are merged
            "CONFIG": {"poll_interval": env_float("ACTIONHUB_CHANNEL_POLL", 0.02), "capacity": 500},
        }
    }

TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}

# Security: safe defaults, tightened further when DEBUG is off.
# Pages load scripts only from our own static files (htmx is vendored) and talk only to this
# origin (HTTP and the websocket); inline styles stay allowed for the admin and API docs.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, "'unsafe-inline'"],
        "img-src": [SELF, "data:"],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", not DEBUG)
SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
# Forwarded headers are believed only behind a proxy, and then only from its addresses: otherwise
# any client could name its own address (and so dodge the login lockout, which keys on it).
BEHIND_PROXY = env_bool("DJANGO_BEHIND_PROXY", False)
TRUSTED_PROXIES = env_list("DJANGO_TRUSTED_PROXIES", "127.0.0.1")
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if BEHIND_PROXY else None
SILENCED_SYSTEM_CHECKS: list[str] = []

DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("ACTIONHUB_MAX_BODY_BYTES", 1024 * 1024)

# Email to reviewers: printed to the console in development, sent over SMTP otherwise.
EMAIL_BACKEND = env_str(
    "DJANGO_EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend" if DEBUG else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_secret("EMAIL_HOST_PASSWORD") or ""
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
# A stuck SMTP server must not hold a worker for long; the delivery is retried instead.
EMAIL_TIMEOUT = env_float("EMAIL_TIMEOUT", 10.0)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "actionhub@localhost")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "filters": {"redact_link_tokens": {"()": "review.log_filters.RedactLinkTokens"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["redact_link_tokens"]}
    },
    "root": {"handlers": ["console"], "level": env_str("ACTIONHUB_LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "axes": {"level": "WARNING"},
        # httpx logs every request's full URL at INFO, and webhook URLs carry their secret in the path.
        "httpx": {"level": "WARNING"},
    },
}

# ActionHub
ACTIONHUB_VERSION = "0.1.0"
ACTIONHUB_LLM_URL = env_str("ACTIONHUB_LLM_URL", "http://127.0.0.1:11434").rstrip("/")
ACTIONHUB_LLM_API = env_str("ACTIONHUB_LLM_API", "ollama")
if ACTIONHUB_LLM_API not in {"ollama", "openai"}:
    raise ImproperlyConfigured("ACTIONHUB_LLM_API must be 'ollama' or 'openai'")
ACTIONHUB_LLM_API_KEY = env_secret("ACTIONHUB_LLM_API_KEY")
ACTIONHUB_LLM_TIMEOUT = env_float("ACTIONHUB_LLM_TIMEOUT", 120.0)
ACTIONHUB_LLM_CONNECT_TIMEOUT = env_float("ACTIONHUB_LLM_CONNECT_TIMEOUT", 5.0)
ACTIONHUB_LLM_RETRIES = env_int("ACTIONHUB_LLM_RETRIES", 2)
ACTIONHUB_DEFAULT_MODEL = env_str("ACTIONHUB_DEFAULT_MODEL", "llama3.2")
ACTIONHUB_EXPIRY_HIGH = env_duration("ACTIONHUB_EXPIRY_HIGH", "24h")
ACTIONHUB_EXPIRY_CRITICAL = env_duration("ACTIONHUB_EXPIRY_CRITICAL", "1h")
ACTIONHUB_QUORUM_CRITICAL = env_int("ACTIONHUB_QUORUM_CRITICAL", 2)
if ACTIONHUB_QUORUM_CRITICAL < 1:
    raise ImproperlyConfigured("ACTIONHUB_QUORUM_CRITICAL must be at least 1")
ACTIONHUB_WEBHOOK_URLS = env_list("ACTIONHUB_WEBHOOK_URLS")
# Routing of held actions to reviewer groups when no RoutingRule (admin) matches; empty: every reviewer.
ACTIONHUB_ROUTING = env_routing("ACTIONHUB_ROUTING")
# Escalation: a held action still undecided after this long (unset: half its expiry window) is
# announced once to the members of this group.
ACTIONHUB_ESCALATE_AFTER: timedelta | None = (
    env_duration("ACTIONHUB_ESCALATE_AFTER", "") if env_str("ACTIONHUB_ESCALATE_AFTER") else None
)
ACTIONHUB_ESCALATION_GROUP = env_str("ACTIONHUB_ESCALATION_GROUP", "escalation")
# Notifications of held actions link here, so it must be the address reviewers open.
ACTIONHUB_BASE_URL = env_str("ACTIONHUB_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
ACTIONHUB_NOTIFY_RETRIES = env_int("ACTIONHUB_NOTIFY_RETRIES", 5)
ACTIONHUB_NOTIFY_BACKOFF = env_duration("ACTIONHUB_NOTIFY_BACKOFF", "30s")
ACTIONHUB_NOTIFY_TIMEOUT = env_float("ACTIONHUB_NOTIFY_TIMEOUT", 10.0)
ACTIONHUB_API_ALLOWLIST = env_list("ACTIONHUB_API_ALLOWLIST")
ACTIONHUB_API_CALL_TIMEOUT = env_float("ACTIONHUB_API_CALL_TIMEOUT", 15.0)
ACTIONHUB_API_CALL_MAX_BYTES = env_int("ACTIONHUB_API_CALL_MAX_BYTES", 1024 * 1024)
# Callbacks: a submitter may name a URL under this allowlist (ACTIONHUB_API_ALLOWLIST's format and
# rules) to be told when its action is decided and finished; each POST is signed with the secret.
ACTIONHUB_CALLBACK_ALLOWLIST = env_list("ACTIONHUB_CALLBACK_ALLOWLIST")
ACTIONHUB_CALLBACK_SECRET = env_secret("ACTIONHUB_CALLBACK_SECRET")
ACTIONHUB_CALLBACK_ATTEMPTS = env_int("ACTIONHUB_CALLBACK_ATTEMPTS", 6)
if ACTIONHUB_CALLBACK_ATTEMPTS < 1:
    raise ImproperlyConfigured("ACTIONHUB_CALLBACK_ATTEMPTS must be at least 1")
# The wait after failed attempt n is BACKOFF * 2^(n-1): 2, 4, 8, 16, 32 minutes by default.
ACTIONHUB_CALLBACK_BACKOFF = env_duration("ACTIONHUB_CALLBACK_BACKOFF", "2m")
ACTIONHUB_CALLBACK_TIMEOUT = env_float("ACTIONHUB_CALLBACK_TIMEOUT", 5.0)
ACTIONHUB_SANDBOX_IMAGE = env_str("ACTIONHUB_SANDBOX_IMAGE", "actionhub-sandbox:latest")
# Sandbox: every skill runs in a throwaway container with these limits (memory and timeout come
# from the skill's manifest). A worker keeps POOL_SIZE started containers per profile waiting for
# one job each; 0 disables the pool and every run starts a cold container.
ACTIONHUB_SANDBOX_POOL_SIZE = env_int("ACTIONHUB_SANDBOX_POOL_SIZE", 2)
if ACTIONHUB_SANDBOX_POOL_SIZE < 0:
    raise ImproperlyConfigured("ACTIONHUB_SANDBOX_POOL_SIZE must be 0 or more")
ACTIONHUB_SANDBOX_CPUS = env_float("ACTIONHUB_SANDBOX_CPUS", 1.0)
ACTIONHUB_SANDBOX_PIDS = env_int("ACTIONHUB_SANDBOX_PIDS", 64)
ACTIONHUB_SANDBOX_USER = env_str("ACTIONHUB_SANDBOX_USER", "10001:10001")
if not re.fullmatch(r"[1-9]\d*:[1-9]\d*", ACTIONHUB_SANDBOX_USER):
    raise ImproperlyConfigured("ACTIONHUB_SANDBOX_USER must be a non-root uid:gid such as 10001:10001")
ACTIONHUB_SANDBOX_OUTPUT_BYTES = env_int("ACTIONHUB_SANDBOX_OUTPUT_BYTES", 1024 * 1024)
ACTIONHUB_SANDBOX_CACHE_DIR = Path(env_str("ACTIONHUB_SANDBOX_CACHE_DIR") or VAR_DIR / "sandbox")
ACTIONHUB_DEBIAN_MIRROR = env_str("ACTIONHUB_DEBIAN_MIRROR")
ACTIONHUB_DOCKER_HOST = env_str("ACTIONHUB_DOCKER_HOST")
ACTIONHUB_WORKSPACES_DIR = Path(env_str("ACTIONHUB_WORKSPACES_DIR") or VAR_DIR / "workspaces")
ACTIONHUB_FILESYSTEM_EXTENSIONS = [
    extension.lower().lstrip(".")
    for extension in env_list(
        "ACTIONHUB_FILESYSTEM_EXTENSIONS",
        "txt,md,rst,json,jsonl,csv,tsv,yaml,yml,toml,ini,cfg,log,py,js,ts,html,css,xml,sql",
    )
]
ACTIONHUB_SKILLS_DIR = env_str("ACTIONHUB_SKILLS_DIR")
ACTIONHUB_RATE_LIMIT = env_str("ACTIONHUB_RATE_LIMIT", "120/m")
ACTIONHUB_HTTP_THREADS = env_int("ACTIONHUB_HTTP_THREADS", 16)
# Executor: a running action holds a lease that its worker renews; an expired lease
# means the worker died and the action is recovered by another worker.
ACTIONHUB_LEASE_SECONDS = env_float("ACTIONHUB_LEASE_SECONDS", 30.0)
ACTIONHUB_MAX_ATTEMPTS = env_int("ACTIONHUB_MAX_ATTEMPTS", 3)
# How long a submit's Idempotency-Key answers with the action it created (then it may be reused).
ACTIONHUB_IDEMPOTENCY_TTL = env_duration("ACTIONHUB_IDEMPOTENCY_TTL", "24h")
ACTIONHUB_WORKER_POLL = env_float("ACTIONHUB_WORKER_POLL", 0.05)
ACTIONHUB_WORKER_GRACE = env_float("ACTIONHUB_WORKER_GRACE", 30.0)
# Touched by a worker at every heartbeat it writes, so a container health check need not ask the database.
ACTIONHUB_WORKER_HEARTBEAT_FILE = env_str("ACTIONHUB_WORKER_HEARTBEAT_FILE")
# The first user `make run` and the image's `migrate` create when there are none (generated if unset).
ACTIONHUB_ADMIN_PASSWORD = env_secret("ACTIONHUB_ADMIN_PASSWORD")
# The image's `web` role (deploy/gunicorn.conf.py): port, server processes, and how long a stopping
# process lets open requests finish before it closes the rest.
ACTIONHUB_WEB_PORT = env_int("ACTIONHUB_WEB_PORT", 8000)
ACTIONHUB_WEB_WORKERS = env_int("ACTIONHUB_WEB_WORKERS", 2)
if ACTIONHUB_WEB_WORKERS < 1:
    raise ImproperlyConfigured("ACTIONHUB_WEB_WORKERS must be at least 1")
ACTIONHUB_WEB_GRACE = env_float("ACTIONHUB_WEB_GRACE", 30.0)
ACTIONHUB_MAINTENANCE_INTERVAL = env_float("ACTIONHUB_MAINTENANCE_INTERVAL", 1.0)
# The action kinds in use, each a class implementing approvals.kinds.base.ActionKind; a kind of
# your own is one module and one line here (the order is the order filters list them in).
ACTIONHUB_ACTION_KINDS = [
    "chat.kind.ChatKind",
    "skills.kinds.SkillExecutionKind",
    "approvals.kinds.model_switch.ModelSwitchKind",
    "approvals.kinds.api_call.ApiCallKind",
    "skills.kinds.FileOperationKind",
    "approvals.kinds.config_change.ConfigChangeKind",
    "toolcalls.kind.ToolCallKind",
]
# The tool-call policy over its defaults (toolcalls/policy.py, README "Tool calls"):
# {"tool name or prefix*": "low|medium|high|critical|file_edit|bash"}.
ACTIONHUB_TOOL_POLICY: dict[str, str] = {}
# Policy overrides: {"action_type": "level"} applied after the built-in table.
ACTIONHUB_POLICY_OVERRIDES: dict[str, str] = env_levels("ACTIONHUB_POLICY_OVERRIDES")
# Standing rules decide matching actions at submit time; 0 switches all evaluation off.
ACTIONHUB_RULES_ENABLED = env_bool("ACTIONHUB_RULES_ENABLED", True)
# Reversibility overrides: {"action_type": "reversible|partial|irreversible"} over the built-in table.
ACTIONHUB_REVERSIBILITY_OVERRIDES: dict[str, str] = {}
# One-tap decision links in notifications stop working after this (the action's own expiry still applies).
ACTIONHUB_LINK_MAX_AGE = env_duration("ACTIONHUB_LINK_MAX_AGE", "24h")
# The detail page's "what will change" preview (a file's current content, read in the sandbox) gives up after this.
ACTIONHUB_PREVIEW_TIMEOUT = env_float("ACTIONHUB_PREVIEW_TIMEOUT", 5.0)
# Audit chain banner: pages re-check only entries newer than the last verified one; the workers'
# maintenance re-hashes the whole chain again once the last full pass is older than this.
ACTIONHUB_AUDIT_FULL_VERIFY_EVERY = env_duration("ACTIONHUB_AUDIT_FULL_VERIFY_EVERY", "1h")
