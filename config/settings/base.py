"""Settings shared by every environment; values come from the environment (django-environ)."""

from pathlib import Path

import environ
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)
# var/ holds SQLite, the filesystem broker and uploads; PAYDESK_VAR_DIR moves it elsewhere.
VAR_DIR = Path(env("PAYDESK_VAR_DIR", default=str(BASE_DIR / "var")))

SECRET_KEY = env("SECRET_KEY", default="dev-insecure-paydesk-key-change-me")
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    # third party
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI as local static files (the CSP allows no CDN)
    "django_htmx",
    "django_celery_beat",
    "allauth",
    "allauth.account",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "csp",
    # paydesk, in dependency order
    "accounts",
    "merchants",
    "payments",
    "refunds",
    "support",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "config.logging.RequestIdMiddleware",
    "config.api.errors.ApiErrorMiddleware",  # JSON, never HTML, for errors under /api/
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "accounts.middleware.TwoFactorWallMiddleware",
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
                "django.template.context_processors.i18n",
                "accounts.context_processors.navigation",
            ],
        },
    },
]

# Database: SQLite under var/ when DATABASE_URL is not set, so a newcomer needs no server.
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'paydesk.sqlite3'}"),
}
DATABASES["default"].setdefault("ATOMIC_REQUESTS", False)
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Cache: Redis when CACHE_URL is given, otherwise a local-memory cache.
CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://paydesk")}

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "account_login"

# django-allauth: email is the login; verification is mandatory; rate limits on.
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_LOGIN_BY_CODE_ENABLED = False
ACCOUNT_ADAPTER = "accounts.adapters.AccountAdapter"
ACCOUNT_FORMS = {"signup": "accounts.forms.SignupForm"}
ACCOUNT_RATE_LIMITS = {
    "login_failed": "10/m/ip,5/5m/key",
    "login": "30/m/ip",
    "signup": "20/m/ip",
    "confirm_email": "1/3m/key",
    "reset_password": "20/m/ip,5/m/key",
    "reset_password_from_key": "20/m/ip",
}
ACCOUNT_DEFAULT_HTTP_PROTOCOL = env("ACCOUNT_DEFAULT_HTTP_PROTOCOL", default="http")

# django-otp
OTP_TOTP_ISSUER = "Paydesk"
OTP_TOTP_TOLERANCE = 1
RECOVERY_CODE_COUNT = 10

# Passkeys (WebAuthn, docs/passkeys.md). Browsers refuse an IP address as RP ID: open the
# portal at http://localhost:8000 in development. Set all three in a real deployment, e.g.
# WEBAUTHN_RP_ID=pay.example.com WEBAUTHN_ORIGINS=https://pay.example.com
WEBAUTHN_RP_ID = env("WEBAUTHN_RP_ID", default="localhost")
WEBAUTHN_RP_NAME = env("WEBAUTHN_RP_NAME", default="Paydesk")
WEBAUTHN_ORIGINS = env.list("WEBAUTHN_ORIGINS", default=["http://localhost:8000"])

# Internationalisation: English and Simplified Chinese.
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("zh-hans", _("Simplified Chinese"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Uploaded files (KYC documents) live outside static/ and are served only through views.
MEDIA_ROOT = Path(env("MEDIA_ROOT", default=str(VAR_DIR / "media")))
MEDIA_URL = "/media/"

# KYC review: approval above this expected monthly volume (fen; default 5,000,000 CNY) needs a
# second reviewer (maker-checker); uploaded documents are capped at this size.
KYC_SECOND_REVIEW_THRESHOLD = env.int("KYC_SECOND_REVIEW_THRESHOLD", default=500_000_000)
KYC_DOCUMENT_MAX_BYTES = env.int("KYC_DOCUMENT_MAX_BYTES", default=10 * 1024 * 1024)

# Payment gateway (payments/gateways): get_gateway() returns the adapter named here. Every
# call to the acquirer has these timeouts (seconds); a read timeout makes a payment unknown.
PAYMENT_GATEWAY = env("PAYMENT_GATEWAY", default="sandbox")
PAYMENT_GATEWAY_CONNECT_TIMEOUT = env.float("PAYMENT_GATEWAY_CONNECT_TIMEOUT", default=2.0)
PAYMENT_GATEWAY_READ_TIMEOUT = env.float("PAYMENT_GATEWAY_READ_TIMEOUT", default=3.0)
# The sandbox acquirer (`manage.py sandbox_acquirer`, started by make run): one shared secret
# per direction. REQUEST signs Paydesk -> acquirer; RESPONSE signs the acquirer's responses and
# notifications to Paydesk. The defaults are for development only: set both in production.
SANDBOX_ACQUIRER_URL = env("SANDBOX_ACQUIRER_URL", default="http://127.0.0.1:8100").rstrip("/")
SANDBOX_ACQUIRER_REQUEST_SECRET = env(
    "SANDBOX_ACQUIRER_REQUEST_SECRET", default="dev-only-sandbox-paydesk-to-acquirer"
)
SANDBOX_ACQUIRER_RESPONSE_SECRET = env(
    "SANDBOX_ACQUIRER_RESPONSE_SECRET", default="dev-only-sandbox-acquirer-to-paydesk"
)
# Where the sandbox posts notifications when a request names no notify_url ("" = nowhere).
SANDBOX_ACQUIRER_NOTIFY_URL = env("SANDBOX_ACQUIRER_NOTIFY_URL", default="")

# Webhook delivery (payments/webhooks, docs/webhooks.md): retries stop this many days after
# the event, and an endpoint with nothing but failures for this many days is disabled.
WEBHOOK_RETRY_WINDOW_DAYS = env.int("WEBHOOK_RETRY_WINDOW_DAYS", default=3)
WEBHOOK_DISABLE_AFTER_DAYS = env.int("WEBHOOK_DISABLE_AFTER_DAYS", default=3)

# Email
EMAIL_CONFIG = env.email("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="Paydesk <no-reply@paydesk.local>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Links in emails sent from Celery (no request there to build them from).
PORTAL_BASE_URL = env("PORTAL_BASE_URL", default="http://localhost:8000").rstrip("/")

# Payments (docs/payments.md): an unconfirmed payment expires after PAYMENT_EXPIRY_MINUTES;
# payers open PAYMENT_CHECKOUT_BASE_URL/pay/<token>/; the acquirer posts its notifications
# to PAYMENT_NOTIFY_BASE_URL/api/acquirer/<gateway>/notify; Idempotency-Key records are kept
# at least IDEMPOTENCY_KEY_RETENTION_HOURS.
PAYMENT_EXPIRY_MINUTES = env.int("PAYMENT_EXPIRY_MINUTES", default=30)
PAYMENT_CHECKOUT_BASE_URL = env("PAYMENT_CHECKOUT_BASE_URL", default=PORTAL_BASE_URL)
PAYMENT_NOTIFY_BASE_URL = env("PAYMENT_NOTIFY_BASE_URL", default=PORTAL_BASE_URL)
IDEMPOTENCY_KEY_RETENTION_HOURS = env.int("IDEMPOTENCY_KEY_RETENTION_HOURS", default=24)
# Payment confirmation (docs/checkout.md): a passkey (SCA) always; an email code only for
# CNY payments up to PAYMENT_EMAIL_CODE_FALLBACK_MAX_AMOUNT fen (default 2,000 CNY), where
# the device has no platform authenticator. A verification attempt still open after
# VERIFICATION_ABANDON_MINUTES counts as abandoned in the funnel.
PAYMENT_EMAIL_CODE_FALLBACK_MAX_AMOUNT = env.int(
    "PAYMENT_EMAIL_CODE_FALLBACK_MAX_AMOUNT", default=200_000
)
VERIFICATION_ABANDON_MINUTES = env.int("VERIFICATION_ABANDON_MINUTES", default=10)

# Refunds (docs/refunds.md): above REFUND_APPROVAL_THRESHOLD (minor units; a merchant's
# RefundPolicy overrides it) a refund waits for an owner or finance user; at most
# REFUND_MAX_PARTIAL_REFUNDS per payment, none after REFUND_WINDOW_DAYS; a refund the
# merchant's balance does not cover is refused ("refuse") or taken into a negative
# balance recovered at the next settlement ("allow_negative"); past REFUND_SLA_HOURS from
# approval an open refund is delayed. The payer's email is in REFUND_PAYER_EMAIL_LANGUAGE.
REFUND_APPROVAL_THRESHOLD = env.int("REFUND_APPROVAL_THRESHOLD", default=100_000)
REFUND_MAX_PARTIAL_REFUNDS = env.int("REFUND_MAX_PARTIAL_REFUNDS", default=50)
REFUND_WINDOW_DAYS = env.int("REFUND_WINDOW_DAYS", default=365)
REFUND_INSUFFICIENT_BALANCE_POLICY = env("REFUND_INSUFFICIENT_BALANCE_POLICY", default="refuse")
REFUND_SLA_HOURS = env.int("REFUND_SLA_HOURS", default=24)
REFUND_PAYER_EMAIL_LANGUAGE = env("REFUND_PAYER_EMAIL_LANGUAGE", default=LANGUAGE_CODE)

# Celery: an embedded filesystem broker when CELERY_BROKER_URL is not set.
# "localhost" only silences kombu's "No hostname was supplied" warning on every connect.
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="filesystem://localhost//")
if CELERY_BROKER_URL.startswith("filesystem://"):
    _queue_dir = VAR_DIR / "celery" / "queue"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue_dir),
        "data_folder_out": str(_queue_dir),
        "processed_folder": str(VAR_DIR / "celery" / "processed"),
        "store_processed": False,
        # Where kombu keeps its exchange bindings; without it they land in the working dir.
        "control_folder": str(VAR_DIR / "celery" / "control"),
    }
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", default=None)
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
from config import schedules  # noqa: E402  (periodic tasks have one home)

CELERY_BEAT_SCHEDULE = schedules.CELERY_BEAT_SCHEDULE
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# Django REST framework (the API foundation comes with the merchants issue).
# The API is for servers: secret API keys (Bearer), JSON only, one error shape
# (config/api/errors.py), cursor pagination and per-key rate limits. See docs/api.md.
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": ["merchants.authentication.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["merchants.authentication.HasApiKey"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_PAGINATION_CLASS": "config.api.pagination.CursorPagination",
    "PAGE_SIZE": 25,
    "EXCEPTION_HANDLER": "config.api.errors.api_exception_handler",
    "DEFAULT_THROTTLE_CLASSES": [
        "merchants.throttling.ApiKeyBurstThrottle",
        "merchants.throttling.ApiKeySustainedThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "api_key_burst": env("API_RATE_LIMIT_BURST", default="100/s"),
        "api_key_sustained": env("API_RATE_LIMIT_SUSTAINED", default="3000/m"),
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Paydesk API",
    "DESCRIPTION": "Server-to-server API of Paydesk. Authenticate with a secret key: "
    "`Authorization: Bearer sk_test_...`. Guide: docs/api.md.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI from drf-spectacular-sidecar's static files, never a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SWAGGER_UI_SETTINGS": {"persistAuthorization": False, "displayOperationId": False},
}

# Content-Security-Policy (django-csp 4): no inline scripts, everything self-hosted.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    },
}

X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = 60 * 60 * 8

from config.logging import build_logging  # noqa: E402

LOG_FORMAT = env("LOG_FORMAT", default="json")
LOG_LEVEL = env("LOG_LEVEL", default="INFO")
LOGGING = build_logging(LOG_FORMAT, LOG_LEVEL)
