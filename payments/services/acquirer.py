"""Which acquirer a payment goes to, and what Paydesk sends it.

Test-mode payments always go to the sandbox acquirer, whatever PAYMENT_GATEWAY names, so
that a test key never moves real money; live payments go to settings.PAYMENT_GATEWAY.
"""

from django.conf import settings
from django.urls import reverse

from merchants.models import ApiMode
from payments.domain.models import Payment
from payments.gateways import GatewayAdapter, PayRequest, get_gateway
from payments.gateways.sandbox import SandboxGateway

TEST_MODE_GATEWAY = SandboxGateway.name


def payment_gateway_name(payment: Payment) -> str:
    """Return the name of the adapter that handles `payment` (its mode decides)."""
    if payment.mode == ApiMode.TEST:
        return TEST_MODE_GATEWAY
    return str(settings.PAYMENT_GATEWAY)


def payment_gateway(payment: Payment) -> GatewayAdapter:
    """Return a fresh adapter for `payment`'s acquirer."""
    return get_gateway(payment_gateway_name(payment))


def acquirer_notify_url(gateway_name: str) -> str:
    """Return the absolute URL where the acquirer `gateway_name` posts its notifications."""
    path = reverse("acquirer_notify", kwargs={"gateway": gateway_name})
    return settings.PAYMENT_NOTIFY_BASE_URL.rstrip("/") + path


def pay_request_for(payment: Payment) -> PayRequest:
    """Return the pay request for `payment`; the same every time (the acquirer dedupes on it)."""
    return PayRequest(
        reference=payment.reference,
        amount=payment.amount,
        currency=payment.currency,
        channel=payment.channel,
        merchant_ref=str(payment.merchant.public_id),
        payer_token=payment.payer_token,
        notify_url=acquirer_notify_url(payment_gateway_name(payment)),
    )
