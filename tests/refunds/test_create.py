"""Asking for a refund: the rules of refundability, who must approve, and that every
refused request leaves nothing behind."""

from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

import pytest
from django.utils import timezone

from accounts.models import AuditEvent
from accounts.roles import Role
from config.errors import ApplicationError, ValidationFailed
from merchants.models import ApiMode, Merchant, TeamRole
from payments.domain.models import Payment, PaymentStatus
from payments.services import CardNumberNotAllowed
from payments.webhooks.models import WebhookEvent
from refunds.errors import (
    PaymentNotRefundable,
    RefundExceedsBalance,
    RefundExceedsRefundable,
    RefundLimitReached,
    RefundNotAllowed,
    RefundWindowClosed,
)
from refunds.models import REFUND_TRANSITIONS, Refund, RefundStatus
from refunds.services import RefundActor, refund_create, refund_policy_set
from tests.merchants.platform import user
from tests.payments.payment_support import payment_of
from tests.refunds.support import (
    footprint,
    fund,
    pending_balance,
    person,
    refund_of,
    refund_postings,
    statuses,
    succeeded_payment,
)

pytestmark = pytest.mark.django_db


def test_the_transition_table_is_the_issue_s() -> None:
    allowed = {(a, b) for a, moves in REFUND_TRANSITIONS.items() for b in moves}
    assert allowed == {
        ("requested", "approved"),
        ("requested", "rejected"),
        ("requested", "canceled"),
        ("approved", "processing"),
        ("processing", "succeeded"),
        ("processing", "failed"),
        ("processing", "unknown"),
        ("processing", "manual_review"),
        ("unknown", "succeeded"),
        ("unknown", "failed"),
        ("unknown", "manual_review"),
        ("manual_review", "processing"),
        ("manual_review", "succeeded"),
        ("manual_review", "failed"),
    }


def test_a_refund_within_the_threshold_is_approved_and_sent_at_once(
    shop: Merchant, queued: list[tuple[str, Any]], django_capture_on_commit_callbacks: Any
) -> None:
    # given a succeeded live payment of ¥100.00 (pending 9,940 after the 0.6% fee)
    payment = succeeded_payment(shop, amount=10_000)
    owner = person(shop, TeamRole.OWNER)

    # when the owner refunds ¥30.00
    with django_capture_on_commit_callbacks(execute=True):
        refund = refund_of(payment, amount=3_000, by=owner)

    # then it is approved by Paydesk and processing, with its timeline, and queued once
    refund.refresh_from_db()
    assert refund.public_id.startswith("re_") and len(refund.public_id) == 27
    assert (refund.status, refund.amount, refund.currency, refund.mode) == (
        RefundStatus.PROCESSING,
        3_000,
        "CNY",
        ApiMode.LIVE,
    )
    assert (refund.requested_by, refund.requested_via, refund.approval_reason) == (
        owner,
        "portal",
        "",
    )
    assert statuses(refund) == [
        ("", "requested"),
        ("requested", "approved"),
        ("approved", "processing"),
    ]
    assert refund.approved_at is not None
    assert refund.sla_due_at == refund.approved_at + timedelta(hours=24)
    assert queued == [("refund_submit_to_gateway", refund.pk)]
    # and the money is in transit in the ledger
    assert refund_postings(refund) == [(f"refund:{refund.public_id}:initiate", "refund")]
    assert pending_balance(shop) == (9_940 - 3_000, 0, 3_000)
    # and refund.created is published, and every step audited
    event = WebhookEvent.objects.get(type="refund.created")
    assert event.payload["data"]["id"] == refund.public_id
    assert list(
        AuditEvent.objects.filter(object_type="refunds.refund", object_id=str(refund.pk))
        .order_by("id")
        .values_list("action")
    ) == [("refund.request",), ("refund.approved",), ("refund.processing",)]


def test_a_refund_above_the_threshold_waits_for_approval_and_moves_nothing(
    shop: Merchant, queued: list[tuple[str, Any]], django_capture_on_commit_callbacks: Any
) -> None:
    payment = succeeded_payment(shop, amount=300_000)

    with django_capture_on_commit_callbacks(execute=True):
        refund = refund_of(payment, amount=100_001)

    assert (refund.status, refund.approval_reason) == (RefundStatus.REQUESTED, "above_threshold")
    assert refund.sla_due_at is None
    assert refund_postings(refund) == []
    assert queued == []
    assert WebhookEvent.objects.filter(type="refund.created").count() == 1


def test_the_threshold_itself_needs_no_approval_and_the_merchant_policy_overrides_it(
    shop: Merchant, queued: list[tuple[str, Any]]
) -> None:
    payment = succeeded_payment(shop, amount=300_000)
    owner = person(shop)

    at_default = refund_of(payment, amount=100_000, by=owner)
    refund_policy_set(merchant=shop, approval_threshold=500, actor=owner)
    above_policy = refund_of(payment, amount=501, by=owner)
    at_policy = refund_of(payment, amount=500, by=owner)

    assert at_default.status == RefundStatus.PROCESSING
    assert above_policy.status == RefundStatus.REQUESTED
    assert at_policy.status == RefundStatus.PROCESSING
    assert AuditEvent.objects.get(action="refund.policy_change").after == {
        "approval_threshold": 500
    }


@pytest.mark.parametrize("who", ["team_support", "paydesk_agent"])
def test_every_refund_proposed_by_a_support_agent_waits_for_approval(
    shop: Merchant, queued: list[tuple[str, Any]], who: str
) -> None:
    payment = succeeded_payment(shop)
    if who == "team_support":
        agent = person(shop, TeamRole.SUPPORT)
    else:
        agent = user(roles=[Role.SUPPORT_AGENT])

    refund = refund_of(payment, amount=1, by=agent)

    assert (refund.status, refund.approval_reason) == (RefundStatus.REQUESTED, "support_agent")
    assert refund.requested_via == ("portal" if who == "team_support" else "staff")


def test_omitting_the_amount_refunds_everything_left(shop: Merchant, queued: Any) -> None:
    payment = succeeded_payment(shop, amount=10_000)
    fund(shop, 10_000)
    refund_of(payment, amount=2_500)

    rest = refund_of(payment, amount=None)

    assert rest.amount == 7_500


ErrorT = TypeVar("ErrorT", bound=ApplicationError)


def _refused(error: type[ErrorT], call: Callable[[], object]) -> ErrorT:
    before = footprint()
    with pytest.raises(error) as raised:
        call()
    assert footprint() == before
    return raised.value


@pytest.mark.parametrize(
    "status",
    [
        PaymentStatus.REQUIRES_CONFIRMATION,
        PaymentStatus.PROCESSING,
        PaymentStatus.UNKNOWN,
        PaymentStatus.FAILED,
        PaymentStatus.CANCELED,
        PaymentStatus.EXPIRED,
    ],
)
def test_only_a_succeeded_payment_is_refundable(shop: Merchant, status: str) -> None:
    payment = payment_of(shop, mode=ApiMode.LIVE, amount=10_000)
    Payment.objects.filter(pk=payment.pk).update(status=status)
    payment.refresh_from_db()

    error = _refused(PaymentNotRefundable, lambda: refund_of(payment, amount=100))

    assert error.details == {"payment_status": status}


def test_a_payment_older_than_the_window_is_not_refundable(shop: Merchant, settings: Any) -> None:
    payment = succeeded_payment(shop)
    Payment.objects.filter(pk=payment.pk).update(
        succeeded_at=timezone.now() - timedelta(days=365, minutes=1)
    )
    payment.refresh_from_db()

    _refused(RefundWindowClosed, lambda: refund_of(payment, amount=100))
    # the window is configurable
    settings.REFUND_WINDOW_DAYS = 366
    assert refund_of(payment, amount=100).amount == 100


def test_at_most_the_configured_number_of_refunds_per_payment(
    shop: Merchant, settings: Any, queued: Any
) -> None:
    settings.REFUND_MAX_PARTIAL_REFUNDS = 3
    payment = succeeded_payment(shop, amount=10_000)
    owner = person(shop)
    first = refund_of(payment, amount=100, by=owner)
    refund_of(payment, amount=100, by=owner)
    refund_of(payment, amount=100, by=owner)

    error = _refused(RefundLimitReached, lambda: refund_of(payment, amount=100, by=owner))
    assert error.details == {"limit": 3}

    # a refund that no longer counts (here: failed) frees its place
    Refund.objects.filter(pk=first.pk).update(status=RefundStatus.FAILED)
    assert refund_of(payment, amount=100, by=owner).status == RefundStatus.PROCESSING


def test_the_refunds_never_sum_past_the_payment_amount(shop: Merchant, queued: Any) -> None:
    # given a payment of 10,000 with 6,000 refunded (processing) and 3,000 awaiting approval
    fund(shop, 100_000)
    payment = succeeded_payment(shop, amount=10_000)
    owner = person(shop)
    refund_of(payment, amount=6_000, by=owner)
    refund_of(payment, amount=3_000, by=person(shop, TeamRole.SUPPORT))

    # when 1,001 more is asked, it is refused with the figures; 1,000 is accepted
    error = _refused(RefundExceedsRefundable, lambda: refund_of(payment, amount=1_001, by=owner))
    assert error.details == {"refundable": 1_000, "requested": 1_001, "currency": "CNY"}
    assert refund_of(payment, amount=1_000, by=owner).amount == 1_000
    _refused(RefundExceedsRefundable, lambda: refund_of(payment, amount=None, by=owner))


def test_failed_rejected_and_canceled_refunds_do_not_count(shop: Merchant, queued: Any) -> None:
    fund(shop, 100_000)
    payment = succeeded_payment(shop, amount=10_000)
    owner = person(shop)
    for status in (RefundStatus.FAILED, RefundStatus.REJECTED, RefundStatus.CANCELED):
        refund = refund_of(payment, amount=10_000, by=owner)
        Refund.objects.filter(pk=refund.pk).update(status=status)

    assert refund_of(payment, amount=10_000, by=owner).amount == 10_000


@pytest.mark.parametrize(
    ("fields", "error", "details"),
    [
        ({"amount": 0}, ValidationFailed, {"amount": ["The amount must be at least 1."]}),
        ({"amount": "100"}, ValidationFailed, {"amount": ["Send a whole number of minor units."]}),
        ({"amount": True}, ValidationFailed, {"amount": ["Send a whole number of minor units."]}),
        ({"reason": "changed_mind"}, ValidationFailed, None),
        ({"reason": "other", "reason_text": "  "}, ValidationFailed, {"reason_text": ["Say why."]}),
        (
            {"reason": "other", "reason_text": "card 4111 1111 1111 1111"},
            CardNumberNotAllowed,
            None,
        ),
    ],
)
def test_bad_input_is_refused_and_leaves_nothing(
    shop: Merchant, fields: dict[str, Any], error: type[ApplicationError], details: Any
) -> None:
    payment = succeeded_payment(shop)
    owner = person(shop)
    values = {"amount": 100, "reason": "duplicate", "reason_text": "", **fields}

    raised = _refused(
        error,
        lambda: refund_create(payment=payment, actor=RefundActor.for_user(owner), **values),
    )
    if details is not None:
        assert raised.details == details


def test_other_needs_its_text_and_keeps_it(shop: Merchant, queued: Any) -> None:
    payment = succeeded_payment(shop)

    refund = refund_of(payment, amount=100, reason="other", reason_text="  Wrong size sent  ")

    assert (refund.reason, refund.reason_text) == ("other", "Wrong size sent")


@pytest.mark.parametrize("role", [TeamRole.DEVELOPER, TeamRole.READ_ONLY])
def test_team_roles_without_the_refund_capability_cannot_ask(shop: Merchant, role: str) -> None:
    payment = succeeded_payment(shop)
    user = person(shop, role)

    _refused(RefundNotAllowed, lambda: refund_of(payment, amount=100, by=user))


def test_a_member_of_another_merchant_cannot_refund_this_one(shop: Merchant) -> None:
    payment = succeeded_payment(shop)
    other_owner = person(succeeded_payment(Merchant.objects.create(name="Other")).merchant)

    _refused(RefundNotAllowed, lambda: refund_of(payment, amount=100, by=other_owner))


def test_the_refuse_policy_refuses_a_refund_the_balance_does_not_cover(shop: Merchant) -> None:
    # given a payment of 10,000 whose fee (60) leaves a balance of 9,940
    payment = succeeded_payment(shop, amount=10_000)

    # when all of it is refunded at once, it is refused (nothing left behind)
    error = _refused(RefundExceedsBalance, lambda: refund_of(payment, amount=10_000))

    assert error.details == {"currency": "CNY", "balance": 9_940, "requested": 10_000}
    assert pending_balance(shop) == (9_940, 0, 0)


def test_the_allow_negative_policy_takes_the_balance_below_zero(
    shop: Merchant, settings: Any, queued: Any
) -> None:
    settings.REFUND_INSUFFICIENT_BALANCE_POLICY = "allow_negative"
    payment = succeeded_payment(shop, amount=10_000)

    refund = refund_of(payment, amount=10_000)

    # pending first (9,940), the 60 it does not cover from available, which goes negative
    assert refund.status == RefundStatus.PROCESSING
    assert pending_balance(shop) == (0, -60, 10_000)


def test_a_test_mode_refund_moves_no_money(shop: Merchant, queued: Any) -> None:
    payment = succeeded_payment(shop, amount=10_000, mode=ApiMode.TEST)

    refund = refund_of(payment, amount=10_000)

    assert (refund.status, refund.mode) == (RefundStatus.PROCESSING, ApiMode.TEST)
    assert refund_postings(refund) == []
