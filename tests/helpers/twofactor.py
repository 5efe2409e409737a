"""Get past the 2FA wall in tests, and make TOTP codes the way a phone would.

    from tests.helpers.twofactor import verify_client, verified_session_cookie

    verify_client(client, user)              # client is signed in and 2FA-verified
    context.add_cookies([verified_session_cookie(client, user, url=live_server.url)])

Or use the `verified_client` fixture from tests/conftest.py.
"""

import time
from base64 import b32encode
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING

import pyotp
from django.conf import settings
from django.test import Client
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import User
from accounts.twofactor.services import totp_device_confirm, totp_device_start

if TYPE_CHECKING:
    # Playwright's own type for add_cookies(); it is not exported from playwright.sync_api.
    from playwright._impl._api_structures import SetCookieParam

VerifiedClientFactory = Callable[[User], Client]


def totp_for(device: TOTPDevice) -> pyotp.TOTP:
    """Return a pyotp authenticator holding the device's secret (what the phone computes)."""
    return pyotp.TOTP(b32encode(device.bin_key).decode("ascii"), interval=device.step)


def totp_code(device: TOTPDevice, *, steps_ahead: int = 0) -> str:
    """Return the device's code for now, or for a later time step.

    django-otp accepts one time step on either side (OTP_TOTP_TOLERANCE) and never the
    same step twice, so a test that needs a second fresh code uses `steps_ahead=1`.
    """
    return totp_for(device).at(time.time() + steps_ahead * device.step)


def confirmed_totp_device(user: User, *, name: str = "Test phone") -> TOTPDevice:
    """Create a confirmed authenticator app for the user (no recovery codes)."""
    return TOTPDevice.objects.create(user=user, name=name, confirmed=True)


def verify_client(client: Client, user: User) -> TOTPDevice:
    """Sign `user` in on the Django test client with a 2FA-verified session.

    Creates a confirmed TOTP device, logs the client in and stores the device in the
    session the way `django_otp.login` does; returns the device.
    """
    device = confirmed_totp_device(user)
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return device


def verified_session_cookie(
    client: Client, user: User, *, url: str | None = None, domain: str = "localhost"
) -> "SetCookieParam":
    """Return a cookie for Playwright's `context.add_cookies` with a 2FA-verified session.

    Pass `url=live_server.url` (preferred) or rely on `domain` (pytest-django's live
    server runs on localhost). The test database must be shared with the live server,
    i.e. the test uses `django_db(transaction=True)`.
    """
    verify_client(client, user)
    cookie: SetCookieParam = {
        "name": settings.SESSION_COOKIE_NAME,
        "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
        "httpOnly": True,
        "sameSite": "Lax",
    }
    if url:
        cookie["url"] = url
    else:
        cookie["domain"] = domain
        cookie["path"] = "/"
    return cookie


def verified_client_factory() -> VerifiedClientFactory:
    """Return `make(user) -> Client` giving a new, 2FA-verified test client per call."""

    def make(user: User) -> Client:
        client = Client()
        verify_client(client, user)
        return client

    return make


def wrong_totp_code(device: TOTPDevice) -> str:
    """Return a 6-digit code the device will not accept now (outside every nearby step)."""
    nearby = {totp_code(device, steps_ahead=k) for k in range(-2, 3)}
    return next(code for code in ("000000", "111111", "222222", "333333") if code not in nearby)


def enrol(user: User) -> tuple[TOTPDevice, list[str]]:
    """Enrol the user as the setup page does; return the device and the recovery codes.

    The device has used the current time step: the next code to verify with is
    `totp_code(device, steps_ahead=1)`.
    """
    device = totp_device_start(user=user)
    result = totp_device_confirm(user=user, device_id=device.pk, code=totp_code(device))
    device.refresh_from_db()
    return device, result.recovery_codes


def session_is_verified(client: Client) -> bool:
    """Tell whether the client's session has passed the second factor."""
    return DEVICE_ID_SESSION_KEY in client.session


def unthrottle(device: TOTPDevice | StaticDevice) -> None:
    """Move the device's last failure an hour back, as if the back-off delay had passed."""
    type(device).objects.filter(pk=device.pk).update(
        throttling_failure_timestamp=timezone.now() - timedelta(hours=1)
    )
