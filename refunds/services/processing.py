"""Sending refunds to the acquirer and recording what it says.

The refund reference sent is the refund's public id, the same on every attempt and every
retry, and the acquirer is idempotent on it: a retry can never refund twice. The HTTP
call holds no lock and no transaction; each answer is applied under the refund's lock by
`refund_gateway_result_apply`, which is idempotent and order-proof (a repeated result or
a late "processing" changes nothing).

Outcomes of a send:

| the acquirer | the refund |
| --- | --- |
| succeeded | succeeded: completion posting, `refund.succeeded`, payer email |
| declined (a failed result) | failed with its decline code: reversal posting, `refund.failed` |
| processing | stays processing; a notification or the janitor's query settles it |
| no answer in time, an unverifiable or mismatching answer | unknown: the janitor asks |
| unavailable (nothing done) | the task retries with the same reference; after the last retry: manual review |
| refused (`refund_exceeds_captured`, ...) | manual review with the acquirer's reason: reversal posting |
"""

import logging
from datetime import datetime, timedelta
from typing import Any, Protocol

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from merchants.models import ApiMode
from payments.gateways import (
    GatewayError,
    GatewayMismatch,
    GatewayRejected,
    GatewayStatus,
    GatewayTimeout,
    GatewayUnavailable,
    InvalidSignature,
    RefundRequest,
)
from payments.services.acquirer import acquirer_notify_url, payment_gateway, payment_gateway_name
from payments.services.transitions import acquirer_reference_remember, acquirer_result_facts
from refunds.models import AWAITING_ACQUIRER_STATUSES, Refund, RefundStatus
from refunds.services.common import (
    RefundActor,
    on_commit_queue,
    refund_lock,
    transition,
)
from refunds.services.ledger import (
    refund_complete_post,
    refund_initiate_post,
    refund_reverse_post,
)

logger = logging.getLogger("refunds")

# When the janitor asks again about a refund whose result it does not know (as payments).
QUERY_BACKOFF: tuple[timedelta, ...] = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(hours=1),
    timedelta(days=1),
)
SUBMISSION_SAFETY_NET = timedelta(minutes=5)


class AcquirerRefundResult(Protocol):
    """What a RefundResult and a refund Notification both carry about one refund."""

    @property
    def payment_reference(self) -> str: ...
    @property
    def status(self) -> GatewayStatus: ...
    @property
    def amount(self) -> int: ...
    @property
    def currency(self) -> str: ...
    @property
    def acquirer_reference(self) -> str: ...
    @property
    def decline_code(self) -> str: ...
    @property
    def decline_message(self) -> str: ...
    @property
    def completed_at(self) -> datetime | None: ...


def _reference_of(result: Any) -> str:
    # A RefundResult names the refund `refund_reference`; a Notification, `reference`.
    return str(getattr(result, "refund_reference", None) or result.reference)


def refund_gateway_name(refund: Refund) -> str:
    """Return the adapter that handles `refund`: its payment's (test mode: the sandbox)."""
    return payment_gateway_name(refund.payment)


def refund_request_for(refund: Refund) -> RefundRequest:
    """Return the refund request for `refund`: the same every time (the acquirer dedupes)."""
    return RefundRequest(
        refund_reference=refund.reference,
        payment_reference=refund.payment.reference,
        amount=refund.amount,
        currency=refund.currency,
        notify_url=acquirer_notify_url(refund_gateway_name(refund)),
    )


def _final_time(refund: Refund, reported: datetime | None, now: datetime) -> datetime:
    if reported is None or reported > now:
        return now
    return max(reported, refund.processing_at or refund.created_at)


def _payer_email_queue(refund: Refund) -> None:
    # Test-mode payers are made-up people: only live refunds email the payer.
    if refund.mode == ApiMode.LIVE and refund.payment.payer_email:
        on_commit_queue("refund_payer_notify", refund.pk)


def _to_succeeded(
    refund: Refund,
    *,
    actor: RefundActor,
    reason: str,
    acquirer_reference: str = "",
    completed_at: datetime | None = None,
    details: dict[str, Any] | None = None,
) -> Refund:
    now = timezone.now()
    if refund.status == RefundStatus.MANUAL_REVIEW:
        # The acquirer paid after all: the money left, so it is posted again (a new
        # attempt, since the first was reversed), whatever the balance says now.
        refund.attempt += 1
        refund.save(update_fields=["attempt", "updated_at"])
        refund_initiate_post(refund, enforce_balance=False)
    transition(
        refund,
        RefundStatus.SUCCEEDED,
        actor=actor,
        reason=reason,
        details=details,
        now=now,
        succeeded_at=_final_time(refund, completed_at, now),
        acquirer_reference=(acquirer_reference or refund.acquirer_reference)[:64],
        next_query_at=None,
        failure_code="",
        failure_message="",
    )
    refund_complete_post(refund)
    _payer_email_queue(refund)
    return refund


def to_failed(
    refund: Refund,
    *,
    actor: RefundActor,
    reason: str,
    failure_code: str,
    failure_message: str = "",
    acquirer_reference: str = "",
    completed_at: datetime | None = None,
    details: dict[str, Any] | None = None,
    request: HttpRequest | None = None,
) -> Refund:
    """Move the locked `refund` to failed, reversing its posting unless manual review did.

    Call inside the atomic block that locked the refund.
    """
    now = timezone.now()
    if refund.status != RefundStatus.MANUAL_REVIEW:  # manual review already reversed it
        refund_reverse_post(refund)
    return transition(
        refund,
        RefundStatus.FAILED,
        actor=actor,
        reason=reason,
        details=details,
        now=now,
        request=request,
        failed_at=_final_time(refund, completed_at, now),
        failure_code=failure_code[:64],
        failure_message=failure_message[:255],
        acquirer_reference=(acquirer_reference or refund.acquirer_reference)[:64],
        next_query_at=None,
    )


def _to_manual_review(
    refund: Refund, *, actor: RefundActor, reason: str, failure_code: str, failure_message: str
) -> Refund:
    now = timezone.now()
    refund_reverse_post(refund)
    logger.warning("refund %s needs manual review: %s (%s)", refund.public_id, failure_code, reason)
    return transition(
        refund,
        RefundStatus.MANUAL_REVIEW,
        actor=actor,
        reason=reason,
        details={"acquirer_reason": failure_code},
        now=now,
        manual_review_at=now,
        failure_code=failure_code[:64],
        failure_message=failure_message[:255],
        next_query_at=None,
    )


def refund_mark_unknown(*, refund: Refund | int, actor: RefundActor, reason: str) -> Refund:
    """Record that the acquirer did not answer in time: the outcome is unknown, not failed.

    The janitor queries from one minute on. A refund no longer processing is returned
    unchanged (a notification settled it meanwhile).
    """
    with transaction.atomic():
        locked = refund_lock(refund)
        if locked.status != RefundStatus.PROCESSING:
            return locked
        now = timezone.now()
        return transition(
            locked,
            RefundStatus.UNKNOWN,
            actor=actor,
            reason=reason,
            now=now,
            next_query_at=now + QUERY_BACKOFF[0],
            query_attempts=0,
        )


def refund_to_manual_review(
    *, refund: Refund | int, actor: RefundActor, reason: str, failure_code: str, message: str = ""
) -> Refund:
    """Hand a refund the acquirer did not make to a person, with the acquirer's reason.

    Reverses the ledger posting (the money did not leave). Only from processing or
    unknown; a refund settled meanwhile is returned unchanged.
    """
    with transaction.atomic():
        locked = refund_lock(refund)
        if locked.status not in AWAITING_ACQUIRER_STATUSES:
            return locked
        return _to_manual_review(
            locked, actor=actor, reason=reason, failure_code=failure_code, failure_message=message
        )


def refund_query_reschedule(*, refund: Refund | int, reason: str) -> Refund:
    """Count one query that did not tell the result and schedule the next by the back-off."""
    with transaction.atomic():
        locked = refund_lock(refund)
        if locked.status not in AWAITING_ACQUIRER_STATUSES:
            return locked
        locked.query_attempts += 1
        delay = QUERY_BACKOFF[min(locked.query_attempts, len(QUERY_BACKOFF) - 1)]
        locked.next_query_at = timezone.now() + delay
        locked.save(update_fields=["query_attempts", "next_query_at", "updated_at"])
        logger.info(
            "refund %s: still unknown (%s); next query in %s", locked.public_id, reason, delay
        )
        return locked


def _check_matches(refund: Refund, result: Any) -> None:
    expected = {
        "reference": refund.reference,
        "payment_reference": refund.payment.reference,
        "amount": refund.amount,
        "currency": refund.currency,
    }
    received = {
        "reference": _reference_of(result),
        "payment_reference": result.payment_reference,
        "amount": result.amount,
        "currency": result.currency,
    }
    if expected != received:
        logger.error(
            "refund %s: the acquirer's message does not match the refund",
            refund.public_id,
            extra={"expected": expected, "received": received},
        )
        raise GatewayMismatch(
            reason="result_mismatch", details={"expected": expected, "received": received}
        )


def refund_gateway_result_apply(
    *,
    refund: Refund | int,
    result: AcquirerRefundResult,
    actor: RefundActor,
    reason: str,
    details: dict[str, Any] | None = None,
) -> Refund:
    """Apply what the acquirer says about a refund; safe to call any number of times.

    Raise GatewayMismatch (changing nothing) unless the references, amount and currency
    are the refund's. A final result settles a processing, unknown or manual-review
    refund; the same result again, "processing", or a result for a refund in another
    state changes nothing (a contradiction is logged as an error for staff).
    """
    with transaction.atomic():
        locked = refund_lock(refund)
        _check_matches(locked, result)
        facts = acquirer_result_facts(result, details)
        if result.status == GatewayStatus.PROCESSING:
            acquirer_reference_remember(locked, result, AWAITING_ACQUIRER_STATUSES)
            return locked
        target = (
            RefundStatus.SUCCEEDED
            if result.status == GatewayStatus.SUCCEEDED
            else RefundStatus.FAILED
        )
        if locked.status == target:
            return locked
        if locked.status not in {*AWAITING_ACQUIRER_STATUSES, RefundStatus.MANUAL_REVIEW}:
            logger.error(
                "refund %s is %s but the acquirer says %s; nothing changed",
                locked.public_id,
                locked.status,
                result.status,
                extra={"refund": locked.public_id, "acquirer": facts},
            )
            return locked
        if target == RefundStatus.SUCCEEDED:
            return _to_succeeded(
                locked,
                actor=actor,
                reason=reason,
                acquirer_reference=result.acquirer_reference,
                completed_at=result.completed_at,
                details=facts,
            )
        return to_failed(
            locked,
            actor=actor,
            reason=reason,
            failure_code=result.decline_code or "declined",
            failure_message=result.decline_message,
            acquirer_reference=result.acquirer_reference,
            completed_at=result.completed_at,
            details=facts,
        )


def refund_submit_to_gateway(*, refund_id: int, is_last_attempt: bool = True) -> Refund:
    """Ask the acquirer to make a processing refund and record its answer (table above).

    Safe to run twice: a refund no longer processing is left alone and the acquirer is
    idempotent on the refund reference. GatewayUnavailable (nothing was done) is raised
    for the task to retry with the same reference, unless `is_last_attempt`: then the
    refund goes to manual review instead of pretending to be pending.
    """
    refund = Refund.objects.select_related("payment", "merchant").get(pk=refund_id)
    if refund.status != RefundStatus.PROCESSING:
        return refund
    acquirer = RefundActor.for_acquirer(refund_gateway_name(refund))
    try:
        result = payment_gateway(refund.payment).refund(refund_request_for(refund))
    except GatewayUnavailable as error:
        if not is_last_attempt:
            raise
        return refund_to_manual_review(
            refund=refund,
            actor=acquirer,
            reason="retries_exhausted",
            failure_code=error.reason or error.code,
            message=str(error.message),
        )
    except GatewayTimeout as error:
        return refund_mark_unknown(refund=refund, actor=acquirer, reason=error.reason or error.code)
    except (InvalidSignature, GatewayMismatch) as error:
        logger.error(
            "refund %s: unusable answer from the acquirer (%s)", refund.public_id, error.code
        )
        return refund_mark_unknown(refund=refund, actor=acquirer, reason=error.code)
    except GatewayRejected as error:
        return refund_to_manual_review(
            refund=refund,
            actor=acquirer,
            reason="gateway_rejected",
            failure_code=error.reason or error.code,
            message=str(error.details.get("acquirer_message") or error.message),
        )
    except GatewayError as error:  # a malformed answer: the outcome is unknown
        logger.error("refund %s: gateway error %s", refund.public_id, error.reason)
        return refund_mark_unknown(refund=refund, actor=acquirer, reason=error.reason or error.code)

    updated = refund_gateway_result_apply(
        refund=refund, result=result, actor=acquirer, reason="gateway_response"
    )
    if result.status == GatewayStatus.PROCESSING:
        with transaction.atomic():
            locked = refund_lock(updated)
            if locked.status == RefundStatus.PROCESSING:
                # The notification should settle it; query in a minute in case it is lost.
                locked.next_query_at = timezone.now() + QUERY_BACKOFF[0]
                locked.save(update_fields=["next_query_at", "updated_at"])
            updated = locked
    return updated
