"""How a payer can confirm a payment at checkout: the extension point for new methods.

The checkout page renders one block per available method, in `order`, inside
templates/payments/checkout/_confirmation_methods.html. Today there is one method,
"session": the payer is signed in and presses "Pay". The passkey issue adds fingerprint
and face (WebAuthn) by registering another method from `PaymentsConfig.ready` (or from
the module that builds it), e.g.

    confirmation_method_register(ConfirmationMethod(
        key="passkey",
        template_name="payments/checkout/methods/_passkey.html",
        order=10,                                  # shown first, above "Pay with password"
        is_available=lambda request, payment: user_has_passkey(request.user),
        context=lambda request, payment: {"options_url": ...},
    ))

A method's own endpoint (e.g. the WebAuthn assertion check) confirms through
`payments.views.checkout.checkout_payment_confirm(request, payment, method=..., evidence=...)`,
which applies the same checks, rate limits and error messages as the "Pay" button.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.http import HttpRequest

from payments.domain.models import Payment

Availability = Callable[[HttpRequest, Payment], bool]
ContextBuilder = Callable[[HttpRequest, Payment], dict[str, Any]]


def _always(request: HttpRequest, payment: Payment) -> bool:
    return True


def _no_context(request: HttpRequest, payment: Payment) -> dict[str, Any]:
    return {}


@dataclass(frozen=True)
class ConfirmationMethod:
    """One way to confirm: its template, when it is offered, and extra template context."""

    key: str
    template_name: str
    order: int = 100
    is_available: Availability = field(default=_always)
    context: ContextBuilder = field(default=_no_context)


@dataclass(frozen=True)
class OfferedMethod:
    """A method offered on one checkout page, with its context built."""

    key: str
    template_name: str
    context: dict[str, Any]


SESSION_METHOD = ConfirmationMethod(
    key="session", template_name="payments/checkout/methods/_session.html", order=100
)

_methods: dict[str, ConfirmationMethod] = {SESSION_METHOD.key: SESSION_METHOD}


def confirmation_method_register(method: ConfirmationMethod) -> None:
    """Offer `method` on the checkout page (registering the same key again replaces it)."""
    _methods[method.key] = method


def confirmation_method_unregister(key: str) -> None:
    """Stop offering the method `key` (tests; a method switched off by a setting)."""
    _methods.pop(key, None)


def confirmation_methods_offered(request: HttpRequest, payment: Payment) -> list[OfferedMethod]:
    """Return the methods a signed-in payer may use for `payment`, in display order."""
    offered = []
    for method in sorted(_methods.values(), key=lambda item: (item.order, item.key)):
        if method.is_available(request, payment):
            offered.append(
                OfferedMethod(
                    key=method.key,
                    template_name=method.template_name,
                    context=method.context(request, payment),
                )
            )
    return offered
