"""Asking for a refund and deciding on it: create, approve, reject, cancel; the policy.

A refund is created under the payment's row lock, where the sum of the payment's refunds
that are not failed, rejected or canceled is read and checked in the same transaction:
concurrent requests queue on the lock, so none can push the sum past the payment amount.

A refund that needs no approval is approved by Paydesk at once and sent on (processing)
in the same transaction; one that does waits in `requested` for an owner or finance user
who is not its requester (maker-checker). Approval moves the money into transit in the
ledger (live mode) and queues the submission task after commit.
"""

import logging
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Q, Sum
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.services.audit import audit_event_record
from config.errors import ValidationFailed
from merchants.models import ApiMode, Merchant, WebhookEventType
from payments.domain.models import Payment, PaymentStatus
from payments.domain.validators import card_number_refuse
from payments.services import CardNumberNotAllowed
from refunds import policies
from refunds.errors import (
    ApprovalRequiresPerson,
    ApproverIsRequester,
    PaymentNotRefundable,
    RefundExceedsRefundable,
    RefundLimitReached,
    RefundNotAllowed,
    RefundNotFound,
    RefundWindowClosed,
)
from refunds.models import (
    RELEASED_STATUSES,
    ApprovalReason,
    Refund,
    RefundActorType,
    RefundPolicy,
    RefundReason,
    RefundStatus,
    RequestChannel,
)
from refunds.services.common import (
    RefundActor,
    on_commit_queue,
    payment_lock,
    refund_audit,
    refund_event_append,
    refund_lock,
    transition,
    webhook_publish,
)
from refunds.services.ledger import refund_initiate_post

logger = logging.getLogger("refunds")

REASON_TEXT_MAX_LENGTH = 500
MAX_THRESHOLD = 2**63 - 1
AUTO_APPROVAL = RefundActor(RefundActorType.SYSTEM, label="auto_approval")
# A processing refund whose submission task never ran is found by the janitor after this.
SUBMISSION_SAFETY_NET = timedelta(minutes=5)


def _clean_text(value: str, field: str, *, required: bool) -> str:
    if not isinstance(value, str):
        raise ValidationFailed(details={field: [_("Send text.")]})
    text = value.strip()
    if required and not text:
        raise ValidationFailed(details={field: [_("Say why.")]})
    if len(text) > REASON_TEXT_MAX_LENGTH:
        raise ValidationFailed(
            details={field: [_("At most %d characters.") % REASON_TEXT_MAX_LENGTH]}
        )
    if "\x00" in text:
        raise ValidationFailed(details={field: [_("Text may not contain NUL characters.")]})
    try:
        card_number_refuse(text)
    except ValidationError as error:
        raise CardNumberNotAllowed(details={field: error.messages}) from None
    return text


def _check_api_key_scope(actor: RefundActor, merchant_id: int, mode: str) -> None:
    # Another merchant's object, or one of the other mode, is "not found" for a key.
    key = actor.api_key
    if key is None or key.merchant_id != merchant_id or key.mode != mode:
        raise RefundNotFound()


def _requester(actor: RefundActor, payment: Payment) -> tuple[str, User | None, bool]:
    """Return (channel, user, is_support_agent) for a request, or raise RefundNotAllowed."""
    if actor.type == RefundActorType.MERCHANT:
        _check_api_key_scope(actor, payment.merchant_id, payment.mode)
        return RequestChannel.API, None, False
    if actor.is_person:
        assert actor.user is not None
        if not policies.user_can_request_refund(actor.user, payment.merchant_id):
            raise RefundNotAllowed(_("You may not refund this merchant's payments."))
        is_member = policies.membership_of(actor.user, payment.merchant_id) is not None
        channel = RequestChannel.PORTAL if is_member else RequestChannel.STAFF
        return channel, actor.user, policies.is_support_agent_for(actor.user, payment.merchant_id)
    raise ValueError(f"a refund is requested by a person or an API key, not {actor.type!r}")


def _check_window(payment: Payment, now: datetime) -> None:
    window = policies.refund_window()
    if payment.succeeded_at is None or payment.succeeded_at + window < now:
        raise RefundWindowClosed(
            details={
                "succeeded_at": payment.succeeded_at.isoformat() if payment.succeeded_at else None,
                "window_days": window.days,
            }
        )


def refund_totals(payment: Payment) -> tuple[int, int]:
    """Return (amount, count) of `payment`'s refunds that still count against it.

    Every refund that is not failed, rejected or canceled counts: requested ones too, so
    that two pending requests cannot together exceed the payment. For a decision, call it
    under the payment's lock (`payment_lock`).
    """
    totals = Refund.objects.filter(payment=payment).aggregate(
        amount=Sum("amount", filter=~Q(status__in=RELEASED_STATUSES), default=0),
        count=Count("id", filter=~Q(status__in=RELEASED_STATUSES)),
    )
    return int(totals["amount"]), int(totals["count"])


def _send(
    refund: Refund, *, actor: RefundActor, now: datetime, request: HttpRequest | None
) -> None:
    """approved -> processing: move the money into transit and queue the submission.

    Raise RefundExceedsBalance (the whole transaction rolls back) when the merchant's
    balance does not cover it and the policy is to refuse.
    """
    transition(
        refund,
        RefundStatus.PROCESSING,
        actor=actor,
        reason="sent_to_acquirer",
        now=now,
        request=request,
        processing_at=now,
        next_query_at=now + SUBMISSION_SAFETY_NET,
        query_attempts=0,
        failure_code="",
        failure_message="",
    )
    refund_initiate_post(refund)
    on_commit_queue("refund_submit_to_gateway", refund.pk)


def _approve_and_send(
    refund: Refund,
    *,
    actor: RefundActor,
    reason: str,
    now: datetime,
    request: HttpRequest | None,
    note: str = "",
) -> Refund:
    transition(
        refund,
        RefundStatus.APPROVED,
        actor=actor,
        reason=reason,
        details={"note": note} if note else None,
        now=now,
        request=request,
        approved_at=now,
        sla_due_at=now + policies.refund_sla(),
        decided_by=actor.user,
        decision_label=actor.label[:100],
        decision_reason=note,
    )
    _send(refund, actor=actor, now=now, request=request)
    return refund


def refund_create(
    *,
    payment: Payment,
    amount: int | None,
    reason: str,
    reason_text: str = "",
    actor: RefundActor,
    request: HttpRequest | None = None,
) -> Refund:
    """Ask for a refund of `amount` minor units of `payment` (None: all that is left).

    `actor` is a person (a member with the "refund" capability, or a Paydesk support
    agent) or an API key of the payment's merchant and mode. `reason` is a RefundReason;
    `reason_text` is required for "other".

    Refused, leaving nothing behind: ValidationFailed / CardNumberNotAllowed for bad
    input, RefundNotAllowed (403) or RefundNotFound (404, for a key) out of scope,
    PaymentNotRefundable, RefundWindowClosed, RefundLimitReached,
    RefundExceedsRefundable, and RefundExceedsBalance (a refund that needs no approval,
    "refuse" policy). All checks that depend on other refunds run under the payment lock.

    Publishes `refund.created`. Returns the refund: `requested` when it waits for
    approval, else `processing` (approved by Paydesk, submission queued after commit).
    """
    if reason not in RefundReason.values:
        raise ValidationFailed(
            details={"reason": [_("Choose one of: %s.") % ", ".join(RefundReason.values)]}
        )
    text = _clean_text(reason_text or "", "reason_text", required=reason == RefundReason.OTHER)
    if amount is not None and (isinstance(amount, bool) or not isinstance(amount, int)):
        raise ValidationFailed(details={"amount": [_("Send a whole number of minor units.")]})
    if amount is not None and amount <= 0:
        raise ValidationFailed(details={"amount": [_("The amount must be at least 1.")]})
    channel, user, is_support_agent = _requester(actor, payment)

    with transaction.atomic():
        locked = payment_lock(payment)
        now = timezone.now()
        if locked.status != PaymentStatus.SUCCEEDED:
            raise PaymentNotRefundable(details={"payment_status": locked.status})
        _check_window(locked, now)
        refunded, count = refund_totals(locked)
        if count >= policies.max_partial_refunds():
            raise RefundLimitReached(details={"limit": policies.max_partial_refunds()})
        refundable = locked.amount - refunded
        wanted = refundable if amount is None else amount
        if wanted <= 0 or wanted > refundable:
            raise RefundExceedsRefundable(
                details={"refundable": refundable, "requested": wanted, "currency": locked.currency}
            )
        approval_reason: str
        if is_support_agent:
            approval_reason = ApprovalReason.SUPPORT_AGENT
        elif wanted > policies.approval_threshold_for(locked.merchant):
            approval_reason = ApprovalReason.ABOVE_THRESHOLD
        else:
            approval_reason = ""

        refund = Refund.objects.create(
            merchant=locked.merchant,
            payment=locked,
            mode=locked.mode,
            amount=wanted,
            currency=locked.currency,
            reason=reason,
            reason_text=text,
            requested_via=channel,
            requested_by=user,
            requester_label=actor.label[:100],
            approval_reason=approval_reason,
            created_at=now,
        )
        refund_event_append(
            refund,
            from_status="",
            to_status=RefundStatus.REQUESTED,
            actor=actor,
            reason=approval_reason or "requested",
            details={"refundable_before": refundable},
            occurred_at=now,
        )
        refund_audit(
            refund,
            action="refund.request",
            actor=actor,
            before=None,
            after={
                "status": RefundStatus.REQUESTED,
                "payment": locked.public_id,
                "amount": wanted,
                "currency": locked.currency,
                "reason": reason,
                "approval_reason": approval_reason,
            },
            request=request,
        )
        if not approval_reason:
            _approve_and_send(
                refund, actor=AUTO_APPROVAL, reason="within_threshold", now=now, request=request
            )
        webhook_publish(refund, WebhookEventType.REFUND_CREATED)
    return refund


def _check_decider(refund: Refund, actor: RefundActor, *, approving: bool) -> None:
    """Raise unless `actor` may approve (or reject) `refund`: maker-checker."""
    if actor.type == RefundActorType.MERCHANT:
        _check_api_key_scope(actor, refund.merchant_id, refund.mode)
        if approving and refund.mode != ApiMode.TEST:
            raise ApprovalRequiresPerson()
        return
    if not actor.is_person:
        raise ValueError(f"a refund is decided by a person or an API key, not {actor.type!r}")
    assert actor.user is not None
    if not policies.user_can_decide_refunds(actor.user, refund.merchant_id):
        raise RefundNotAllowed(_("Only an owner or a finance user can decide on refunds."))
    if not policies.user_can_decide_refund(actor.user, refund):
        raise ApproverIsRequester()


def refund_approve(
    *,
    refund: Refund,
    actor: RefundActor,
    reason: str = "",
    request: HttpRequest | None = None,
) -> Refund:
    """Approve a refund awaiting approval and send it on to the acquirer.

    `reason` is an optional note, kept as the decision reason and on the timeline.

    `actor` is an owner or finance user of the merchant who did not request it
    (RefundNotAllowed, ApproverIsRequester otherwise), or, in test mode only, an API key
    of the merchant (ApprovalRequiresPerson in live mode). Raise InvalidTransition unless
    the refund is `requested`, RefundWindowClosed when the payment has grown too old
    meanwhile, RefundExceedsBalance under the "refuse" policy: nothing changes then.
    """
    note = _clean_text(reason or "", "reason", required=False)
    _check_decider(refund, actor, approving=True)
    with transaction.atomic():
        locked_payment = payment_lock(refund.payment_id)
        locked = refund_lock(refund)
        now = timezone.now()
        if locked.status == RefundStatus.REQUESTED:
            _check_window(locked_payment, now)
        _approve_and_send(
            locked, actor=actor, reason="approved", now=now, request=request, note=note
        )
    return locked


def refund_reject(
    *, refund: Refund, actor: RefundActor, reason: str, request: HttpRequest | None = None
) -> Refund:
    """Refuse a refund awaiting approval, saying why (required). No money moves.

    `actor`: an owner or finance user who did not request it, or an API key of the
    merchant (declining moves no money, so the merchant system may do it in both modes).
    Raise InvalidTransition unless the refund is `requested`.
    """
    text = _clean_text(reason or "", "reason", required=True)
    _check_decider(refund, actor, approving=False)
    with transaction.atomic():
        locked = refund_lock(refund)
        now = timezone.now()
        return transition(
            locked,
            RefundStatus.REJECTED,
            actor=actor,
            reason="rejected",
            details={"reason": text},
            now=now,
            request=request,
            rejected_at=now,
            decided_by=actor.user,
            decision_label=actor.label[:100],
            decision_reason=text,
        )


def refund_cancel(
    *, refund: Refund, actor: RefundActor, reason: str = "", request: HttpRequest | None = None
) -> Refund:
    """Withdraw a refund that still awaits approval.

    Only its requester: the person who asked for it, or, for a refund requested over the
    API, an API key of the merchant in the same mode. Raise RefundNotAllowed otherwise,
    InvalidTransition unless the refund is `requested`.
    """
    text = _clean_text(reason or "", "reason", required=False)
    if actor.type == RefundActorType.MERCHANT:
        _check_api_key_scope(actor, refund.merchant_id, refund.mode)
        if refund.requested_via != RequestChannel.API:
            raise RefundNotAllowed(
                _("This refund was requested in the portal: an owner or finance user rejects it.")
            )
    elif actor.user is None or not policies.user_can_cancel_refund(actor.user, refund):
        raise RefundNotAllowed(_("Only the person who asked for a refund can cancel it."))
    with transaction.atomic():
        locked = refund_lock(refund)
        now = timezone.now()
        return transition(
            locked,
            RefundStatus.CANCELED,
            actor=actor,
            reason="canceled",
            details={"reason": text} if text else None,
            now=now,
            request=request,
            canceled_at=now,
            decision_reason=text,
        )


def refund_policy_set(
    *,
    merchant: Merchant,
    approval_threshold: int,
    actor: User,
    request: HttpRequest | None = None,
) -> RefundPolicy:
    """Set `merchant`'s approval threshold (minor units; 0: every refund needs approval).

    Only an owner (RefundNotAllowed otherwise). Audited with the old and new values.
    """
    if not policies.user_can_set_refund_policy(actor, merchant):
        raise RefundNotAllowed(_("Only an owner can change the refund approval threshold."))
    if (
        isinstance(approval_threshold, bool)
        or not isinstance(approval_threshold, int)
        or not 0 <= approval_threshold <= MAX_THRESHOLD
    ):
        raise ValidationFailed(
            details={"approval_threshold": [_("Send a whole number of minor units, 0 or more.")]}
        )
    with transaction.atomic():
        # The merchant's row serialises the first creation of its policy row.
        Merchant.objects.select_for_update(no_key=True).filter(pk=merchant.pk).exists()
        policy = RefundPolicy.objects.select_for_update().filter(merchant=merchant).first()
        before: dict[str, Any] = {
            "approval_threshold": policy.approval_threshold
            if policy
            else policies.approval_threshold_default()
        }
        if policy is None:
            policy = RefundPolicy(merchant=merchant)
        policy.approval_threshold = approval_threshold
        policy.updated_by = actor
        policy.save()
        audit_event_record(
            action="refund.policy_change",
            actor=actor,
            target=merchant,
            before=before,
            after={"approval_threshold": approval_threshold},
            request=request,
        )
    return policy
