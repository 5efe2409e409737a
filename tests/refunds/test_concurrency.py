"""Real concurrency on separate connections: the payment lock keeps the refunds of a
payment within its amount, the merchant lock keeps two payments' refunds within the
balance."""

import threading
from typing import Any

import pytest

from config.errors import ApplicationError
from merchants.models import Merchant, TeamRole
from refunds.errors import RefundExceedsBalance
from refunds.models import Refund, RefundStatus
from refunds.services import RefundActor, refund_approve, refund_create
from tests.payments.ledger.support import run_in_threads
from tests.refunds.support import (
    fund,
    ledger_is_balanced,
    pending_balance,
    person,
    refund_of,
    succeeded_payment,
)

pytestmark = pytest.mark.django_db(transaction=True)


def test_twenty_concurrent_refunds_asking_twice_the_amount_stop_at_the_amount(
    shop: Merchant, queued: list[tuple[str, Any]]
) -> None:
    # given a payment of 100,000 and a balance that covers far more
    fund(shop, 1_000_000)
    payment = succeeded_payment(shop, amount=100_000)
    owner = person(shop)
    start = threading.Barrier(20)

    def ask(_index: int) -> str:
        start.wait(timeout=30)
        try:
            refund = refund_create(
                payment=payment,
                amount=10_000,
                reason="requested_by_customer",
                actor=RefundActor.for_user(owner),
            )
        except ApplicationError as error:
            return error.code
        return refund.status

    # when 20 ask for 10,000 each at the same moment
    outcomes = run_in_threads(20, ask)

    # then exactly ten got through and ten were refused, and the sum is the amount
    assert sorted(outcomes) == ["processing"] * 10 + ["refund_exceeds_refundable"] * 10
    assert sum(Refund.objects.filter(payment=payment).values_list("amount", flat=True)) == 100_000
    assert Refund.objects.count() == 10
    assert len(queued) == 10
    assert pending_balance(shop)[2] == 100_000
    assert ledger_is_balanced()


def test_two_payments_refunds_racing_for_one_balance_cannot_both_take_it(
    shop: Merchant, queued: Any
) -> None:
    # given two payments of 10,000 (fee 60 each): a balance of 19,880
    first = succeeded_payment(shop, amount=10_000)
    second = succeeded_payment(shop, amount=10_000)
    owner = person(shop)
    start = threading.Barrier(2)

    def ask(index: int) -> str:
        start.wait(timeout=30)
        try:
            refund_of((first, second)[index], amount=10_000, by=owner)
        except RefundExceedsBalance as error:
            return error.code
        return "accepted"

    # when both are refunded in full at the same moment
    outcomes = run_in_threads(2, ask)

    # then the balance covered one; the other was refused, and nothing went negative
    assert sorted(outcomes) == ["accepted", "refund_exceeds_balance"]
    assert pending_balance(shop) == (9_880, 0, 10_000)
    assert ledger_is_balanced()


def test_two_approvers_at_once_send_the_refund_once(shop: Merchant, queued: Any) -> None:
    fund(shop, 1_000_000)
    payment = succeeded_payment(shop, amount=500_000)
    refund = refund_of(payment, amount=200_000, by=person(shop, TeamRole.ADMIN))
    approvers = [person(shop, TeamRole.OWNER), person(shop, TeamRole.FINANCE)]
    start = threading.Barrier(2)

    def approve(index: int) -> str:
        start.wait(timeout=30)
        try:
            refund_approve(refund=refund, actor=RefundActor.for_user(approvers[index]))
        except ApplicationError as error:
            return error.code
        return "approved"

    outcomes = run_in_threads(2, approve)

    assert sorted(outcomes) == ["approved", "invalid_transition"]
    refund.refresh_from_db()
    assert refund.status == RefundStatus.PROCESSING
    assert refund.events.filter(to_status="approved").count() == 1
    assert len(queued) == 1
    assert pending_balance(shop)[2] == 200_000
