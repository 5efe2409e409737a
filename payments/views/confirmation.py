"""How a payer can confirm a payment at checkout: the extension point for new methods.

The checkout page renders one block per available method, in `order`, inside
templates/payments/checkout/_confirmation_methods.html. A payment is confirmed with
strong customer authentication or not at all, so nothing is registered here: the
methods come from payments/confirmation/methods.py (`PaymentsConfig.ready`), the
passkey (order 10) and the email-code fallback (order 50), e.g.

    confirmation_method_register(ConfirmationMethod(
        key="passkey",
        template_name="payments/checkout/methods/_passkey.html",
        order=10,
        is_available=lambda request, payment: True,
        context=lambda request, payment: {"options_url": ...},
    ))

A method's endpoints confirm through a service that binds the confirmation to the
payment (payments/confirmation/services.py) after
`payments.views.checkout.confirmation_rate_limited(request, payment, method=...)`.
(The plain "session" method, a "Pay" button after a password sign-in, was removed: being
signed in is not strong customer authentication.)
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


_methods: dict[str, ConfirmationMethod] = {}


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
