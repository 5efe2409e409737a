"""What payments plug into the checkout page and the payer area, from PaymentsConfig.ready.

- The checkout's confirmation methods (payments/views/confirmation.py): the passkey
  (order 10: confirm with one touch, or create a passkey first, on the same page) and the
  email-code fallback (order 50: shown by the browser script only where this device has
  no fingerprint, face or screen-lock authenticator, and refused above the limit).
- The payer area's payment list (accounts/passkeys/payer_area.py): the payments the
  payer confirmed, each with its receipt.
"""

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse

from accounts.models import User
from accounts.passkeys.payer_area import payer_payments_register
from payments.confirmation.selectors import (
    email_code_fallback_allowed,
    payer_has_passkey,
    payment_list_for_payer,
)
from payments.confirmation.session import session_key
from payments.domain.models import Payment
from payments.views.confirmation import ConfirmationMethod, confirmation_method_register

PASSKEY_ORDER = 10
EMAIL_CODE_ORDER = 50


def _payer(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


def _urls(payment: Payment, *names: str) -> dict[str, str]:
    return {
        name: reverse(f"checkout_{name}", kwargs={"token": payment.checkout_token})
        for name in names
    }


def passkey_context(request: HttpRequest, payment: Payment) -> dict[str, Any]:
    """Template context of the passkey method: the endpoints and whether a passkey exists."""
    return {
        "has_passkey": payer_has_passkey(_payer(request)),
        # Once the payer chose the emailed code, the code form is the primary action.
        "is_secondary": bool(request.session.get(session_key(payment, "email_code"))),
        "urls": _urls(
            payment,
            "passkey_options",
            "passkey_confirm",
            "passkey_register_options",
            "passkey_register",
            "attempt_report",
        ),
    }


def email_code_context(request: HttpRequest, payment: Payment) -> dict[str, Any]:
    """Template context of the email-code fallback: allowed or not, its limit, and whether
    a code was sent to the payer for this payment in this session."""
    return {
        "is_allowed": email_code_fallback_allowed(payment),
        "max_amount": settings.PAYMENT_EMAIL_CODE_FALLBACK_MAX_AMOUNT,
        "email": _payer(request).email,
        "is_code_sent": bool(request.session.get(session_key(payment, "email_code"))),
        "urls": _urls(payment, "email_code_send", "email_code_confirm"),
    }


def confirmation_methods_register() -> None:
    """Offer the passkey and the email-code fallback on every checkout page."""
    confirmation_method_register(
        ConfirmationMethod(
            key="passkey",
            template_name="payments/checkout/methods/_passkey.html",
            order=PASSKEY_ORDER,
            context=passkey_context,
        )
    )
    confirmation_method_register(
        ConfirmationMethod(
            key="email_code",
            template_name="payments/checkout/methods/_email_code.html",
            order=EMAIL_CODE_ORDER,
            context=email_code_context,
        )
    )


def payer_area_register() -> None:
    """Fill the payer area (`payer_home`) with the payer's confirmed payments."""
    payer_payments_register(
        template_name="payments/payer/_payment_list.html",
        get_context=lambda request: {"payments": payment_list_for_payer(payer=_payer(request))},
    )
