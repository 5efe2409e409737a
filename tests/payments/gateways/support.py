"""Helpers for the gateway tests: a request builder and the notify receiver's records."""

import threading
from dataclasses import dataclass, field
from typing import Any

from payments.gateways import GatewayResult, PayRequest, RefundResult
from payments.gateways.sandbox import SandboxGateway
from tests.helpers.celery_worker import wait_until
from tests.helpers.sandbox_acquirer import unique_reference


@dataclass(frozen=True)
class Delivery:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class NotifyReceiver:
    url: str  # ends with /notify/sandbox/?merchant=m1: the query string is signed too
    deliveries: list[Delivery] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def for_reference(self, reference: str) -> list[Delivery]:
        with self.lock:
            return [d for d in self.deliveries if f'"reference":"{reference}"'.encode() in d.body]

    def wait_for(self, reference: str, count: int, timeout: float = 5.0) -> list[Delivery]:
        """Wait until `count` deliveries about `reference` arrived; return them."""

        def arrived() -> list[Delivery]:
            found = self.for_reference(reference)
            return found if len(found) >= count else []

        return wait_until(
            arrived, timeout=timeout, interval=0.05, message=f"no {count} notices for {reference}"
        )


def pay_request(amount: int, **fields: Any) -> PayRequest:
    values: dict[str, Any] = {
        "reference": unique_reference(),
        "amount": amount,
        "currency": "CNY",
        "channel": "alipay",
        "merchant_ref": "M-1001",
        "payer_token": "tok_wallet_123",
    }
    return PayRequest(**{**values, **fields})


def final_payment(gateway: SandboxGateway, reference: str, timeout: float) -> GatewayResult:
    """Query until the acquirer reports a final state for the payment; return it."""

    def final() -> GatewayResult | None:
        result = gateway.query(reference)
        return result if result.is_final else None

    result = wait_until(final, timeout=timeout, message=f"{reference} did not become final")
    assert result is not None
    return result


def final_refund(gateway: SandboxGateway, refund_reference: str, timeout: float) -> RefundResult:
    """Query until the acquirer reports a final state for the refund; return it."""

    def final() -> RefundResult | None:
        result = gateway.refund_query(refund_reference)
        return result if result.is_final else None

    result = wait_until(final, timeout=timeout, message=f"{refund_reference} is not final")
    assert result is not None
    return result
