"""OrderGuard settings. Everything that differs between machines comes from the environment.

See ``platform/env.example`` for the documented variables.
"""

from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from config.env import env_bool, env_int, env_list, env_rate, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
# Runtime files of the embedded defaults (SQLite database, Redis socket and data) live here.
RUN_DIR = Path(env_str("ORDERGUARD_RUN_DIR", str(BASE_DIR / "run")))

DEBUG = env_bool("DEBUG", False)

_DEV_SECRET_KEY = "django-insecure-orderguard-development-key-do-not-use-in-production"  # noqa: S105 (only ever used with DEBUG on)
SECRET_KEY = env_str("SECRET_KEY", _DEV_SECRET_KEY if DEBUG else "")
if not SECRET_KEY:
    raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "daphne",
    # The console's theme: before django.contrib.admin, whose templates it overrides.
    "unfold",
    "unfold.contrib.filters",
    "unfold.contrib.import_export",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    # Before drf_spectacular, whose ReDoc template it overrides (no font CDN).
    "apps.common",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_filters",
    "import_export",
    "django_celery_beat",
    "channels",
    "axes",
    "django_htmx",
    "template_partials",
    # The handling engine (SPEC §9.1): its Process/Task tables, locks and timers.
    "viewflow.workflow",
    "apps.accounts",
    "apps.orders",
    "apps.rules",
    "apps.exceptions",
    "apps.integrations",
    "apps.live",
    "apps.notifications",
    "apps.formdesigner",
    "apps.configbundle",
    "workflows",
    "apps.console",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "apps.console.middleware.UserTimeZoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: it turns a locked-out sign-in into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

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
                "apps.console.context.console",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
# SQLite is the embedded default. WAL lets readers run beside the writer, the busy timeout and
# IMMEDIATE transactions make concurrent API writers queue instead of failing with
# "database is locked" (a deferred transaction that later upgrades to a write lock can't wait).
_SQLITE_DEFAULT = f"sqlite:///{RUN_DIR / 'orderguard.sqlite3'}"
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", _SQLITE_DEFAULT) or _SQLITE_DEFAULT,
        conn_max_age=env_int("DB_CONN_MAX_AGE", 0),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    DATABASES["default"]["OPTIONS"] = {
        "timeout": env_int("SQLITE_BUSY_TIMEOUT", 30),
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # A file, not the in-memory default, so that tests with threads get real WAL locking.
    DATABASES["default"]["TEST"] = {"NAME": str(RUN_DIR / "test-orderguard.sqlite3")}
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and env_bool("DB_POOL", True):
    # Under ASGI each request would otherwise open a new PostgreSQL connection (Django advises
    # against persistent connections there); psycopg's pool keeps a few open per process.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": env_int("DB_POOL_MIN", 2),
        "max_size": env_int("DB_POOL_MAX", 10),
        "timeout": 30,
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# One sign-in page for every role; after it, ``home`` sends each role where it works.
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# --- Sign-in lockout (django-axes) ------------------------------------------------------------
# Every sign-in through django.contrib.auth.authenticate (the sign-in page, the admin) is
# counted: after ORDERGUARD_LOGIN_FAILURE_LIMIT wrong passwords for one username from one
# address, that pair is refused, without checking the password, for the cool-off period (each
# further try restarts it; 0 minutes locks until an admin unlocks it under Access attempts, or
# `manage.py axes_reset_username NAME`). Attempts are rows in the database.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("ORDERGUARD_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("ORDERGUARD_LOGIN_COOLOFF_MINUTES", 15)) or None
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# The caller's address as the API throttles see it (ORDERGUARD_NUM_PROXIES, see REST API).
AXES_CLIENT_IP_CALLABLE = "apps.accounts.throttles.client_address"
AXES_LOCKOUT_CALLABLE = "apps.accounts.views.sign_in_locked_out"

# --- Internationalisation ---------------------------------------------------------------------
LANGUAGE_CODE = env_str("LANGUAGE_CODE", "zh-hans")
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
# ``locale/`` is ours (makemessages writes it); ``locale_vendor/`` holds the zh-hans strings of
# the console theme, which ships no Chinese catalogue (``make vendor-messages`` refreshes it).
LOCALE_PATHS = [BASE_DIR / "locale", BASE_DIR / "locale_vendor"]
TIME_ZONE = env_str("TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

# --- Static files (served by WhiteNoise; nothing comes from a CDN) -----------------------------
STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# --- The console (django-unfold over the admin; apps/console) ----------------------------------
UNFOLD = {
    "SITE_TITLE": _("OrderGuard"),
    "SITE_HEADER": _("OrderGuard"),
    "SITE_SUBHEADER": _("Business console"),
    "SITE_SYMBOL": "shield",
    "SITE_URL": "/",
    "SITE_FAVICONS": [{"rel": "icon", "type": "image/svg+xml", "href": "/static/orderguard/favicon.svg"}],
    "SHOW_LANGUAGES": True,
    "SHOW_HISTORY": False,
    "SHOW_VIEW_ON_SITE": False,
    "STYLES": ["apps.console.navigation.styles"],
    "DASHBOARD_CALLBACK": "apps.console.dashboard.dashboard_callback",
    "SIDEBAR": {"show_search": False, "show_all_applications": False, "navigation": "apps.console.navigation.sidebar"},
    "COLORS": {
        "primary": {
            "50": "oklch(97.0% .014 254.604)",
            "100": "oklch(93.2% .032 255.585)",
            "200": "oklch(88.2% .059 254.128)",
            "300": "oklch(80.9% .105 251.813)",
            "400": "oklch(70.7% .165 254.624)",
            "500": "oklch(62.3% .214 259.815)",
            "600": "oklch(54.6% .245 262.881)",
            "700": "oklch(48.8% .243 264.376)",
            "800": "oklch(42.4% .199 265.638)",
            "900": "oklch(37.9% .146 265.522)",
            "950": "oklch(28.2% .091 267.935)",
        },
    },
}

# --- Redis: Celery broker and Channels layer ---------------------------------------------------
# Without REDIS_URL the run command starts an embedded redis-server on this unix socket.
EMBEDDED_REDIS_SOCKET = RUN_DIR / "redis.sock"
REDIS_URL = env_str("REDIS_URL") or f"unix://{EMBEDDED_REDIS_SOCKET}"


def _celery_broker_url(redis_url: str) -> str:
    # kombu spells a unix-socket Redis "redis+socket://", redis-py spells it "unix://".
    if redis_url.startswith("unix://"):
        return "redis+socket://" + redis_url.removeprefix("unix://")
    return redis_url


CELERY_BROKER_URL = _celery_broker_url(REDIS_URL)
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Sending a task (the after-commit hand-off of new exceptions to the handling engine) gives up on
# a dead broker after one quick retry instead of kombu's default of several seconds: the write
# that committed must not wait for Redis, and the engine's beat sweep picks the work up. Workers
# reconnect by their own rules (CELERY_BROKER_CONNECTION_RETRY), which this does not change.
CELERY_BROKER_TRANSPORT_OPTIONS = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5}
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"

CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {"hosts": [REDIS_URL]},
    }
}

# The cache (the API's rate-limit counts) is on the same Redis, so every web process shares it.
# Django's RedisCache takes redis-py URLs, a unix:// socket included. Short timeouts: a Redis
# that does not answer costs a request about a second before it goes uncounted.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "orderguard",
        "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
    }
}

# --- REST API ---------------------------------------------------------------------------------
REST_FRAMEWORK = {
    # Token first: a request without credentials then gets 401 with WWW-Authenticate, not 403.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["apps.accounts.permissions.RoleModelPermissions"],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_PARSER_CLASSES": ["apps.common.parsers.LimitedJSONParser"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    # Documents each operation's error answers and the money format (apps/common/schema.py).
    "DEFAULT_SCHEMA_CLASS": "apps.common.schema.ApiAutoSchema",
    "EXCEPTION_HANDLER": "apps.common.api.exception_handler",
    "COERCE_DECIMAL_TO_STRING": True,
    # Per token (its user) and per anonymous address, counted in the Redis cache. The user rate
    # is high on purpose: an integration syncing in bulk makes many calls a minute. A throttled
    # call is 429 in the error shape with Retry-After.
    "DEFAULT_THROTTLE_CLASSES": [
        "apps.accounts.throttles.TokenRateThrottle",
        "apps.accounts.throttles.AnonymousRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "user": env_rate("ORDERGUARD_THROTTLE_USER", "6000/min"),
        "anon": env_rate("ORDERGUARD_THROTTLE_ANON", "60/min"),
    },
    # Reverse proxies in front that append the caller to X-Forwarded-For (0: the header is
    # ignored, REMOTE_ADDR is the caller). Both the throttles and the sign-in lockout use it.
    "NUM_PROXIES": env_int("ORDERGUARD_NUM_PROXIES", 0),
}
# A bulk request carries at most ORDERGUARD_BULK_MAX_ORDERS orders; the byte cap stops
# a client from making the server parse an arbitrarily large body first.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 16 * 1024 * 1024)
ORDERGUARD_BULK_MAX_ORDERS = env_int("ORDERGUARD_BULK_MAX_ORDERS", 1000)
# Due SLA timers are fired in this many lanes side by side, one per worker process
# (workflows.services.timers_fire): the worker's --concurrency.
ORDERGUARD_TIMER_LANES = env_int("ORDERGUARD_TIMER_LANES", 2)
ORDERGUARD_MAX_LINES_PER_ORDER = env_int("ORDERGUARD_MAX_LINES_PER_ORDER", 500)
# Objects and lists nested deeper than this in a JSON body are refused (400 parse_error) before
# anything walks them recursively; an order body needs 4, its custom ``data`` a few more.
ORDERGUARD_MAX_JSON_DEPTH = env_int("ORDERGUARD_MAX_JSON_DEPTH", 32)
ORDERGUARD_HIGH_VALUE_AMOUNT = env_str("ORDERGUARD_HIGH_VALUE_AMOUNT", "5000.00")
# A reconciliation lists at most this many of a platform's orders per request.
ORDERGUARD_RECONCILIATION_MAX_ORDERS = env_int("ORDERGUARD_RECONCILIATION_MAX_ORDERS", 20000)

SPECTACULAR_SETTINGS = {
    "TITLE": "OrderGuard API",
    "DESCRIPTION": "订单卫士 — order-exception handling platform, REST API v1.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Several models have a field named "status"; without names drf-spectacular makes up hashed
    # ones (Status5bfEnum) and warns, which fails `check --deploy --fail-level WARNING`.
    "ENUM_NAME_OVERRIDES": {
        "OrderStatusEnum": "apps.orders.models.Order.Status",
        "PaymentStatusEnum": "apps.orders.models.Payment.Status",
        "TrackingEventStatusEnum": "apps.orders.models.TrackingEvent.Status",
        "ExceptionStatusEnum": "apps.exceptions.models.ExceptionStatus",
        "TaskStatusEnum": ["queued", "assigned", "done", "canceled"],
        "TaskKindEnum": ["task", "approval"],
        # A pause's reason (the pause input's "reason", the exception's and the task's "pause_reason").
        "PauseReasonEnum": "apps.exceptions.models.PauseReason",
        "ProposalKindEnum": "workflows.approvals.ProposalKind",
    },
}

# --- Security (production values are the defaults when DEBUG is off) ---------------------------
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
# The health check is probed by load balancers over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # axes announces itself at INFO in every process, manage.py commands included.
        "axes.apps": {"level": "WARNING"},
    },
}
