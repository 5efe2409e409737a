"""Extra panels on a payment's page, contributed by the apps above payments.

payments must not import refunds (apps depend one way, STYLE.md), yet the payment page
shows a "Refund" panel. So payments exposes this hook: a higher app registers a provider
in its `AppConfig.ready`, and the payment page renders every panel the providers return.

    def refund_panel(request, payment, *, is_staff_view):
        return PaymentPanel("refunds/partials/payment_refund_panel.html", {...})

    payment_detail_panel_register(refund_panel)

The template receives the panel's context as `panel` (`{{ panel.summary }}`). A provider
returns None to show nothing (e.g. the user may not see it). It runs after the page has
scoped the payment to the caller: it must not widen that scope.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from django.http import HttpRequest

from payments.domain.models import Payment


@dataclass(frozen=True)
class PaymentPanel:
    """One panel: the template to include and the context it gets as `panel`."""

    template: str
    context: dict[str, Any] = field(default_factory=dict)


class PanelProvider(Protocol):
    def __call__(
        self, request: HttpRequest, payment: Payment, *, is_staff_view: bool
    ) -> PaymentPanel | None: ...


_providers: list[Callable[..., PaymentPanel | None]] = []


def payment_detail_panel_register(provider: PanelProvider) -> None:
    """Add `provider` to the payment page's panels (once; call it from AppConfig.ready)."""
    if provider not in _providers:
        _providers.append(provider)


def payment_detail_panels(
    request: HttpRequest, payment: Payment, *, is_staff_view: bool
) -> list[PaymentPanel]:
    """Return the panels the registered providers give for `payment`, in registration order."""
    panels = []
    for provider in _providers:
        panel = provider(request, payment, is_staff_view=is_staff_view)
        if panel is not None:
            panels.append(panel)
    return panels
