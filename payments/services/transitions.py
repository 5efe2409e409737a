"""The payment state machine: one service per transition, each under the payment's row lock.

Every transition checks the move against PAYMENT_TRANSITIONS, saves with `update_fields`,
appends a PaymentEvent, and does its side effects in the same transaction: the ledger
posting of a capture (live mode) and the merchant's webhook event, both of which exist if
and only if the transition commits.

What the acquirer says (a pay response, a query, a notification) goes through
`payment_gateway_result_apply`, which is idempotent and order-proof: a repeated result
changes nothing, a late "processing" after a final result changes nothing, and a final
result that contradicts Paydesk's final state is logged for staff and changes nothing.
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from config.errors import InvalidTransition
from merchants.models import ApiKey, ApiMode, WebhookEventType
from merchants.selectors.settlement import settlement_terms_effective
from payments.domain.models import (
    AWAITING_ACQUIRER_STATUSES,
    PAYMENT_TRANSITIONS,
    ActorType,
    Payment,
    PaymentEvent,
    PaymentStatus,
)
from payments.gateways import GatewayMismatch, GatewayStatus
from payments.ledger.models import PostingKind
from payments.ledger.recipes import payment_capture_lines, posting_key
from payments.ledger.services import posting_create
from payments.webhooks.services import webhook_event_publish

logger = logging.getLogger("payments")

# When the janitor asks the acquirer again about a payment whose result it does not know:
# 1 minute after it became unknown, then 5 minutes, 1 hour, and daily from then on.
QUERY_BACKOFF: tuple[timedelta, ...] = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(hours=1),
    timedelta(days=1),
)
WEBHOOK_EVENT_TYPES: dict[str, str] = {
    PaymentStatus.SUCCEEDED: WebhookEventType.PAYMENT_SUCCEEDED,
    PaymentStatus.FAILED: WebhookEventType.PAYMENT_FAILED,
    PaymentStatus.CANCELED: WebhookEventType.PAYMENT_CANCELED,
    PaymentStatus.EXPIRED: WebhookEventType.PAYMENT_EXPIRED,
}
BASIS_POINTS = 10_000


@dataclass(frozen=True)
class Actor:
    """Who causes a transition: recorded on the payment event."""

    type: str
    user: User | None = None
    label: str = ""

    @classmethod
    def for_api_key(cls, api_key: ApiKey) -> "Actor":
        return cls(ActorType.MERCHANT, label=api_key.masked)

    @classmethod
    def for_acquirer(cls, gateway_name: str) -> "Actor":
        return cls(ActorType.ACQUIRER, label=gateway_name)

    @classmethod
    def for_payer(cls, user: User | None) -> "Actor":
        return cls(ActorType.PAYER, user=user)


JANITOR = Actor(ActorType.SYSTEM, label="janitor")
SYSTEM = Actor(ActorType.SYSTEM, label="paydesk")


class AcquirerResult(Protocol):
    """What a GatewayResult and a Notification both carry about one payment."""

    @property
    def reference(self) -> str: ...
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


def payment_lock(payment: Payment | int) -> Payment:
    """Return the payment's row, locked FOR UPDATE; call inside `transaction.atomic()`."""
    pk = payment if isinstance(payment, int) else payment.pk
    return Payment.objects.select_for_update().get(pk=pk)


def payment_event_append(
    payment: Payment,
    *,
    from_status: str,
    to_status: str,
    actor: Actor,
    reason: str = "",
    details: dict[str, Any] | None = None,
    occurred_at: datetime | None = None,
) -> PaymentEvent:
    """Append one event to the payment's timeline (inside the transition's transaction)."""
    return PaymentEvent.objects.create(
        payment=payment,
        occurred_at=occurred_at or timezone.now(),
        from_status=from_status,
        to_status=to_status,
        reason=reason[:255],
        actor_type=actor.type,
        actor=actor.user,
        actor_label=actor.label[:100],
        details=details or {},
    )


def transition(
    payment: Payment,
    to_status: str,
    *,
    actor: Actor,
    reason: str = "",
    details: dict[str, Any] | None = None,
    now: datetime | None = None,
    **changes: Any,
) -> Payment:
    """Move the locked `payment` to `to_status`, save `changes` with it, append the event.

    Call inside the atomic block that locked the payment (`payment_lock`). Raise
    InvalidTransition, changing nothing, when the table does not allow the move. The
    final states publish their webhook event here, in the same transaction.
    """
    from_status = payment.status
    if to_status not in PAYMENT_TRANSITIONS.get(from_status, frozenset()):
        raise InvalidTransition(
            _("A payment that is %(from)s cannot become %(to)s.")
            % {"from": from_status, "to": to_status},
            details={"payment_id": payment.public_id, "from": from_status, "to": to_status},
        )
    payment.status = to_status
    for name, value in changes.items():
        setattr(payment, name, value)
    payment.save(update_fields=["status", "updated_at", *changes])
    payment_event_append(
        payment,
        from_status=from_status,
        to_status=to_status,
        actor=actor,
        reason=reason,
        details=details,
        occurred_at=now,
    )
    if to_status in WEBHOOK_EVENT_TYPES:
        _webhook_publish(payment)
    return payment


def _webhook_publish(payment: Payment) -> None:
    # Imported here: the serializers import the selectors, which must not import services.
    from payments.serializers import payment_data

    webhook_event_publish(
        merchant=payment.merchant,
        event_type=WEBHOOK_EVENT_TYPES[payment.status],
        payload=payment_data(payment),
        mode=payment.mode,
        # One event per payment and final state, however often the transition is attempted.
        idempotency_key=f"payment:{payment.public_id}:{payment.status}",
    )


# --- captures: the fee and the ledger posting ---


def capture_fee(payment: Payment, *, on_date: Any) -> tuple[int, int]:
    """Return `(fee_bps, fee)` for `payment` under the merchant's terms of `on_date`.

    The fee is rounded half up to a whole minor unit and never exceeds the amount.
    """
    terms = settlement_terms_effective(payment.merchant, on_date)
    bps = terms.fee_bps_for_channel(payment.channel)
    fee = (payment.amount * bps + BASIS_POINTS // 2) // BASIS_POINTS
    return bps, min(fee, payment.amount)


def capture_posting_key(payment: Payment) -> str:
    """Return the ledger key of the payment's capture: one posting per payment, ever."""
    return posting_key("payment", payment.public_id, "capture")


def _capture_post(payment: Payment) -> None:
    # Test-mode payments never move money: the ledger has no test book, so only live
    # payments post (docs/payments.md).
    if payment.mode != ApiMode.LIVE:
        return
    assert payment.fee_amount is not None
    posting_create(
        key=capture_posting_key(payment),
        kind=PostingKind.PAYMENT_CAPTURE,
        lines=payment_capture_lines(
            merchant=payment.merchant,
            amount=payment.amount,
            fee=payment.fee_amount,
            currency=payment.currency,
        ),
        source=payment,
        memo=f"Payment {payment.public_id}",
    )


def _final_time(payment: Payment, reported: datetime | None, now: datetime) -> datetime:
    # The acquirer's completion time measures the transaction time KPI best (a result
    # learnt by a query hours later did not take hours); keep it within what is possible.
    if reported is None or reported > now:
        return now
    earliest = payment.confirmed_at or payment.created_at
    return max(reported, earliest)


# --- the transitions to final states ---


def _to_succeeded(
    payment: Payment,
    *,
    actor: Actor,
    reason: str,
    acquirer_reference: str = "",
    completed_at: datetime | None = None,
    details: dict[str, Any] | None = None,
) -> Payment:
    now = timezone.now()
    succeeded_at = _final_time(payment, completed_at, now)
    fee_bps, fee = capture_fee(payment, on_date=timezone.localdate(succeeded_at))
    transition(
        payment,
        PaymentStatus.SUCCEEDED,
        actor=actor,
        reason=reason,
        details=details,
        now=now,
        succeeded_at=succeeded_at,
        fee_bps=fee_bps,
        fee_amount=fee,
        acquirer_reference=acquirer_reference or payment.acquirer_reference,
        next_query_at=None,
    )
    _capture_post(payment)
    return payment


def _to_failed(
    payment: Payment,
    *,
    actor: Actor,
    reason: str,
    failure_code: str,
    failure_message: str = "",
    acquirer_reference: str = "",
    completed_at: datetime | None = None,
    details: dict[str, Any] | None = None,
) -> Payment:
    now = timezone.now()
    return transition(
        payment,
        PaymentStatus.FAILED,
        actor=actor,
        reason=reason,
        details=details,
        now=now,
        failed_at=_final_time(payment, completed_at, now),
        failure_code=failure_code[:64],
        failure_message=failure_message[:255],
        acquirer_reference=acquirer_reference or payment.acquirer_reference,
        next_query_at=None,
    )


def payment_mark_succeeded(
    *,
    payment: Payment,
    actor: Actor,
    reason: str,
    acquirer_reference: str = "",
    completed_at: datetime | None = None,
) -> Payment:
    """Record that the acquirer captured the payment: post the capture, tell the merchant.

    Allowed from processing or unknown; raise InvalidTransition otherwise. The ledger
    posting (live mode, key `payment:<id>:capture`) and the `payment.succeeded` event
    commit with the change.
    """
    with transaction.atomic():
        locked = payment_lock(payment)
        return _to_succeeded(
            locked,
            actor=actor,
            reason=reason,
            acquirer_reference=acquirer_reference,
            completed_at=completed_at,
        )


def payment_mark_failed(
    *,
    payment: Payment,
    actor: Actor,
    reason: str,
    failure_code: str,
    failure_message: str = "",
) -> Payment:
    """Record that the acquirer refused the payment (allowed from processing or unknown)."""
    with transaction.atomic():
        locked = payment_lock(payment)
        return _to_failed(
            locked,
            actor=actor,
            reason=reason,
            failure_code=failure_code,
            failure_message=failure_message,
        )


def payment_mark_unknown(*, payment: Payment | int, actor: Actor, reason: str) -> Payment:
    """Record that the acquirer did not answer in time: the outcome is unknown, not failed.

    Schedules the first re-query one minute from now. If the payment is no longer
    processing (a notification settled it meanwhile), change nothing and return it.
    """
    with transaction.atomic():
        locked = payment_lock(payment)
        if locked.status != PaymentStatus.PROCESSING:
            return locked
        now = timezone.now()
        return transition(
            locked,
            PaymentStatus.UNKNOWN,
            actor=actor,
            reason=reason,
            now=now,
            next_query_at=now + QUERY_BACKOFF[0],
            query_attempts=0,
        )


def payment_query_reschedule(*, payment: Payment | int, reason: str) -> Payment:
    """Count one query that did not tell the result and schedule the next by the back-off.

    No transition: the payment stays processing or unknown. A payment no longer awaiting
    the acquirer is returned unchanged.
    """
    with transaction.atomic():
        locked = payment_lock(payment)
        if locked.status not in AWAITING_ACQUIRER_STATUSES:
            return locked
        locked.query_attempts += 1
        delay = QUERY_BACKOFF[min(locked.query_attempts, len(QUERY_BACKOFF) - 1)]
        locked.next_query_at = timezone.now() + delay
        locked.save(update_fields=["query_attempts", "next_query_at", "updated_at"])
        logger.info(
            "payment %s: result still unknown (%s); next query in %s",
            locked.public_id,
            reason,
            delay,
        )
        return locked


def acquirer_result_facts(
    result: AcquirerResult | Any, details: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Return what a timeline event keeps of an acquirer's answer (payments and refunds)."""
    return {
        "acquirer_reference": result.acquirer_reference,
        **({"decline_code": result.decline_code} if result.decline_code else {}),
        **(details or {}),
    }


def acquirer_reference_remember(
    locked: Any, result: AcquirerResult | Any, awaiting_statuses: frozenset[str]
) -> None:
    """Keep the acquirer's reference from a "processing" answer, if none is known yet.

    `locked` is a payment or refund row locked by the caller; nothing else changes.
    """
    if (
        locked.status in awaiting_statuses
        and result.acquirer_reference
        and not locked.acquirer_reference
    ):
        locked.acquirer_reference = result.acquirer_reference[:64]
        locked.save(update_fields=["acquirer_reference", "updated_at"])


def _check_matches(payment: Payment, result: AcquirerResult) -> None:
    expected = {
        "reference": payment.reference,
        "amount": payment.amount,
        "currency": payment.currency,
    }
    received = {"reference": result.reference, "amount": result.amount, "currency": result.currency}
    if expected != received:
        logger.error(
            "payment %s: the acquirer's message does not match the payment",
            payment.public_id,
            extra={"expected": expected, "received": received},
        )
        raise GatewayMismatch(
            reason="result_mismatch", details={"expected": expected, "received": received}
        )


def payment_gateway_result_apply(
    *,
    payment: Payment | int,
    result: AcquirerResult,
    actor: Actor,
    reason: str,
    details: dict[str, Any] | None = None,
) -> Payment:
    """Apply what the acquirer says about the payment; safe to call any number of times.

    Raise GatewayMismatch (changing nothing) unless the reference, amount and currency are
    the payment's. A final result moves a processing or unknown payment to succeeded or
    failed; the same final result again, a "processing" result, or a result for a payment
    in another state changes nothing (a contradiction is logged as an error for staff).
    """
    with transaction.atomic():
        locked = payment_lock(payment)
        _check_matches(locked, result)
        facts = acquirer_result_facts(result, details)
        if result.status == GatewayStatus.PROCESSING:
            acquirer_reference_remember(locked, result, AWAITING_ACQUIRER_STATUSES)
            return locked
        target = (
            PaymentStatus.SUCCEEDED
            if result.status == GatewayStatus.SUCCEEDED
            else PaymentStatus.FAILED
        )
        if locked.status == target:
            return locked  # a repeated result: already recorded
        if locked.status not in AWAITING_ACQUIRER_STATUSES:
            logger.error(
                "payment %s is %s but the acquirer says %s; nothing changed",
                locked.public_id,
                locked.status,
                result.status,
                extra={"payment": locked.public_id, "acquirer": facts},
            )
            return locked
        if target == PaymentStatus.SUCCEEDED:
            return _to_succeeded(
                locked,
                actor=actor,
                reason=reason,
                acquirer_reference=result.acquirer_reference[:64],
                completed_at=result.completed_at,
                details=facts,
            )
        return _to_failed(
            locked,
            actor=actor,
            reason=reason,
            failure_code=result.decline_code or "declined",
            failure_message=result.decline_message,
            acquirer_reference=result.acquirer_reference[:64],
            completed_at=result.completed_at,
            details=facts,
        )
