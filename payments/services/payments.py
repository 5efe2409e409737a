"""Payment writes: create, cancel, confirm, expire, and the submission to the acquirer.

The transitions themselves (and `payment_mark_*`) live in `payments.services.transitions`;
this module holds the services that start from a merchant's, a payer's or a task's call.
"""

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import User
from accounts.services.audit import audit_event_record
from config.errors import ApplicationError, Conflict, InvalidTransition, ValidationFailed
from merchants.models import ApiMode, Merchant
from payments.domain.models import Payment, PaymentStatus
from payments.domain.validators import (
    DEFAULT_CURRENCY,
    CardNumberRefused,
    card_number_refuse,
    currency_validate,
    metadata_validate,
    region_validate,
)
from payments.gateways import (
    GatewayError,
    GatewayMismatch,
    GatewayRejected,
    GatewayStatus,
    GatewayTimeout,
    GatewayUnavailable,
    InvalidSignature,
)
from payments.services.acquirer import pay_request_for, payment_gateway, payment_gateway_name
from payments.services.transitions import (
    QUERY_BACKOFF,
    SYSTEM,
    Actor,
    payment_event_append,
    payment_gateway_result_apply,
    payment_lock,
    payment_mark_failed,
    payment_mark_unknown,
    transition,
)

logger = logging.getLogger("payments")

MAX_AMOUNT = 100_000_000_000  # minor units: 1 billion CNY, far above any real payment
# A confirmed payment whose submission task never ran is found by the janitor after this.
SUBMISSION_SAFETY_NET = timedelta(minutes=5)
EVIDENCE_VALUE_MAX_LENGTH = 200


class CardNumberNotAllowed(ApplicationError):  # noqa: N818  (a refusal, named for the domain)
    code = "card_number_refused"
    status = 422
    default_message = gettext_lazy(
        "Card numbers are never accepted: send the acquirer's token, never the card number."
    )


class PaymentExpired(Conflict):
    code = "payment_expired"
    default_message = gettext_lazy("The payment has expired: ask the merchant for a new one.")


@dataclass(frozen=True, kw_only=True)
class PaymentInput:
    """A new payment as the merchant asked for it (validated again by `payment_create`)."""

    amount: int
    currency: str = DEFAULT_CURRENCY
    channel: str
    merchant_order_id: str
    description: str = ""
    payer_email: str = ""
    payer_phone: str = ""
    device_fingerprint: str = ""
    device_ip: str | None = None
    device_user_agent: str = ""
    region: str = "other"
    return_url: str = ""
    metadata: Mapping[str, str] = field(default_factory=dict)


def _validated(data: PaymentInput) -> dict[str, Any]:
    """Re-check the rules that protect money and card data, whoever the caller is."""
    if isinstance(data.amount, bool) or not isinstance(data.amount, int):
        raise ValidationFailed(details={"amount": [_("Send a whole number of minor units.")]})
    if not 0 < data.amount <= MAX_AMOUNT:
        raise ValidationFailed(
            details={"amount": [_("The amount must be between 1 and %d.") % MAX_AMOUNT]}
        )
    problems: dict[str, Any] = {}
    refused: dict[str, Any] = {}
    checks: tuple[tuple[str, Callable[[Any], Any], Any], ...] = (
        ("currency", currency_validate, data.currency),
        ("region", region_validate, data.region),
        ("metadata", metadata_validate, data.metadata),
        ("description", card_number_refuse, data.description),
    )
    cleaned: dict[str, Any] = {}
    for name, check, value in checks:
        try:
            cleaned[name] = check(value)
        except CardNumberRefused as error:
            refused[name] = error.message_dict if hasattr(error, "error_dict") else error.messages
        except ValidationError as error:
            problems[name] = error.message_dict if hasattr(error, "error_dict") else error.messages
    if refused:
        raise CardNumberNotAllowed(details=refused)
    if problems:
        raise ValidationFailed(details=problems)
    currency, (region, region_group), metadata = (
        cleaned["currency"],
        cleaned["region"],
        cleaned["metadata"],
    )
    return {
        "amount": data.amount,
        "currency": currency,
        "channel": data.channel,
        "merchant_order_id": data.merchant_order_id,
        "description": data.description,
        "payer_email": data.payer_email,
        "payer_phone": data.payer_phone,
        "device_fingerprint": data.device_fingerprint,
        "device_ip": data.device_ip or None,
        "device_user_agent": data.device_user_agent,
        "region": region,
        "region_group": region_group,
        "return_url": data.return_url,
        "metadata": metadata,
    }


def payment_create(*, merchant: Merchant, mode: str, data: PaymentInput, actor: Actor) -> Payment:
    """Create a payment awaiting the payer's confirmation, with its first timeline event.

    Raise Conflict `duplicate_merchant_order_id` when the merchant already has a payment
    for this order id in this mode, CardNumberNotAllowed (422) when the description or the
    metadata holds what looks like a card number, ValidationFailed for other bad input.
    """
    if mode not in ApiMode.values:
        raise ValidationFailed(details={"mode": [_("Choose test or live.")]})
    fields = _validated(data)
    now = timezone.now()
    try:
        with transaction.atomic():
            payment = Payment.objects.create(
                merchant=merchant,
                mode=mode,
                created_at=now,
                expires_at=now + timedelta(minutes=settings.PAYMENT_EXPIRY_MINUTES),
                **fields,
            )
            payment_event_append(
                payment,
                from_status="",
                to_status=PaymentStatus.REQUIRES_CONFIRMATION,
                actor=actor,
                reason="created",
                occurred_at=now,
            )
    except IntegrityError:
        existing = Payment.objects.filter(
            merchant=merchant, mode=mode, merchant_order_id=data.merchant_order_id
        ).first()
        if existing is None:
            raise
        raise Conflict(
            _("This merchant order id already has a payment."),
            code="duplicate_merchant_order_id",
            details={"merchant_order_id": data.merchant_order_id, "payment_id": existing.public_id},
        ) from None
    return payment


def payment_cancel(
    *, payment: Payment, actor: Actor, reason: str = "", request: HttpRequest | None = None
) -> Payment:
    """Cancel a payment the payer has not confirmed; raise InvalidTransition otherwise.

    Publishes `payment.canceled` and records an audit event, with the change.
    """
    with transaction.atomic():
        locked = payment_lock(payment)
        now = timezone.now()
        transition(
            locked,
            PaymentStatus.CANCELED,
            actor=actor,
            reason=reason or "canceled",
            now=now,
            canceled_at=now,
        )
        audit_event_record(
            action="payment.cancel",
            actor=actor.user,
            target=locked,
            before={"status": PaymentStatus.REQUIRES_CONFIRMATION},
            after={"status": locked.status, "reason": reason, "by": actor.label},
            request=request,
        )
    return locked


def payment_expire(
    *, payment: Payment | int, actor: Actor = SYSTEM, now: datetime | None = None
) -> Payment | None:
    """Expire an unconfirmed payment whose window has passed (at `now`, default the current
    time); return it, or None if it was confirmed, canceled or is not due (checked under
    the lock)."""
    with transaction.atomic():
        locked = payment_lock(payment)
        now = now or timezone.now()
        if locked.status != PaymentStatus.REQUIRES_CONFIRMATION or locked.expires_at > now:
            return None
        return transition(
            locked,
            PaymentStatus.EXPIRED,
            actor=actor,
            reason="confirmation_window_passed",
            now=now,
            expired_at=now,
        )


def _evidence_summary(evidence: Mapping[str, Any]) -> dict[str, Any]:
    # Kept on the timeline for disputes: short scalar values only, no token, no card data.
    summary: dict[str, Any] = {}
    for key, value in list(evidence.items())[:20]:
        if key == "payer_token" or not isinstance(value, str | int | bool):
            continue
        text = str(value)[:EVIDENCE_VALUE_MAX_LENGTH]
        if isinstance(value, str):
            try:
                card_number_refuse(text)
            except ValidationError:
                continue
        summary[str(key)[:40]] = value if not isinstance(value, str) else text
    return summary


def payment_confirm(
    *,
    payment: Payment,
    payer: User | None,
    method: str,
    evidence: Mapping[str, Any] | None = None,
) -> Payment:
    """Record the payer's confirmation and queue the submission to the acquirer.

    `method` says how the payer confirmed (e.g. "passkey", "sms_code"); `evidence` may hold
    the acquirer's `payer_token` for the card or wallet (never a card number: refused with
    CardNumberNotAllowed) and what proves the confirmation (kept on the timeline). Moves
    requires_confirmation -> processing and records `confirmed_at`; the submission task is
    queued after commit. A payment past its window is expired instead (PaymentExpired).
    """
    evidence = dict(evidence or {})
    method = (method or "").strip()
    if not method or len(method) > 32:
        raise ValidationFailed(details={"method": [_("Name the confirmation method.")]})
    payer_token = evidence.get("payer_token") or ""
    if not isinstance(payer_token, str) or len(payer_token) > 128:
        raise ValidationFailed(details={"payer_token": [_("Send the acquirer's token.")]})
    try:
        card_number_refuse(payer_token)
    except ValidationError as error:
        raise CardNumberNotAllowed() from error

    expired = False
    with transaction.atomic():
        locked = payment_lock(payment)
        now = timezone.now()
        if locked.status == PaymentStatus.EXPIRED:
            raise PaymentExpired()
        if locked.status == PaymentStatus.REQUIRES_CONFIRMATION and locked.expires_at <= now:
            # Expire it now rather than leave it to the sweep: the payer sees the truth.
            transition(
                locked,
                PaymentStatus.EXPIRED,
                actor=SYSTEM,
                reason="confirmation_window_passed",
                now=now,
                expired_at=now,
            )
            expired = True
        else:
            transition(
                locked,
                PaymentStatus.PROCESSING,
                actor=Actor.for_payer(payer),
                reason=f"confirmed_by_{method}",
                details={"method": method, "evidence": _evidence_summary(evidence)},
                now=now,
                confirmed_at=now,
                confirmation_method=method,
                confirmed_by=payer,
                payer_token=payer_token,
                next_query_at=now + SUBMISSION_SAFETY_NET,
                query_attempts=0,
            )
            payment_id = locked.pk
            transaction.on_commit(lambda: _submission_queue(payment_id))
    if expired:
        raise PaymentExpired()
    return locked


def _submission_queue(payment_id: int) -> None:
    from payments.tasks import payment_submit_to_gateway as task

    task.delay(payment_id)


def payment_submit_to_gateway(*, payment_id: int, is_last_attempt: bool = True) -> Payment:
    """Ask the acquirer to pay a processing payment and record its answer.

    Safe to run twice: a payment no longer processing is left alone, and the acquirer is
    idempotent on the payment's reference. The HTTP call holds no lock and no transaction.
    Outcomes: success -> succeeded (posting, webhook); decline -> failed with its reason;
    "processing" -> stays processing (the result comes by notification; queried after a
    minute); timeout, unverifiable or mismatching answer -> unknown (queried from a minute
    on). GatewayUnavailable (nothing was done) is raised for the task to retry, unless
    `is_last_attempt`, in which case the payment becomes unknown too.
    """
    payment = Payment.objects.select_related("merchant").get(pk=payment_id)
    if payment.status != PaymentStatus.PROCESSING:
        return payment
    gateway_name = payment_gateway_name(payment)
    acquirer = Actor.for_acquirer(gateway_name)
    try:
        result = payment_gateway(payment).pay(pay_request_for(payment))
    except GatewayUnavailable:
        if not is_last_attempt:
            raise
        logger.warning("payment %s: acquirer unavailable on every attempt", payment.public_id)
        return payment_mark_unknown(payment=payment, actor=acquirer, reason="gateway_unavailable")
    except GatewayTimeout as error:
        return payment_mark_unknown(
            payment=payment, actor=acquirer, reason=error.reason or error.code
        )
    except (InvalidSignature, GatewayMismatch) as error:
        logger.error(
            "payment %s: unusable answer from the acquirer (%s)", payment.public_id, error.code
        )
        return payment_mark_unknown(payment=payment, actor=acquirer, reason=error.code)
    except GatewayRejected as error:
        if error.reason == "reference_conflict":
            # Our reference names another payment at the acquirer: a bug, not a decline.
            logger.error("payment %s: the acquirer reports a reference conflict", payment.public_id)
            return payment_mark_unknown(payment=payment, actor=acquirer, reason=error.reason)
        try:
            return payment_mark_failed(
                payment=payment,
                actor=acquirer,
                reason="gateway_rejected",
                failure_code=error.reason or error.code,
                failure_message=str(error.details.get("acquirer_message") or error.message),
            )
        except InvalidTransition:
            return Payment.objects.get(pk=payment.pk)  # settled meanwhile by a notification
    except GatewayError as error:  # a malformed answer: the outcome is unknown
        logger.error("payment %s: gateway error %s", payment.public_id, error.reason)
        return payment_mark_unknown(
            payment=payment, actor=acquirer, reason=error.reason or error.code
        )

    updated = payment_gateway_result_apply(
        payment=payment, result=result, actor=acquirer, reason="gateway_response"
    )
    if result.status == GatewayStatus.PROCESSING:
        with transaction.atomic():
            locked = payment_lock(updated)
            if locked.status == PaymentStatus.PROCESSING:
                # The notification should settle it; query in a minute in case it is lost.
                locked.next_query_at = timezone.now() + QUERY_BACKOFF[0]
                locked.save(update_fields=["next_query_at", "updated_at"])
            updated = locked
    return updated
