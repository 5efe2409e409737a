"""Request and response signing: the service refuses what Paydesk did not sign, and the
adapter refuses answers the acquirer did not sign."""

import time
from typing import Any

import httpx
import pytest
from django.conf import settings

from payments.gateways import GatewayNotFound, InvalidSignature
from payments.gateways.sandbox import SandboxGateway
from payments.gateways.signing import (
    MemoryNonceStore,
    SignatureError,
    signature_headers,
    verify_signature,
)
from tests.helpers.sandbox_acquirer import SandboxAcquirer, unique_reference
from tests.payments.gateways.support import pay_request


def pay_body(reference: str) -> dict[str, object]:
    return {
        "reference": reference,
        "amount": 1000,
        "currency": "CNY",
        "channel": "card",
        "merchant_ref": "M-1",
    }


@pytest.mark.parametrize(
    ("sign", "reason"),
    [
        ({"secret": "not-the-request-secret"}, "invalid_signature"),
        ({"now": time.time() - 400}, "stale_timestamp"),
        ({"now": time.time() + 400}, "stale_timestamp"),
    ],
    ids=["wrong secret", "stale", "future"],
)
def test_the_service_refuses_badly_signed_requests_and_records_nothing(
    sandbox_acquirer: SandboxAcquirer, gateway: SandboxGateway, sign: dict[str, object], reason: str
) -> None:
    # given a pay request with a bad signature
    reference = unique_reference()

    # when it is sent
    response = sandbox_acquirer.signed_request("POST", "/v1/pay", pay_body(reference), **sign)

    # then it gets 401 with the reason, and no payment exists
    assert response.status_code == 401
    assert response.json()["error"]["code"] == reason
    with pytest.raises(GatewayNotFound):
        gateway.query(reference)


def test_the_service_refuses_unsigned_and_replayed_requests(
    sandbox_acquirer: SandboxAcquirer,
) -> None:
    # given a correctly signed query, sent once
    path = f"/v1/payments/{unique_reference()}"
    headers = signature_headers(
        settings.SANDBOX_ACQUIRER_REQUEST_SECRET, method="GET", path=path, body=b""
    )
    first = httpx.get(sandbox_acquirer.base_url + path, headers=headers)

    # when the very same request is sent again, and one without a signature
    replayed = httpx.get(sandbox_acquirer.base_url + path, headers=headers)
    unsigned = httpx.get(sandbox_acquirer.base_url + path)

    # then the first is answered (404: no such payment), the others refused
    assert first.status_code == 404
    assert (replayed.status_code, replayed.json()["error"]["code"]) == (401, "replayed_nonce")
    assert (unsigned.status_code, unsigned.json()["error"]["code"]) == (401, "missing_signature")


def test_the_adapter_refuses_a_response_it_cannot_verify(
    sandbox_acquirer: SandboxAcquirer,
) -> None:
    # given an adapter that expects another response secret
    gateway = sandbox_acquirer.adapter(response_secret="not-the-acquirer-secret")

    # when it pays, then the answer is not trusted
    with pytest.raises(InvalidSignature) as raised:
        gateway.pay(pay_request(1000))
    assert (raised.value.reason, raised.value.retryable) == ("invalid_signature", False)


def test_a_signature_covers_method_path_body_and_status() -> None:
    secret = "s3cret"
    headers = signature_headers(secret, method="POST", path="/v1/pay?x=1", body=b"{}", status=200)

    def check(**changes: object) -> str:
        values: dict[str, Any] = {
            "method": "POST",
            "path": "/v1/pay?x=1",
            "headers": headers,
            "body": b"{}",
            "status": 200,
            "nonces": MemoryNonceStore(),
            **changes,
        }
        try:
            verify_signature(secret, **values)
        except SignatureError as error:
            return error.reason
        return "ok"

    assert check() == "ok"
    assert check(method="GET") == "invalid_signature"
    assert check(path="/v1/pay?x=2") == "invalid_signature"
    assert check(body=b"{ }") == "invalid_signature"
    assert check(status=201) == "invalid_signature"
    assert check(headers={k.lower(): v for k, v in headers.items()}) == "ok"
    with pytest.raises(ValueError, match="empty"):
        signature_headers("", method="GET", path="/", body=b"")
