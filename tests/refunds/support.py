"""Helpers of the refunds tests: succeeded payments, members, refunds, ledger figures."""

import uuid
from typing import Any

from django.db import transaction

from accounts.models import AuditEvent, User
from merchants.models import ApiMode, Merchant, TeamRole
from payments.domain.models import Payment, PaymentStatus
from payments.ledger.models import LedgerPosting, PostingKind
from payments.ledger.recipes import payment_capture_lines, posting_key
from payments.ledger.selectors import merchant_balances, trial_balance
from payments.ledger.services import posting_create
from payments.services import payment_mark_succeeded
from payments.services import payments as payment_services
from payments.services.transitions import SYSTEM as PAYMENTS_SYSTEM
from payments.webhooks.models import WebhookEvent
from refunds.models import Refund, RefundEvent
from refunds.services import RefundActor, refund_create
from tests.merchants.platform import member
from tests.payments.payment_support import confirmed, payment_of

REFUNDS_URL = "/api/v1/refunds"


def succeeded_payment(
    merchant: Merchant,
    *,
    amount: int = 10_000,
    mode: str = ApiMode.LIVE,
    via_acquirer: bool = False,
    payer_email: str = "payer@example.com",
    **fields: Any,
) -> Payment:
    """Return a succeeded payment of `merchant` (live: with its capture posting, fee 0.6%).

    `via_acquirer` captures it at the sandbox acquirer (needed before refunding it there);
    otherwise it is marked succeeded directly. One transaction: the confirmation's
    submission task, if a worker runs it, finds the payment already succeeded.
    """
    with transaction.atomic():
        payment = confirmed(
            payment_of(merchant, mode=mode, amount=amount, payer_email=payer_email, **fields)
        )
        if via_acquirer:
            payment = payment_services.payment_submit_to_gateway(payment_id=payment.pk)
        else:
            payment = payment_mark_succeeded(payment=payment, actor=PAYMENTS_SYSTEM, reason="test")
    assert payment.status == PaymentStatus.SUCCEEDED, payment.failure_code
    return payment


def fund(merchant: Merchant, amount: int, currency: str = "CNY") -> None:
    """Give `merchant` `amount` more pending balance (a capture without a fee)."""
    posting_create(
        key=posting_key("test-funding", uuid.uuid4().hex),
        kind=PostingKind.PAYMENT_CAPTURE,
        lines=payment_capture_lines(merchant=merchant, amount=amount, fee=0, currency=currency),
    )


def person(merchant: Merchant, role: str = TeamRole.OWNER) -> User:
    """Return a new member of `merchant` with team role `role`."""
    return member(merchant, role).user


def refund_of(
    payment: Payment,
    *,
    amount: int | None = 1_000,
    by: User | None = None,
    reason: str = "requested_by_customer",
    reason_text: str = "",
) -> Refund:
    """Ask for a refund through the service, as `by` (a new owner when not given)."""
    user = by or person(payment.merchant)
    return refund_create(
        payment=payment,
        amount=amount,
        reason=reason,
        reason_text=reason_text,
        actor=RefundActor.for_user(user),
    )


def statuses(refund: Refund) -> list[tuple[str, str]]:
    """Return the refund's timeline as (from, to) pairs."""
    return list(
        RefundEvent.objects.filter(refund=refund)
        .order_by("occurred_at", "id")
        .values_list("from_status", "to_status")
    )


def refund_postings(refund: Refund) -> list[tuple[str, str]]:
    """Return (key, kind) of the refund's ledger postings, in order."""
    return list(
        LedgerPosting.objects.filter(key__startswith=f"refund:{refund.public_id}:")
        .order_by("id")
        .values_list("key", "kind")
    )


def pending_balance(merchant: Merchant) -> tuple[int, int, int]:
    """Return (pending, available, refunds_in_transit) of `merchant` in CNY."""
    for balance in merchant_balances(merchant=merchant):
        if balance.currency == "CNY":
            return balance.pending, balance.available, balance.refunds_in_transit
    return 0, 0, 0


def ledger_is_balanced() -> bool:
    return all(value == 0 for value in trial_balance().values())


def footprint() -> dict[str, int]:
    """Count what a refund request could leave behind."""
    return {
        "refunds": Refund.objects.count(),
        "events": RefundEvent.objects.count(),
        "postings": LedgerPosting.objects.filter(key__startswith="refund:").count(),
        "webhooks": WebhookEvent.objects.filter(type__startswith="refund.").count(),
        "audit": AuditEvent.objects.filter(action__startswith="refund.").count(),
    }
