"""Helpers of the payment confirmation tests (test_confirmation*.py, test_funnel.py)."""

from typing import Any

from django.test import Client
from django.urls import reverse

from accounts.models import AuditEvent, User
from accounts.roles import Role
from payments.confirmation.models import PaymentConfirmationEvidence, VerificationAttempt
from payments.domain.models import Payment, PaymentStatus
from tests.accounts.passkeys.support import register_passkey
from tests.helpers.soft_authenticator import SoftAuthenticator
from tests.merchants.platform import merchant, user
from tests.payments.payment_support import payment_of

ORIGIN = "http://localhost:8000"


def checkout_payment(**fields: Any) -> Payment:
    """A CNY payment of 128.00 awaiting confirmation, at a merchant of its own."""
    values: dict[str, Any] = {"amount": 12_800, "channel": "alipay"}
    values.update(fields)
    return payment_of(merchant(name="Hangzhou Tea House"), **values)


def signed_in_payer(email: str | None = None) -> tuple[Client, User]:
    payer = user(roles=[Role.PAYER], **({"email": email} if email else {}))
    client = Client()
    client.force_login(payer)
    return client, payer


def url(payment: Payment, name: str) -> str:
    return reverse(name, kwargs={"token": payment.checkout_token})


def post_json(client: Client, payment: Payment, name: str, body: Any = None) -> Any:
    return client.post(url(payment, name), body or {}, content_type="application/json")


def attempts(payment: Payment) -> list[tuple[str, str, str]]:
    """Return the payment's verification attempts as (method, stage, failure code)."""
    return list(
        VerificationAttempt.objects.filter(payment=payment)
        .order_by("started_at", "id")
        .values_list("method", "stage", "failure_code")
    )


class Payer:
    """A signed-in payer whose software authenticator holds one registered passkey."""

    def __init__(self) -> None:
        self.client, self.user = signed_in_payer()
        self.authenticator = SoftAuthenticator(origin=ORIGIN)
        self.passkey = register_passkey(self.user, self.authenticator)

    def options(self, payment: Payment) -> dict[str, Any]:
        response = post_json(self.client, payment, "checkout_passkey_options")
        assert response.status_code == 200, response.content
        return response.json()

    def confirm(self, payment: Payment, assertion: dict[str, Any]) -> Any:
        return post_json(
            self.client, payment, "checkout_passkey_confirm", {"credential": assertion}
        )


def assert_unchanged(payment: Payment, queued: list[int], *, events: int = 1) -> None:
    """Assert that the payment still awaits confirmation, unconfirmed, with nothing queued."""
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.REQUIRES_CONFIRMATION
    assert (payment.confirmed_at, payment.confirmed_by, payment.confirmation_method) == (
        None,
        None,
        "",
    )
    assert payment.events.count() == events
    assert queued == []
    assert not PaymentConfirmationEvidence.objects.filter(payment=payment).exists()
    assert not AuditEvent.objects.filter(
        action="payment.confirm", object_id=str(payment.pk)
    ).exists()
