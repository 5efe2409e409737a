"""Two-factor pages: set up an authenticator app, verify a session, manage devices.

Setup and verify are reachable through the 2FA wall; the management pages sit behind
it, so only a verified session (or a user with no device at all) can change devices.
"""

from base64 import b32encode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp import login as otp_login
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.http import AuthenticatedRequest
from accounts.models import User
from accounts.twofactor.forms import CodeForm, SetupForm
from accounts.twofactor.qr import qr_code_data_uri
from accounts.twofactor.redirects import safe_next_url, url_with_next
from accounts.twofactor.selectors import (
    recovery_codes_remaining,
    totp_device_get_for_user,
    totp_device_list_for_user,
    totp_device_pending_get,
    user_has_totp_device,
    user_is_verified,
)
from accounts.twofactor.services import (
    TwoFactorError,
    recovery_codes_regenerate,
    totp_device_confirm,
    totp_device_remove,
    totp_device_start,
    two_factor_verify,
)

PENDING_DEVICE_SESSION_KEY = "twofactor_pending_device_id"
LOW_RECOVERY_CODES = 3


def _next_or_dashboard(request: HttpRequest) -> str:
    return safe_next_url(request) or reverse("dashboard")


def _login_second_factor(request: HttpRequest, device: Device) -> None:
    # A new session key on every rise in privilege, so a planted session id cannot
    # inherit the verified state (the same reason Django cycles it at password login).
    request.session.cycle_key()
    otp_login(request, device)


def _spaced_secret(device: TOTPDevice) -> str:
    secret = b32encode(device.bin_key).decode("ascii")
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def _codes_page(
    request: HttpRequest, codes: list[str], *, continue_url: str, first_setup: bool
) -> HttpResponse:
    return render(
        request,
        "accounts/twofactor/recovery_codes.html",
        {"codes": codes, "continue_url": continue_url, "first_setup": first_setup},
    )


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def setup(request: AuthenticatedRequest) -> HttpResponse:
    """Show a new authenticator secret as a QR code and confirm it with a first code."""
    user = request.user
    next_url = safe_next_url(request)
    # Adding an app while unverified would let a stolen password enrol the thief's phone.
    if user_has_totp_device(user) and not user_is_verified(user):
        return redirect(url_with_next(reverse("twofactor:verify"), next_url))

    device = totp_device_pending_get(user, request.session.get(PENDING_DEVICE_SESSION_KEY))
    if device is None:
        device = totp_device_start(user=user)
        request.session[PENDING_DEVICE_SESSION_KEY] = device.pk

    form = SetupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            result = totp_device_confirm(
                user=user,
                device_id=device.pk,
                code=form.cleaned_data["code"],
                name=form.cleaned_data["name"],
                request=request,
            )
        except TwoFactorError as error:
            form.add_error("code", error.message)
        else:
            request.session.pop(PENDING_DEVICE_SESSION_KEY, None)
            _login_second_factor(request, result.device)
            messages.success(request, _("Two-factor authentication is on for your account."))
            continue_url = next_url or reverse("dashboard")
            if result.recovery_codes:
                return _codes_page(
                    request, result.recovery_codes, continue_url=continue_url, first_setup=True
                )
            return redirect(continue_url)

    return render(
        request,
        "accounts/twofactor/setup.html",
        {
            "form": form,
            "device": device,
            "qr_code": qr_code_data_uri(device.config_url),
            "secret": _spaced_secret(device),
            "next_url": next_url,
            "is_required": user.requires_two_factor,
            "is_adding": user_has_totp_device(user),
        },
    )


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def verify(request: AuthenticatedRequest) -> HttpResponse:
    """Ask for a TOTP code or a recovery code to verify this session."""
    user = request.user
    next_url = safe_next_url(request)
    if user_is_verified(user):
        return redirect(next_url or reverse("dashboard"))
    if not user_has_totp_device(user) and recovery_codes_remaining(user) == 0:
        return redirect(url_with_next(reverse("twofactor:setup"), next_url))

    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            device = two_factor_verify(user=user, code=form.cleaned_data["code"], request=request)
        except TwoFactorError as error:
            form.add_error("code", error.message)
        else:
            _login_second_factor(request, device)
            if isinstance(device, StaticDevice):
                _warn_about_recovery_codes(request, user)
            return redirect(next_url or reverse("dashboard"))

    return render(request, "accounts/twofactor/verify.html", {"form": form, "next_url": next_url})


def _warn_about_recovery_codes(request: HttpRequest, user: User) -> None:
    left = recovery_codes_remaining(user)
    if left <= LOW_RECOVERY_CODES:
        messages.warning(
            request,
            _(
                "You used a recovery code; %(count)s left. Make new ones on the "
                "two-factor page before you run out."
            )
            % {"count": left},
        )
    else:
        messages.info(request, _("You used a recovery code; %(count)s left.") % {"count": left})


@never_cache
@login_required
def manage(request: AuthenticatedRequest) -> HttpResponse:
    """List the user's authenticator apps and recovery codes left."""
    user = request.user
    return render(
        request,
        "accounts/twofactor/manage.html",
        {
            "devices": totp_device_list_for_user(user),
            "recovery_codes_left": recovery_codes_remaining(user),
            "is_required": user.requires_two_factor,
            "current_device_id": request.session.get(DEVICE_ID_SESSION_KEY, ""),
        },
    )


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def recovery_codes(request: AuthenticatedRequest) -> HttpResponse:
    """Replace the recovery codes after a current code; show the new ones once."""
    user = request.user
    if not user_has_totp_device(user):
        return redirect("twofactor:manage")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            codes = recovery_codes_regenerate(
                user=user, code=form.cleaned_data["code"], request=request
            )
        except TwoFactorError as error:
            form.add_error("code", error.message)
        else:
            return _codes_page(
                request, codes, continue_url=reverse("twofactor:manage"), first_setup=False
            )
    return render(
        request,
        "accounts/twofactor/recovery_codes_regenerate.html",
        {"form": form, "recovery_codes_left": recovery_codes_remaining(user)},
    )


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def device_remove(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """Remove an authenticator app after a current code."""
    user = request.user
    device = totp_device_get_for_user(user, pk)
    if device is None:
        messages.error(request, _("That authenticator app is not one of yours."))
        return redirect("twofactor:manage")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            result = totp_device_remove(
                user=user, device_id=device.pk, code=form.cleaned_data["code"], request=request
            )
        except TwoFactorError as error:
            form.add_error("code", error.message)
        else:
            _keep_session_verified_if_possible(request, result.verified_by)
            messages.success(request, _("Removed “%(name)s”.") % {"name": device.name})
            if result.remaining_totp_devices == 0 and user.requires_two_factor:
                messages.warning(
                    request,
                    _("Your role requires two-factor authentication: set up a new app now."),
                )
                return redirect("twofactor:setup")
            return redirect("twofactor:manage")
    return render(
        request,
        "accounts/twofactor/device_remove.html",
        {
            "form": form,
            "device": device,
            "is_last": totp_device_list_for_user(user).count() == 1,
            "is_required": user.requires_two_factor,
        },
    )


def _keep_session_verified_if_possible(request: HttpRequest, verified_by: Device) -> None:
    """After a removal, move the session to a device that still exists, or unverify it."""
    session_device_id = request.session.get(DEVICE_ID_SESSION_KEY)
    if session_device_id and Device.from_persistent_id(session_device_id) is not None:
        return
    survivor = Device.from_persistent_id(verified_by.persistent_id)
    if survivor is not None:
        otp_login(request, survivor)
    else:
        request.session.pop(DEVICE_ID_SESSION_KEY, None)
        # OTPMiddleware's attribute, which the user model's type does not know.
        request.user.otp_device = None  # type: ignore[union-attr]
