"""Helpers of the payment confirmation tests (test_confirmation.py, test_funnel.py)."""

from typing import Any

from django.test import Client
from django.urls import reverse

from accounts.models import User
from accounts.roles import Role
from payments.confirmation.models import VerificationAttempt
from payments.domain.models import Payment
from tests.merchants.platform import merchant, user
from tests.payments.payment_support import payment_of


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
