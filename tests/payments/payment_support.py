"""Helpers of the payments tests: shops with keys, request bodies, payments in a given state."""

import json
import uuid
from dataclasses import dataclass
from typing import Any

from django.test import Client

from merchants.models import ApiKey, ApiMode, Merchant, MerchantStatus
from payments.domain.models import Payment
from payments.ledger.models import LedgerPosting
from payments.services import Actor, PaymentInput, payment_confirm, payment_create
from tests.merchants.platform import api_client, merchant, new_key

UNREACHABLE_URL = "http://127.0.0.1:9"  # the discard port: nothing listens there
PAYMENTS_URL = "/api/v1/payments"
PAYER_TOKEN = "tok_wallet_4f2a"


@dataclass
class ApiShop:
    merchant: Merchant
    mode: str
    key: ApiKey
    raw_key: str
    client: Client

    def create(self, body: dict[str, Any], *, key: str | None = None) -> Any:
        """POST /api/v1/payments with `body` (and an Idempotency-Key when given)."""
        return post(self.client, PAYMENTS_URL, body, key=key)

    def payment(self, **fields: Any) -> Payment:
        """Create a payment of this shop through the service (not the API)."""
        return payment_of(self.merchant, mode=self.mode, **fields)


def api_shop(mode: str = ApiMode.LIVE, *, of: Merchant | None = None) -> ApiShop:
    """Return an approved merchant (or `of`) with a new key of `mode` and its client."""
    owner = of or merchant(status=MerchantStatus.APPROVED)
    key, raw = new_key(owner, mode)
    return ApiShop(merchant=owner, mode=mode, key=key, raw_key=raw, client=api_client(raw))


def post(client: Client, url: str, body: Any, *, key: str | None = None) -> Any:
    headers = {"Idempotency-Key": key} if key is not None else {}
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    return client.post(url, data=data, content_type="application/json", headers=headers)


def order_id() -> str:
    return f"ORD-{uuid.uuid4().hex[:12]}"


def payment_body(**overrides: Any) -> dict[str, Any]:
    """Return a complete, valid create body; `overrides` replace or add fields."""
    body: dict[str, Any] = {
        "amount": 12_800,
        "currency": "CNY",
        "channel": "alipay",
        "merchant_order_id": order_id(),
        "description": "Oolong tea, 250 g",
        "payer": {"email": "payer@example.com", "phone": "+86 138 0013 8000"},
        "device": {
            "fingerprint": "fp_9c1d2e",
            "ip": "203.0.113.7",
            "user_agent": "Mozilla/5.0 (iPhone)",
        },
        "region": "CN-ZJ",
        "return_url": "https://shop.example.com/orders/return",
        "metadata": {"cart_id": "c-42", "campaign": "double-11"},
    }
    body.update(overrides)
    return body


def payment_of(merchant: Merchant, *, mode: str = ApiMode.LIVE, **fields: Any) -> Payment:
    """Create a payment through the service; `fields` override PaymentInput's."""
    values: dict[str, Any] = {
        "amount": 12_800,
        "channel": "alipay",
        "merchant_order_id": order_id(),
        "region": "CN-ZJ",
    }
    values.update(fields)
    return payment_create(
        merchant=merchant, mode=mode, data=PaymentInput(**values), actor=Actor("system")
    )


def confirmed(payment: Payment, *, token: str = PAYER_TOKEN) -> Payment:
    """Confirm `payment` as the checkout would (the submission task is not run here)."""
    return payment_confirm(
        payment=payment,
        payer=None,
        method="passkey",
        evidence={"payer_token": token, "credential_id": "cred-1"},
    )


def statuses(payment: Payment) -> list[tuple[str, str]]:
    """Return the payment's timeline as (from, to) pairs."""
    return list(
        payment.events.order_by("occurred_at", "id").values_list("from_status", "to_status")
    )


def capture_postings(payment: Payment) -> int:
    return LedgerPosting.objects.filter(key=f"payment:{payment.public_id}:capture").count()


def refreshed(payment: Payment) -> Payment:
    payment.refresh_from_db()
    return payment


def wait_status(payment: Payment, status: str, timeout: float = 10.0) -> Payment:
    """Poll until the payment reaches `status`; return it."""
    from tests.helpers.celery_worker import wait_until

    wait_until(
        lambda: Payment.objects.filter(pk=payment.pk, status=status).exists(),
        timeout=timeout,
        message=f"payment {payment.public_id} did not become {status}",
    )
    return refreshed(payment)
