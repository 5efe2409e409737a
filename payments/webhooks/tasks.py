"""Celery tasks of webhook delivery: thin wrappers around the services of the same name.

Services are imported inside the tasks: payments.tasks imports this module at worker
start, before every app's models are ready.
"""

from smtplib import SMTPException

from celery import shared_task


@shared_task(
    name="payments.webhooks.tasks.webhook_delivery_attempt", ignore_result=True, acks_late=True
)
def webhook_delivery_attempt(delivery_id: int) -> None:
    """Attempt delivery `delivery_id` if it is due; safe to run twice (a lease guards it)."""
    from payments.webhooks.delivery import webhook_delivery_attempt as attempt

    attempt(delivery_id=delivery_id)


@shared_task(name="payments.webhooks.tasks.webhook_delivery_sweep", ignore_result=True)
def webhook_delivery_sweep() -> int:
    """Queue every due delivery (beat, every minute): retries, and tasks a worker lost."""
    from payments.webhooks.delivery import webhook_delivery_sweep as sweep

    return sweep()


@shared_task(
    name="payments.webhooks.tasks.webhook_endpoint_disabled_notify",
    ignore_result=True,
    autoretry_for=(SMTPException, ConnectionError, TimeoutError),
    retry_backoff=True,
    max_retries=6,
)
def webhook_endpoint_disabled_notify(endpoint_id: int, failing_since: str) -> int:
    """Email the owners of endpoint `endpoint_id`'s merchant that it was disabled."""
    from payments.webhooks.health import webhook_endpoint_disabled_notify as notify

    return notify(endpoint_id=endpoint_id, failing_since=failing_since)
