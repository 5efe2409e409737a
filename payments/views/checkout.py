"""The hosted checkout: what a payer opens from the merchant's `checkout_url`.

    GET  /pay/<token>/           the payment (merchant, amount, description, channel) and,
                                 for a signed-in payer, the ways to confirm it
    GET  /pay/<token>/status/    the status panel alone (htmx polls it every second)

Confirming needs strong customer authentication: a passkey bound to the payment, or
the email-code fallback within its limit (payments/confirmation/, docs/checkout.md).
Being signed in is not enough: there is no plain "Pay" button.

The token is the payment's 256-bit `checkout_token`: it is the only key to the page, so
the page shows nothing beyond this one payment and its merchant's display name. Anyone
may look; only a signed-in user can confirm, with CSRF and a rate limit
(`confirmation_rate_limited`, shared by every confirmation endpoint). The payer is
never behind the staff 2FA wall (payers have no 2FA role).
"""

import logging
from typing import Any
from urllib.parse import urlencode, urlsplit

from django.core.cache import cache
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from accounts.models import User
from accounts.services.audit import audit_event_record, client_ip
from config.errors import NotFound
from payments.domain.models import (
    AWAITING_ACQUIRER_STATUSES,
    FINAL_STATUSES,
    Payment,
    PaymentStatus,
)
from payments.selectors import payment_get_by_checkout_token
from payments.templatetags.payment_tags import payment_status_tone
from payments.views.confirmation import confirmation_methods_offered

logger = logging.getLogger("payments")

# Confirmation attempts allowed per window, for each of: the signed-in user, the client
# address, the payment. Generous for a person (a payment is confirmed once), tight for a
# script that hammers confirmations with a stolen session or a guessed token.
CONFIRM_RATE_WINDOW_SECONDS = 10 * 60
CONFIRM_RATE_LIMITS = {"user": 10, "ip": 30, "payment": 20}
# Seconds before a successful payment sends the payer back to the merchant (checkout.js).
RETURN_COUNTDOWN_SECONDS = 5
# How often the status panel asks for news while the acquirer works (htmx, seconds).
STATUS_POLL_SECONDS = 1


def safe_return_url(url: str) -> str:
    """Return `url` if it is an absolute http(s) URL with a host, else "" (never a
    `javascript:` or `data:` link, whatever the merchant sent)."""
    if not url or any(char in url for char in "\r\n\t") or len(url) > 2048:
        return ""
    try:
        parts = urlsplit(url)
    except ValueError:
        return ""
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return ""
    return url


def effective_status(payment: Payment) -> str:
    """Return the status to show: an unconfirmed payment past its window is expired,
    even before the janitor's sweep records it."""
    if (
        payment.status == PaymentStatus.REQUIRES_CONFIRMATION
        and payment.expires_at <= timezone.now()
    ):
        return PaymentStatus.EXPIRED
    return str(payment.status)


def follow_payer_language(request: HttpRequest) -> None:
    """Show the page (or JSON messages) in the payer's language when the URL has none."""
    # The checkout link carries no language prefix (merchants send one link to every
    # payer), and Django would show it in the default language: use the payer's own
    # choice instead (the language cookie, else the browser's Accept-Language).
    if translation.get_language_from_path(request.path_info) is not None:
        return
    language = translation.get_language_from_request(request, check_path=False)
    translation.activate(language)
    request.LANGUAGE_CODE = translation.get_language()


def checkout_payment_or_404(token: str) -> Payment:
    """Return the payment of checkout `token`, or raise Http404."""
    try:
        return payment_get_by_checkout_token(token)
    except NotFound:
        raise Http404 from None


def _with_next(url_name: str, next_url: str) -> str:
    return f"{reverse(url_name)}?{urlencode({'next': next_url})}"


def _status_context(payment: Payment) -> dict[str, Any]:
    status = effective_status(payment)
    is_final = status in FINAL_STATUSES
    return {
        "payment": payment,
        "merchant_name": payment.merchant.name,
        "status": status,
        "status_label": PaymentStatus(status).label,
        "status_tone": payment_status_tone(status),
        "is_confirmable": status == PaymentStatus.REQUIRES_CONFIRMATION,
        "is_awaiting_acquirer": status in AWAITING_ACQUIRER_STATUSES,
        "is_final": is_final,
        "is_succeeded": status == PaymentStatus.SUCCEEDED,
        "return_url": safe_return_url(payment.return_url),
        "return_countdown": RETURN_COUNTDOWN_SECONDS,
        "poll_seconds": STATUS_POLL_SECONDS,
        "checkout_path": reverse("checkout", kwargs={"token": payment.checkout_token}),
        "status_path": reverse("checkout_status", kwargs={"token": payment.checkout_token}),
    }


def _checkout_context(request: HttpRequest, payment: Payment) -> dict[str, Any]:
    context = _status_context(payment)
    checkout_path = context["checkout_path"]
    signed_in = isinstance(request.user, User) and request.user.is_authenticated
    context.update(
        {
            "is_test_mode": payment.mode == "test",
            "signed_in": signed_in,
            # Payers sign in with a passkey or an emailed code (or a password), and new
            # payers sign up by email code; every path comes back here.
            "login_url": _with_next("passkey_login", checkout_path),
            "signup_url": _with_next("payer_signup", checkout_path),
            "password_login_url": _with_next("account_login", checkout_path),
            "confirmation_methods": (
                confirmation_methods_offered(request, payment)
                if signed_in and context["is_confirmable"]
                else []
            ),
        }
    )
    return context


def _render_checkout(request: HttpRequest, payment: Payment, *, status: int = 200) -> HttpResponse:
    response = render(
        request,
        "payments/checkout/checkout.html",
        _checkout_context(request, payment),
        status=status,
    )
    # A payment page is nobody's search result, and the token must not leak into caches.
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


@require_GET
@never_cache
def checkout(request: HttpRequest, token: str) -> HttpResponse:
    """Show the payment to the payer, with sign-in or the confirmation methods."""
    follow_payer_language(request)
    return _render_checkout(request, checkout_payment_or_404(token))


@require_GET
@never_cache
def checkout_status(request: HttpRequest, token: str) -> HttpResponse:
    """Return the status panel for htmx polling; a plain browser gets the whole page."""
    follow_payer_language(request)
    payment = checkout_payment_or_404(token)
    if not getattr(request, "htmx", False):
        return redirect("checkout", token=payment.checkout_token)
    response = render(request, "payments/checkout/_status.html", _status_context(payment))
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _rate_limit_exceeded(request: HttpRequest, payment: Payment) -> bool:
    # A fixed window per key in the shared cache: cheap, and good enough to stop a script.
    keys = {
        "user": f"checkout-confirm:user:{request.user.pk}",
        "ip": f"checkout-confirm:ip:{client_ip(request) or '-'}",
        "payment": f"checkout-confirm:payment:{payment.pk}",
    }
    exceeded = False
    for scope, key in keys.items():
        cache.add(key, 0, CONFIRM_RATE_WINDOW_SECONDS)
        try:
            count = cache.incr(key)
        except ValueError:  # the window ended between add and incr
            cache.set(key, 1, CONFIRM_RATE_WINDOW_SECONDS)
            count = 1
        if count > CONFIRM_RATE_LIMITS[scope]:
            exceeded = True
    return exceeded


def confirmation_rate_limited(request: HttpRequest, payment: Payment, *, method: str) -> bool:
    """Count one confirmation step of the signed-in user for `payment`; return True (and
    audit `checkout.confirm_rate_limited`) when a window's limit is exceeded.

    Every step that starts a ceremony or checks an answer calls this first: passkey
    options, passkey creation, email codes sent and checked.
    """
    if not _rate_limit_exceeded(request, payment):
        return False
    user = request.user
    audit_event_record(
        action="checkout.confirm_rate_limited",
        actor=user if isinstance(user, User) else None,
        target=payment,
        after={"method": method},
        request=request,
    )
    return True
