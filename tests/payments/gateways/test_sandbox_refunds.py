"""Refunds through the sandbox adapter: idempotent on the refund reference, never above
what was captured."""

import pytest

from payments.gateways import (
    GatewayNotFound,
    GatewayRejected,
    GatewayStatus,
    GatewayTimeout,
    GatewayUnavailable,
    RefundRequest,
)
from payments.gateways.sandbox import SandboxGateway
from tests.helpers.sandbox_acquirer import SandboxAcquirer, unique_reference
from tests.payments.gateways.support import final_refund, pay_request


def captured(gateway: SandboxGateway, amount: int) -> str:
    result = gateway.pay(pay_request(amount))
    assert result.status is GatewayStatus.SUCCEEDED
    return result.reference


def refund_request(payment_reference: str, amount: int, **fields: str) -> RefundRequest:
    values = {"refund_reference": unique_reference("rf"), "currency": "CNY", **fields}
    return RefundRequest(payment_reference=payment_reference, amount=amount, **values)


def test_a_refund_succeeds_and_query_agrees(gateway: SandboxGateway) -> None:
    # given a captured payment
    payment = captured(gateway, 1000)

    # when part of it is refunded
    request = refund_request(payment, 600)
    result = gateway.refund(request)

    # then the refund succeeded and refund_query returns the same
    assert (result.status, result.amount, result.payment_reference) == (
        GatewayStatus.SUCCEEDED,
        600,
        payment,
    )
    assert result.acquirer_reference.startswith("SBXR")
    assert gateway.refund_query(request.refund_reference) == result


def test_a_repeated_refund_reference_refunds_once(gateway: SandboxGateway) -> None:
    # given a payment of 1000 with a refund of 600
    payment = captured(gateway, 1000)
    request = refund_request(payment, 600)
    first = gateway.refund(request)

    # when the same refund is sent again
    second = gateway.refund(request)

    # then it is the first refund, and only 600 counts against the payment: 400 remain
    assert second == first
    assert gateway.refund(refund_request(payment, 400)).status is GatewayStatus.SUCCEEDED
    with pytest.raises(GatewayRejected) as raised:
        gateway.refund(refund_request(payment, 1))
    assert raised.value.reason == "refund_exceeds_captured"


def test_a_refund_above_the_captured_amount_is_refused_and_records_nothing(
    gateway: SandboxGateway,
) -> None:
    # given a captured payment of 1000
    payment = captured(gateway, 1000)
    request = refund_request(payment, 1001)

    # when a refund of 1001 is asked
    with pytest.raises(GatewayRejected) as raised:
        gateway.refund(request)

    # then it is refused, not retryable, with the figures, and no refund exists
    assert raised.value.retryable is False
    assert raised.value.reason == "refund_exceeds_captured"
    assert raised.value.details["http_status"] == 422
    with pytest.raises(GatewayNotFound):
        gateway.refund_query(request.refund_reference)
    # and the whole amount can still be refunded
    assert gateway.refund(refund_request(payment, 1000)).status is GatewayStatus.SUCCEEDED


def test_refunds_of_unknown_or_failed_payments_are_refused(gateway: SandboxGateway) -> None:
    declined = gateway.pay(pay_request(40001))

    with pytest.raises(GatewayNotFound) as unknown:
        gateway.refund(refund_request(unique_reference(), 100))
    with pytest.raises(GatewayRejected) as not_captured:
        gateway.refund(refund_request(declined.reference, 100))

    assert unknown.value.reason == "payment_not_found"
    assert not_captured.value.reason == "payment_not_captured"


def test_a_refund_in_another_currency_is_refused(gateway: SandboxGateway) -> None:
    payment = captured(gateway, 1000)

    with pytest.raises(GatewayRejected) as raised:
        gateway.refund(refund_request(payment, 100, currency="USD"))

    assert raised.value.reason == "currency_mismatch"


def test_a_declined_refund_does_not_use_up_the_balance(gateway: SandboxGateway) -> None:
    # given a captured payment of 100000
    payment = captured(gateway, 100000)

    # when a refund of the magic amount 40001 is declined
    declined = gateway.refund(refund_request(payment, 40001))

    # then it failed with its reason, and the whole payment can still be refunded
    assert (declined.status, declined.decline_code) == (
        GatewayStatus.FAILED,
        "insufficient_merchant_balance",
    )
    assert gateway.refund(refund_request(payment, 100000)).status is GatewayStatus.SUCCEEDED


def test_a_timed_out_refund_retried_with_its_reference_is_paid_once(
    gateway: SandboxGateway, sandbox_acquirer: SandboxAcquirer
) -> None:
    # given a captured payment of 50000 and a refund of 40800 that times out
    payment = captured(gateway, 50000)
    request = refund_request(payment, 40800)
    with pytest.raises(GatewayTimeout):
        gateway.refund(request)

    # when Paydesk retries with the same refund reference
    retried = gateway.refund(request)

    # then the retry sees the same refund still processing, which already holds the balance
    assert retried.status is GatewayStatus.PROCESSING
    with pytest.raises(GatewayRejected) as raised:
        gateway.refund(refund_request(payment, 9201))
    assert raised.value.details["reason"] == "refund_exceeds_captured"
    # and it ends succeeded, once
    final = final_refund(
        gateway, request.refund_reference, timeout=sandbox_acquirer.hang_seconds + 2
    )
    assert final.status is GatewayStatus.SUCCEEDED
    assert final.acquirer_reference == retried.acquirer_reference
    assert gateway.refund(refund_request(payment, 9200)).status is GatewayStatus.SUCCEEDED


def test_a_refund_retried_after_unavailable_succeeds(gateway: SandboxGateway) -> None:
    # given a refund whose first attempt meets an unavailable acquirer
    payment = captured(gateway, 60000)
    request = refund_request(payment, 50301)
    with pytest.raises(GatewayUnavailable) as raised:
        gateway.refund(request)
    assert raised.value.retryable is True

    # when Paydesk retries with the same refund reference, then it succeeds
    assert gateway.refund(request).status is GatewayStatus.SUCCEEDED
