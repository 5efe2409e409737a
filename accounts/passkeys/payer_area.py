"""The hook that lets the payments app fill the payer area's payment list.

accounts must not import payments (STYLE.md: apps depend one way), so the payer home
page asks this registry. In `PaymentsConfig.ready()`:

    from accounts.passkeys.payer_area import payer_payments_register

    payer_payments_register(
        template_name="payments/payer/_payment_list.html",
        get_context=lambda request: {"payments": payment_list_for_payer(payer=request.user)},
    )

Until something registers, the page shows its empty state
(templates/accounts/payer/_payments_empty.html).
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest

PayerContext = Callable[[HttpRequest], dict[str, Any]]


@dataclass(frozen=True)
class PayerPaymentsSection:
    template_name: str
    get_context: PayerContext


_section: PayerPaymentsSection | None = None


def payer_payments_register(*, template_name: str, get_context: PayerContext) -> None:
    """Make the payer home page include `template_name` with `get_context(request)`."""
    global _section
    _section = PayerPaymentsSection(template_name=template_name, get_context=get_context)


def payer_payments_section() -> PayerPaymentsSection | None:
    """Return the registered payments section, or None (the page shows its empty state)."""
    return _section
