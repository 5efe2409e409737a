"""Confirming a payment at checkout with a passkey bound to it (dynamic linking), or by
the email-code fallback; each refusal leaves the payment awaiting confirmation."""

import hashlib
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from accounts.models import PasskeyCredential, WebAuthnChallenge
from payments.confirmation import services as confirmation_services
from payments.confirmation.models import PaymentConfirmationEvidence
from payments.confirmation.services import payment_binding
from payments.confirmation.session import session_key
from payments.domain.models import Payment, PaymentStatus
from tests.accounts.passkeys.support import code_from_last_email, register_passkey
from tests.helpers.soft_authenticator import SoftAuthenticator
from tests.merchants.platform import merchant
from tests.payments.confirmation_support import (
    attempts,
    checkout_payment,
    post_json,
    signed_in_payer,
)

pytestmark = pytest.mark.django_db

ORIGIN = "http://localhost:8000"


@pytest.fixture(autouse=True)
def _relying_party(settings: Any) -> Iterator[None]:
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


class Payer:
    """A signed-in payer whose software authenticator holds one registered passkey."""

    def __init__(self) -> None:
        self.client, self.user = signed_in_payer()
        self.authenticator = SoftAuthenticator(origin=ORIGIN)
        self.passkey = register_passkey(self.user, self.authenticator)

    def options(self, payment: Payment) -> dict[str, Any]:
        response = post_json(self.client, payment, "checkout_passkey_options")
        assert response.status_code == 200, response.content
        return response.json()

    def confirm(self, payment: Payment, assertion: dict[str, Any]) -> Any:
        return post_json(
            self.client, payment, "checkout_passkey_confirm", {"credential": assertion}
        )


@pytest.fixture
def payer() -> Payer:
    return Payer()


def _unchanged(payment: Payment, queued: list[int], *, events: int = 1) -> None:
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.REQUIRES_CONFIRMATION
    assert (payment.confirmed_at, payment.confirmed_by, payment.confirmation_method) == (
        None,
        None,
        "",
    )
    assert payment.events.count() == events
    assert queued == []
    assert not PaymentConfirmationEvidence.objects.filter(payment=payment).exists()


# ----------------------------------------------------------------- the good path


def test_a_passkey_confirms_the_payment_and_queues_the_submission(
    payer: Payer, queued: list[int], django_capture_on_commit_callbacks: Any
) -> None:
    payment = checkout_payment()
    options = payer.options(payment)

    with django_capture_on_commit_callbacks(execute=True):
        response = payer.confirm(payment, payer.authenticator.get(options["publicKey"]))

    assert response.status_code == 200
    assert response.json() == {
        "status": "processing",
        "redirect": f"/pay/{payment.checkout_token}/",
    }
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PROCESSING
    assert (payment.confirmation_method, payment.confirmed_by) == ("passkey", payer.user)
    assert queued == [payment.pk]
    evidence = PaymentConfirmationEvidence.objects.get(payment=payment)
    expected_digest = hashlib.sha256(payment_binding(payment)).hexdigest()
    assert (evidence.method, evidence.is_strong_authentication, evidence.user_verified) == (
        "passkey",
        True,
        True,
    )
    assert evidence.credential_id == payer.authenticator.credentials[0].id_b64
    assert (evidence.sign_count, evidence.bound_digest) == (1, expected_digest)
    assert evidence.details["flags"] == {"up": True, "uv": True, "be": False, "bs": False}
    assert evidence.details["credential"] == payer.passkey.pk
    event = payment.events.get(to_status=PaymentStatus.PROCESSING)
    assert (event.reason, event.actor) == ("confirmed_by_passkey", payer.user)
    timeline = event.details["evidence"]
    assert (timeline["sca"], timeline["uv"], timeline["sign_count"]) == (True, True, 1)
    assert timeline["bound_digest"] == expected_digest
    assert timeline["credential_id"] == evidence.credential_id
    assert attempts(payment) == [("passkey", "succeeded", "")]


def test_the_challenge_is_bound_to_id_amount_currency_and_payee(payer: Payer) -> None:
    payment = checkout_payment(amount=4_321)

    options = payer.options(payment)

    payee, public_id = payment.merchant.public_id, payment.public_id
    binding = (
        f'{{"amount":4321,"currency":"CNY","payee":"{payee}","payment":"{public_id}"}}'
    ).encode()
    assert payment_binding(payment) == binding
    challenge = WebAuthnChallenge.objects.get(purpose="payment_confirmation")
    assert bytes(challenge.bound_digest) == hashlib.sha256(binding).digest()
    assert bytes(challenge.challenge) == hashlib.sha256(bytes(challenge.nonce) + binding).digest()
    assert challenge.expires_at - challenge.created_at == timedelta(minutes=5)
    assert options["publicKey"]["userVerification"] == "required"
    assert [item["id"] for item in options["publicKey"]["allowCredentials"]] == [
        payer.authenticator.credentials[0].id_b64
    ]
    assert attempts(payment) == [("passkey", "started", "")]


# ----------------------------------------------------------------- each refusal


def test_a_replayed_challenge_is_refused(payer: Payer, queued: list[int]) -> None:
    # given a challenge answered once (refused: wrong origin), so it is spent
    payment = checkout_payment()
    options = payer.options(payment)
    ids = payer.client.session[session_key(payment, "passkey")]
    first = payer.confirm(
        payment, payer.authenticator.get(options["publicKey"], origin="https://evil.example")
    )
    # when the same challenge is answered again, correctly this time
    session = payer.client.session
    session[session_key(payment, "passkey")] = ids
    session.save()
    replay = payer.confirm(payment, payer.authenticator.get(options["publicKey"]))

    assert (first.status_code, first.json()["error"]["code"]) == (400, "origin_mismatch")
    assert (replay.status_code, replay.json()["error"]["code"]) == (409, "challenge_used")
    _unchanged(payment, queued)
    assert attempts(payment) == [("passkey", "failed", "origin_mismatch")]


def test_an_answer_without_a_challenge_in_the_session_is_refused(
    payer: Payer, queued: list[int]
) -> None:
    payment = checkout_payment()
    options = payer.options(payment)
    assertion = payer.authenticator.get(options["publicKey"])
    session = payer.client.session
    del session[session_key(payment, "passkey")]
    session.save()

    response = payer.confirm(payment, assertion)

    assert (response.status_code, response.json()["error"]["code"]) == (400, "challenge_invalid")
    _unchanged(payment, queued)
    assert attempts(payment) == [("passkey", "started", "")]


def test_an_expired_challenge_is_refused(payer: Payer, queued: list[int]) -> None:
    payment = checkout_payment()
    options = payer.options(payment)
    now = timezone.now()
    WebAuthnChallenge.objects.update(
        created_at=now - timedelta(minutes=6), expires_at=now - timedelta(minutes=1)
    )

    response = payer.confirm(payment, payer.authenticator.get(options["publicKey"]))

    assert (response.status_code, response.json()["error"]["code"]) == (400, "challenge_expired")
    _unchanged(payment, queued)
    assert attempts(payment) == [("passkey", "failed", "challenge_expired")]


def test_a_wrong_origin_is_refused(payer: Payer, queued: list[int]) -> None:
    payment = checkout_payment()
    options = payer.options(payment)

    response = payer.confirm(
        payment,
        payer.authenticator.get(options["publicKey"], origin="https://paydesk.evil.example"),
    )

    assert (response.status_code, response.json()["error"]["code"]) == (400, "origin_mismatch")
    _unchanged(payment, queued)
    assert attempts(payment) == [("passkey", "failed", "origin_mismatch")]


def test_an_answer_without_user_verification_is_refused(payer: Payer, queued: list[int]) -> None:
    payment = checkout_payment()
    options = payer.options(payment)

    response = payer.confirm(
        payment, payer.authenticator.get(options["publicKey"], user_verified=False)
    )

    assert (response.status_code, response.json()["error"]["code"]) == (400, "user_not_verified")
    assert "did not verify you" in response.json()["error"]["message"]
    _unchanged(payment, queued)
    assert attempts(payment) == [("passkey", "failed", "user_not_verified")]


def test_an_amount_changed_after_the_challenge_is_refused(payer: Payer, queued: list[int]) -> None:
    payment = checkout_payment(amount=12_800)
    options = payer.options(payment)
    Payment.objects.filter(pk=payment.pk).update(amount=99_900)

    response = payer.confirm(payment, payer.authenticator.get(options["publicKey"]))

    assert (response.status_code, response.json()["error"]["code"]) == (400, "binding_mismatch")
    _unchanged(payment, queued)
    assert Payment.objects.get(pk=payment.pk).amount == 99_900
    assert attempts(payment) == [("passkey", "failed", "binding_mismatch")]


def test_a_payee_changed_after_the_challenge_is_refused(payer: Payer, queued: list[int]) -> None:
    payment = checkout_payment()
    options = payer.options(payment)
    Payment.objects.filter(pk=payment.pk).update(merchant=merchant(name="Somebody Else Ltd"))

    response = payer.confirm(payment, payer.authenticator.get(options["publicKey"]))

    assert (response.status_code, response.json()["error"]["code"]) == (400, "binding_mismatch")
    _unchanged(payment, queued)
    assert attempts(payment) == [("passkey", "failed", "binding_mismatch")]


def test_an_amount_changed_while_verifying_is_caught_under_the_lock(
    payer: Payer, queued: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The passkey checks out against the amount read before verifying; the amount changes
    # before the payment row is locked: the re-check under the lock refuses.
    payment = checkout_payment(amount=12_800)
    options = payer.options(payment)
    real_verify = confirmation_services.authentication_verify

    def verify_then_change(**kwargs: Any) -> Any:
        evidence = real_verify(**kwargs)
        Payment.objects.filter(pk=payment.pk).update(amount=1)
        return evidence

    monkeypatch.setattr(confirmation_services, "authentication_verify", verify_then_change)

    response = payer.confirm(payment, payer.authenticator.get(options["publicKey"]))

    assert (response.status_code, response.json()["error"]["code"]) == (409, "binding_mismatch")
    _unchanged(payment, queued)
    assert attempts(payment) == [("passkey", "failed", "binding_mismatch")]


def test_a_counter_that_went_backwards_is_refused_and_the_passkey_blocked(
    payer: Payer, queued: list[int]
) -> None:
    payment = checkout_payment()
    PasskeyCredential.objects.filter(pk=payer.passkey.pk).update(sign_count=10)
    options = payer.options(payment)

    response = payer.confirm(payment, payer.authenticator.get(options["publicKey"], sign_count=7))

    assert (response.status_code, response.json()["error"]["code"]) == (400, "counter_regression")
    _unchanged(payment, queued)
    payer.passkey.refresh_from_db()
    assert payer.passkey.is_flagged is True
    assert (
        payer.passkey.flagged_reason == "Signature counter went from 10 to 7 (payment_confirmation)"
    )
    assert attempts(payment) == [("passkey", "failed", "counter_regression")]
    # and the blocked passkey is no longer offered
    again = post_json(payer.client, payment, "checkout_passkey_options")
    assert (again.status_code, again.json()["error"]["code"]) == (409, "passkey_required")


def test_another_payers_passkey_is_refused(payer: Payer, queued: list[int]) -> None:
    payment = checkout_payment()
    other = Payer()
    options = payer.options(payment)

    response = payer.confirm(
        payment,
        other.authenticator.get(
            options["publicKey"], credential=other.authenticator.credentials[0]
        ),
    )

    assert (response.status_code, response.json()["error"]["code"]) == (
        400,
        "credential_not_owned",
    )
    _unchanged(payment, queued)
    assert attempts(payment) == [("passkey", "failed", "credential_not_owned")]


def test_a_challenge_of_another_payment_does_not_confirm_this_one(
    payer: Payer, queued: list[int]
) -> None:
    first, second = checkout_payment(), checkout_payment()
    options = payer.options(first)

    response = payer.confirm(second, payer.authenticator.get(options["publicKey"]))

    assert (response.status_code, response.json()["error"]["code"]) == (400, "challenge_invalid")
    _unchanged(second, queued)
    _unchanged(first, queued)


def test_a_payment_that_expired_during_the_ceremony_is_expired_not_confirmed(
    payer: Payer, queued: list[int]
) -> None:
    payment = checkout_payment()
    options = payer.options(payment)
    Payment.objects.filter(pk=payment.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

    response = payer.confirm(payment, payer.authenticator.get(options["publicKey"]))

    assert (response.status_code, response.json()["error"]["code"]) == (409, "payment_expired")
    payment.refresh_from_db()
    assert (payment.status, queued) == (PaymentStatus.EXPIRED, [])
    assert not PaymentConfirmationEvidence.objects.exists()
    assert attempts(payment) == [("passkey", "failed", "payment_expired")]


def test_a_ceremony_cancelled_on_the_device_is_recorded_and_can_be_retried(
    payer: Payer, queued: list[int], django_capture_on_commit_callbacks: Any
) -> None:
    payment = checkout_payment()
    cancelled = payer.options(payment)

    report = post_json(
        payer.client,
        payment,
        "checkout_attempt_report",
        {"attempt": cancelled["attempt"], "error": "NotAllowedError"},
    )
    _unchanged(payment, queued)
    retry = payer.options(payment)
    with django_capture_on_commit_callbacks(execute=True):
        confirmed = payer.confirm(payment, payer.authenticator.get(retry["publicKey"]))

    assert (report.status_code, report.json()) == (200, {"recorded": True})
    assert confirmed.status_code == 200
    assert queued == [payment.pk]
    assert attempts(payment) == [
        ("passkey", "failed", "ceremony_not_allowed"),
        ("passkey", "succeeded", ""),
    ]


def test_a_report_cannot_close_another_payers_attempt(payer: Payer) -> None:
    payment = checkout_payment()
    options = payer.options(payment)
    other_client, _other = signed_in_payer()

    report = post_json(
        other_client,
        payment,
        "checkout_attempt_report",
        {"attempt": options["attempt"], "error": "NotAllowedError"},
    )

    assert report.json() == {"recorded": False}
    assert attempts(payment) == [("passkey", "started", "")]


def test_confirmation_endpoints_need_a_signed_in_payer(queued: list[int]) -> None:
    payment = checkout_payment()

    responses = [
        post_json(Client(), payment, name).status_code
        for name in ("checkout_passkey_options", "checkout_passkey_confirm")
    ]

    assert responses == [401, 401]
    _unchanged(payment, queued)
    assert attempts(payment) == []


def test_a_payer_without_a_passkey_gets_no_challenge() -> None:
    payment = checkout_payment()
    client, _payer = signed_in_payer()

    response = post_json(client, payment, "checkout_passkey_options")

    assert (response.status_code, response.json()["error"]["code"]) == (409, "passkey_required")
    assert not WebAuthnChallenge.objects.filter(purpose="payment_confirmation").exists()
    assert attempts(payment) == []


def test_options_for_a_payment_already_confirmed_are_refused(payer: Payer) -> None:
    payment = checkout_payment()
    Payment.objects.filter(pk=payment.pk).update(status=PaymentStatus.CANCELED)

    response = post_json(payer.client, payment, "checkout_passkey_options")

    assert (response.status_code, response.json()["error"]["code"]) == (
        409,
        "payment_not_confirmable",
    )
    assert attempts(payment) == []


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
    _unchanged(payment, queued)
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
    _unchanged(payment, queued)
    assert attempts(payment) == []


def test_the_email_code_is_refused_for_other_currencies(queued: list[int]) -> None:
    payment = checkout_payment(amount=1_000, currency="USD")
    client, _user = signed_in_payer()

    _send_code(client, payment)

    assert mail.outbox == []
    _unchanged(payment, queued)


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
    _unchanged(payment, queued)
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

    _unchanged(payment, queued)
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
