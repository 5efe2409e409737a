"""Reads about a user's two-factor devices, always scoped to that user."""

from django.db.models import QuerySet
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import User


def totp_device_list_for_user(user: User) -> QuerySet[TOTPDevice]:
    """Return the user's confirmed authenticator apps, oldest first."""
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("created_at", "pk")


def totp_device_get_for_user(user: User, device_id: int) -> TOTPDevice | None:
    """Return one of the user's confirmed authenticator apps, or None if it is not theirs."""
    return TOTPDevice.objects.filter(user=user, confirmed=True, pk=device_id).first()


def totp_device_pending_get(user: User, device_id: int | None) -> TOTPDevice | None:
    """Return the user's unconfirmed device being set up, or None."""
    if device_id is None:
        return None
    return TOTPDevice.objects.filter(user=user, confirmed=False, pk=device_id).first()


def user_has_totp_device(user: User) -> bool:
    """Tell whether the user has at least one confirmed authenticator app."""
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def recovery_codes_remaining(user: User) -> int:
    """Return how many unused recovery codes the user has left."""
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


def user_must_verify_second_factor(user: User) -> bool:
    """Tell whether the user's sessions need a second factor before portal pages open.

    True for roles that require 2FA, and for anyone who opted in with an authenticator
    app: enrolling would protect nothing if the second factor were then optional.
    """
    return user.requires_two_factor or user_has_totp_device(user)


def user_is_verified(user: User) -> bool:
    """Tell whether the user's session has passed the second factor.

    django-otp's OTPMiddleware gives `request.user` an `is_verified()`; a user without it
    (the middleware did not run) counts as not verified: fail closed.
    """
    is_verified = getattr(user, "is_verified", None)
    return bool(is_verified is not None and is_verified())
