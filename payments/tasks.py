"""Celery tasks of the payments app. The worker discovers this module only, so each
sub-package's tasks are imported here; add yours below."""

from payments.ledger.tasks import balance_checkpoints_create, ledger_check, ledger_check_alert_send

__all__ = ["balance_checkpoints_create", "ledger_check", "ledger_check_alert_send"]

from payments.webhooks.tasks import (
    webhook_delivery_attempt,
    webhook_delivery_sweep,
    webhook_endpoint_disabled_notify,
)

__all__ += [
    "webhook_delivery_attempt",
    "webhook_delivery_sweep",
    "webhook_endpoint_disabled_notify",
]

# --- payments: submission to the acquirer and the janitor (payments/services) ---
# Thin: each loads by id and calls the service of the same name; safe to run twice.
from typing import Any  # noqa: E402

from celery import shared_task  # noqa: E402

from payments.gateways import GatewayUnavailable  # noqa: E402
from payments.services import janitor as payment_janitor  # noqa: E402
from payments.services import payments as payment_services  # noqa: E402

# GatewayUnavailable means the acquirer surely did nothing: retry soon, then give up to
# "unknown" (the janitor keeps asking) rather than fail a payment the payer confirmed.
SUBMIT_RETRY_COUNTDOWNS = (2, 5, 15, 30, 60)


@shared_task(
    name="payments.tasks.payment_submit_to_gateway",
    bind=True,
    acks_late=True,
    ignore_result=True,
    max_retries=len(SUBMIT_RETRY_COUNTDOWNS),
)
def payment_submit_to_gateway(self: Any, payment_id: int) -> str:
    """Submit confirmed payment `payment_id` to the acquirer; return its status after."""
    retries = self.request.retries
    try:
        payment = payment_services.payment_submit_to_gateway(
            payment_id=payment_id, is_last_attempt=retries >= self.max_retries
        )
    except GatewayUnavailable as error:
        countdown = SUBMIT_RETRY_COUNTDOWNS[min(retries, len(SUBMIT_RETRY_COUNTDOWNS) - 1)]
        raise self.retry(exc=error, countdown=countdown) from error
    return payment.status


@shared_task(name="payments.tasks.payment_requery", acks_late=True, ignore_result=True)
def payment_requery(payment_id: int) -> str:
    """Ask the acquirer about processing or unknown payment `payment_id`; return its status."""
    return payment_janitor.payment_requery(payment_id=payment_id).status


@shared_task(name="payments.tasks.payment_expiry_sweep", ignore_result=True)
def payment_expiry_sweep() -> int:
    """Expire the unconfirmed payments whose window has passed (every minute)."""
    return payment_janitor.payment_expiry_sweep()


@shared_task(name="payments.tasks.payment_query_sweep", ignore_result=True)
def payment_query_sweep() -> int:
    """Queue a query for each payment due one (every minute); return how many."""
    return len(payment_janitor.payment_query_sweep())


@shared_task(name="payments.tasks.idempotency_record_purge", ignore_result=True)
def idempotency_record_purge() -> int:
    """Delete idempotency records past their retention (hourly)."""
    return payment_janitor.idempotency_record_purge()


__all__ += [
    "idempotency_record_purge",
    "payment_expiry_sweep",
    "payment_query_sweep",
    "payment_requery",
    "payment_submit_to_gateway",
]

# --- payment confirmation: the verification funnel's janitor (payments/confirmation) ---
from payments.confirmation.tasks import verification_attempt_abandon_sweep  # noqa: E402

__all__ += ["verification_attempt_abandon_sweep"]
