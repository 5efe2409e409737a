"""The payments janitor, run by Celery beat (config/schedules.py): expire unconfirmed
payments, ask the acquirer about payments whose result Paydesk does not know, and purge
old idempotency records.

An unknown payment is never failed by guesswork: it stays unknown until the acquirer
says what happened, asked on the back-off of `QUERY_BACKOFF` (1 min, 5 min, 1 h, daily).
"""

import logging
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from payments.domain.models import AWAITING_ACQUIRER_STATUSES, IdempotencyRecord, Payment
from payments.gateways import (
    GatewayError,
    GatewayMismatch,
    GatewayNotFound,
    GatewayStatus,
    GatewayTimeout,
    GatewayUnavailable,
)
from payments.selectors import payment_ids_due_for_expiry, payment_ids_due_for_query
from payments.services.acquirer import pay_request_for, payment_gateway, payment_gateway_name
from payments.services.payments import payment_expire
from payments.services.transitions import (
    JANITOR,
    Actor,
    payment_gateway_result_apply,
    payment_query_reschedule,
)

logger = logging.getLogger("payments")

SWEEP_BATCH = 500
# A payment claimed by a sweep is not claimed again for this long, so that a slow or lost
# query task is retried by a later sweep but never doubled by the next one.
QUERY_CLAIM = timedelta(minutes=2)


def payment_expiry_sweep(*, now: datetime | None = None, limit: int = SWEEP_BATCH) -> int:
    """Expire the unconfirmed payments whose window has passed; return how many expired.

    Each payment is expired in its own transaction under its lock (`payment_expire`), so
    one that the payer confirms at the same moment is either confirmed or expired, never
    both.
    """
    moment = now or timezone.now()
    expired = 0
    for payment_id in payment_ids_due_for_expiry(now=moment, limit=limit):
        if payment_expire(payment=payment_id, actor=JANITOR, now=moment) is not None:
            expired += 1
    if expired:
        logger.info("payments janitor: %d payments expired", expired)
    return expired


def payment_query_sweep(*, now: datetime | None = None, limit: int = SWEEP_BATCH) -> list[int]:
    """Claim the payments due for a query and queue one query task each; return their ids.

    Only payments that are processing or unknown and whose `next_query_at` has passed are
    picked. A payment locked by someone else right now is skipped (the next sweep sees it).
    """
    moment = now or timezone.now()
    claimed: list[int] = []
    for payment_id in payment_ids_due_for_query(now=moment, limit=limit):
        with transaction.atomic():
            payment = (
                Payment.objects.select_for_update(skip_locked=True)
                .filter(
                    pk=payment_id,
                    status__in=AWAITING_ACQUIRER_STATUSES,
                    next_query_at__lte=moment,
                )
                .first()
            )
            if payment is None:
                continue
            payment.next_query_at = moment + QUERY_CLAIM
            payment.save(update_fields=["next_query_at", "updated_at"])
            transaction.on_commit(partial(_query_queue, payment_id))
            claimed.append(payment_id)
    return claimed


def _query_queue(payment_id: int) -> None:
    from payments.tasks import payment_requery as task

    task.delay(payment_id)


def payment_requery(*, payment_id: int) -> Payment:
    """Ask the acquirer what happened to a processing or unknown payment, and record it.

    A final answer settles the payment (posting and webhook on success). An acquirer that
    has never heard of the payment did not charge it: the same pay request is sent again
    (the acquirer is idempotent on the reference), since the payer did confirm. No answer,
    a "processing" answer or an unusable one schedules the next query by the back-off.
    Safe to run twice.
    """
    payment = Payment.objects.select_related("merchant").get(pk=payment_id)
    if payment.status not in AWAITING_ACQUIRER_STATUSES:
        return payment
    gateway = payment_gateway(payment)
    actor = Actor.for_acquirer(payment_gateway_name(payment))
    try:
        try:
            result = gateway.query(payment.reference)
            reason = "gateway_query"
        except GatewayNotFound:
            logger.warning(
                "payment %s: unknown to the acquirer; sending it again", payment.public_id
            )
            result = gateway.pay(pay_request_for(payment))
            reason = "gateway_resubmission"
    except (GatewayTimeout, GatewayUnavailable) as error:
        return payment_query_reschedule(payment=payment, reason=error.reason or error.code)
    except GatewayError as error:  # refused, unverifiable or malformed: ask again later
        logger.error("payment %s: query failed (%s)", payment.public_id, error.code)
        return payment_query_reschedule(payment=payment, reason=error.reason or error.code)
    if result.status == GatewayStatus.PROCESSING:
        payment_gateway_result_apply(payment=payment, result=result, actor=actor, reason=reason)
        return payment_query_reschedule(payment=payment, reason="still_processing")
    try:
        return payment_gateway_result_apply(
            payment=payment, result=result, actor=actor, reason=reason
        )
    except GatewayMismatch:
        return payment_query_reschedule(payment=payment, reason="result_mismatch")


def idempotency_record_purge(*, now: datetime | None = None) -> int:
    """Delete idempotency records older than IDEMPOTENCY_KEY_RETENTION_HOURS; return how many.

    Keys are therefore honoured for at least that long (24 hours by default).
    """
    cutoff = (now or timezone.now()) - timedelta(hours=settings.IDEMPOTENCY_KEY_RETENTION_HOURS)
    deleted, _by_model = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    if deleted:
        logger.info("payments janitor: %d idempotency records purged", deleted)
    return deleted
