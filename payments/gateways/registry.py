"""Which adapter talks to the acquirer: `settings.PAYMENT_GATEWAY` names it."""

from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from payments.gateways.base import GatewayAdapter
from payments.gateways.sandbox import SandboxGateway

# A real acquirer's adapter registers its factory here under its settings name.
_FACTORIES: dict[str, Callable[[], GatewayAdapter]] = {
    SandboxGateway.name: SandboxGateway.from_settings,
}


def get_gateway(name: str | None = None) -> GatewayAdapter:
    """Return a fresh adapter for `name`, or for settings.PAYMENT_GATEWAY when None.

    Adapters hold no connection between calls, so call this where you need one (a task,
    a service) rather than keeping one around: settings overrides then apply at once.
    """
    chosen = name or settings.PAYMENT_GATEWAY
    try:
        factory = _FACTORIES[chosen]
    except KeyError:
        known = ", ".join(sorted(_FACTORIES))
        raise ImproperlyConfigured(
            f"Unknown payment gateway {chosen!r}; PAYMENT_GATEWAY must be one of: {known}"
        ) from None
    return factory()
