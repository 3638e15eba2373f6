"""One settings module, configured from the environment (django-environ).

With nothing set, the product runs on an embedded default that needs no server: an embedded
PostgreSQL (pgserver) under `.pgdata/` and Celery's filesystem broker under `.celery-fs/`.
With DATABASE_URL and REDIS_URL (or CELERY_BROKER_URL) set, it runs on those servers.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from urllib.parse import unquote

import environ
from csp.constants import NONCE, NONE, SELF
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env(
    DEBUG=(bool, False),
    ALLOWED_HOSTS=(list, ["localhost", "127.0.0.1", "[::1]"]),
    TIME_ZONE=(str, "Asia/Tokyo"),
    SECURE=(bool, False),
)
if (BASE_DIR / ".env").exists():
    env.read_env(str(BASE_DIR / ".env"))

DEBUG = env("DEBUG")
# The development default key is refused by `check --deploy`; production sets SECRET_KEY.
SECRET_KEY = env("SECRET_KEY", default="django-insecure-madoguchi-development-only-key")
ALLOWED_HOSTS = env("ALLOWED_HOSTS")
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "django_htmx",
    "template_partials",
    "csp",
    "axes",
    "helpdesk.tenancy",
    "helpdesk.tickets",
    "helpdesk.tickets.rules",
    "helpdesk.tickets.mailin",
    "helpdesk.tickets.imap",
    "helpdesk.tickets.helpcenter",
    "helpdesk.tickets.collab",
    "helpdesk.tickets.activities",
    "helpdesk.tickets.mailtemplates",
    "customers",
    "customers.imports",
    "customers.attachments",  # notes and files on contacts and accounts (CUS-11)
    "blueprints",
    "crmsync",  # the CRM module and its link to a desk (CRM)
    "chat",  # live chat: departments, operators, conversations (CHAT)
    "sla",
    "reports",
    "api",  # the public REST API and personal API tokens (issue 16)
    "helpdesk.demo",  # top layer: the demo data command
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "helpdesk.tenancy.middleware.UserLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # The API's answers are problem details, also where Django answers first (issue 16).
    "api.middleware.ApiProblemMiddleware",
    "helpdesk.tenancy.middleware.TenantMiddleware",
    # Last: turns a sign-in refused by django-axes into the login page's lockout notice.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "helpdesk.urls"
WSGI_APPLICATION = "helpdesk.wsgi.application"
ASGI_APPLICATION = "helpdesk.asgi.application"

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
                "django.template.context_processors.i18n",
                "helpdesk.tenancy.context_processors.tenant",
                "csp.context_processors.nonce",
            ],
            "builtins": [
                "django.templatetags.i18n",
                "template_partials.templatetags.partials",
            ],
        },
    }
]


# --- Database --------------------------------------------------------------------------------
def _database() -> dict:
    if env.str("DATABASE_URL", default=""):
        config = env.db_url_config(env.str("DATABASE_URL"))
        # A Unix socket directory is written percent-encoded in a URL (libpq's convention,
        # e.g. postgres://user@%2Fvar%2Frun%2Fpostgresql/db); django-environ leaves it so.
        config["HOST"] = unquote(config["HOST"])
        return config
    from helpdesk.embedded import embedded_database_config

    return embedded_database_config(BASE_DIR / ".pgdata", "madoguchi")


DATABASES = {"default": _database()}
# PostgreSQL, grouping tenant rows by their composite key (helpdesk/postgres).
DATABASES["default"]["ENGINE"] = "helpdesk.postgres"
# Log in as another role than the URL's (bin/start runs migrations as the owner, then the web
# server and the worker as the runtime role).
if env.str("DATABASE_USER", default=""):
    DATABASES["default"]["USER"] = env.str("DATABASE_USER")
    DATABASES["default"]["PASSWORD"] = env.str("DATABASE_PASSWORD", default="")
# Under ASGI every request runs in its own thread, so persistent per-thread connections would
# pile up: a psycopg connection pool per process serves them instead (Django 5.1+).
DB_POOL_MAX = env.int("DB_POOL_MAX", default=10)
if DB_POOL_MAX:
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": min(2, DB_POOL_MAX),
        "max_size": DB_POOL_MAX,
        "timeout": 10,
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# Server-side cursors do not survive transaction pooling (PgBouncer) and cost round trips.
DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = True
# Server-side parameter binding lets psycopg prepare a statement that a pooled connection has
# run a few times, so PostgreSQL plans it once instead of on every request (planning is most of
# a small query's cost here: README, Benchmarks). On by default; off with
# DB_SERVER_SIDE_BINDING=0 (e.g. behind a PgBouncer older than 1.21 in transaction mode).
if env.bool("DB_SERVER_SIDE_BINDING", default=True):
    DATABASES["default"].setdefault("OPTIONS", {})["server_side_binding"] = True
    DATABASES["default"]["OPTIONS"]["prepare_threshold"] = env.int(
        "DB_PREPARE_THRESHOLD", default=5
    )


def _pool_reset(conn) -> None:
    """A connection goes back to the pool without the role or organization a request set
    (the middleware and tasks put them back themselves; this is the second belt)."""
    conn.execute("SELECT set_config('role', 'none', false), set_config(%s, '', false)", [DB_ORG])
    if not conn.autocommit:
        conn.commit()


# Row-level security (helpdesk/tenancy/rls.py). Requests and tasks run as DB_RUNTIME_ROLE,
# which neither owns the tables nor bypasses RLS; `migrate` (run as the owner) creates both
# roles, sets their passwords when given, and writes the grants and policies. An empty
# DB_RUNTIME_ROLE turns the scopes off: only for measuring their cost (bench/tickets.py), with
# a login as the owner, which RLS does not apply to.
DB_ORG = "madoguchi.org_id"
DB_RUNTIME_ROLE = env.str("DB_RUNTIME_ROLE", default="madoguchi_app")
DB_RUNTIME_PASSWORD = env.str("DB_RUNTIME_PASSWORD", default="")
DB_CROSS_ROLE = env.str("DB_CROSS_ROLE", default="madoguchi_cross")
DB_CROSS_PASSWORD = env.str("DB_CROSS_PASSWORD", default="")
if DB_POOL_MAX:
    DATABASES["default"]["OPTIONS"]["pool"]["reset"] = _pool_reset
# The cross-tenant reads (helpdesk/tenancy/crosstenant.py) use their own connection and role.
DATABASES["cross"] = {
    **DATABASES["default"],
    "USER": DB_CROSS_ROLE,
    "PASSWORD": DB_CROSS_PASSWORD,
    "OPTIONS": {
        **DATABASES["default"].get("OPTIONS", {}),
        **({"pool": {"min_size": 1, "max_size": 4, "timeout": 10}} if DB_POOL_MAX else {}),
    },
    # The same database: tests neither create nor flush it twice.
    "TEST": {"MIRROR": "default"},
}
CROSS_TENANT_DATABASE = "cross"

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Auth ------------------------------------------------------------------------------------
AUTH_USER_MODEL = "tenancy.User"
# django-axes first: it refuses a sign-in while the account or the address is locked out.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
PASSWORD_RESET_TIMEOUT = 60 * 60 * 24
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
INVITATION_TTL_DAYS = env.int("INVITATION_TTL_DAYS", default=7)

# --- I18N ------------------------------------------------------------------------------------
LANGUAGE_CODE = "ja"
LANGUAGES = [("ja", _("Japanese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env("TIME_ZONE")
USE_I18N = True
USE_TZ = True

# --- Static files ----------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
# Uploaded files: stored under org/<id>/ and served only through access-checked views.
ATTACHMENT_MAX_BYTES = env.int("ATTACHMENT_MAX_BYTES", default=20 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
MEDIA_ROOT = env.path("MEDIA_ROOT", default=str(BASE_DIR / "media"))
WHITENOISE_USE_FINDERS = DEBUG

# --- Email -----------------------------------------------------------------------------------
vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="Madoguchi <no-reply@madoguchi.localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Celery ----------------------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
# The host names nothing (the folders below are the broker); kombu warns when it is missing.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL or "filesystem://localhost/")
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default=REDIS_URL or "")
if CELERY_BROKER_URL.startswith("filesystem://"):
    # A broker that needs no server, for a bare laptop: one machine only, not for production.
    _queue = BASE_DIR / ".celery-fs"
    for _folder in ("out", "processed", "results", "control"):
        (_queue / _folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue / "out"),
        "data_folder_out": str(_queue / "out"),
        "processed_folder": str(_queue / "processed"),
        "store_processed": False,
        # Its exchange tables (kombu's default: a `control` folder in the working directory).
        "control_folder": str(_queue / "control"),
    }
    CELERY_RESULT_BACKEND = CELERY_RESULT_BACKEND or "file://" + str(_queue / "results")
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE = {
    "purge-stale-invitations": {
        "task": "helpdesk.tenancy.tasks.purge_stale_invitations_task",
        "schedule": 60 * 60 * 6,
    },
    # IMAP mailboxes (TKT-07): the sweep enqueues one poll per due mailbox.
    "imap-poll-mailboxes": {
        "task": "helpdesk.tickets.imap.tasks.imap_poll_due_task",
        "schedule": env.int("IMAP_POLL_SECONDS", default=60),
    },
    # Incoming mail (TKT-07): the log of placed messages older than MAILIN_LOG_DAYS.
    "mailin-log-purge": {
        "task": "helpdesk.tickets.mailin.tasks.mailin_log_purge_task",
        "schedule": 60 * 60 * 24,
    },
    # SLA escalations (BP-15, TKT-09): the sweep fires due levels and wakes itself up at the
    # exact due time of what falls due before the next beat (sla/sweep.py).
    "sla-sweep": {
        "task": "sla.tasks.sla_sweep_task",
        "schedule": env.int("SLA_SWEEP_SECONDS", default=5),
    },
    # CRM sync (CRM-04): undelivered outbox rows (a worker died) are enqueued again.
    "crmsync-outbox-sweep": {
        "task": "crmsync.tasks.outbox_sweep_task",
        "schedule": env.int("CRMSYNC_SWEEP_SECONDS", default=30),
    },
    # Missed chats (issue 15): waiting chats nobody accepted within their department's time.
    "chat-missed-sweep": {
        "task": "chat.tasks.missed_sweep_task",
        "schedule": env.int("CHAT_MISSED_SWEEP_SECONDS", default=15),
    },
    # Visitor tracking (CHAT-08): old page views and long-gone visitors, daily.
    "chat-tracking-prune": {
        "task": "chat.tasks.tracking_prune_task",
        "schedule": 60 * 60 * 24,
    },
    # Sales signals (CRM-14): tickets of CRM-synced desks that passed their due date.
    "crmsync-overdue-signals": {
        "task": "crmsync.signals.signal_overdue_sweep_task",
        "schedule": env.int("CRMSYNC_OVERDUE_SWEEP_SECONDS", default=60),
    },
}
# Tests only: seconds a delivery waits before writing (a worker killed while applying).
CRMSYNC_APPLY_DELAY_SECONDS = env.float("CRMSYNC_APPLY_DELAY_SECONDS", default=0.0)

# --- SLA escalations (BP-15, TKT-09) ---------------------------------------------------------
SLA_SWEEP_SECONDS = env.int("SLA_SWEEP_SECONDS", default=5)
# A claimed escalation whose mail is not confirmed within this is claimed again (a worker died
# between claiming and sending); the ledger keeps it from firing or mailing twice.
SLA_CLAIM_TIMEOUT_SECONDS = env.float("SLA_CLAIM_TIMEOUT_SECONDS", default=60.0)
SLA_SWEEP_BATCH = env.int("SLA_SWEEP_BATCH", default=500)

# --- Incoming mail (TKT-07) --------------------------------------------------------------------
# Days the log of placed, duplicate and ignored messages is kept (held ones stay until handled).
MAILIN_LOG_DAYS = env.int("MAILIN_LOG_DAYS", default=90)

# --- IMAP mailboxes (TKT-07) -----------------------------------------------------------------
# Passwords are stored encrypted (Fernet). Keys: "new,old" to rotate (the first encrypts, any
# decrypts; `manage.py imap_rotate_key` re-encrypts); empty: one derived from SECRET_KEY.
MAIL_PASSWORD_KEY = env.list("MAIL_PASSWORD_KEY", default=[])
# Private, loopback and link-local servers are refused (an admin could otherwise probe our
# network), except where this allows them: development, and the tests' own dovecot.
IMAP_ALLOW_PRIVATE_HOSTS = env.bool("IMAP_ALLOW_PRIVATE_HOSTS", default=DEBUG)
IMAP_TIMEOUT_SECONDS = env.int("IMAP_TIMEOUT_SECONDS", default=30)

# --- Cache -----------------------------------------------------------------------------------
CACHES = {
    "default": (
        {"BACKEND": "helpdesk.caching.PrefixedRedisCache", "LOCATION": REDIS_URL}
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}
# Deployments (or test workers: pytest-xdist gives each its own database, whose ids overlap)
# that share one Redis must not share cache keys: an organization's cached rows in one would
# be read as another's.
CACHES["default"]["KEY_PREFIX"] = env.str(
    "CACHE_KEY_PREFIX", default=os.environ.get("PYTEST_XDIST_WORKER", "")
)

# Sessions are kept in the database and read from the cache (cached_db): a page's first query
# is saved. Pages run in the WSGI thread pool (helpdesk/asgi.py), whose threads keep their
# cache clients, so the read reuses a Redis connection (bench/tickets.py: one new connection
# in hundreds of requests).
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"

# --- Security --------------------------------------------------------------------------------
SECURE = env("SECURE")  # behind HTTPS in production
SESSION_COOKIE_SECURE = SECURE
CSRF_COOKIE_SECURE = SECURE
SECURE_SSL_REDIRECT = SECURE and env.bool("SECURE_SSL_REDIRECT", default=True)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if SECURE else None
# Proxies whose X-Forwarded-For entries we believe (addresses or CIDRs), nearest last in the
# header; helpdesk.http.client_ip walks the header from the right past them (TKT-05).
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", default=[])
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365 if SECURE else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE
SECURE_HSTS_PRELOAD = SECURE
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SILENCED_SYSTEM_CHECKS: list[str] = []

# Content-Security-Policy on every response (django-csp): scripts, styles, images, fonts and
# connections from our origin only; an inline <script> runs only with the request's nonce
# (`{{ CSP_NONCE }}`); no plugins, no <base>, forms post only to us, and no page frames ours.
# Remote images in mail bodies and descriptions stay unloaded: the ticket page adds `https:`
# and `http:` to img-src only in the answer to a reader who asked to see one message's images
# (helpdesk/tickets/views/ticket.py). Attachments keep their own sandboxing policy.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        # The nonce lets the rich-text editor (Trix) add its own small <style> elements;
        # style="" attributes stay refused (TKT-02).
        "style-src": [SELF, NONCE],
        "img-src": [SELF],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

# Sign-in throttling (django-axes): after SIGNIN_FAILURE_LIMIT failed sign-ins for one account,
# or from one client address, within SIGNIN_LOCKOUT_MINUTES, sign-in is refused for that
# account or address until the failures are that old. Resetting the password lifts the
# account's lock (helpdesk/tenancy/views/signin.py). Failures are rows in the database.
AXES_VERBOSE = False  # no banner on every command
AXES_FAILURE_LIMIT = env.int("SIGNIN_FAILURE_LIMIT", default=10)
AXES_COOLOFF_TIME = dt.timedelta(minutes=env.int("SIGNIN_LOCKOUT_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_USERNAME_CALLABLE = "helpdesk.tenancy.views.signin.signin_username"
AXES_CLIENT_IP_CALLABLE = "helpdesk.http.client_ip"
AXES_LOCKOUT_CALLABLE = "helpdesk.tenancy.views.signin.signin_locked_out"
# A success does not wipe the address's failures (with per-address counting, a guesser could
# otherwise clear them by signing in to an account of their own).
AXES_RESET_ON_SUCCESS = False

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    # An ordinary 403 or 404 is one line in the log, not a traceback.
    "filters": {"client_errors_one_line": {"()": "helpdesk.logs.ClientErrorsOneLine"}},
    "loggers": {
        "pgserver": {"level": "WARNING"},
        "django.request": {"filters": ["client_errors_one_line"]},
    },
}

# Portal names that would collide with our own top-level URLs or mislead users.
RESERVED_PORTALS = frozenset(
    [
        "accounts",
        "admin",
        "api",
        "app",
        "apps",
        "assets",
        "auth",
        "billing",
        "blog",
        "chat",
        "crm",
        "desk",
        "docs",
        "healthz",
        "help",
        "i18n",
        "invite",
        "invitation",
        "language",
        "login",
        "logout",
        "madoguchi",
        "media",
        "orgs",
        "password",
        "portal",
        "root",
        "setup",
        "signup",
        "static",
        "status",
        "support",
        "system",
        "www",
    ]
)

# Absolute address of the site, for links in emails (invitations, password resets).
SITE_URL = env.str("SITE_URL", default="http://localhost:8000").rstrip("/")

# Outgoing webhooks (helpdesk/webhooks.py): private, loopback and link-local targets are
# refused unless this is on (a development or test setup talking to a local receiver).
WEBHOOK_ALLOW_PRIVATE_TARGETS = env.bool("WEBHOOK_ALLOW_PRIVATE_TARGETS", default=False)
WEBHOOK_TIMEOUT = env.float("WEBHOOK_TIMEOUT", default=10.0)
# The API's webhooks: failed deliveries in a row (each after its retries) that disable one.
WEBHOOK_DISABLE_AFTER = env.int("WEBHOOK_DISABLE_AFTER", default=5)

# The public API (issue 16): requests a personal API token may make per minute (0: no limit);
# more are answered 429 with Retry-After (api/ratelimit.py).
API_RATE_LIMIT_PER_MINUTE = env.int("API_RATE_LIMIT_PER_MINUTE", default=120)
