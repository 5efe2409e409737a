"""The generic WebAuthn layer: challenges, binding and authentication_verify's refusals."""

import hashlib
import threading
from datetime import timedelta

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from accounts.models import AuditEvent, PasskeyCredential, User, WebAuthnChallenge
from accounts.passkeys import webauthn
from accounts.passkeys.ceremonies import (
    authentication_verify,
    binding_digest,
    binding_encode,
    challenge_consume,
    challenge_issue,
)
from accounts.passkeys.errors import (
    ChallengeExpired,
    ChallengeInvalid,
    ChallengeUsed,
    PasskeyVerificationFailed,
)
from accounts.passkeys.models import ChallengePurpose
from tests.accounts.passkeys.support import register_passkey
from tests.helpers.soft_authenticator import SoftAuthenticator

pytestmark = pytest.mark.django_db

PAYMENT: dict[str, str | int] = {
    "payment": "pay_123",
    "amount": 12_50,
    "currency": "CNY",
    "payee": "mer_9",
}


def _sign_in_challenge() -> tuple[WebAuthnChallenge, dict]:
    challenge = challenge_issue(purpose=ChallengePurpose.AUTHENTICATION)
    return challenge, webauthn.authentication_options(challenge=bytes(challenge.challenge))


def _payment_challenge(
    payer: User, fields: dict[str, str | int] = PAYMENT
) -> tuple[WebAuthnChallenge, dict]:
    challenge = challenge_issue(
        purpose=ChallengePurpose.PAYMENT_CONFIRMATION, user=payer, binding=binding_encode(fields)
    )
    return challenge, webauthn.authentication_options(challenge=bytes(challenge.challenge))


def _refusal(challenge: WebAuthnChallenge, response: dict, **kwargs) -> str:
    with pytest.raises(PasskeyVerificationFailed) as caught:
        authentication_verify(
            challenge_id=challenge.pk,
            response=response,
            purpose=ChallengePurpose(challenge.purpose),
            **kwargs,
        )
    return caught.value.code


# ----------------------------------------------------------------- challenges


def test_challenge_issue_without_binding_sends_the_nonce_and_lasts_five_minutes(payer):
    challenge = challenge_issue(purpose=ChallengePurpose.REGISTRATION, user=payer)

    assert len(bytes(challenge.nonce)) == 32
    assert bytes(challenge.challenge) == bytes(challenge.nonce)
    assert challenge.bound_digest is None
    assert challenge.expires_at - challenge.created_at == timedelta(minutes=5)
    assert challenge.used_at is None


def test_challenge_issue_with_binding_derives_the_challenge_from_nonce_and_binding(payer):
    binding = binding_encode(PAYMENT)

    challenge = challenge_issue(
        purpose=ChallengePurpose.PAYMENT_CONFIRMATION, user=payer, binding=binding
    )

    nonce = bytes(challenge.nonce)
    assert bytes(challenge.challenge) == hashlib.sha256(nonce + binding).digest()
    assert bytes(challenge.bound_digest or b"") == hashlib.sha256(binding).digest()
    assert binding == b'{"amount":1250,"currency":"CNY","payee":"mer_9","payment":"pay_123"}'


def test_binding_encode_refuses_floats():
    with pytest.raises(TypeError):
        binding_encode({"amount": 12.5})  # type: ignore[dict-item]  # the wrong type is the test


def test_a_payment_challenge_without_a_binding_is_refused_by_the_database(payer):
    with pytest.raises(IntegrityError), transaction.atomic():
        challenge_issue(purpose=ChallengePurpose.PAYMENT_CONFIRMATION, user=payer)


def test_challenge_consume_is_single_use(payer):
    challenge = challenge_issue(purpose=ChallengePurpose.REGISTRATION, user=payer)
    challenge_consume(challenge_id=challenge.pk, purpose=ChallengePurpose.REGISTRATION, user=payer)
    used_at = WebAuthnChallenge.objects.get(pk=challenge.pk).used_at

    with pytest.raises(ChallengeUsed):
        challenge_consume(
            challenge_id=challenge.pk, purpose=ChallengePurpose.REGISTRATION, user=payer
        )

    assert WebAuthnChallenge.objects.get(pk=challenge.pk).used_at == used_at


def test_challenge_consume_refuses_another_purpose_or_user_and_leaves_it_unused(payer, other_payer):
    challenge = challenge_issue(purpose=ChallengePurpose.REGISTRATION, user=payer)

    with pytest.raises(ChallengeInvalid):
        challenge_consume(challenge_id=challenge.pk, purpose=ChallengePurpose.AUTHENTICATION)
    with pytest.raises(ChallengeInvalid):
        challenge_consume(
            challenge_id=challenge.pk, purpose=ChallengePurpose.REGISTRATION, user=other_payer
        )
    with pytest.raises(ChallengeInvalid):
        challenge_consume(challenge_id=None, purpose=ChallengePurpose.REGISTRATION, user=payer)

    assert WebAuthnChallenge.objects.get(pk=challenge.pk).used_at is None


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_answers_consume_a_challenge_once():
    challenge = challenge_issue(purpose=ChallengePurpose.AUTHENTICATION)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def answer() -> None:
        try:
            barrier.wait()
            challenge_consume(challenge_id=challenge.pk, purpose=ChallengePurpose.AUTHENTICATION)
            outcomes.append("consumed")
        except ChallengeUsed:
            outcomes.append("used")
        finally:
            connection.close()

    threads = [threading.Thread(target=answer) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["consumed", "used"]


# ----------------------------------------------------------------- the good path


def test_a_valid_assertion_returns_evidence_and_moves_the_counter(payer, authenticator):
    credential = register_passkey(payer, authenticator)
    challenge, options = _payment_challenge(payer)
    response = authenticator.get(options)

    evidence = authentication_verify(
        challenge_id=challenge.pk,
        response=response,
        purpose=ChallengePurpose.PAYMENT_CONFIRMATION,
        user=payer,
        binding=binding_encode(PAYMENT),
    )

    credential.refresh_from_db()
    assert evidence.credential_pk == credential.pk
    assert evidence.credential_id == bytes(credential.credential_id)
    assert evidence.user_id == payer.pk
    assert evidence.sign_count == 1
    assert (evidence.user_present, evidence.user_verified) == (True, True)
    assert (evidence.backup_eligible, evidence.backup_state) == (False, False)
    assert evidence.bound_digest == binding_digest(binding_encode(PAYMENT))
    assert (
        evidence.authenticator_data_sha256
        == hashlib.sha256(
            webauthn.b64url_decode(response["response"]["authenticatorData"])
        ).digest()
    )
    assert credential.sign_count == 1
    assert credential.last_used_at == evidence.verified_at
    assert evidence.as_dict()["flags"] == {"up": True, "uv": True, "be": False, "bs": False}
    assert evidence.as_dict()["credential_id"] == webauthn.b64url_encode(
        bytes(credential.credential_id)
    )
    assert WebAuthnChallenge.objects.get(pk=challenge.pk).used_at is not None


def test_a_discoverable_sign_in_assertion_is_accepted_without_a_user(payer, authenticator):
    register_passkey(payer, authenticator)
    challenge, options = _sign_in_challenge()

    evidence = authentication_verify(
        challenge_id=challenge.pk,
        response=authenticator.get(options),
        purpose=ChallengePurpose.AUTHENTICATION,
    )

    assert evidence.user_id == payer.pk
    assert evidence.bound_digest is None


def test_authenticators_that_always_report_zero_are_accepted(payer):
    authenticator = SoftAuthenticator(counter_step=0, backup_eligible=True, backup_state=True)
    credential = register_passkey(payer, authenticator)

    for _ in range(2):
        challenge, options = _sign_in_challenge()
        evidence = authentication_verify(
            challenge_id=challenge.pk,
            response=authenticator.get(options),
            purpose=ChallengePurpose.AUTHENTICATION,
        )
        assert (evidence.sign_count, evidence.backup_state) == (0, True)

    credential.refresh_from_db()
    assert (credential.sign_count, credential.is_flagged, credential.backup_state) == (
        0,
        False,
        True,
    )


# ----------------------------------------------------------------- refusals


def test_a_replayed_answer_is_refused(payer, authenticator):
    register_passkey(payer, authenticator)
    challenge, options = _sign_in_challenge()
    response = authenticator.get(options)
    authentication_verify(
        challenge_id=challenge.pk, response=response, purpose=ChallengePurpose.AUTHENTICATION
    )

    with pytest.raises(ChallengeUsed):
        authentication_verify(
            challenge_id=challenge.pk, response=response, purpose=ChallengePurpose.AUTHENTICATION
        )


def test_an_expired_challenge_is_refused_and_spent(payer, authenticator):
    credential = register_passkey(payer, authenticator)
    challenge, options = _sign_in_challenge()
    WebAuthnChallenge.objects.filter(pk=challenge.pk).update(
        created_at=timezone.now() - timedelta(minutes=6),
        expires_at=timezone.now() - timedelta(minutes=1),
    )

    with pytest.raises(ChallengeExpired):
        authentication_verify(
            challenge_id=challenge.pk,
            response=authenticator.get(options),
            purpose=ChallengePurpose.AUTHENTICATION,
        )

    credential.refresh_from_db()
    assert (credential.sign_count, credential.last_used_at) == (0, None)
    assert WebAuthnChallenge.objects.get(pk=challenge.pk).used_at is not None


@pytest.mark.parametrize(
    ("tamper", "reason"),
    [
        ({"origin": "https://paydesk.evil.example"}, "origin_mismatch"),
        ({"rp_id": "evil.example"}, "rp_id_mismatch"),
        ({"user_verified": False}, "user_not_verified"),
        ({"user_present": False}, "user_not_present"),
        ({"tamper_signature": True}, "invalid_signature"),
        ({"challenge": b"\x00" * 32}, "challenge_mismatch"),
        ({"ceremony": "webauthn.create"}, "wrong_ceremony"),
        ({"user_handle": b"\x01" * 32}, "user_handle_mismatch"),
        ({"user_handle": None}, "user_handle_mismatch"),
    ],
)
def test_a_bad_assertion_is_refused_audited_and_changes_nothing(
    payer, authenticator, tamper, reason
):
    credential = register_passkey(payer, authenticator)
    challenge, options = _sign_in_challenge()

    code = _refusal(challenge, authenticator.get(options, **tamper))

    assert code == reason
    credential.refresh_from_db()
    assert (credential.sign_count, credential.last_used_at, credential.is_flagged) == (
        0,
        None,
        False,
    )
    event = AuditEvent.objects.get(action="passkey.verify_failed")
    assert event.after and event.after["reason"] == reason
    assert event.after and event.after["purpose"] == "authentication"
    assert event.object_id == str(credential.pk)


def test_a_counter_that_went_backwards_is_refused_flags_the_credential_and_is_audited(
    payer, authenticator
):
    credential = register_passkey(payer, authenticator)
    for _ in range(3):  # the counter reaches 3
        challenge, options = _sign_in_challenge()
        authentication_verify(
            challenge_id=challenge.pk,
            response=authenticator.get(options),
            purpose=ChallengePurpose.AUTHENTICATION,
        )
    challenge, options = _sign_in_challenge()

    code = _refusal(challenge, authenticator.get(options, sign_count=2))

    assert code == "counter_regression"
    credential.refresh_from_db()
    assert credential.is_flagged is True
    assert credential.sign_count == 3
    assert credential.flagged_reason == "Signature counter went from 3 to 2 (authentication)"
    event = AuditEvent.objects.get(action="passkey.counter_regression")
    assert event.before == {"sign_count": 3, "is_flagged": False}
    assert event.after and event.after["sign_count"] == 2
    assert event.object_id == str(credential.pk)

    # A blocked passkey stays refused, even with a counter that moves on again.
    challenge, options = _sign_in_challenge()
    assert _refusal(challenge, authenticator.get(options, sign_count=10)) == "credential_blocked"


def test_a_counter_that_did_not_move_is_a_regression_too(payer, authenticator):
    credential = register_passkey(payer, authenticator)
    challenge, options = _sign_in_challenge()
    authentication_verify(
        challenge_id=challenge.pk,
        response=authenticator.get(options),
        purpose=ChallengePurpose.AUTHENTICATION,
    )
    challenge, options = _sign_in_challenge()

    assert _refusal(challenge, authenticator.get(options, sign_count=1)) == "counter_regression"
    credential.refresh_from_db()
    assert credential.is_flagged is True


def test_a_forged_answer_with_a_low_counter_does_not_block_the_passkey(payer, authenticator):
    credential = register_passkey(payer, authenticator)
    PasskeyCredential.objects.filter(pk=credential.pk).update(sign_count=5)
    challenge, options = _sign_in_challenge()

    code = _refusal(challenge, authenticator.get(options, sign_count=1, tamper_signature=True))

    assert code == "invalid_signature"
    credential.refresh_from_db()
    assert (credential.is_flagged, credential.sign_count) == (False, 5)


def test_another_payers_credential_is_refused(payer, other_payer):
    others_authenticator = SoftAuthenticator()
    others_credential = register_passkey(other_payer, others_authenticator)
    challenge, options = _payment_challenge(payer)

    code = _refusal(
        challenge,
        others_authenticator.get(options),
        user=payer,
        binding=binding_encode(PAYMENT),
    )

    assert code == "credential_not_owned"
    others_credential.refresh_from_db()
    assert (others_credential.sign_count, others_credential.last_used_at) == (0, None)


def test_an_unknown_credential_is_refused(payer, authenticator):
    register_passkey(payer, authenticator)
    stranger = SoftAuthenticator()
    challenge, options = _sign_in_challenge()
    # A credential the server never registered (made for the same site).
    stranger.create({"challenge": options["challenge"], "user": {"id": "AAAA"}, "rp": {}})

    assert _refusal(challenge, stranger.get(options)) == "unknown_credential"


def test_a_malformed_answer_is_refused_and_spends_the_challenge(payer):
    challenge, _options = _sign_in_challenge()

    assert _refusal(challenge, {"id": "x", "rawId": "y", "response": {}}) == "malformed_response"
    with pytest.raises(ChallengeUsed):
        authentication_verify(
            challenge_id=challenge.pk, response="{}", purpose=ChallengePurpose.AUTHENTICATION
        )


def test_a_payment_whose_amount_changed_is_refused(payer, authenticator):
    credential = register_passkey(payer, authenticator)
    challenge, options = _payment_challenge(payer)
    changed = {**PAYMENT, "amount": 99_999}

    code = _refusal(
        challenge, authenticator.get(options), user=payer, binding=binding_encode(changed)
    )

    assert code == "binding_mismatch"
    credential.refresh_from_db()
    assert credential.last_used_at is None


def test_a_payment_whose_payee_changed_is_refused(payer, authenticator):
    register_passkey(payer, authenticator)
    challenge, options = _payment_challenge(payer)
    changed = {**PAYMENT, "payee": "mer_evil"}

    code = _refusal(
        challenge, authenticator.get(options), user=payer, binding=binding_encode(changed)
    )

    assert code == "binding_mismatch"


def test_a_bound_challenge_needs_its_binding_and_an_unbound_one_refuses_one(payer, authenticator):
    register_passkey(payer, authenticator)
    challenge, options = _payment_challenge(payer)
    assert _refusal(challenge, authenticator.get(options), user=payer) == "binding_mismatch"

    challenge, options = _sign_in_challenge()
    assert (
        _refusal(challenge, authenticator.get(options), binding=binding_encode(PAYMENT))
        == "binding_mismatch"
    )
