"""Every write to a user's two-factor devices, each one audited.

Codes are checked against rows locked with `select_for_update()`, so two requests
cannot both spend the same TOTP time step or the same recovery code. A failed attempt
is committed (django-otp's throttle counter and the `2fa.verify_failed` audit row)
before the error is raised: do not wrap these services in an outer transaction that
rolls back on the error, or the throttle would forget the failure.

Recovery codes are stored as a keyed hash (HMAC-SHA256 with SECRET_KEY, truncated to
StaticToken's 16 characters), never in clear; each plain code is shown to its owner
once. Rotating SECRET_KEY keeps them working while the old key is in
SECRET_KEY_FALLBACKS.
"""

import secrets
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import NoReturn

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import User
from accounts.services.audit import audit_event_record
from config.errors import (
    ApplicationError,
    Conflict,
    PermissionDenied,
    RateLimited,
    ValidationFailed,
)

RECOVERY_DEVICE_NAME = "recovery"
RECOVERY_CODE_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"  # base32: no 0/O or 1/l to confuse
RECOVERY_CODE_LENGTH = 10  # 50 bits each
RESET_REASON_MAX_CHARS = 500
_RECOVERY_HASH_SALT = "paydesk.accounts.twofactor.recovery_code"


class Purpose(StrEnum):
    """Why a code is being checked; recorded in the audit log."""

    LOGIN = "login"
    SETUP = "setup"
    REMOVE_DEVICE = "remove_device"
    REGENERATE_CODES = "regenerate_codes"


class Method(StrEnum):
    TOTP = "totp"
    RECOVERY_CODE = "recovery_code"


class TwoFactorError(ApplicationError):
    """A refused two-factor action; `message` is translated and safe to show."""

    code = "two_factor_error"


class InvalidCodeError(TwoFactorError):
    code = "invalid_code"


class VerificationThrottledError(TwoFactorError, RateLimited):
    code = "throttled"


class SetupExpiredError(TwoFactorError):
    code = "setup_expired"
    status = 409


@dataclass(frozen=True)
class SetupResult:
    device: TOTPDevice
    recovery_codes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class RemovalResult:
    verified_by: Device
    remaining_totp_devices: int
    recovery_codes_removed: bool


@dataclass(frozen=True)
class ResetResult:
    totp_devices_removed: int
    recovery_codes_removed: int


@dataclass
class _Attempt:
    method: Method
    device: Device | None = None
    locked_until: datetime | None = None


# ----------------------------------------------------------------- recovery codes


def recovery_code_normalize(code: str) -> str:
    """Return the code as stored before hashing: lower case, no spaces or dashes."""
    return "".join(code.split()).replace("-", "").lower()


def recovery_code_format(code: str) -> str:
    """Return a code as shown to people: two groups of five, e.g. `abcde-fgh23`."""
    half = len(code) // 2
    return f"{code[:half]}-{code[half:]}"


def _recovery_code_hashes(code: str) -> list[str]:
    """Return the stored forms of a code under SECRET_KEY, then under each fallback key."""
    normalized = recovery_code_normalize(code)
    keys = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    return [
        salted_hmac(_RECOVERY_HASH_SALT, normalized, secret=key, algorithm="sha256").hexdigest()[
            :16
        ]
        for key in keys
    ]


def _recovery_codes_replace(user: User) -> list[str]:
    """Replace the user's recovery codes with fresh ones; return them in clear (show once)."""
    device, _created = StaticDevice.objects.get_or_create(
        user=user, name=RECOVERY_DEVICE_NAME, defaults={"confirmed": True}
    )
    StaticDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
    device.token_set.all().delete()
    codes = [
        "".join(secrets.choice(RECOVERY_CODE_ALPHABET) for _ in range(RECOVERY_CODE_LENGTH))
        for _ in range(settings.RECOVERY_CODE_COUNT)
    ]
    StaticToken.objects.bulk_create(
        StaticToken(device=device, token=_recovery_code_hashes(code)[0]) for code in codes
    )
    return [recovery_code_format(code) for code in codes]


# ----------------------------------------------------------------- checking codes


def _looks_like_totp(code: str) -> bool:
    compact = "".join(code.split())
    return compact.isdigit() and len(compact) in (6, 8)


def _attempt(user: User, code: str) -> _Attempt:
    """Check a code against the user's locked devices; call inside an atomic block."""
    if _looks_like_totp(code):
        attempt = _Attempt(Method.TOTP)
        devices: list[Device] = list(
            TOTPDevice.objects.select_for_update().filter(user=user, confirmed=True).order_by("pk")
        )
        token = "".join(code.split())
    else:
        attempt = _Attempt(Method.RECOVERY_CODE)
        devices = list(StaticDevice.objects.select_for_update().filter(user=user, confirmed=True))
        hashes = _recovery_code_hashes(code)
        stored = StaticToken.objects.filter(device__in=devices, token__in=hashes)
        token = stored.values_list("token", flat=True).first() or hashes[0]
    return _attempt_devices(attempt, devices, token)


def _attempt_devices(attempt: _Attempt, devices: list[Device], token: str) -> _Attempt:
    allowed = []
    for device in devices:
        is_allowed, details = device.verify_is_allowed()
        if is_allowed:
            allowed.append(device)
        elif details and details.get("locked_until"):
            until = details["locked_until"]
            attempt.locked_until = min(attempt.locked_until or until, until)
    if allowed:
        attempt.locked_until = None
    for device in allowed:
        # verify_token records the outcome itself: last_t on success (no replay), the
        # throttle counter on failure, and deletes a matching recovery token.
        if device.verify_token(token):
            attempt.device = device
            break
    return attempt


def _raise_for_failure(attempt: _Attempt) -> NoReturn:
    if attempt.locked_until is not None:
        seconds = max(1, int((attempt.locked_until - timezone.now()).total_seconds()) + 1)
        raise VerificationThrottledError(
            _("Too many wrong codes. Wait %(seconds)s seconds, then try again.")
            % {"seconds": seconds},
            retry_after_seconds=seconds,
        )
    if attempt.method == Method.RECOVERY_CODE:
        raise InvalidCodeError(
            _(
                "That code is not valid. Enter the 6-digit code from your authenticator "
                "app, or an unused recovery code."
            )
        )
    raise InvalidCodeError(
        _(
            "That code is not valid or was already used. Wait for your authenticator app "
            "to show a new code and try again."
        )
    )


def _record_attempt(
    *, user: User, attempt: _Attempt, purpose: Purpose, request: HttpRequest | None
) -> None:
    if attempt.device is None:
        audit_event_record(
            action="2fa.verify_failed",
            actor=user,
            target=user,
            after={
                "purpose": purpose.value,
                "method": attempt.method.value,
                "reason": "throttled" if attempt.locked_until else "invalid_code",
            },
            request=request,
        )
        return
    if attempt.method == Method.RECOVERY_CODE:
        audit_event_record(
            action="2fa.recovery_code_used",
            actor=user,
            target=user,
            after={
                "purpose": purpose.value,
                "remaining": StaticToken.objects.filter(device__user=user).count(),
            },
            request=request,
        )
    if purpose == Purpose.LOGIN:
        audit_event_record(
            action="2fa.verified",
            actor=user,
            target=user,
            after={"method": attempt.method.value, "device": attempt.device.persistent_id},
            request=request,
        )


def two_factor_verify(
    *, user: User, code: str, purpose: Purpose = Purpose.LOGIN, request: HttpRequest | None = None
) -> Device:
    """Check a TOTP code or a recovery code of the user; return the device that accepted it.

    A TOTP code is refused if its time step was already used; a recovery code is
    consumed. Raise `InvalidCodeError` or `VerificationThrottledError` (django-otp's exponential
    back-off) after committing the failure. The caller logs the session in with
    `django_otp.login` when `purpose` is `Purpose.LOGIN`.
    """
    with transaction.atomic():
        attempt = _attempt(user, code)
        _record_attempt(user=user, attempt=attempt, purpose=purpose, request=request)
    if attempt.device is None:
        _raise_for_failure(attempt)
    return attempt.device


# ----------------------------------------------------------------- enrolment


def totp_device_start(*, user: User) -> TOTPDevice:
    """Create an unconfirmed authenticator-app device for the user to scan.

    Earlier unconfirmed devices of the user are deleted: they never worked and their
    secrets have no use. Nothing is audited until the device is confirmed.
    """
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user, confirmed=False).delete()
        return TOTPDevice.objects.create(
            user=user,
            name=str(_("Authenticator app")),
            confirmed=False,
            tolerance=getattr(settings, "OTP_TOTP_TOLERANCE", 1),
        )


def totp_device_confirm(
    *,
    user: User,
    device_id: int,
    code: str,
    name: str = "",
    request: HttpRequest | None = None,
) -> SetupResult:
    """Confirm the user's pending device with a code from the app.

    On success the device is confirmed (audited `2fa.device_added`) and, if the user
    has no unused recovery codes, ten new ones are made (`2fa.recovery_codes_generated`)
    and returned in clear for the one screen that shows them. A wrong code raises
    `InvalidCodeError` and leaves the device unconfirmed. The caller logs the session in.
    """
    with transaction.atomic():
        device = (
            TOTPDevice.objects.select_for_update()
            .filter(user=user, confirmed=False, pk=device_id)
            .first()
        )
        if device is None:
            raise SetupExpiredError(
                _("This setup has expired. Scan the new QR code below and enter its code.")
            )
        attempt = _attempt_devices(_Attempt(Method.TOTP), [device], "".join(code.split()))
        _record_attempt(user=user, attempt=attempt, purpose=Purpose.SETUP, request=request)
        if attempt.device is not None:
            device.confirmed = True
            device.name = name.strip()[:64] or device.name
            device.save(update_fields=["confirmed", "name"])
            audit_event_record(
                action="2fa.device_added",
                actor=user,
                target=device,
                after={"type": "totp", "name": device.name},
                request=request,
            )
            codes: list[str] = []
            if not StaticToken.objects.filter(device__user=user, device__confirmed=True).exists():
                codes = _recovery_codes_replace(user)
                audit_event_record(
                    action="2fa.recovery_codes_generated",
                    actor=user,
                    target=user,
                    after={"count": len(codes), "reason": "setup"},
                    request=request,
                )
            return SetupResult(device=device, recovery_codes=codes)
    _raise_for_failure(attempt)


# ----------------------------------------------------------------- management


def recovery_codes_regenerate(
    *, user: User, code: str, request: HttpRequest | None = None
) -> list[str]:
    """Replace the user's recovery codes after checking a current code; return the new ones.

    The old codes stop working at once. Raise `InvalidCodeError`/`VerificationThrottledError`
    and change nothing if the code is wrong.
    """
    device = two_factor_verify(
        user=user, code=code, purpose=Purpose.REGENERATE_CODES, request=request
    )
    with transaction.atomic():
        codes = _recovery_codes_replace(user)
        audit_event_record(
            action="2fa.recovery_codes_generated",
            actor=user,
            target=user,
            after={
                "count": len(codes),
                "reason": "regenerated",
                "confirmed_with": device.persistent_id,
            },
            request=request,
        )
    return codes


def totp_device_remove(
    *, user: User, device_id: int, code: str, request: HttpRequest | None = None
) -> RemovalResult:
    """Remove one of the user's authenticator apps after checking a current code.

    The code may come from any of the user's devices, recovery codes included, so a
    lost phone can be removed. Removing the last app also deletes the recovery codes:
    they are a fallback for an app the user no longer has. Raise `InvalidCodeError` if the
    device is not the user's or the code is wrong; nothing is removed then.
    """
    if not TOTPDevice.objects.filter(user=user, confirmed=True, pk=device_id).exists():
        raise InvalidCodeError(_("That authenticator app is not one of yours."))
    verified_by = two_factor_verify(
        user=user, code=code, purpose=Purpose.REMOVE_DEVICE, request=request
    )
    with transaction.atomic():
        device = (
            TOTPDevice.objects.select_for_update()
            .filter(user=user, confirmed=True, pk=device_id)
            .first()
        )
        if device is None:  # removed by a parallel request in the meantime
            raise InvalidCodeError(_("That authenticator app is not one of yours."))
        remaining = TOTPDevice.objects.filter(user=user, confirmed=True).exclude(pk=device.pk)
        remaining_count = remaining.count()
        recovery_removed = False
        if remaining_count == 0:
            deleted, _by_model = StaticDevice.objects.filter(user=user).delete()
            recovery_removed = deleted > 0
        audit_event_record(
            action="2fa.device_removed",
            actor=user,
            target=device,
            before={"type": "totp", "name": device.name},
            after={
                "remaining_devices": remaining_count,
                "recovery_codes_removed": recovery_removed,
            },
            request=request,
        )
        device.delete()
    return RemovalResult(
        verified_by=verified_by,
        remaining_totp_devices=remaining_count,
        recovery_codes_removed=recovery_removed,
    )


# ----------------------------------------------------------------- administrator reset


def two_factor_reset(
    *, actor: User, user: User, reason: str, request: HttpRequest | None = None
) -> ResetResult:
    """Remove all of `user`'s authenticator apps and recovery codes (lost phone and codes).

    For an administrator (`accounts.manage_roles`) acting on someone else's account; the
    reason is mandatory and kept in the `2fa.reset` audit event. The user signs in with
    their password next time and, if their role requires 2FA, the wall makes them set up a
    new authenticator app; a session verified with a removed device is no longer verified.
    Raise PermissionDenied, Conflict (own account, or nothing to remove) or ValidationFailed
    (no reason); nothing changes then.
    """
    if not actor.has_perm("accounts.manage_roles"):
        raise PermissionDenied
    if actor.pk == user.pk:
        # One person alone must not lift their own second factor: another administrator does.
        raise Conflict(
            _("You cannot reset your own two-factor authentication; ask another administrator."),
            code="self_two_factor_reset",
        )
    reason = (reason or "").strip()
    if not reason:
        message = _("Give the reason for the reset, e.g. how the user proved who they are.")
        raise ValidationFailed(message, details={"reason": [message]})
    if len(reason) > RESET_REASON_MAX_CHARS:
        message = _("Use at most %(count)d characters.") % {"count": RESET_REASON_MAX_CHARS}
        raise ValidationFailed(message, details={"reason": [message]})
    with transaction.atomic():
        # The user row lock serialises two administrators resetting the same user at once.
        locked = User.objects.select_for_update().get(pk=user.pk)
        totp_devices = list(
            TOTPDevice.objects.select_for_update().filter(user=locked).order_by("pk")
        )
        static_devices = StaticDevice.objects.select_for_update().filter(user=locked)
        codes = StaticToken.objects.filter(device__in=static_devices).count()
        if not totp_devices and not static_devices.exists():
            raise Conflict(
                _("%(email)s has no two-factor authentication to reset.") % {"email": locked.email},
                code="nothing_to_reset",
            )
        confirmed = [device for device in totp_devices if device.confirmed]
        audit_event_record(
            action="2fa.reset",
            actor=actor,
            target=locked,
            before={
                "devices": [device.name for device in confirmed],
                "recovery_codes": codes,
            },
            after={"devices": [], "recovery_codes": 0, "reason": reason},
            request=request,
        )
        TOTPDevice.objects.filter(pk__in=[device.pk for device in totp_devices]).delete()
        static_devices.delete()
    return ResetResult(totp_devices_removed=len(confirmed), recovery_codes_removed=codes)
