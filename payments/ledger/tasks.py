"""Celery tasks of the ledger: thin wrappers around the services of the same name.

Registered with the worker through `payments/tasks.py`; scheduled in config/schedules.py.
"""

from smtplib import SMTPException

from celery import shared_task

from payments.ledger import alerts, checkpoints, checks
from payments.ledger.models import LedgerCheckRun


@shared_task(name="payments.ledger.tasks.ledger_check", ignore_result=True, acks_late=True)
def ledger_check() -> int:
    """Check the whole ledger (nightly); return the id of the recorded `LedgerCheckRun`."""
    return checks.ledger_check().pk


@shared_task(
    name="payments.ledger.tasks.ledger_check_alert_send",
    ignore_result=True,
    autoretry_for=(SMTPException, ConnectionError, TimeoutError),
    retry_backoff=True,
    max_retries=6,
)
def ledger_check_alert_send(run_id: int) -> int:
    """Email the administrators that check run `run_id` failed (once per run)."""
    run = LedgerCheckRun.objects.filter(pk=run_id).first()
    if run is None:
        return 0
    return alerts.ledger_check_alert_send(run=run)


@shared_task(
    name="payments.ledger.tasks.balance_checkpoints_create", ignore_result=True, acks_late=True
)
def balance_checkpoints_create() -> int:
    """Write balance checkpoints up to the safe cutoff; return how many accounts got one."""
    return checkpoints.balance_checkpoints_create()
