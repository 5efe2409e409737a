"""Housekeeping and diagnostics run by Celery: the janitor and the worker ping."""

import logging
from contextlib import suppress
from importlib import import_module

from django.conf import settings
from django.contrib.sessions.models import Session
from django.utils import timezone

from accounts.models import AuditEvent
from accounts.services.audit import audit_event_record

logger = logging.getLogger("paydesk.accounts.maintenance")

_DATABASE_SESSION_ENGINES = {
    "django.contrib.sessions.backends.db",
    "django.contrib.sessions.backends.cached_db",
}


def session_cleanup() -> int:
    """Delete expired sessions, as `manage.py clearsessions` does; return how many went.

    Safe to run twice: the second run finds nothing to delete. Engines that do not keep
    sessions in the database clear their own way and report 0.
    """
    if settings.SESSION_ENGINE in _DATABASE_SESSION_ENGINES:
        # The same statement as SessionStore.clear_expired(), keeping the count.
        deleted, _by_model = Session.objects.filter(expire_date__lt=timezone.now()).delete()
    else:
        engine = import_module(settings.SESSION_ENGINE)
        with suppress(NotImplementedError):  # cache-backed sessions expire by themselves
            engine.SessionStore.clear_expired()
        deleted = 0
    logger.info("Expired sessions cleared", extra={"expired_sessions": deleted})
    return deleted


def ping(*, token: str) -> AuditEvent:
    """Record an `ops.ping` audit event carrying `token`: proof that a worker ran a task.

    Used by operators (and the test suite) to check the broker, worker and database path.
    """
    return audit_event_record(action="ops.ping", after={"token": token})
