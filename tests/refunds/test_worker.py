"""End to end on a real Celery worker and the sandbox acquirer: concurrent requests over
the API, maker-checker in the portal's service, a retry that does not refund twice, the
ledger balanced after all of it."""

import threading
from typing import Any

import pytest

from merchants.models import ApiMode, TeamRole
from payments.gateways import GatewayRejected, RefundRequest, get_gateway
from payments.ledger.checks import ledger_check
from payments.ledger.models import CheckStatus
from payments.webhooks.models import WebhookEvent
from refunds.models import Refund, RefundStatus
from refunds.services import RefundActor, refund_approve
from tests.helpers.celery_worker import CeleryWorker, wait_until
from tests.helpers.sandbox_acquirer import SandboxAcquirer, unique_reference
from tests.merchants.platform import api_client
from tests.payments.ledger.support import run_in_threads
from tests.payments.payment_support import api_shop, post
from tests.refunds.support import (
    REFUNDS_URL,
    fund,
    ledger_is_balanced,
    pending_balance,
    person,
    refund_of,
    succeeded_payment,
)

pytestmark = [pytest.mark.celery, pytest.mark.django_db(transaction=True)]


def wait_all(status: str, count: int, timeout: float = 30) -> None:
    wait_until(
        lambda: Refund.objects.filter(status=status).count() == count,
        timeout=timeout,
        message=f"not every refund became {status}: "
        + str(list(Refund.objects.values_list("status", flat=True))),
    )


def acquirer_refuses_one_more_fen(payment: Any) -> bool:
    """Return whether the acquirer already counts the whole payment as refunded."""
    try:
        get_gateway().refund(
            RefundRequest(
                refund_reference=unique_reference("probe"),
                payment_reference=payment.public_id,
                amount=1,
                currency=payment.currency,
            )
        )
    except GatewayRejected as error:
        return error.reason == "refund_exceeds_captured"
    return False


def test_twenty_concurrent_api_refunds_for_twice_the_amount_refund_the_amount_once(
    celery_worker_process: CeleryWorker, acquirer: SandboxAcquirer
) -> None:
    # given a live payment of 100,000 captured at the acquirer, and a balance that covers it
    shop = api_shop(ApiMode.LIVE)
    fund(shop.merchant, 1_000_000)
    payment = succeeded_payment(shop.merchant, amount=100_000, via_acquirer=True)
    start = threading.Barrier(20)

    def ask(index: int) -> int:
        client = api_client(shop.raw_key)
        body = {"payment": payment.public_id, "amount": 10_000, "reason": "duplicate"}
        start.wait(timeout=30)
        return int(post(client, REFUNDS_URL, body, key=f"race-{index}").status_code)

    # when 20 clients ask for 10,000 each at once
    codes = run_in_threads(20, ask)

    # then ten were accepted and ten refused; the worker refunds the ten at the acquirer
    assert sorted(codes) == [201] * 10 + [409] * 10
    wait_all(RefundStatus.SUCCEEDED, 10)
    assert sum(Refund.objects.values_list("amount", flat=True)) == 100_000
    assert acquirer_refuses_one_more_fen(payment)
    assert WebhookEvent.objects.filter(type="refund.succeeded").count() == 10
    assert pending_balance(shop.merchant) == (1_000_000 + 99_400 - 100_000, 0, 0)
    # every payer email claimed once
    wait_until(lambda: not Refund.objects.filter(payer_notified_at__isnull=True).exists())
    assert ledger_is_balanced()
    assert ledger_check().status == CheckStatus.PASSED


def test_an_approved_proposal_is_refunded_by_the_worker_after_a_503_without_paying_twice(
    celery_worker_process: CeleryWorker, acquirer: SandboxAcquirer
) -> None:
    # given a support agent's proposal of 50,301 (the acquirer answers 503 the first time)
    shop = api_shop(ApiMode.LIVE)
    payment = succeeded_payment(shop.merchant, amount=60_000, via_acquirer=True)
    refund = refund_of(payment, amount=50_301, by=person(shop.merchant, TeamRole.SUPPORT))
    assert refund.status == RefundStatus.REQUESTED

    # when finance approves it (the portal's service)
    refund_approve(
        refund=refund, actor=RefundActor.for_user(person(shop.merchant, TeamRole.FINANCE))
    )

    # then the worker retries with the same reference and it succeeds, paid once
    wait_all(RefundStatus.SUCCEEDED, 1, timeout=30)
    refund.refresh_from_db()
    assert refund.acquirer_reference.startswith("SBXR")
    left = payment.amount - 50_301
    assert (
        get_gateway()
        .refund(
            RefundRequest(
                refund_reference=unique_reference("probe"),
                payment_reference=payment.public_id,
                amount=left,
                currency="CNY",
            )
        )
        .status
        == "succeeded"
    )
    assert acquirer_refuses_one_more_fen(payment)
    assert ledger_check().status == CheckStatus.PASSED
