"""Asynchronous notifications: delivered more than once, each signed, and refused when
forged, stale, replayed or about another amount."""

import json
import time
from typing import Any

import pytest
from django.conf import settings

from payments.gateways import (
    GatewayMismatch,
    GatewayStatus,
    InvalidSignature,
    Notification,
    NotificationKind,
    RefundRequest,
)
from payments.gateways.sandbox import SandboxGateway
from payments.gateways.signing import NONCE_HEADER, SIGNATURE_HEADER, signature_headers
from tests.helpers.sandbox_acquirer import SandboxAcquirer, unique_reference
from tests.payments.gateways.support import Delivery, NotifyReceiver, pay_request

NOTIFY_PATH = "/notify/sandbox/?merchant=m1"


def parse(gateway: SandboxGateway, delivery: Delivery, **changes: object) -> Notification:
    values: dict[str, Any] = {
        "method": delivery.method,
        "path": delivery.path,
        "headers": delivery.headers,
        "body": delivery.body,
        **changes,
    }
    return gateway.parse_notification(**values)


def test_an_async_payment_is_notified_several_times_each_signed(
    gateway: SandboxGateway, notify_receiver: NotifyReceiver, sandbox_acquirer: SandboxAcquirer
) -> None:
    # given a payment the acquirer answers later (magic 20200)
    request = pay_request(20200, notify_url=notify_receiver.url)

    # when Paydesk pays
    result = gateway.pay(request)

    # then the answer is "processing", and the result arrives as repeated notifications
    assert result.status is GatewayStatus.PROCESSING
    deliveries = notify_receiver.wait_for(request.reference, sandbox_acquirer.notify_repeats)
    assert len(deliveries) == 3
    assert {d.path for d in deliveries} == {NOTIFY_PATH}
    assert len({d.headers[NONCE_HEADER] for d in deliveries}) == 3  # each freshly signed
    notifications = [parse(gateway, d) for d in deliveries]
    assert {n.notification_id for n in notifications} == {notifications[0].notification_id}
    first = notifications[0]
    assert (first.kind, first.reference, first.payment_reference) == (
        NotificationKind.PAYMENT,
        request.reference,
        request.reference,
    )
    assert (first.status, first.amount, first.currency) == (GatewayStatus.SUCCEEDED, 20200, "CNY")
    assert first.acquirer_reference == result.acquirer_reference
    assert sorted(n.raw["attempt"] for n in notifications) == [1, 2, 3]
    assert gateway.query(request.reference).status is GatewayStatus.SUCCEEDED
    first.check_matches(reference=request.reference, amount=20200, currency="CNY")


def test_an_async_failure_is_notified_with_its_reason(
    gateway: SandboxGateway, notify_receiver: NotifyReceiver
) -> None:
    request = pay_request(20201, notify_url=notify_receiver.url)

    assert gateway.pay(request).status is GatewayStatus.PROCESSING

    notification = parse(gateway, notify_receiver.wait_for(request.reference, 1)[0])
    assert (notification.status, notification.decline_code) == (
        GatewayStatus.FAILED,
        "insufficient_funds",
    )


def test_a_synchronous_result_is_notified_too(
    gateway: SandboxGateway, notify_receiver: NotifyReceiver
) -> None:
    request = pay_request(40002, notify_url=notify_receiver.url)

    result = gateway.pay(request)

    notification = parse(gateway, notify_receiver.wait_for(request.reference, 1)[0])
    assert (notification.status, notification.decline_code) == (result.status, "do_not_honor")


def test_an_async_refund_is_notified(
    gateway: SandboxGateway, notify_receiver: NotifyReceiver
) -> None:
    payment = gateway.pay(pay_request(30000)).reference
    refund = RefundRequest(
        refund_reference=unique_reference("rf"),
        payment_reference=payment,
        amount=20200,
        currency="CNY",
        notify_url=notify_receiver.url,
    )

    assert gateway.refund(refund).status is GatewayStatus.PROCESSING

    notification = parse(gateway, notify_receiver.wait_for(refund.refund_reference, 1)[0])
    assert (notification.kind, notification.reference, notification.payment_reference) == (
        NotificationKind.REFUND,
        refund.refund_reference,
        payment,
    )
    assert (notification.status, notification.amount) == (GatewayStatus.SUCCEEDED, 20200)


def test_forged_stale_and_replayed_notifications_are_refused(
    gateway: SandboxGateway, notify_receiver: NotifyReceiver
) -> None:
    # given a genuine notification, as delivered
    request = pay_request(1500, notify_url=notify_receiver.url)
    gateway.pay(request)
    genuine = notify_receiver.wait_for(request.reference, 1)[0]
    tampered_body = genuine.body.replace(b'"amount":1500', b'"amount":15')
    assert tampered_body != genuine.body
    forged_signature = {**genuine.headers, SIGNATURE_HEADER: "0" * 64}
    wrong_direction = signature_headers(
        settings.SANDBOX_ACQUIRER_REQUEST_SECRET, method="POST", path=NOTIFY_PATH, body=genuine.body
    )
    stale = signature_headers(
        settings.SANDBOX_ACQUIRER_RESPONSE_SECRET,
        method="POST",
        path=NOTIFY_PATH,
        body=genuine.body,
        now=time.time() - 301,
    )
    refusals: dict[str, dict[str, object]] = {
        "tampered amount": {"body": tampered_body},
        "bad signature": {"headers": forged_signature},
        "another path": {"path": "/notify/sandbox/?merchant=m2"},
        "request secret": {"headers": wrong_direction},
        "no signature": {"headers": {}},
        "stale timestamp": {"headers": stale},
    }
    expected = {
        "tampered amount": "invalid_signature",
        "bad signature": "invalid_signature",
        "another path": "invalid_signature",
        "request secret": "invalid_signature",
        "no signature": "missing_signature",
        "stale timestamp": "stale_timestamp",
    }

    # when each forgery is parsed, then each is refused for its reason
    reasons = {}
    for name, changes in refusals.items():
        with pytest.raises(InvalidSignature) as raised:
            parse(gateway, genuine, **changes)
        reasons[name] = raised.value.reason
    assert reasons == expected

    # and the genuine one is accepted once, its exact replay refused
    assert parse(gateway, genuine).amount == 1500
    with pytest.raises(InvalidSignature) as replayed:
        parse(gateway, genuine)
    assert replayed.value.reason == "replayed_nonce"


def test_a_genuine_notification_about_another_amount_does_not_match(
    gateway: SandboxGateway, notify_receiver: NotifyReceiver
) -> None:
    # given a genuine notification for a payment of 1700
    request = pay_request(1700, notify_url=notify_receiver.url)
    gateway.pay(request)
    notification = parse(gateway, notify_receiver.wait_for(request.reference, 1)[0])

    # when Paydesk checks it against a payment of another amount, currency or reference
    # then it is refused
    mismatches: tuple[dict[str, Any], ...] = (
        {"reference": request.reference, "amount": 1701, "currency": "CNY"},
        {"reference": request.reference, "amount": 1700, "currency": "USD"},
        {"reference": unique_reference(), "amount": 1700, "currency": "CNY"},
    )
    for expected in mismatches:
        with pytest.raises(GatewayMismatch) as raised:
            notification.check_matches(**expected)
        assert raised.value.details["expected"] == expected


def test_an_earlier_state_can_be_notified_out_of_order(
    gateway: SandboxGateway, notify_receiver: NotifyReceiver, sandbox_acquirer: SandboxAcquirer
) -> None:
    # given an async payment that has succeeded and been notified
    request = pay_request(20200, notify_url=notify_receiver.url)
    gateway.pay(request)
    notify_receiver.wait_for(request.reference, sandbox_acquirer.notify_repeats)

    # when the acquirer is made to deliver its earlier "processing" state late
    answer = sandbox_acquirer.notify("payment", request.reference, status="processing")

    # then a valid notification of the earlier state arrives after the final ones
    assert answer == {
        "status": "processing",
        "notify_url": notify_receiver.url,
        "receiver_status": 200,
    }
    late = notify_receiver.wait_for(request.reference, sandbox_acquirer.notify_repeats + 1)[-1]
    notification = parse(gateway, late)
    assert (notification.status, notification.completed_at) == (GatewayStatus.PROCESSING, None)
    assert json.loads(late.body)["attempt"] == 1
    # and a state the payment never had cannot be notified
    response = sandbox_acquirer.signed_request(
        "POST",
        "/v1/admin/notify",
        {"kind": "payment", "reference": request.reference, "status": "failed"},
    )
    assert response.status_code == 400
