"""Acquirer notifications: verified (signature, amount), applied once however often they
arrive and in whatever order; forged or mismatching ones change nothing."""

import json
from typing import Any

import pytest
from django.conf import LazySettings, settings
from django.test import Client
from django.utils import timezone

from payments.domain.models import Payment, PaymentStatus
from payments.gateways.signing import signature_headers
from payments.ledger.checks import ledger_check
from payments.ledger.models import CheckStatus, LedgerPosting
from payments.services import notifications
from payments.tasks import payment_submit_to_gateway
from payments.webhooks.models import WebhookEvent
from tests.helpers.celery_worker import wait_until
from tests.helpers.sandbox_acquirer import SandboxAcquirer
from tests.payments.payment_support import (
    ApiShop,
    api_shop,
    capture_postings,
    confirmed,
    refreshed,
    wait_status,
)

NOTIFY_PATH = "/api/acquirer/sandbox/notify"


def notification_body(payment: Payment, **changes: Any) -> bytes:
    """Return a notification about `payment` as the sandbox acquirer words it."""
    data = {
        "notification_id": f"ntf_{payment.public_id}_{changes.get('status', 'succeeded')}",
        "kind": "payment",
        "reference": payment.public_id,
        "payment_reference": payment.public_id,
        "status": "succeeded",
        "amount": payment.amount,
        "currency": payment.currency,
        "acquirer_reference": "SBXP0000000000000000TEST",
        "decline_code": "",
        "decline_message": "",
        "completed_at": timezone.now().isoformat(),
        "attempt": 1,
    }
    data.update(changes)
    return json.dumps(data, separators=(",", ":")).encode()


def send(
    body: bytes, *, secret: str | None = None, path: str = NOTIFY_PATH, headers: Any = None
) -> Any:
    """POST `body` to the notify endpoint, signed with the acquirer's secret (or `secret`)."""
    signed = headers or signature_headers(
        secret or settings.SANDBOX_ACQUIRER_RESPONSE_SECRET, method="POST", path=path, body=body
    )
    return Client().post(path, data=body, content_type="application/json", headers=signed)


def processing_payment(shop: ApiShop, **fields: Any) -> Payment:
    """Return a confirmed payment, as if the acquirer had answered "processing"."""
    return confirmed(shop.payment(**fields))


# --- with the real sandbox acquirer posting to a live server ---


@pytest.mark.django_db(transaction=True)
def test_repeated_and_late_notifications_post_exactly_once(
    live_server: Any, acquirer: SandboxAcquirer, settings: LazySettings
) -> None:
    # given the sandbox posts its notifications to Paydesk's notify endpoint
    settings.PAYMENT_NOTIFY_BASE_URL = live_server.url
    shop = api_shop()
    payment = confirmed(shop.payment(amount=20200))  # the sandbox answers later, by notice

    # when the payment is submitted, and the notice arrives three times
    payment_submit_to_gateway(payment.pk)
    assert refreshed(payment).status == PaymentStatus.PROCESSING
    payment = wait_status(payment, PaymentStatus.SUCCEEDED)
    again = acquirer.notify("payment", payment.public_id)
    late = acquirer.notify("payment", payment.public_id, status="processing")  # out of order

    # then every delivery was accepted, and the payment succeeded and posted exactly once
    assert (again["receiver_status"], late["receiver_status"]) == (200, 200)
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED
    assert payment.events.filter(to_status="succeeded").count() == 1
    assert payment.events.get(to_status="succeeded").actor_type == "acquirer"
    assert capture_postings(payment) == 1
    assert WebhookEvent.objects.filter(type="payment.succeeded").count() == 1
    assert ledger_check().status == CheckStatus.PASSED


@pytest.mark.django_db(transaction=True)
def test_a_notified_decline_fails_the_payment(
    live_server: Any, acquirer: SandboxAcquirer, settings: LazySettings
) -> None:
    settings.PAYMENT_NOTIFY_BASE_URL = live_server.url
    payment = confirmed(api_shop().payment(amount=20201))  # processing, then declined

    payment_submit_to_gateway(payment.pk)

    payment = wait_status(payment, PaymentStatus.FAILED)
    assert payment.failure_code == "insufficient_funds"
    assert LedgerPosting.objects.count() == 0
    assert WebhookEvent.objects.get().type == "payment.failed"


@pytest.mark.django_db(transaction=True)
def test_a_notification_settles_a_payment_that_timed_out(
    live_server: Any, acquirer: SandboxAcquirer, settings: LazySettings
) -> None:
    # given a payment whose pay call timed out (the acquirer finishes it afterwards)
    settings.PAYMENT_NOTIFY_BASE_URL = live_server.url
    payment = confirmed(api_shop().payment(amount=40800))
    payment_submit_to_gateway(payment.pk)
    assert refreshed(payment).status == PaymentStatus.UNKNOWN

    # when the acquirer's notice of success arrives, the payment succeeds and posts once
    payment = wait_status(payment, PaymentStatus.SUCCEEDED, timeout=15)
    wait_until(lambda: capture_postings(payment) == 1)
    assert [e.to_status for e in payment.events.order_by("occurred_at", "id")][-2:] == [
        "unknown",
        "succeeded",
    ]
    assert payment.next_query_at is None
    assert ledger_check().status == CheckStatus.PASSED


# --- crafted notifications, against the endpoint directly ---


@pytest.mark.django_db
def test_a_correctly_signed_notification_is_applied(live_shop: ApiShop) -> None:
    payment = processing_payment(live_shop, amount=3_000)

    response = send(notification_body(payment))

    assert response.status_code == 200
    assert response.json()["received"] is True
    payment.refresh_from_db()
    assert (payment.status, payment.acquirer_reference) == ("succeeded", "SBXP0000000000000000TEST")
    assert capture_postings(payment) == 1


@pytest.mark.django_db
@pytest.mark.parametrize("forgery", ["wrong_secret", "tampered_body", "unsigned", "replayed"])
def test_a_forged_notification_is_refused_and_changes_nothing(
    live_shop: ApiShop, forgery: str
) -> None:
    # given a payment waiting for the acquirer, and a genuine signature of a success notice
    payment = processing_payment(live_shop, amount=3_000)
    success = notification_body(payment)
    genuine = signature_headers(
        settings.SANDBOX_ACQUIRER_RESPONSE_SECRET, method="POST", path=NOTIFY_PATH, body=success
    )

    # when someone posts what the acquirer did not send (or sent once already)
    if forgery == "wrong_secret":
        response = send(success, secret="not-the-acquirer-secret")
    elif forgery == "tampered_body":
        response = send(
            notification_body(payment, acquirer_reference="SBXP-FORGED"), headers=genuine
        )
    elif forgery == "unsigned":
        response = Client().post(NOTIFY_PATH, data=success, content_type="application/json")
    else:  # a captured "processing" notice, sent again with its nonce
        notice = notification_body(payment, status="processing", acquirer_reference="")
        captured = signature_headers(
            settings.SANDBOX_ACQUIRER_RESPONSE_SECRET, method="POST", path=NOTIFY_PATH, body=notice
        )
        assert send(notice, headers=captured).status_code == 200
        response = send(notice, headers=captured)

    # then it is refused and nothing changed
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_signature"
    payment.refresh_from_db()
    assert (payment.status, payment.acquirer_reference) == ("processing", "")
    assert capture_postings(payment) == 0
    assert not WebhookEvent.objects.exists()


@pytest.mark.django_db
def test_a_genuine_notification_with_another_amount_is_refused(live_shop: ApiShop) -> None:
    payment = processing_payment(live_shop, amount=3_000)

    response = send(notification_body(payment, amount=300_000))

    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "gateway_mismatch"
    assert error["details"]["expected"]["amount"] == 3_000
    assert refreshed(payment).status == PaymentStatus.PROCESSING
    assert capture_postings(payment) == 0


@pytest.mark.django_db
def test_a_genuine_notification_in_another_currency_is_refused(live_shop: ApiShop) -> None:
    payment = processing_payment(live_shop, amount=3_000)

    response = send(notification_body(payment, currency="USD"))

    assert response.status_code == 409
    assert refreshed(payment).status == PaymentStatus.PROCESSING


@pytest.mark.django_db
def test_a_failure_notice_after_success_changes_nothing(live_shop: ApiShop) -> None:
    # given a payment the acquirer reported as succeeded
    payment = processing_payment(live_shop, amount=3_000)
    assert send(notification_body(payment)).status_code == 200

    # when a contradicting "failed" notice arrives
    response = send(notification_body(payment, status="failed", decline_code="do_not_honor"))

    # then it is acknowledged but changes nothing (staff see the logged contradiction)
    assert response.status_code == 200
    payment.refresh_from_db()
    assert (payment.status, payment.failure_code) == ("succeeded", "")
    assert capture_postings(payment) == 1
    assert payment.events.filter(to_status="failed").count() == 0


@pytest.mark.django_db
def test_a_notification_for_an_unconfirmed_payment_changes_nothing(live_shop: ApiShop) -> None:
    payment = live_shop.payment(amount=3_000)

    response = send(notification_body(payment))

    assert response.status_code == 200
    assert refreshed(payment).status == PaymentStatus.REQUIRES_CONFIRMATION
    assert capture_postings(payment) == 0


@pytest.mark.django_db
def test_a_notification_for_an_unknown_payment_is_404() -> None:
    fake = Payment(public_id="pay_0000000000aaaaaaaaaaaaaa", amount=100, currency="CNY")

    response = send(notification_body(fake))

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "payment_not_found"


@pytest.mark.django_db
def test_a_notification_for_an_unknown_acquirer_is_404(live_shop: ApiShop) -> None:
    payment = processing_payment(live_shop)
    path = "/api/acquirer/paypal/notify"

    response = send(notification_body(payment), path=path)

    assert response.status_code == 404
    assert refreshed(payment).status == PaymentStatus.PROCESSING


@pytest.mark.django_db
def test_a_signed_but_malformed_notification_is_a_400(live_shop: ApiShop) -> None:
    response = send(b'{"kind": "payment"}')

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed_notification"


@pytest.mark.django_db
def test_a_refund_notification_goes_to_the_registered_handler(
    live_shop: ApiShop, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given the refunds app's handler (payments knows nothing of refunds)
    received: list[tuple[str, str]] = []
    monkeypatch.setattr(notifications, "_HANDLERS", {})
    notifications.notification_handler_register(
        "refund", lambda notice, gateway: received.append((notice.reference, gateway))
    )
    payment = processing_payment(live_shop)

    response = send(notification_body(payment, kind="refund", reference="rf_1"))

    assert response.status_code == 200
    assert received == [("rf_1", "sandbox")]
    assert refreshed(payment).status == PaymentStatus.PROCESSING


@pytest.mark.django_db
def test_a_refund_notification_without_a_handler_is_refused(
    live_shop: ApiShop, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(notifications, "_HANDLERS", {})
    payment = processing_payment(live_shop)

    response = send(notification_body(payment, kind="refund", reference="rf_1"))

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "notification_not_handled"
    assert refreshed(payment).status == PaymentStatus.PROCESSING
