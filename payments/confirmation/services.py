"""Confirming a payment at checkout: a passkey bound to the payment, or an email code.

Dynamic linking (PSD2 SCA): the WebAuthn challenge is SHA-256(nonce || binding) where the
binding is the payment's id, amount, currency and payee (the merchant's public id); it is
single use and lives 5 minutes (accounts.passkeys.ceremonies). The order of a
confirmation, for either method:

1. read the payment and build its binding *now*;
2. verify the answer OUTSIDE any transaction (`authentication_verify` /
   `email_code_verify` commit the spent challenge or code, the flag and the audit row
   before they raise: a rollback must not give a challenge back);
3. in one transaction: lock the payment, check that the locked row still has the
   binding the payer signed, confirm it (`payment_confirm`, which queues the gateway
   submission on commit), keep the evidence, close the funnel attempt.

Every refusal closes the attempt as failed (committed) and leaves the payment as it was.
"""

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from accounts.models import User
from accounts.passkeys import webauthn
from accounts.passkeys.ceremonies import (
    Evidence,
    authentication_verify,
    binding_digest,
    binding_encode,
    challenge_issue,
)
from accounts.passkeys.email_codes import email_code_issue, email_code_verify
from accounts.passkeys.errors import EmailCodeInvalid
from accounts.passkeys.models import (
    ChallengePurpose,
    EmailCode,
    EmailCodePurpose,
    PasskeyCredential,
)
from accounts.passkeys.selectors import passkey_descriptors_for_user
from accounts.passkeys.services import passkey_register, passkey_registration_start
from accounts.services.audit import audit_event_record, client_ip
from config.errors import ApplicationError, InvalidTransition
from payments.confirmation.errors import (
    BindingChanged,
    EmailCodeFallbackNotAllowed,
    PasskeyRequired,
    PaymentNotConfirmable,
)
from payments.confirmation.funnel import (
    verification_attempt_fail,
    verification_attempt_start,
    verification_attempt_succeed,
    verification_attempts_abandon,
    verification_attempts_supersede,
)
from payments.confirmation.models import (
    PaymentConfirmationEvidence,
    VerificationAttempt,
    VerificationMethod,
)
from payments.confirmation.selectors import (
    email_code_fallback_allowed,
    payer_has_passkey,
    payment_is_confirmable,
)
from payments.domain.models import Payment, PaymentStatus
from payments.services.payments import PaymentExpired, payment_confirm
from payments.services.transitions import payment_lock

# Wrong codes with tries left keep the attempt open: the payer fixes a typo.
EMAIL_CODE_RETRYABLE = frozenset({"wrong_code"})


def payment_binding(payment: Payment) -> bytes:
    """Return the canonical bytes a confirmation of `payment` is bound to.

    The payment's public id, amount (minor units), currency and payee (the merchant's
    public id): change any of them and an earlier challenge or code no longer fits.
    """
    return binding_encode(
        {
            "payment": payment.public_id,
            "amount": payment.amount,
            "currency": payment.currency,
            "payee": str(payment.merchant.public_id),
        }
    )


def _fresh(payment: Payment) -> Payment:
    # The caller's instance may be minutes old (loaded before the ceremony).
    return Payment.objects.select_related("merchant").get(pk=payment.pk)


def _require_confirmable(payment: Payment) -> None:
    if not payment_is_confirmable(payment):
        raise PaymentNotConfirmable()


def _request_facts(request: HttpRequest | None) -> dict[str, Any]:
    if request is None:
        return {}
    return {
        "ip": client_ip(request) or "",
        "user_agent": request.headers.get("User-Agent", "")[:200],
    }


@dataclass(frozen=True)
class CeremonyStart:
    """A ceremony handed to the browser: keep both ids in the session, send `options`."""

    challenge_id: int
    attempt_id: int
    options: dict[str, Any]


# ----------------------------------------------------------------- passkey confirmation


def payment_passkey_confirmation_start(*, payment: Payment, payer: User) -> CeremonyStart:
    """Issue a challenge bound to the payment for `payer` and start a funnel attempt.

    The browser is asked for one of the payer's own usable passkeys, with user
    verification required. Raise PaymentNotConfirmable or PasskeyRequired.
    """
    payment = _fresh(payment)
    _require_confirmable(payment)
    if not payer_has_passkey(payer):
        raise PasskeyRequired()
    challenge = challenge_issue(
        purpose=ChallengePurpose.PAYMENT_CONFIRMATION, user=payer, binding=payment_binding(payment)
    )
    options = webauthn.authentication_options(
        challenge=bytes(challenge.challenge), allow=passkey_descriptors_for_user(user=payer)
    )
    attempt = verification_attempt_start(
        payment=payment, payer=payer, method=VerificationMethod.PASSKEY
    )
    return CeremonyStart(challenge_id=challenge.pk, attempt_id=attempt.pk, options=options)


def _passkey_evidence_facts(evidence: Evidence) -> dict[str, Any]:
    # Scalars only: payment_confirm keeps these on the payment's timeline event.
    return {
        "sca": True,
        "credential": evidence.credential_pk,
        "credential_id": evidence.credential_id_b64,
        "sign_count": evidence.sign_count,
        "up": evidence.user_present,
        "uv": evidence.user_verified,
        "be": evidence.backup_eligible,
        "bs": evidence.backup_state,
        "challenge": evidence.challenge_id,
        "bound_digest": evidence.bound_digest.hex() if evidence.bound_digest else "",
        "verified_at": evidence.verified_at.isoformat(),
    }


def _confirm_locked(
    payment: Payment,
    *,
    payer: User,
    method: str,
    signed_digest: bytes | None,
    facts: dict[str, Any],
    evidence: dict[str, Any],
    attempt_id: object,
    request: HttpRequest | None,
) -> Payment:
    """Confirm under the payment's lock; return it, or raise (nothing changed but an
    expiry): BindingChanged, PaymentExpired, PaymentNotConfirmable. Audited
    `payment.confirm` with the method and whether it was strong customer authentication."""
    expired = False
    with transaction.atomic():
        locked = payment_lock(payment)
        if signed_digest is None or binding_digest(payment_binding(locked)) != signed_digest:
            raise BindingChanged()
        try:
            confirmed = payment_confirm(payment=locked, payer=payer, method=method, evidence=facts)
        except PaymentExpired:
            # payment_confirm recorded the expiry in its own savepoint: keep it.
            expired = True
        except InvalidTransition as error:
            raise PaymentNotConfirmable() from error
        else:
            now = timezone.now()
            PaymentConfirmationEvidence.objects.create(
                payment=confirmed,
                method=method,
                is_strong_authentication=bool(facts["sca"]),
                payer=payer,
                credential_id=str(facts.get("credential_id") or ""),
                sign_count=facts.get("sign_count"),
                user_verified=bool(facts.get("uv")),
                bound_digest=signed_digest.hex(),
                verified_at=evidence.get("verified_at_datetime") or now,
                details={k: v for k, v in evidence.items() if k != "verified_at_datetime"},
                created_at=now,
            )
            verification_attempt_succeed(
                attempt_id=attempt_id, payment=confirmed, payer=payer, now=now
            )
            verification_attempts_supersede(payment=confirmed, now=now)
            audit_event_record(
                action="payment.confirm",
                actor=payer,
                target=confirmed,
                before={"status": PaymentStatus.REQUIRES_CONFIRMATION},
                after={
                    "status": confirmed.status,
                    "method": method,
                    "sca": bool(facts["sca"]),
                    "credential_id": str(facts.get("credential_id") or ""),
                },
                request=request,
            )
    if expired:
        raise PaymentExpired()
    return confirmed


def payment_confirm_with_passkey(
    *,
    payment: Payment,
    payer: User,
    challenge_id: int | None,
    attempt_id: int | None,
    response: Any,
    request: HttpRequest | None = None,
) -> Payment:
    """Verify the payer's passkey answer for `payment` and confirm it (method "passkey").

    The assertion must answer this payer's challenge, made for the payment's current id,
    amount, currency and payee, not expired or used, from an allowed origin and RP ID,
    with user verification, a valid signature and a counter that moved forward, by one of
    the payer's own passkeys. Then, under the payment's lock, the binding is checked
    again and the payment goes to processing (the gateway submission is queued on
    commit) with its evidence. Raise PasskeyError subclasses (the `code` names the
    check), BindingChanged, PaymentExpired or PaymentNotConfirmable; each refusal closes
    the funnel attempt as failed and leaves the payment unconfirmed.

    Call outside any atomic block.
    """
    current = _fresh(payment)
    try:
        evidence = authentication_verify(
            challenge_id=challenge_id,
            response=response,
            purpose=ChallengePurpose.PAYMENT_CONFIRMATION,
            user=payer,
            binding=payment_binding(current),
            request=request,
        )
        if not evidence.user_verified:  # authentication_verify requires it; be explicit
            raise PaymentNotConfirmable(code="user_not_verified")
        facts = {**_request_facts(request), **_passkey_evidence_facts(evidence)}
        details = {**evidence.as_dict(), "verified_at_datetime": evidence.verified_at}
        return _confirm_locked(
            current,
            payer=payer,
            method=VerificationMethod.PASSKEY,
            signed_digest=evidence.bound_digest,
            facts=facts,
            evidence=details,
            attempt_id=attempt_id,
            request=request,
        )
    except ApplicationError as error:  # PaymentExpired included
        verification_attempt_fail(
            attempt_id=attempt_id, payment=current, payer=payer, failure_code=error.code
        )
        raise


# ----------------------------------------------------------------- passkey creation


def payment_passkey_registration_start(*, payment: Payment, payer: User) -> CeremonyStart:
    """Start creating a passkey for `payer` from the checkout of `payment` (funnel method
    "passkey_registration"). Raise PaymentNotConfirmable when it is too late to pay."""
    payment = _fresh(payment)
    _require_confirmable(payment)
    challenge, options = passkey_registration_start(user=payer)
    attempt = verification_attempt_start(
        payment=payment, payer=payer, method=VerificationMethod.PASSKEY_REGISTRATION
    )
    return CeremonyStart(challenge_id=challenge.pk, attempt_id=attempt.pk, options=options)


def payment_passkey_register(
    *,
    payment: Payment,
    payer: User,
    challenge_id: int | None,
    attempt_id: int | None,
    response: Any,
    name: str = "",
    request: HttpRequest | None = None,
) -> PasskeyCredential:
    """Store the passkey the payer just created at checkout and close the attempt.

    Raise what `accounts.passkeys.services.passkey_register` raises (the attempt is
    closed as failed with its code). Call outside any atomic block.
    """
    try:
        credential = passkey_register(
            user=payer, challenge_id=challenge_id, response=response, name=name, request=request
        )
    except ApplicationError as error:
        verification_attempt_fail(
            attempt_id=attempt_id, payment=payment, payer=payer, failure_code=error.code
        )
        raise
    verification_attempt_succeed(attempt_id=attempt_id, payment=payment, payer=payer)
    return credential


# ----------------------------------------------------------------- email code fallback


def _require_fallback(payment: Payment) -> None:
    if not email_code_fallback_allowed(payment):
        raise EmailCodeFallbackNotAllowed(
            details={
                "max_amount": settings.PAYMENT_EMAIL_CODE_FALLBACK_MAX_AMOUNT,
                "amount": payment.amount,
                "currency": payment.currency,
            }
        )


def payment_email_code_send(
    *, payment: Payment, payer: User, request: HttpRequest | None = None
) -> tuple[VerificationAttempt, EmailCode]:
    """Email `payer` a code bound to the payment and start a funnel attempt.

    Only where the fallback is allowed (CNY, at most PAYMENT_EMAIL_CODE_FALLBACK_MAX_AMOUNT
    minor units): else EmailCodeFallbackNotAllowed. A new code retires the previous one,
    whose attempt is closed as abandoned. RateLimited comes from the code layer.
    """
    payment = _fresh(payment)
    _require_confirmable(payment)
    _require_fallback(payment)
    record = email_code_issue(
        email=payer.email,
        purpose=EmailCodePurpose.PAYMENT_CONFIRMATION,
        binding=payment_binding(payment),
        request=request,
    )
    verification_attempts_abandon(
        payment=payment, payer=payer, method=VerificationMethod.EMAIL_CODE
    )
    attempt = verification_attempt_start(
        payment=payment, payer=payer, method=VerificationMethod.EMAIL_CODE
    )
    return attempt, record


def payment_confirm_with_email_code(
    *,
    payment: Payment,
    payer: User,
    code: str,
    attempt_id: int | None,
    request: HttpRequest | None = None,
) -> Payment:
    """Check the emailed code and confirm the payment with method "email_code".

    A weaker method (not SCA: `sca` false in the evidence), so allowed only up to the
    limit. The code must be the newest sent to the payer for this payment's current
    binding. Raise EmailCodeFallbackNotAllowed, EmailCodeInvalid (a wrong code with tries
    left keeps the attempt open; other refusals close it as failed), BindingChanged,
    PaymentExpired or PaymentNotConfirmable. Call outside any atomic block.
    """
    current = _fresh(payment)
    try:
        _require_fallback(current)
        record = email_code_verify(
            email=payer.email,
            purpose=EmailCodePurpose.PAYMENT_CONFIRMATION,
            code=code,
            binding=payment_binding(current),
            request=request,
        )
        signed = bytes(record.bound_digest) if record.bound_digest is not None else None
        facts = {
            **_request_facts(request),
            "sca": False,
            "email_code": record.pk,
            "bound_digest": signed.hex() if signed else "",
        }
        details = {
            "email_code": record.pk,
            "email": record.email,
            "sent_at": record.created_at.isoformat(),
            "verified_at": record.used_at.isoformat() if record.used_at else None,
            "bound_digest": signed.hex() if signed else None,
            "verified_at_datetime": record.used_at,
        }
        return _confirm_locked(
            current,
            payer=payer,
            method=VerificationMethod.EMAIL_CODE,
            signed_digest=signed,
            facts=facts,
            evidence=details,
            attempt_id=attempt_id,
            request=request,
        )
    except EmailCodeInvalid as error:
        if error.code not in EMAIL_CODE_RETRYABLE:
            verification_attempt_fail(
                attempt_id=attempt_id, payment=current, payer=payer, failure_code=error.code
            )
        raise
    except ApplicationError as error:  # PaymentExpired included
        verification_attempt_fail(
            attempt_id=attempt_id, payment=current, payer=payer, failure_code=error.code
        )
        raise


# ----------------------------------------------------------------- the browser's report


# What a browser may report about a ceremony that never reached the server, by the
# DOMException name (static/js/checkout-passkey.js).
CLIENT_FAILURES: dict[str, str] = {
    "NotAllowedError": "ceremony_not_allowed",
    "AbortError": "ceremony_aborted",
    "InvalidStateError": "ceremony_invalid_state",
    "NotSupportedError": "ceremony_not_supported",
    "SecurityError": "ceremony_security_error",
    "TimeoutError": "ceremony_timeout",
}


def verification_attempt_client_failure(
    *, payment: Payment, payer: User, attempt_id: object, error_name: str
) -> bool:
    """Close an attempt the browser gave up on (cancelled, timed out...); return whether
    it was open. Unknown error names are recorded as "ceremony_failed"."""
    code = CLIENT_FAILURES.get(str(error_name), "ceremony_failed")
    return verification_attempt_fail(
        attempt_id=attempt_id, payment=payment, payer=payer, failure_code=code
    )
