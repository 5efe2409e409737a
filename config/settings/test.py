"""Settings for the test suite: always PostgreSQL, never SQLite."""

from .base import *

DATABASES = {
    "default": env.db("DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/paydesk"),
}
DATABASES["default"]["TEST"] = {"NAME": env("TEST_DATABASE_NAME", default="test_paydesk")}
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="redis://127.0.0.1:6379/15")
CELERY_BROKER_TRANSPORT_OPTIONS = {}
# The test worker (tests/helpers/celery_worker.py) sets it to its session's queue, so the
# tasks it sends itself never land on the shared default queue.
CELERY_TASK_DEFAULT_QUEUE = env("CELERY_TASK_DEFAULT_QUEUE", default="celery")
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
ACCOUNT_RATE_LIMITS = {**ACCOUNT_RATE_LIMITS}
LOG_FORMAT = env("LOG_FORMAT", default="console")
LOG_LEVEL = env("LOG_LEVEL", default="WARNING")
LOGGING = build_logging(LOG_FORMAT, LOG_LEVEL)
# WhiteNoise warns on every request while STATIC_ROOT is missing (a fresh clone has none).
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
# Short, so that the sandbox acquirer's "time out" outcomes keep the suite fast.
PAYMENT_GATEWAY_READ_TIMEOUT = env.float("PAYMENT_GATEWAY_READ_TIMEOUT", default=1.0)
