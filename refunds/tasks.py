"""Celery tasks of the refunds app: each loads by id and calls the service of the same name.

All are safe to run twice. The money-moving ones are `acks_late` (a worker that dies
mid-task leaves the message to be redelivered; the acquirer dedupes on the reference).
"""

from smtplib import SMTPException
from typing import Any

from celery import shared_task

from payments.gateways import GatewayUnavailable
from refunds.services import acquirer_answers, janitor, notifications, processing

# GatewayUnavailable means the acquirer surely did nothing: retry with the same refund
# reference, then give up to manual review rather than pretend the refund is pending.
SUBMIT_RETRY_COUNTDOWNS = (2, 5, 15, 30, 60)


@shared_task(
    name="refunds.tasks.refund_submit_to_gateway",
    bind=True,
    acks_late=True,
    ignore_result=True,
    max_retries=len(SUBMIT_RETRY_COUNTDOWNS),
)
def refund_submit_to_gateway(self: Any, refund_id: int) -> str:
    """Send processing refund `refund_id` to the acquirer; return its status after."""
    retries = self.request.retries
    try:
        refund = processing.refund_submit_to_gateway(
            refund_id=refund_id, is_last_attempt=retries >= self.max_retries
        )
    except GatewayUnavailable as error:
        countdown = SUBMIT_RETRY_COUNTDOWNS[min(retries, len(SUBMIT_RETRY_COUNTDOWNS) - 1)]
        raise self.retry(exc=error, countdown=countdown) from error
    return refund.status


@shared_task(name="refunds.tasks.refund_requery", acks_late=True, ignore_result=True)
def refund_requery(refund_id: int) -> str:
    """Ask the acquirer about processing or unknown refund `refund_id`; return its status."""
    return acquirer_answers.refund_requery(refund_id=refund_id).status


@shared_task(name="refunds.tasks.refund_query_sweep", ignore_result=True)
def refund_query_sweep() -> int:
    """Queue a query for each refund due one (every minute); return how many."""
    return len(janitor.refund_query_sweep())


@shared_task(name="refunds.tasks.refund_sla_sweep", ignore_result=True)
def refund_sla_sweep() -> int:
    """Mark approved refunds still open past their SLA as delayed; return how many."""
    return janitor.refund_sla_sweep()


@shared_task(
    name="refunds.tasks.refund_payer_notify",
    ignore_result=True,
    autoretry_for=(SMTPException, ConnectionError, TimeoutError),
    retry_backoff=True,
    max_retries=6,
)
def refund_payer_notify(refund_id: int) -> bool:
    """Email the payer of succeeded refund `refund_id` that the money is on its way."""
    return notifications.refund_payer_notify(refund_id=refund_id)
