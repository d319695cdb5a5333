"""Settings for the Fulfillmen Privacy Portal.

Every value comes from the environment (django-environ); `.env.example` documents each one.
The defaults are the quick-start ones of `make run`: SQLite under var/, tasks run in-process,
email printed to the console. Production sets DEBUG=false and must then provide a SECRET_KEY.
"""

from pathlib import Path
from urllib.parse import urlsplit

import environ
from django.core.exceptions import ImproperlyConfigured
from django_countries.data import COUNTRIES as _ISO_COUNTRIES

from accounts.text_input import text_fields_refuse_control_characters
from fulfillmen import logmasking

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)


def secret(name, default=None):
    """A secret from NAME, or from the file named by NAME_FILE (Docker/Kubernetes secrets)."""
    file_path = env.str(f"{name}_FILE", default="")
    if file_path:
        try:
            return Path(file_path).read_text().strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}_FILE={file_path} cannot be read: {exc}") from exc
    return env.str(name, default=default)


DEBUG = env.bool("DEBUG", default=False)

SECRET_KEY = secret("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set SECRET_KEY (or SECRET_KEY_FILE) in the environment; "
            "only DEBUG=true may run without one."
        )
    SECRET_KEY = "django-insecure-development-only-key-never-use-in-production"  # nosec B105  # DEBUG=true only

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_countries",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "accounts",
    "notify",
    "amendments",
    "consent",
    "sharing",
    "disclosures",
    "rights",
    "transfers",
    "breaches",
    "webhooks",
    "oversight",
    "processing",
    "transparency_log",
    "fulfillmen.apps.FulfillmenConfig",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django_permissions_policy.PermissionsPolicyMiddleware",
    # Outermost of those that set cookies: only the cookies declared in fulfillmen/cookies.py leave.
    "fulfillmen.cookies.UndeclaredCookieMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    # Before anything reads the URL (inside CSP, so its 400 carries the headers): control characters are refused.
    "accounts.text_input.ControlCharactersRefusedMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",  # request.user.is_verified(): the admin needs the second factor
    # Inside authentication, so it sees who asked: a response to a logged-in user or an API key is never stored.
    "accounts.no_store.PersonalResponsesNotStoredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "accounts.middleware.ClientIPObservationMiddleware",
    "consent.middleware.GlobalPrivacyControlMiddleware",
    # Last, so that it sees the outcome of the authentication backends.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "fulfillmen.urls"
WSGI_APPLICATION = "fulfillmen.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

(BASE_DIR / "var" / "static").mkdir(parents=True, exist_ok=True)
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'var' / 'portal.sqlite3'}")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
# Persistent connections (one per worker process, checked before reuse): opening a PostgreSQL connection per
# request cost more than most of our pages (issue #9's trivial view ran 3x faster with them).
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# A PostgreSQL read replica (issue #20; docs/architecture.md, "Read replica"): only the reads of a few marked portal
# pages may go there (fulfillmen/db_router.py); writes, ledger appends, the admin, the API and all else stay on the
# primary. Without DATABASE_REPLICA_URL there is no `replica` alias and nothing changes.
DATABASE_REPLICA_URL = secret("DATABASE_REPLICA_URL", default="")
# After a client's write their session reads from the primary for this long, so they always see their own writes.
DATABASE_REPLICA_PIN_SECONDS = env.float("DATABASE_REPLICA_PIN_SECONDS", default=10.0)
# A standby further behind than this is not read; its health is asked again after CHECK (healthy) or RETRY (not).
DATABASE_REPLICA_MAX_LAG_SECONDS = env.float("DATABASE_REPLICA_MAX_LAG_SECONDS", default=5.0)
DATABASE_REPLICA_CHECK_SECONDS = env.float("DATABASE_REPLICA_CHECK_SECONDS", default=1.0)
DATABASE_REPLICA_RETRY_SECONDS = env.float("DATABASE_REPLICA_RETRY_SECONDS", default=30.0)
if DATABASE_REPLICA_URL:
    if DATABASE_REPLICA_MAX_LAG_SECONDS + DATABASE_REPLICA_CHECK_SECONDS > DATABASE_REPLICA_PIN_SECONDS:
        # Once the pin ends, the replica must already hold the client's write: at most MAX_LAG behind, checked
        # CHECK seconds ago.
        raise ImproperlyConfigured("DATABASE_REPLICA_MAX_LAG_SECONDS + DATABASE_REPLICA_CHECK_SECONDS must not exceed "
                                   "DATABASE_REPLICA_PIN_SECONDS, or a client could miss their own write.")
    _replica = environ.Env.db_url_config(DATABASE_REPLICA_URL)
    if _replica["ENGINE"] != "django.db.backends.postgresql":
        raise ImproperlyConfigured("DATABASE_REPLICA_URL must be a PostgreSQL URL (postgres://…).")
    _replica_options = _replica.setdefault("OPTIONS", {})
    # A replica that does not answer is given up quickly (the page then reads from the primary), and this
    # connection never writes, even to a server that would let it.
    _replica_options.setdefault("connect_timeout", env.int("DATABASE_REPLICA_CONNECT_TIMEOUT", default=2))
    _replica_options["options"] = f"{_replica_options.get('options', '')} -c default_transaction_read_only=on".strip()
    DATABASES["replica"] = {**_replica, "ATOMIC_REQUESTS": False, "CONN_MAX_AGE": DATABASES["default"]["CONN_MAX_AGE"],
                            "CONN_HEALTH_CHECKS": True,
                            # Under a test runner, the test database itself (no second, empty one). The project's suite
                            # never sets DATABASE_REPLICA_URL (pyproject.toml); tests/dbrouting/ makes its own replica.
                            "TEST": {"MIRROR": "default"}}
    DATABASE_ROUTERS = ["fulfillmen.db_router.ReplicaRouter"]
    # Inside authentication: it pins the session of the client who wrote.
    MIDDLEWARE.insert(MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware") + 1,
                      "fulfillmen.db_router.ReplicaPinMiddleware")

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    # django-axes first: it refuses a locked-out email/IP before any password is checked.
    "axes.backends.AxesStandaloneBackend",
    # Django's ModelBackend (email login, case-insensitive: UserManager) whose get_user reads the client in the same
    # statement. Sessions opened under the plain ModelBackend's name ask to sign in again once.
    "accounts.backends.ClientLoginBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "portal:dashboard"
LOGOUT_REDIRECT_URL = "home"
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=60 * 60 * 8)
# Sessions in the database (default: `db`), or `cached_db`: read from the shared cache (CACHE_URL) and written
# through to the database, so a portal page does not read its session row (docs/performance.md).
SESSION_STORE = env.str("SESSION_STORE", default="db")
if SESSION_STORE not in ("db", "cached_db"):
    raise ImproperlyConfigured("SESSION_STORE must be db or cached_db")
SESSION_ENGINE = f"django.contrib.sessions.backends.{SESSION_STORE}"
# How long a rendered first page of the consent history may sit unused in the cache (0: never kept). It is shown
# only while nothing on it changed (consent/history_page.py), so this bounds memory, not staleness.
PORTAL_FRAGMENT_SECONDS = env.int("PORTAL_FRAGMENT_SECONDS", default=3600)

# Brute-force protection on log-in (django-axes): 5 failures for one email from one address
# lock that pair out for an hour; the log-in page says so.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_HOURS", default=1.0)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_USERNAME_FORM_FIELD = "username"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
# The address a failure is counted against is the one every other component sees (issue #16.6): axes' own
# ipware reading believed any X-Forwarded-For, so rotating that header escaped the lock-out.
AXES_CLIENT_IP_CALLABLE = "accounts.ip.request_ip"

# Client IP addresses (accounts/ip.py). Behind a proxy, list it (or count the hops) so that
# X-Forwarded-For is trusted only from it; otherwise REMOTE_ADDR is used.
IP_TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", default=[])
IP_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("zh-hans", "简体中文")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env.str("TIME_ZONE", default="Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "var" / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        # Hashed, compressed file names in production (run collectstatic); plain names otherwise.
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if env.bool("STATICFILES_MANIFEST", default=not DEBUG)
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = True
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "var" / "media")

# Email: consolemail://, filemail:///path, smtp://user:password@host:587 (django-environ).
EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
if EMAIL_CONFIG.get("EMAIL_BACKEND") == "django.core.mail.backends.filebased.EmailBackend":
    # django-environ drops the leading "/" of filemail:///abs/path; relative paths are under the project.
    _mail_path = env.str("EMAIL_URL").split("://", 1)[1]
    EMAIL_FILE_PATH = str(BASE_DIR / (_mail_path or "var/mail"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Fulfillmen Privacy <privacy@fulfillmen.com>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# SMS: console:, file:///path, memory:, twilio://SID:TOKEN@api.twilio.com?from=+E164 (amendments issue).
SMS_URL = secret("SMS_URL", default="console:")

# Celery on Redis. Without REDIS_URL, tasks run in-process (the quick start); the startup log says so.
REDIS_URL = env.str("REDIS_URL", default="")
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_WORKER_HIJACK_ROOT_LOGGER = False  # workers log through LOGGING below, masking formatter included
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_QUEUE", default="fulfillmen")
CELERY_TIMEZONE = TIME_ZONE
CELERY_IMPORTS = ["fulfillmen.health"]  # the heartbeat task lives outside the apps
# Health (fulfillmen/health.py, GET /readyz): beat sends a heartbeat task every HEALTH_HEARTBEAT_SECONDS; /readyz
# logs an alert when no worker ran one for HEALTH_WORKER_MAX_AGE_SECONDS.
HEALTH_HEARTBEAT_SECONDS = env.int("HEALTH_HEARTBEAT_SECONDS", default=20)
HEALTH_WORKER_MAX_AGE_SECONDS = env.int("HEALTH_WORKER_MAX_AGE_SECONDS", default=60)
if not 0 < HEALTH_HEARTBEAT_SECONDS < HEALTH_WORKER_MAX_AGE_SECONDS:
    raise ImproperlyConfigured("HEALTH_HEARTBEAT_SECONDS must be positive and shorter than HEALTH_WORKER_MAX_AGE_SECONDS "
                               f"({HEALTH_HEARTBEAT_SECONDS} and {HEALTH_WORKER_MAX_AGE_SECONDS} given).")
CELERY_BEAT_SCHEDULE = {
    # expires: a heartbeat no worker took in time is dropped, not run late in a pile when a worker comes back
    "worker-heartbeat": {"task": "fulfillmen.health.worker_heartbeat", "schedule": float(HEALTH_HEARTBEAT_SECONDS),
                         "options": {"expires": float(HEALTH_HEARTBEAT_SECONDS)}},
    # Messages whose task never reached the broker are queued again; half-sent ones are failed with the reason.
    "sweep-messages": {"task": "notify.tasks.sweep_messages", "schedule": 60.0},
    # Policy-change notices: chunks of dead workers recovered, queued notices (broker was down) started again.
    "sweep-notices": {"task": "amendments.tasks.sweep_notices", "schedule": 60.0},
    # Material policy changes: remind clients who have not answered, 7 days before the effective date.
    "policy-reminders": {"task": "consent.tasks.send_policy_reminders", "schedule": 3600.0},
    # Disclosures kept from the client under a non-disclosure requirement: shown and e-mailed once the date comes.
    "reveal-withheld-disclosures": {"task": "disclosures.tasks.reveal_withheld_disclosures", "schedule": 3600.0},
    # The transparency report's half-year that has just ended: published once, never changed afterwards.
    "publish-transparency-report": {"task": "disclosures.tasks.publish_transparency_report", "schedule": 86400.0},
    # Erasures whose grace period is over: performed, or refused when a legal hold now keeps the data.
    "perform-due-erasures": {"task": "rights.tasks.perform_due_erasures", "schedule": 3600.0},
    # Sign-ups nobody confirmed within 48 hours: deleted with the name, phone and password hash they held.
    "sweep-pending-signups": {"task": "accounts.tasks.sweep_pending_signups", "schedule": 3600.0},
    # Breaches without a notice to the authority: privacy officers alerted once at 48 hours and once at 72 hours.
    "alert-overdue-breaches": {"task": "breaches.tasks.alert_overdue_breaches", "schedule": 600.0},
    # Webhooks (issue #19): retries that came due, rows committed while the broker was down, dead workers' rows.
    "sweep-webhooks": {"task": "webhooks.tasks.sweep_webhooks", "schedule": 5.0},
    # Clients of an announced breach kept back by a withheld disclosure: told once that ends.
    "notify-released-breach-subjects": {"task": "breaches.tasks.notify_released_breach_subjects", "schedule": 3600.0},
    # Exports whose build never started are queued again; expired export files are deleted.
    "sweep-exports": {"task": "rights.export.sweep_exports", "schedule": 600.0},
    # Sharing records' monthly partitions: months ahead created, months past the retention period dropped (issue #20).
    "sharing-partitions": {"task": "sharing.tasks.maintain_sharing_partitions", "schedule": 86400.0},
    # Retention periods: what has expired is deleted or anonymised; each run leaves a RetentionRun row (counts only).
    "enforce-retention": {"task": "rights.tasks.enforce_retention", "schedule": 86400.0},
    # Drop-shipping partners whose engagement with a client ended ENGAGEMENT_TAIL_DAYS ago: told to delete it.
    "close-engagement-feeds": {"task": "sharing.tasks.close_engagement_feeds", "schedule": 3600.0},
    # Requests by an authorised agent that the client did not confirm in time: closed with the reason.
    "close-unconfirmed-agent-requests": {"task": "rights.tasks.close_unconfirmed_agent_requests", "schedule": 3600.0},
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "UNAUTHENTICATED_USER": None,
    "EXCEPTION_HANDLER": "sharing.errors.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # Requests per API key (429 with Retry-After beyond it).
    "DEFAULT_THROTTLE_RATES": {"affiliate": env.str("API_RATE", default="600/minute")},
}
# Key guessing: this many rejected API keys from one address in the window, then 429 for the rest of the window.
API_KEY_FAILURE_LIMIT = env.int("API_KEY_FAILURE_LIMIT", default=20)
API_KEY_FAILURE_WINDOW = env.int("API_KEY_FAILURE_WINDOW", default=3600)
SPECTACULAR_SETTINGS = {
    "TITLE": "Fulfillmen affiliate API",
    "DESCRIPTION": (
        "Affiliates and partners pull only the client data each client's consent and their sharing agreement "
        "permit, and learn of withdrawals so they delete their copies.\n\n"
        "**Authentication**: `Authorization: Bearer <API key>`; keys are made by Fulfillmen staff and shown once. "
        "Missing, unknown, expired or revoked keys get 401; a purpose outside your agreement 403; bad parameters "
        "400. **Errors** always look like `{\"error\": {\"code\": \"...\", \"message\": \"...\"}}`. "
        "**Pagination**: pass `next_cursor` back as `cursor` until it is null; pages neither skip nor repeat a "
        "client while others change. **Throttling**: per key; 429 with `Retry-After`. Every client returned is "
        "recorded as a sharing record the client can see.\n\n"
        "**The public consent log** (`/transparency/log/…`, no key, no login): every consent change as a leaf of one "
        "RFC 6962 Merkle tree, signed checkpoints (C2SP tlog-checkpoint, Ed25519) and inclusion and consistency "
        "proofs for every published tree size. `tools/verify_receipt.py` verifies a consent receipt against it."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    # No call to validator.swagger.io (our CSP would block it, and the schema URL should not leave).
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    # The webhook event types one may subscribe to: one enum, wherever the webhook API names them.
    "ENUM_NAME_OVERRIDES": {"WebhookEventTypeEnum": "webhooks.api.EVENT_CHOICES"},
}

# Throttle counters and other shared state: Redis when there is one, this process's memory otherwise.
CACHE_URL = env.str("CACHE_URL", default=REDIS_URL)
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL,
                "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="fpp")}
    if CACHE_URL
    else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
}
if SESSION_STORE == "cached_db" and not CACHE_URL:
    # Each process would keep its own copies: a log-out or an erasure in one would leave valid copies in the others.
    raise ImproperlyConfigured("SESSION_STORE=cached_db needs a shared cache: set REDIS_URL or CACHE_URL.")

# Security headers. Production (DEBUG=false) passes `manage.py check --deploy --fail-level WARNING`.
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Staff second factor (django-otp): the issuer named in authenticator apps; device secrets never shown in the admin.
OTP_TOTP_ISSUER = "Fulfillmen Privacy Portal"
OTP_ADMIN_HIDE_SENSITIVE_DATA = True
# The portal needs no powerful browser feature: every one is switched off for it and anything it might embed.
PERMISSIONS_POLICY = {feature: [] for feature in (
    "accelerometer", "autoplay", "browsing-topics", "camera", "display-capture", "encrypted-media", "fullscreen",
    "geolocation", "gyroscope", "magnetometer", "microphone", "midi", "payment", "publickey-credentials-get",
    "screen-wake-lock", "usb", "xr-spatial-tracking")}
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env.bool("SECURE_COOKIES", default=not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
LANGUAGE_COOKIE_SECURE = SESSION_COOKIE_SECURE
LANGUAGE_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SAMESITE = "Lax"
# A TLS-terminating proxy in front sets SECURE_SSL_REDIRECT=false and forwards X-Forwarded-Proto.
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]  # container healthchecks ask over plain HTTP; both carry no data
if env.bool("SECURE_PROXY_SSL_HEADER", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)

# Content-Security-Policy (django-csp): our own files only, no inline script or style.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# No personal data in logs (fulfillmen/logmasking.py): every record's message is masked when it is made, in any
# process that loads these settings, and every line our handlers write is masked again (tracebacks included).
logmasking.install()
# Every form text field refuses control characters (issue #16.12): set before any form class is built.
text_fields_refuse_control_characters()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"()": "fulfillmen.logmasking.MaskingFormatter",
                             "format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# The controller named on consent receipts (Kantara piiControllers) and how long consent records are kept.
PII_CONTROLLER = {
    "name": env.str("CONTROLLER_NAME", default="Fulfillmen"),
    "contact": env.str("CONTROLLER_CONTACT", default="Privacy team"),
    "address": env.str("CONTROLLER_ADDRESS", default="Shenzhen, Guangdong, China"),
    "email": env.str("CONTROLLER_EMAIL", default="privacy@fulfillmen.com"),
    "phone": env.str("CONTROLLER_PHONE", default=""),
    # Where the personal data is stored, as an ISO 3166-1 alpha-2 code: a recipient in any other country receives it
    # "abroad" (PIPL Art. 38-39; GDPR Art. 44). Codes, never free text: HK, MO and TW are outside mainland China (CN).
    "storage_country": env.str("DATA_STORAGE_COUNTRY", default="CN").strip().upper(),
    # The person in charge of personal information protection (PIPL Art. 52; GDPR Art. 37), named in the record
    # of processing (processing/).
    "dpo_name": env.str("DPO_NAME", default="Personal information protection officer"),
    "dpo_email": env.str("DPO_EMAIL", default="dpo@fulfillmen.com"),
}
if PII_CONTROLLER["storage_country"] not in _ISO_COUNTRIES:
    raise ImproperlyConfigured(f"DATA_STORAGE_COUNTRY={PII_CONTROLLER['storage_country']!r} is not an ISO 3166-1 alpha-2 "
                               "country code (e.g. CN for mainland China, HK for Hong Kong).")
DATA_STORAGE_COUNTRY = PII_CONTROLLER["storage_country"]
# The clients (by jurisdiction) whose data goes abroad only with their separate consent to that recipient (PIPL Art. 39):
# a default "granted" never counts for them, whatever the opt-out rule. Default: clients under PIPL (cn). PIPL Art. 3
# also reaches processing inside China, so an operator may list every jurisdiction: cn,eea,uk,us-ca,other.
TRANSFER_CONSENT_JURISDICTIONS = [j.strip().lower() for j in env.list("TRANSFER_CONSENT_JURISDICTIONS", default=["cn"])]
# The contact a breach notice gives for the data protection officer (GDPR Art. 33(3)(b), 34(2)); a breach's own
# record can change it.
BREACH_DPO_CONTACT = env.str("BREACH_DPO_CONTACT", default=f"{PII_CONTROLLER['contact']}, {PII_CONTROLLER['email']}")
# Consent records are kept while the account exists and this many years after, as proof of consent.
CONSENT_RECORD_RETENTION_YEARS = env.int("CONSENT_RECORD_RETENTION_YEARS", default=3)
WITHDRAWAL_ACK_DEADLINE_DAYS = env.int("WITHDRAWAL_ACK_DEADLINE_DAYS", default=7)
# A drop-shipping partner receives a client while an order is routed to it and this many days after it ended
# (returns, claims); then it is told to delete its copy (issue #18).
ENGAGEMENT_TAIL_DAYS = env.int("ENGAGEMENT_TAIL_DAYS", default=30)
# The processors (sharing.Affiliate of kind processor, by name) that deliver e-mail and SMS: each message sent to a
# client leaves a sharing record naming it. Whatever EMAIL_URL/SMS_URL say (the console in `make run` included).
EMAIL_PROCESSOR = env.str("EMAIL_PROCESSOR", default="Fulfillmen e-mail delivery provider")
SMS_PROCESSOR = env.str("SMS_PROCESSOR", default="Fulfillmen SMS delivery provider")
ERASURE_GRACE_DAYS = env.int("ERASURE_GRACE_DAYS", default=7)
# Appeals of refused requests (VCDPA §59.1-577(C); CPA 6-1-1306(3)): how long after a refusal an appeal can be made,
# and how long we have to decide it. Authorised agents (11 CCR §7063): how long the client has to confirm.
RIGHTS_APPEAL_WINDOW_DAYS = env.int("RIGHTS_APPEAL_WINDOW_DAYS", default=60)
RIGHTS_APPEAL_DAYS = env.int("RIGHTS_APPEAL_DAYS", default=45)
RIGHTS_AGENT_CONFIRM_DAYS = env.int("RIGHTS_AGENT_CONFIRM_DAYS", default=14)
# Retention (rights/retention): how long each kind of data is kept before the daily `enforce_retention` job deletes or
# anonymises it. The texts clients read ("Your data", the export) are built from the same values.
RETENTION_IP_ADDRESS_MONTHS = env.int("RETENTION_IP_ADDRESS_MONTHS", default=12)
RETENTION_MESSAGE_MONTHS = env.int("RETENTION_MESSAGE_MONTHS", default=24)
RETENTION_DORMANT_ACCOUNT_MONTHS = env.int("RETENTION_DORMANT_ACCOUNT_MONTHS", default=36)
# A dormant account's client is e-mailed this many days before its erasure, which waits until then.
RETENTION_DORMANT_WARNING_DAYS = env.int("RETENTION_DORMANT_WARNING_DAYS", default=30)
RETENTION_REQUEST_LOG_MONTHS = env.int("RETENTION_REQUEST_LOG_MONTHS", default=24)  # 24 at least (11 CCR 7101)
RETENTION_RELEASED_HOLD_MONTHS = env.int("RETENTION_RELEASED_HOLD_MONTHS", default=24)
RETENTION_BATCH_SIZE = env.int("RETENTION_BATCH_SIZE", default=500)
# Sharing records are partitioned by month (sharing/partitions.py): the daily `sharing_partitions` job keeps this many
# months partitioned ahead and drops whole months that ended this many months ago (36 at least: PIPL Art. 56), keeping
# the rows that must outlive them (withheld disclosures, legal holds, a recipient's last record).
SHARING_PARTITIONS_AHEAD = env.int("SHARING_PARTITIONS_AHEAD", default=3)
SHARING_RECORD_RETENTION_MONTHS = env.int("SHARING_RECORD_RETENTION_MONTHS", default=36)
# How long the partition job waits for a lock on the sharing records before leaving the step to its next run.
SHARING_PARTITIONS_LOCK_TIMEOUT_MS = env.int("SHARING_PARTITIONS_LOCK_TIMEOUT_MS", default=5_000)
# Business transfers (docs/business-transfers.md): the shortest time clients get to object (days from the
# announcement to the deadline), and how long our copy of a handover file is kept before the retention job deletes it.
TRANSFER_MIN_OBJECTION_DAYS = env.int("TRANSFER_MIN_OBJECTION_DAYS", default=30)
TRANSFER_HANDOVER_FILE_DAYS = env.int("TRANSFER_HANDOVER_FILE_DAYS", default=30)
POLICY_NOTICE_DAYS = env.int("POLICY_NOTICE_DAYS", default=30)
# The seed policy promises prior notice of every change: a non-material one takes effect no sooner than this many days
# after publication. 0 (at once) only when an operator sets it so on purpose.
POLICY_MINOR_NOTICE_DAYS = env.int("POLICY_MINOR_NOTICE_DAYS", default=7)
if POLICY_NOTICE_DAYS < 0 or POLICY_MINOR_NOTICE_DAYS < 0:
    raise ImproperlyConfigured("POLICY_NOTICE_DAYS and POLICY_MINOR_NOTICE_DAYS cannot be negative.")
# How many sender tasks a publication starts (each claims chunks of deliveries until none is left): as many as the
# worker processes that may send side by side, on every machine together (docs/performance.md, fan-out scaling).
NOTICE_PARALLEL_SENDERS = env.int("NOTICE_PARALLEL_SENDERS", default=2)
if NOTICE_PARALLEL_SENDERS < 1:
    raise ImproperlyConfigured("NOTICE_PARALLEL_SENDERS must be at least 1.")
TRANSPARENCY_BAND_BELOW = env.int("TRANSPARENCY_BAND_BELOW", default=5)

# The public consent log (issue #17): every ledger event is a leaf of one RFC 6962 Merkle tree; a signed checkpoint
# (C2SP tlog-checkpoint, Ed25519 signed-note) is published every LOG_CHECKPOINT_SECONDS when the tree grew.
LOG_ORIGIN = env.str("LOG_ORIGIN", default=f"{urlsplit(SITE_URL).netloc}/consent-log")
LOG_CHECKPOINT_SECONDS = env.int("LOG_CHECKPOINT_SECONDS", default=60)
# A second copy of every published checkpoint, outside the database (one JSON object a line, appended only).
LOG_WITNESS_FILE = BASE_DIR / env.str("LOG_WITNESS_FILE", default="var/consent-log-checkpoints.jsonl")  # relative: to BASE_DIR
# The signer key, PRIVATE+KEY+<name>+<hash>+<base64> (`python -m transparency_log.note <name>` makes one). Production
# refuses to start without it; DEBUG=true falls back to the development key `make run` writes on first start.
DEV_LOG_SIGNING_KEY_FILE = Path(env.str("DEV_LOG_SIGNING_KEY_FILE", default=str(BASE_DIR / "var" / "dev-log-signing-key")))
LOG_SIGNING_KEY = secret("LOG_SIGNING_KEY", default="")
if not LOG_SIGNING_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "LOG_SIGNING_KEY is not set. Set LOG_SIGNING_KEY (or LOG_SIGNING_KEY_FILE) to the consent log's signer key "
            "(`python -m transparency_log.note <host>/consent-log` makes one); only DEBUG=true may run without one."
        )
    if DEV_LOG_SIGNING_KEY_FILE.exists():
        LOG_SIGNING_KEY = DEV_LOG_SIGNING_KEY_FILE.read_text().strip()
# The verifier keys checkpoints may carry, pinned (`manage.py log_signing_key` prints the current one; keep old ones
# after a rotation). Empty: the signing key's own, which proves nothing against whoever can change the environment.
LOG_VERIFIER_KEYS = env.list("LOG_VERIFIER_KEYS", default=[])
CELERY_BEAT_SCHEDULE["publish-consent-log-checkpoint"] = {
    "task": "transparency_log.tasks.publish_checkpoint", "schedule": float(LOG_CHECKPOINT_SECONDS)}

# Outbound webhooks to recipients (issue #19, docs/webhooks.md). Private, loopback and link-local destinations (and
# plain http) are refused unless WEBHOOK_ALLOW_PRIVATE_NETWORKS, which is for tests and local development only
# (`check --deploy` fails with it). Secrets are kept encrypted with a key derived from WEBHOOK_SECRET_KEY (default:
# SECRET_KEY; changing it makes existing secrets unreadable, so rotate them after).
WEBHOOK_ALLOW_PRIVATE_NETWORKS = env.bool("WEBHOOK_ALLOW_PRIVATE_NETWORKS", default=False)
WEBHOOK_SECRET_KEY = env.str("WEBHOOK_SECRET_KEY", default="")
WEBHOOK_TIMEOUT_SECONDS = env.float("WEBHOOK_TIMEOUT_SECONDS", default=10.0)
WEBHOOK_RETRY_HOURS = env.float("WEBHOOK_RETRY_HOURS", default=72.0)
WEBHOOK_ROTATION_OVERLAP_HOURS = env.float("WEBHOOK_ROTATION_OVERLAP_HOURS", default=24.0)
WEBHOOK_ALERT_HOURS = env.float("WEBHOOK_ALERT_HOURS", default=24.0)
WEBHOOK_STUCK_SECONDS = env.float("WEBHOOK_STUCK_SECONDS", default=120.0)
WEBHOOK_BATCH_SECONDS = env.float("WEBHOOK_BATCH_SECONDS", default=30.0)
