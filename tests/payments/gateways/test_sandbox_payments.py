"""Payments through the sandbox adapter against the real sandbox acquirer service."""

import time

import pytest

from payments.gateways import (
    GatewayNotFound,
    GatewayRejected,
    GatewayStatus,
    GatewayTimeout,
    GatewayUnavailable,
    PayRequest,
)
from payments.gateways.sandbox import SandboxGateway
from tests.helpers.sandbox_acquirer import SandboxAcquirer, unique_reference
from tests.payments.gateways.support import final_payment, pay_request


def test_an_ordinary_amount_is_approved_and_query_agrees(gateway: SandboxGateway) -> None:
    # given a payment of an amount that is not magic
    request = pay_request(1000)

    # when Paydesk pays
    result = gateway.pay(request)

    # then it succeeded, and a query returns the same answer
    assert result.reference == request.reference
    assert result.status is GatewayStatus.SUCCEEDED
    assert (result.amount, result.currency) == (1000, "CNY")
    assert result.acquirer_reference.startswith("SBXP")
    assert (result.decline_code, result.decline_message) == ("", "")
    assert result.completed_at is not None
    assert gateway.query(request.reference) == result


@pytest.mark.parametrize(
    ("amount", "code", "message"),
    [
        (40001, "insufficient_funds", "Insufficient funds"),
        (40002, "do_not_honor", "Do not honor"),
        (40003, "suspected_fraud", "Declined by the issuer's risk control"),
        (40004, "expired_card", "Expired card"),
    ],
)
def test_magic_amounts_are_declined_with_their_reason(
    gateway: SandboxGateway, amount: int, code: str, message: str
) -> None:
    # given / when a payment of a decline amount
    result = gateway.pay(pay_request(amount))

    # then it failed, with the documented reason
    assert result.status is GatewayStatus.FAILED
    assert (result.decline_code, result.decline_message) == (code, message)
    assert result.completed_at is not None


def test_a_time_out_raises_and_the_payment_later_succeeds_once(
    gateway: SandboxGateway, sandbox_acquirer: SandboxAcquirer
) -> None:
    # given a payment the acquirer answers only after the client's read timeout
    request = pay_request(40800)
    started = time.monotonic()

    # when Paydesk pays, it gives up after its read timeout: outcome unknown, retryable
    with pytest.raises(GatewayTimeout) as raised:
        gateway.pay(request)
    assert raised.value.retryable is True
    assert time.monotonic() - started < sandbox_acquirer.hang_seconds

    # then the acquirer still works on it; a retry with the same reference does not charge again
    assert gateway.query(request.reference).status is GatewayStatus.PROCESSING
    assert gateway.pay(request).status is GatewayStatus.PROCESSING
    final = final_payment(gateway, request.reference, timeout=sandbox_acquirer.hang_seconds + 2)
    assert final.status is GatewayStatus.SUCCEEDED
    assert gateway.pay(request) == final


def test_a_time_out_can_end_in_failure(
    gateway: SandboxGateway, sandbox_acquirer: SandboxAcquirer
) -> None:
    # given a payment that times out and then fails
    request = pay_request(40801)

    # when Paydesk pays
    with pytest.raises(GatewayTimeout):
        gateway.pay(request)

    # then a later query tells the failure and its reason
    final = final_payment(gateway, request.reference, timeout=sandbox_acquirer.hang_seconds + 2)
    assert (final.status, final.decline_code) == (GatewayStatus.FAILED, "issuer_unavailable")


def test_an_unavailable_acquirer_is_retryable_and_records_nothing(
    gateway: SandboxGateway,
) -> None:
    # given a payment of the "always unavailable" amount
    request = pay_request(50300)

    # when Paydesk pays
    with pytest.raises(GatewayUnavailable) as raised:
        gateway.pay(request)

    # then the error says retry, and the acquirer knows no such payment
    assert raised.value.retryable is True
    assert raised.value.details["http_status"] == 503
    with pytest.raises(GatewayNotFound) as not_found:
        gateway.query(request.reference)
    assert not_found.value.reason == "payment_not_found"


def test_a_retry_with_the_same_reference_succeeds_after_one_unavailable(
    gateway: SandboxGateway,
) -> None:
    # given a payment whose first attempt meets an unavailable acquirer
    request = pay_request(50301)
    with pytest.raises(GatewayUnavailable):
        gateway.pay(request)

    # when Paydesk retries with the same reference
    result = gateway.pay(request)

    # then it succeeds
    assert result.status is GatewayStatus.SUCCEEDED


def test_paying_again_with_the_same_reference_returns_the_first_result(
    gateway: SandboxGateway,
) -> None:
    # given a succeeded payment
    request = pay_request(2500)
    first = gateway.pay(request)

    # when the same request is sent again
    second = gateway.pay(request)

    # then the answer is the first one: same acquirer reference, same completion time
    assert second == first
    assert second.acquirer_reference == first.acquirer_reference


def test_a_used_reference_with_another_amount_is_refused(gateway: SandboxGateway) -> None:
    # given a succeeded payment
    request = pay_request(2500)
    first = gateway.pay(request)

    # when another amount is sent under its reference
    with pytest.raises(GatewayRejected) as raised:
        gateway.pay(pay_request(9900, reference=request.reference))

    # then it is refused as a conflict and the payment is unchanged
    assert raised.value.reason == "reference_conflict"
    assert raised.value.retryable is False
    assert gateway.query(request.reference) == first


def test_a_card_number_instead_of_a_token_is_refused(gateway: SandboxGateway) -> None:
    # given a request carrying what looks like a card number
    request = pay_request(1000, payer_token="4111 1111 1111 1111")

    # when Paydesk pays
    with pytest.raises(GatewayRejected) as raised:
        gateway.pay(request)

    # then it is refused and nothing is recorded
    assert raised.value.reason == "card_number_refused"
    with pytest.raises(GatewayNotFound):
        gateway.query(request.reference)


def test_unknown_reference_query_raises_not_found(gateway: SandboxGateway) -> None:
    with pytest.raises(GatewayNotFound) as raised:
        gateway.query(unique_reference())
    assert raised.value.reason == "payment_not_found"


def test_rates_decide_ordinary_amounts(
    gateway: SandboxGateway, sandbox_acquirer: SandboxAcquirer
) -> None:
    # given a decline rate of 1
    with sandbox_acquirer.configured(decline_rate=1.0):
        # when an ordinary amount is paid
        declined = gateway.pay(pay_request(1234))
    # and, with an async rate of 1, another
    with sandbox_acquirer.configured(async_rate=1.0):
        pending = gateway.pay(pay_request(1234))

    # then the first is declined with one of the random reasons, the second is processing
    assert declined.status is GatewayStatus.FAILED
    assert declined.decline_code in {
        "insufficient_funds",
        "do_not_honor",
        "expired_card",
        "suspected_fraud",
    }
    assert pending.status is GatewayStatus.PROCESSING
    # and the rates are back to 0: an ordinary amount is approved again
    assert gateway.pay(pay_request(1234)).status is GatewayStatus.SUCCEEDED


def test_the_adapter_refuses_requests_it_must_never_send() -> None:
    with pytest.raises(ValueError, match="amount"):
        pay_request(0)
    with pytest.raises(ValueError, match="amount"):
        pay_request(True)
    with pytest.raises(ValueError, match="currency"):
        pay_request(100, currency="cny")
    with pytest.raises(ValueError, match="reference"):
        PayRequest(reference="a/b", amount=1, currency="CNY", channel="card", merchant_ref="M")
