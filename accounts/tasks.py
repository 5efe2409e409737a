"""Celery tasks of the accounts app: thin wrappers around services of the same name."""

from celery import shared_task

from accounts.passkeys import services as passkey_services
from accounts.services import maintenance


@shared_task(name="accounts.tasks.session_cleanup", ignore_result=True)
def session_cleanup() -> int:
    """Delete expired sessions (scheduled hourly in config/schedules.py)."""
    return maintenance.session_cleanup()


@shared_task(name="accounts.tasks.passkey_records_purge", ignore_result=True)
def passkey_records_purge() -> dict[str, int]:
    """Delete WebAuthn challenges and email codes expired a day ago (scheduled hourly)."""
    return passkey_services.passkey_records_purge()


@shared_task(name="accounts.tasks.ping", ignore_result=True)
def ping(token: str) -> None:
    """Write an `ops.ping` audit event, so one can see that a worker executes tasks."""
    maintenance.ping(token=token)
