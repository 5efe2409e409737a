"""Confirming at checkout without a passkey yet: creating one on the same page, the
email-code fallback within its limit (a weaker method), and the payer's receipts."""

import hashlib
from collections.abc import Iterator
from typing import Any

import pytest
from django.core import mail
from django.core.cache import cache
from django.test import Client

from accounts.models import PasskeyCredential
from payments.confirmation.models import PaymentConfirmationEvidence
from payments.confirmation.services import payment_binding
from payments.domain.models import Payment, PaymentStatus
from tests.accounts.passkeys.support import code_from_last_email
from tests.helpers.soft_authenticator import SoftAuthenticator
from tests.payments.confirmation_support import (
    ORIGIN,
    Payer,
    assert_unchanged,
    attempts,
    checkout_payment,
    post_json,
    signed_in_payer,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _confirmation_settings(settings: Any) -> Iterator[None]:
    """WebAuthn for http://localhost:8000, the default fallback limit, empty rate limits."""
    settings.WEBAUTHN_RP_ID = "localhost"
    settings.WEBAUTHN_ORIGINS = [ORIGIN]
    settings.PAYMENT_EMAIL_CODE_FALLBACK_MAX_AMOUNT = 200_000
    cache.clear()  # rate-limit windows live in the cache
    yield
    cache.clear()


@pytest.fixture
def queued(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Record the payment ids sent to the gateway submission task instead of sending them."""
    calls: list[int] = []
    from payments import tasks

    monkeypatch.setattr(tasks.payment_submit_to_gateway, "delay", calls.append)
    return calls


@pytest.fixture
def payer() -> Payer:
    return Payer()


# ----------------------------------------------------------------- creating a passkey at checkout


def test_a_payer_without_a_passkey_creates_one_then_confirms_on_the_same_page(
    queued: list[int], django_capture_on_commit_callbacks: Any
) -> None:
    payment = checkout_payment()
    client, user = signed_in_payer()
    authenticator = SoftAuthenticator(origin=ORIGIN)

    options = post_json(client, payment, "checkout_passkey_register_options").json()
    created = post_json(
        client,
        payment,
        "checkout_passkey_register",
        {"credential": authenticator.create(options["publicKey"])},
    )
    confirm_options = post_json(client, payment, "checkout_passkey_options").json()
    with django_capture_on_commit_callbacks(execute=True):
        confirmed = post_json(
            client,
            payment,
            "checkout_passkey_confirm",
            {"credential": authenticator.get(confirm_options["publicKey"])},
        )

    assert created.status_code == 200
    assert created.json()["passkey"]["name"] == "Passkey 1"
    assert PasskeyCredential.objects.filter(user=user).count() == 1
    assert confirmed.status_code == 200
    payment.refresh_from_db()
    assert (payment.status, payment.confirmation_method) == (PaymentStatus.PROCESSING, "passkey")
    assert queued == [payment.pk]
    assert attempts(payment) == [
        ("passkey_registration", "succeeded", ""),
        ("passkey", "succeeded", ""),
    ]


def test_a_refused_passkey_creation_is_recorded_and_confirms_nothing(queued: list[int]) -> None:
    payment = checkout_payment()
    client, user = signed_in_payer()
    authenticator = SoftAuthenticator(origin=ORIGIN)
    options = post_json(client, payment, "checkout_passkey_register_options").json()

    response = post_json(
        client,
        payment,
        "checkout_passkey_register",
        {"credential": authenticator.create(options["publicKey"], user_verified=False)},
    )

    assert (response.status_code, response.json()["error"]["code"]) == (400, "user_not_verified")
    assert PasskeyCredential.objects.filter(user=user).count() == 0
    assert_unchanged(payment, queued)
    assert attempts(payment) == [("passkey_registration", "failed", "user_not_verified")]


# ----------------------------------------------------------------- the email-code fallback


def _send_code(client: Client, payment: Payment) -> Any:
    return client.post(f"/pay/{payment.checkout_token}/email-code/send/", HTTP_ACCEPT_LANGUAGE="en")


def _enter_code(client: Client, payment: Payment, code: str) -> Any:
    return client.post(f"/pay/{payment.checkout_token}/email-code/confirm/", {"code": code})


def test_an_email_code_confirms_a_small_payment_as_a_weaker_method(
    queued: list[int], django_capture_on_commit_callbacks: Any
) -> None:
    payment = checkout_payment(amount=200_000)  # exactly the limit: 2,000.00 CNY
    client, user = signed_in_payer()

    with django_capture_on_commit_callbacks(execute=True):
        sent = _send_code(client, payment)
    page = client.get(f"/pay/{payment.checkout_token}/").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        confirmed = _enter_code(client, payment, code_from_last_email())

    assert (sent.status_code, sent["Location"]) == (
        302,
        f"/pay/{payment.checkout_token}/#email-code",
    )
    assert mail.outbox[-1].to == [user.email]
    assert 'data-testid="email-code-confirm"' in page
    assert (confirmed.status_code, confirmed["Location"]) == (
        302,
        f"/pay/{payment.checkout_token}/",
    )
    payment.refresh_from_db()
    assert (payment.status, payment.confirmation_method, payment.confirmed_by) == (
        PaymentStatus.PROCESSING,
        "email_code",
        user,
    )
    assert queued == [payment.pk]
    evidence = PaymentConfirmationEvidence.objects.get(payment=payment)
    assert (evidence.method, evidence.is_strong_authentication, evidence.credential_id) == (
        "email_code",
        False,
        "",
    )
    assert evidence.bound_digest == hashlib.sha256(payment_binding(payment)).hexdigest()
    event = payment.events.get(to_status=PaymentStatus.PROCESSING)
    assert event.details["evidence"]["sca"] is False
    assert attempts(payment) == [("email_code", "succeeded", "")]


def test_the_email_code_is_refused_above_the_limit(queued: list[int]) -> None:
    payment = checkout_payment(amount=200_001)
    client, _user = signed_in_payer()

    sent = _send_code(client, payment)
    page = client.get(f"/pay/{payment.checkout_token}/").content.decode()
    entered = _enter_code(client, payment, "123456")

    assert sent.status_code == 302
    assert mail.outbox == []
    assert "An email code can confirm payments of up to ¥2,000.00 only" in page
    assert 'data-testid="email-code-send"' not in page
    assert entered.status_code == 302
    assert_unchanged(payment, queued)
    assert attempts(payment) == []


def test_the_email_code_is_refused_for_other_currencies(queued: list[int]) -> None:
    payment = checkout_payment(amount=1_000, currency="USD")
    client, _user = signed_in_payer()

    _send_code(client, payment)

    assert mail.outbox == []
    assert_unchanged(payment, queued)


def test_a_wrong_code_keeps_the_attempt_open_and_the_right_one_confirms(
    queued: list[int], django_capture_on_commit_callbacks: Any
) -> None:
    payment = checkout_payment()
    client, _user = signed_in_payer()
    with django_capture_on_commit_callbacks(execute=True):
        _send_code(client, payment)
    code = code_from_last_email()
    wrong = "000000" if code != "000000" else "111111"

    _enter_code(client, payment, wrong)
    after_wrong = attempts(payment)
    assert_unchanged(payment, queued)
    with django_capture_on_commit_callbacks(execute=True):
        _enter_code(client, payment, code)

    assert after_wrong == [("email_code", "started", "")]
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PROCESSING
    assert attempts(payment) == [("email_code", "succeeded", "")]


def test_an_email_code_for_an_amount_that_changed_is_refused(
    queued: list[int], django_capture_on_commit_callbacks: Any
) -> None:
    payment = checkout_payment(amount=5_000)
    client, _user = signed_in_payer()
    with django_capture_on_commit_callbacks(execute=True):
        _send_code(client, payment)
    Payment.objects.filter(pk=payment.pk).update(amount=6_000)

    _enter_code(client, payment, code_from_last_email())

    assert_unchanged(payment, queued)
    assert attempts(payment) == [("email_code", "failed", "binding_mismatch")]


# ----------------------------------------------------------------- the payer area and receipts


def test_the_payer_area_lists_confirmed_payments_with_receipts(
    payer: Payer, queued: list[int]
) -> None:
    payment = checkout_payment(description="Longjing tea, 500 g")
    unconfirmed = checkout_payment()
    options = payer.options(payment)
    payer.confirm(payment, payer.authenticator.get(options["publicKey"]))

    home = payer.client.get("/payer/").content.decode()
    receipt = payer.client.get(f"/pay/receipts/{payment.public_id}/")
    other_client, _other = signed_in_payer()

    assert f'data-payment-id="{payment.public_id}"' in home
    assert unconfirmed.public_id not in home
    assert f'href="/pay/receipts/{payment.public_id}/"' in home
    assert receipt.status_code == 200
    html = receipt.content.decode()
    assert "¥128.00" in html
    assert "Passkey (fingerprint, face or screen lock)" in html
    assert other_client.get(f"/pay/receipts/{payment.public_id}/").status_code == 404
    assert payer.client.get(f"/pay/receipts/{unconfirmed.public_id}/").status_code == 404
