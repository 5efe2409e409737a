"""Every write on passkeys: registration, naming, removal, sign-in, payer sign-up.

Each registration, rename and removal is audited (`passkey.registered`,
`passkey.renamed`, `passkey.removed`), and so is every refusal. Like ceremonies.py,
the services that answer a challenge consume it and commit their refusals before
raising: call them outside an atomic block.
"""

import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from allauth.account.models import EmailAddress
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.passkeys import webauthn
from accounts.passkeys.ceremonies import (
    Evidence,
    authentication_verify,
    challenge_consume,
    challenge_issue,
)
from accounts.passkeys.email_codes import email_code_issue, email_code_verify, email_normalize
from accounts.passkeys.errors import (
    AccountNotEligible,
    PasskeyExists,
    PasskeyLimitReached,
    PasskeySignInRefused,
    PasskeyVerificationFailed,
)
from accounts.passkeys.models import (
    PASSKEY_NAME_MAX_LENGTH,
    ChallengePurpose,
    EmailCode,
    EmailCodePurpose,
    PasskeyCredential,
    PasskeyUserHandle,
    WebAuthnChallenge,
)
from accounts.passkeys.selectors import passkey_get_for_user
from accounts.roles import Role
from accounts.services.audit import audit_event_record
from accounts.services.users import AccountType, user_signup_complete
from accounts.twofactor.selectors import user_has_totp_device
from config.errors import ValidationFailed

USER_HANDLE_BYTES = 32
# Expired challenges and codes are kept this long for investigations, then purged.
PURGE_GRACE = timedelta(days=1)
MAX_PASSKEYS_PER_USER = 20

# Names for the passkey providers people meet most, from the authenticator's AAGUID, so
# that "iCloud Keychain" reads better than "Passkey 2". Anything else gets a number.
KNOWN_AUTHENTICATORS: dict[str, str] = {
    "ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4": "Google Password Manager",
    "fbfc3007-154e-4ecc-8c0b-6e020557d7bd": "iCloud Keychain",
    "adce0002-35bc-c60a-648b-0b25f1f05503": "Chrome on Mac",
    "08987058-cadc-4b81-b6e1-30de50dcbe96": "Windows Hello",
    "bada5566-a7aa-401f-bd96-45619a55120d": "1Password",
}


# ----------------------------------------------------------------- registration


def passkey_user_handle_get_or_create(*, user: User) -> bytes:
    """Return the user's WebAuthn user handle, creating it (32 random bytes) once."""
    handle, _created = PasskeyUserHandle.objects.get_or_create(
        user=user, defaults={"handle": secrets.token_bytes(USER_HANDLE_BYTES)}
    )
    return bytes(handle.handle)


def passkey_registration_start(*, user: User) -> tuple[WebAuthnChallenge, dict[str, Any]]:
    """Issue a registration challenge for the user and return it with the browser options.

    The options exclude the user's existing passkeys, so an authenticator that already
    holds one answers "already registered" instead of making a duplicate.
    """
    handle = passkey_user_handle_get_or_create(user=user)
    challenge = challenge_issue(purpose=ChallengePurpose.REGISTRATION, user=user)
    existing = PasskeyCredential.objects.filter(user=user).values_list(
        "credential_id", "transports"
    )
    options = webauthn.registration_options(
        challenge=bytes(challenge.challenge),
        user_handle=handle,
        user_name=user.email,
        user_display_name=user.full_name or user.email,
        exclude=[(bytes(cid), list(transports or [])) for cid, transports in existing],
    )
    return challenge, options


def _default_name(user: User, aaguid: str) -> str:
    known = KNOWN_AUTHENTICATORS.get(aaguid)
    if known and not PasskeyCredential.objects.filter(user=user, name=known).exists():
        return known
    count = PasskeyCredential.objects.filter(user=user).count()
    return _("Passkey %(number)s") % {"number": count + 1}


def _clean_name(name: str) -> str:
    cleaned = " ".join(str(name or "").split())
    if len(cleaned) > PASSKEY_NAME_MAX_LENGTH:
        raise ValidationFailed(
            _("Keep the name to %(max)s characters or fewer.") % {"max": PASSKEY_NAME_MAX_LENGTH},
            details={"name": "too_long"},
        )
    return cleaned


def passkey_register(
    *,
    user: User,
    challenge_id: int | None,
    response: Any,
    name: str = "",
    request: HttpRequest | None = None,
) -> PasskeyCredential:
    """Verify the browser's new credential against the user's challenge and store it.

    User verification is required and the attestation is not checked ("none"). Raise
    ValidationFailed (name too long; the challenge is left unused), ChallengeInvalid /
    ChallengeUsed / ChallengeExpired, PasskeyVerificationFailed (audited as
    `passkey.registration_failed`), PasskeyExists or PasskeyLimitReached. Audit
    `passkey.registered` on success.
    """
    cleaned_name = _clean_name(name)
    challenge = challenge_consume(
        challenge_id=challenge_id, purpose=ChallengePurpose.REGISTRATION, user=user
    )
    try:
        new = webauthn.registration_verify(response=response, challenge=bytes(challenge.challenge))
    except PasskeyVerificationFailed as exc:
        audit_event_record(
            action="passkey.registration_failed",
            actor=user,
            target=user,
            after={"reason": exc.reason},
            request=request,
        )
        raise
    credential_id_b64 = webauthn.b64url_encode(new.credential_id)
    with transaction.atomic():
        # The user row lock serialises two registrations of one user (the limit below).
        User.objects.select_for_update().filter(pk=user.pk).first()
        if PasskeyCredential.objects.filter(user=user).count() >= MAX_PASSKEYS_PER_USER:
            raise PasskeyLimitReached
        try:
            with transaction.atomic():
                credential = PasskeyCredential.objects.create(
                    user=user,
                    credential_id=new.credential_id,
                    public_key=new.public_key,
                    sign_count=new.sign_count,
                    transports=new.transports,
                    aaguid=new.aaguid,
                    name=cleaned_name or _default_name(user, new.aaguid),
                    backup_eligible=new.backup_eligible,
                    backup_state=new.backup_state,
                )
        except IntegrityError as exc:
            raise PasskeyExists from exc
        audit_event_record(
            action="passkey.registered",
            actor=user,
            target=credential,
            after={
                "name": credential.name,
                "credential_id": credential_id_b64,
                "aaguid": new.aaguid,
                "transports": new.transports,
                "backup_eligible": new.backup_eligible,
            },
            request=request,
        )
    return credential


# ----------------------------------------------------------------- management


def passkey_rename(
    *, user: User, passkey_id: int, name: str, request: HttpRequest | None = None
) -> PasskeyCredential:
    """Rename one of the user's passkeys (audited `passkey.renamed`).

    Raise NotFound if it is not the user's, ValidationFailed if the name is empty or too
    long. A rename to the same name changes and records nothing.
    """
    cleaned = _clean_name(name)
    if not cleaned:
        raise ValidationFailed(_("Give the passkey a name."), details={"name": "required"})
    with transaction.atomic():
        credential = passkey_get_for_user(user=user, passkey_id=passkey_id, for_update=True)
        if credential.name == cleaned:
            return credential
        before = credential.name
        credential.name = cleaned
        credential.save(update_fields=["name"])
        audit_event_record(
            action="passkey.renamed",
            actor=user,
            target=credential,
            before={"name": before},
            after={"name": cleaned},
            request=request,
        )
    return credential


def passkey_remove(*, user: User, passkey_id: int, request: HttpRequest | None = None) -> None:
    """Delete one of the user's passkeys; audit `passkey.removed` with its name and id.

    Raise NotFound if it is not the user's (nothing is removed). The authenticator keeps
    its copy; Paydesk no longer accepts it.
    """
    with transaction.atomic():
        credential = passkey_get_for_user(user=user, passkey_id=passkey_id, for_update=True)
        audit_event_record(
            action="passkey.removed",
            actor=user,
            target=credential,
            before={
                "name": credential.name,
                "credential_id": webauthn.b64url_encode(bytes(credential.credential_id)),
                "created_at": credential.created_at.isoformat(),
                "last_used_at": (
                    credential.last_used_at.isoformat() if credential.last_used_at else None
                ),
                "is_flagged": credential.is_flagged,
            },
            request=request,
        )
        credential.delete()


# ----------------------------------------------------------------- sign-in


def passkey_sign_in_start() -> tuple[WebAuthnChallenge, dict[str, Any]]:
    """Issue a sign-in challenge for a discoverable passkey (no user known yet)."""
    challenge = challenge_issue(purpose=ChallengePurpose.AUTHENTICATION)
    return challenge, webauthn.authentication_options(challenge=bytes(challenge.challenge))


def passkey_sign_in(
    *, challenge_id: int | None, response: Any, request: HttpRequest | None = None
) -> tuple[User, Evidence]:
    """Verify a passkey sign-in and return the user to log in, with the evidence.

    Passkey sign-in is for users who do not need two-factor authentication (payers,
    merchant staff): a passkey with user verification is two factors already, but the
    operations roles and merchant owners keep their password + authenticator app. For
    them, and for inactive accounts, raise PasskeySignInRefused (audited
    `passkey.sign_in_refused`) even though the passkey itself checked out. The caller
    logs the user in; that is audited `auth.login`.
    """
    evidence = authentication_verify(
        challenge_id=challenge_id,
        response=response,
        purpose=ChallengePurpose.AUTHENTICATION,
        request=request,
    )
    user = User.objects.get(pk=evidence.user_id)
    refusal: PasskeySignInRefused | None = None
    if not user.is_active:
        refusal = PasskeySignInRefused(_("This account is deactivated."), code="account_inactive")
    elif user.requires_two_factor:
        refusal = PasskeySignInRefused(
            _(
                "Your role signs in with a password and an authenticator app. Use the "
                "password sign-in page."
            ),
            code="two_factor_required",
        )
    if refusal is not None:
        audit_event_record(
            action="passkey.sign_in_refused",
            actor=user,
            target=user,
            after={"reason": refusal.code, "credential_id": evidence.credential_id_b64},
            request=request,
        )
        raise refusal
    return user, evidence


# ----------------------------------------------------------------- housekeeping


def passkey_records_purge(*, grace: timedelta = PURGE_GRACE) -> dict[str, int]:
    """Delete challenges and email codes that expired more than `grace` ago.

    Safe to run twice. Meant for the janitor (a periodic task): an abandoned sign-in page
    leaves a challenge row behind every time it loads. Returns the counts deleted.
    """
    cutoff = timezone.now() - grace
    challenges, _by_model = WebAuthnChallenge.objects.filter(expires_at__lt=cutoff).delete()
    codes, _by_model = EmailCode.objects.filter(expires_at__lt=cutoff).delete()
    return {"challenges": challenges, "email_codes": codes}


# ----------------------------------------------------------------- payer sign-up


@dataclass(frozen=True)
class PayerAccess:
    user: User
    is_new: bool


def payer_signup_code_send(*, email: str, request: HttpRequest | None = None) -> EmailCode:
    """Email a sign-up code to `email`, whether or not it has an account yet.

    Whether the address is known is only revealed once the code proves it is theirs.
    Raise ValidationFailed or RateLimited (see email_codes.email_code_issue).
    """
    return email_code_issue(email=email, purpose=EmailCodePurpose.PAYER_SIGNUP, request=request)


def _is_payer_only(user: User) -> bool:
    return (
        user.roles == frozenset({Role.PAYER})
        and not (user.is_staff or user.is_superuser or user.requires_two_factor)
        and not user_has_totp_device(user)
    )


def payer_access_by_email_code(
    *, email: str, code: str, request: HttpRequest | None = None
) -> PayerAccess:
    """Check the emailed code; then sign up a new payer, or return the existing payer.

    A new payer gets an unusable password, the payer role (audited `auth.signup`) and a
    verified primary email address. An existing account is returned only if it is a
    payer and nothing else (no 2FA, no other role): the code proves the mailbox, which is
    not enough for anyone else (AccountNotEligible, audited). The caller logs the user in.
    Raise EmailCodeInvalid / ValidationFailed from the code check.
    """
    address = email_normalize(email)
    email_code_verify(
        email=address, purpose=EmailCodePurpose.PAYER_SIGNUP, code=code, request=request
    )
    with transaction.atomic():
        existing = User.objects.select_for_update().filter(email__iexact=address).first()
        if existing is None:
            try:
                with transaction.atomic():
                    user = User.objects.create_user(email=address, password=None)
            except IntegrityError as exc:  # created by a parallel request a moment ago
                raise AccountNotEligible from exc
            user_signup_complete(user=user, account_type=AccountType.PAYER, request=request)
            _email_mark_verified(user, address, request=request)
            return PayerAccess(user=user, is_new=True)
        if existing.is_active and _is_payer_only(existing):
            _email_mark_verified(existing, address, request=request)
            return PayerAccess(user=existing, is_new=False)
        reason = "inactive" if not existing.is_active else "not_payer_only"
        audit_event_record(
            action="auth.email_code_login_refused",
            actor=existing,
            target=existing,
            after={"reason": reason},
            request=request,
        )
    # Raised outside the block, so that the refusal's audit row is kept.
    if reason == "inactive":
        raise AccountNotEligible(_("This account is deactivated."), code="account_inactive")
    raise AccountNotEligible


def _email_mark_verified(user: User, address: str, *, request: HttpRequest | None) -> None:
    record = EmailAddress.objects.filter(user=user, email__iexact=address).first()
    if record is not None and record.verified:
        return
    if record is None:
        has_primary = EmailAddress.objects.filter(user=user, primary=True).exists()
        EmailAddress.objects.create(
            user=user, email=address, verified=True, primary=not has_primary
        )
    else:
        record.verified = True
        record.save(update_fields=["verified"])
    audit_event_record(
        action="auth.email_confirmed",
        actor=user,
        target=user,
        after={"email": address, "method": "email_code"},
        request=request,
    )
