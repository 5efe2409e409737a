"""Confirming a payment at checkout with a passkey bound to it (dynamic linking): the good
path and each refusal, which leaves the payment awaiting confirmation, queues nothing and
records a failed attempt. Passkey creation at checkout, the email-code fallback and the
receipts: test_confirmation_fallback.py."""

import hashlib
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from accounts.models import AuditEvent, PasskeyCredential, WebAuthnChallenge
from payments.confirmation import services as confirmation_services
from payments.confirmation.models import PaymentConfirmationEvidence
from payments.confirmation.services import payment_binding
from payments.confirmation.session import session_key
from payments.domain.models import Payment, PaymentStatus
from tests.merchants.platform import merchant
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
    audit = AuditEvent.objects.get(action="payment.confirm", object_id=str(payment.pk))
    assert audit.actor == payer.user
    assert audit.after == {
        "status": "processing",
        "method": "passkey",
        "sca": True,
        "credential_id": evidence.credential_id,
    }


def test_the_challenge_is_bound_to_id_amount_currency_and_payee(payer: Payer) -> None:
    payment = checkout_payment(amount=4_321)

    options = payer.options(payment)

    payee, public_id = payment.merchant.public_id, payment.public_id
    binding = (
        f'{{"amount":4321,"currency":"CNY","payee":"{payee}","payment":"{public_id}"}}'
    ).encode()
    assert payment_binding(payment) == binding
    challenge = WebAuthnChallenge.objects.get(purpose="payment_confirmation")
    assert challenge.bound_digest is not None
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
    assert_unchanged(payment, queued)
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
    assert_unchanged(payment, queued)
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
    assert_unchanged(payment, queued)
    assert attempts(payment) == [("passkey", "failed", "challenge_expired")]


def test_a_wrong_origin_is_refused(payer: Payer, queued: list[int]) -> None:
    payment = checkout_payment()
    options = payer.options(payment)

    response = payer.confirm(
        payment,
        payer.authenticator.get(options["publicKey"], origin="https://paydesk.evil.example"),
    )

    assert (response.status_code, response.json()["error"]["code"]) == (400, "origin_mismatch")
    assert_unchanged(payment, queued)
    assert attempts(payment) == [("passkey", "failed", "origin_mismatch")]


def test_an_answer_without_user_verification_is_refused(payer: Payer, queued: list[int]) -> None:
    payment = checkout_payment()
    options = payer.options(payment)

    response = payer.confirm(
        payment, payer.authenticator.get(options["publicKey"], user_verified=False)
    )

    assert (response.status_code, response.json()["error"]["code"]) == (400, "user_not_verified")
    assert "did not verify you" in response.json()["error"]["message"]
    assert_unchanged(payment, queued)
    assert attempts(payment) == [("passkey", "failed", "user_not_verified")]


def test_an_amount_changed_after_the_challenge_is_refused(payer: Payer, queued: list[int]) -> None:
    payment = checkout_payment(amount=12_800)
    options = payer.options(payment)
    Payment.objects.filter(pk=payment.pk).update(amount=99_900)

    response = payer.confirm(payment, payer.authenticator.get(options["publicKey"]))

    assert (response.status_code, response.json()["error"]["code"]) == (400, "binding_mismatch")
    assert_unchanged(payment, queued)
    assert Payment.objects.get(pk=payment.pk).amount == 99_900
    assert attempts(payment) == [("passkey", "failed", "binding_mismatch")]


def test_a_payee_changed_after_the_challenge_is_refused(payer: Payer, queued: list[int]) -> None:
    payment = checkout_payment()
    options = payer.options(payment)
    Payment.objects.filter(pk=payment.pk).update(merchant=merchant(name="Somebody Else Ltd"))

    response = payer.confirm(payment, payer.authenticator.get(options["publicKey"]))

    assert (response.status_code, response.json()["error"]["code"]) == (400, "binding_mismatch")
    assert_unchanged(payment, queued)
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
    assert_unchanged(payment, queued)
    assert attempts(payment) == [("passkey", "failed", "binding_mismatch")]


def test_a_counter_that_went_backwards_is_refused_and_the_passkey_blocked(
    payer: Payer, queued: list[int]
) -> None:
    payment = checkout_payment()
    PasskeyCredential.objects.filter(pk=payer.passkey.pk).update(sign_count=10)
    options = payer.options(payment)

    response = payer.confirm(payment, payer.authenticator.get(options["publicKey"], sign_count=7))

    assert (response.status_code, response.json()["error"]["code"]) == (400, "counter_regression")
    assert_unchanged(payment, queued)
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
    assert_unchanged(payment, queued)
    assert attempts(payment) == [("passkey", "failed", "credential_not_owned")]


def test_a_challenge_of_another_payment_does_not_confirm_this_one(
    payer: Payer, queued: list[int]
) -> None:
    first, second = checkout_payment(), checkout_payment()
    options = payer.options(first)

    response = payer.confirm(second, payer.authenticator.get(options["publicKey"]))

    assert (response.status_code, response.json()["error"]["code"]) == (400, "challenge_invalid")
    assert_unchanged(second, queued)
    assert_unchanged(first, queued)


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
    assert_unchanged(payment, queued)
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
    assert_unchanged(payment, queued)
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
