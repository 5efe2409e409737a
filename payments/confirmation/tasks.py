"""Celery tasks of payment confirmation (imported by payments/tasks.py for discovery)."""

from celery import shared_task

from payments.confirmation import funnel


@shared_task(name="payments.tasks.verification_attempt_abandon_sweep", ignore_result=True)
def verification_attempt_abandon_sweep() -> int:
    """Mark abandoned the verification attempts left open too long (every minute)."""
    return funnel.verification_attempt_abandon_sweep()
