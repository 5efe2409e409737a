"""The generic WebAuthn layer: single-use challenges and verified assertions.

    challenge = challenge_issue(purpose=..., user=payer, binding=binding_encode({...}))
    options = webauthn.authentication_options(challenge=bytes(challenge.challenge), ...)
    ... the browser signs ...
    evidence = authentication_verify(challenge_id=challenge.pk, response=..., purpose=...,
                                     user=payer, binding=binding_encode({...}))

A challenge bound to data (a payment's id, amount, currency and payee) is
SHA-256(nonce || binding): the authenticator signs over it, and the verification
recomputes it from the binding the caller passes *at verification time*, so an answer
for a payment whose amount or payee changed meanwhile is refused.

Transactions: a challenge is consumed (committed) before anything is verified, and a
refusal commits its audit row and any flag before it is raised. Call these outside your
own atomic block: inside one, a rollback would give the challenge back (a replay) and
drop the flag. Re-check the binding under your own row lock with
`binding_digest(...) == evidence.bound_digest`.
"""

import hashlib
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from accounts.models import User
from accounts.passkeys import webauthn
from accounts.passkeys.errors import (
    ChallengeExpired,
    ChallengeInvalid,
    ChallengeUsed,
    PasskeyVerificationFailed,
)
from accounts.passkeys.models import (
    ChallengePurpose,
    PasskeyCredential,
    PasskeyUserHandle,
    WebAuthnChallenge,
)
from accounts.services.audit import audit_event_record

NONCE_BYTES = 32
CHALLENGE_TTL = timedelta(minutes=5)


# ----------------------------------------------------------------- binding


def binding_encode(fields: Mapping[str, str | int]) -> bytes:
    """Return the canonical bytes of the data a ceremony is bound to.

    Sorted keys, no whitespace, UTF-8: the same fields always give the same bytes. Use
    strings and integers only (amounts in minor units, never floats).
    """
    for key, value in fields.items():
        if not isinstance(value, str | int) or isinstance(value, bool):
            raise TypeError(f"binding field {key!r} must be a str or an int")
    return json.dumps(dict(fields), sort_keys=True, separators=(",", ":")).encode("utf-8")


def binding_digest(binding: bytes) -> bytes:
    """Return SHA-256 of the binding bytes (what a challenge stores as `bound_digest`)."""
    return hashlib.sha256(binding).digest()


def _bound_challenge(nonce: bytes, binding: bytes) -> bytes:
    return hashlib.sha256(nonce + binding).digest()


# ----------------------------------------------------------------- challenges


def challenge_issue(
    *,
    purpose: ChallengePurpose,
    user: User | None = None,
    binding: bytes | None = None,
    ttl: timedelta = CHALLENGE_TTL,
) -> WebAuthnChallenge:
    """Create a single-use challenge for one ceremony and return it.

    `challenge.challenge` is what goes to the browser: a fresh random nonce, or
    SHA-256(nonce || binding) when `binding` is given. Registration and payment
    confirmation need `user`; payment confirmation also needs `binding` (the database
    refuses otherwise). Pass the returned `pk` back to the verifying service.
    """
    nonce = secrets.token_bytes(NONCE_BYTES)
    now = timezone.now()
    return WebAuthnChallenge.objects.create(
        purpose=purpose,
        nonce=nonce,
        challenge=_bound_challenge(nonce, binding) if binding is not None else nonce,
        bound_digest=binding_digest(binding) if binding is not None else None,
        user=user,
        created_at=now,
        expires_at=now + ttl,
    )


def challenge_consume(
    *, challenge_id: int | None, purpose: ChallengePurpose, user: User | None = None
) -> WebAuthnChallenge:
    """Mark the challenge used and return it; it can never be answered again.

    One conditional UPDATE (`... WHERE used_at IS NULL`) decides, so of two concurrent
    answers only one proceeds. The challenge must have this purpose and, when it was
    issued to a user, `user` must be that user. Raise ChallengeInvalid, ChallengeUsed or
    ChallengeExpired (an expired challenge is consumed all the same).
    """
    if not isinstance(challenge_id, int):
        raise ChallengeInvalid
    mine = WebAuthnChallenge.objects.filter(pk=challenge_id, purpose=purpose)
    if user is not None:
        mine = mine.filter(user=user)
    now = timezone.now()
    consumed = mine.filter(used_at__isnull=True).update(used_at=now)
    challenge = mine.first()
    if challenge is None:
        raise ChallengeInvalid
    if not consumed:
        raise ChallengeUsed
    if challenge.expires_at <= now:
        raise ChallengeExpired
    return challenge


# ----------------------------------------------------------------- evidence


@dataclass(frozen=True)
class Evidence:
    """What a verified assertion proves; keep `as_dict()` with what it confirmed."""

    credential_pk: int
    credential_id: bytes
    user_id: int
    purpose: str
    challenge_id: int
    sign_count: int
    user_present: bool
    user_verified: bool
    backup_eligible: bool
    backup_state: bool
    authenticator_data_sha256: bytes
    client_data_sha256: bytes
    bound_digest: bytes | None
    verified_at: datetime

    @property
    def credential_id_b64(self) -> str:
        return webauthn.b64url_encode(self.credential_id)

    def as_dict(self) -> dict[str, Any]:
        """Return the evidence as JSON-safe values (e.g. for a payment's timeline)."""
        return {
            "credential": self.credential_pk,
            "credential_id": self.credential_id_b64,
            "user": self.user_id,
            "purpose": self.purpose,
            "challenge": self.challenge_id,
            "sign_count": self.sign_count,
            "flags": {
                "up": self.user_present,
                "uv": self.user_verified,
                "be": self.backup_eligible,
                "bs": self.backup_state,
            },
            "authenticator_data_sha256": self.authenticator_data_sha256.hex(),
            "client_data_sha256": self.client_data_sha256.hex(),
            "bound_digest": self.bound_digest.hex() if self.bound_digest is not None else None,
            "verified_at": self.verified_at.isoformat(),
        }


class _Refused(Exception):  # noqa: N818
    def __init__(
        self, reason: str, *, credential: PasskeyCredential | None = None, **details: Any
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.credential = credential
        self.details = details


def _check_binding(challenge: WebAuthnChallenge, binding: bytes | None) -> None:
    if challenge.bound_digest is None:
        if binding is not None:
            raise _Refused("binding_mismatch")
        return
    if binding is None:
        raise _Refused("binding_mismatch")
    digest = binding_digest(binding)
    expected = _bound_challenge(bytes(challenge.nonce), binding)
    if not (
        secrets.compare_digest(digest, bytes(challenge.bound_digest))
        and secrets.compare_digest(expected, bytes(challenge.challenge))
    ):
        raise _Refused("binding_mismatch")


def _verify_locked(
    challenge: WebAuthnChallenge,
    assertion: webauthn.Assertion,
    binding: bytes | None,
    user: User | None,
) -> Evidence:
    """Run every check against the locked credential row; raise _Refused on the first."""
    credential = (
        PasskeyCredential.objects.select_for_update()
        .filter(credential_id=assertion.credential_id)
        .first()
    )
    if credential is None:
        raise _Refused("unknown_credential")
    owner_id = challenge.user_id or (user.pk if user is not None else None)
    if owner_id is not None and credential.user_id != owner_id:
        raise _Refused("credential_not_owned", credential=credential)
    if credential.is_flagged:
        raise _Refused("credential_blocked", credential=credential)
    handle = (
        PasskeyUserHandle.objects.filter(user_id=credential.user_id)
        .values_list("handle", flat=True)
        .first()
    )
    if assertion.user_handle is None:
        # Discoverable sign-in: the authenticator must say whose passkey it is.
        if owner_id is None:
            raise _Refused("user_handle_mismatch", credential=credential)
    elif handle is None or not secrets.compare_digest(assertion.user_handle, bytes(handle)):
        raise _Refused("user_handle_mismatch", credential=credential)
    try:
        webauthn.assertion_verify(
            assertion=assertion,
            challenge=bytes(challenge.challenge),
            public_key=bytes(credential.public_key),
        )
    except PasskeyVerificationFailed as exc:
        raise _Refused(exc.reason, credential=credential, **exc.details) from exc

    # Only now, with the signature proven, may the counter condemn the credential: a
    # forged answer must not be able to block someone's passkey.
    received = assertion.authenticator_data.sign_count
    stored = credential.sign_count
    if (received > 0 or stored > 0) and received <= stored:
        raise _Refused(
            "counter_regression", credential=credential, stored=stored, received=received
        )
    _check_binding(challenge, binding)

    now = timezone.now()
    flags = assertion.authenticator_data.flags
    credential.sign_count = received
    credential.last_used_at = now
    credential.backup_state = flags.bs
    credential.save(update_fields=["sign_count", "last_used_at", "backup_state"])
    return Evidence(
        credential_pk=credential.pk,
        credential_id=bytes(credential.credential_id),
        user_id=credential.user_id,
        purpose=challenge.purpose,
        challenge_id=challenge.pk,
        sign_count=received,
        user_present=flags.up,
        user_verified=flags.uv,
        backup_eligible=flags.be,
        backup_state=flags.bs,
        authenticator_data_sha256=webauthn.sha256(assertion.authenticator_data_bytes),
        client_data_sha256=webauthn.sha256(assertion.client_data_bytes),
        bound_digest=bytes(challenge.bound_digest) if challenge.bound_digest is not None else None,
        verified_at=now,
    )


def _record_refusal(
    refusal: _Refused,
    *,
    challenge: WebAuthnChallenge,
    assertion: webauthn.Assertion,
    request: HttpRequest | None,
) -> None:
    credential = refusal.credential
    credential_id = webauthn.b64url_encode(assertion.credential_id)
    if refusal.reason == "counter_regression" and credential is not None:
        credential.is_flagged = True
        credential.flagged_at = timezone.now()
        credential.flagged_reason = (
            f"Signature counter went from {refusal.details['stored']} to "
            f"{refusal.details['received']} ({challenge.purpose})"
        )
        credential.save(update_fields=["is_flagged", "flagged_at", "flagged_reason"])
        audit_event_record(
            action="passkey.counter_regression",
            target=credential,
            before={"sign_count": refusal.details["stored"], "is_flagged": False},
            after={
                "sign_count": refusal.details["received"],
                "is_flagged": True,
                "credential_id": credential_id,
                "purpose": challenge.purpose,
            },
            request=request,
        )
        return
    after: dict[str, Any] = {
        "purpose": challenge.purpose,
        "reason": refusal.reason,
        "credential_id": credential_id,
        "challenge": challenge.pk,
    }
    if "origin" in refusal.details:
        after["origin"] = refusal.details["origin"]
    audit_event_record(
        action="passkey.verify_failed", target=credential, after=after, request=request
    )


def authentication_verify(
    *,
    challenge_id: int | None,
    response: Mapping[str, Any] | str,
    purpose: ChallengePurpose,
    user: User | None = None,
    binding: bytes | None = None,
    request: HttpRequest | None = None,
) -> Evidence:
    """Verify an answer to navigator.credentials.get() and return its Evidence.

    Consumes the challenge first (ChallengeInvalid / ChallengeUsed / ChallengeExpired).
    Then the credential must exist, belong to the challenge's user (or `user`), not be
    blocked, and match the returned user handle; the origin, RP ID, challenge, user
    presence and user verification flags and the signature must check out; the
    signature counter must have moved forward (else the credential is blocked and
    `passkey.counter_regression` audited); and `binding` must be the data the challenge
    was issued for. A refusal is audited (`passkey.verify_failed`) and raised as
    PasskeyVerificationFailed whose `code` names the failed check. On success the
    credential's counter and last use are updated.

    Call outside any atomic block (see the module docstring).
    """
    challenge = challenge_consume(challenge_id=challenge_id, purpose=purpose, user=user)
    try:
        assertion = webauthn.assertion_parse(response)
    except PasskeyVerificationFailed:
        audit_event_record(
            action="passkey.verify_failed",
            after={"purpose": purpose, "reason": "malformed_response", "challenge": challenge.pk},
            request=request,
        )
        raise
    refusal: _Refused | None = None
    with transaction.atomic():
        try:
            evidence = _verify_locked(challenge, assertion, binding, user)
        except _Refused as exc:
            refusal = exc
            _record_refusal(exc, challenge=challenge, assertion=assertion, request=request)
    if refusal is not None:
        raise PasskeyVerificationFailed(refusal.reason)
    return evidence
