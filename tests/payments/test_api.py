"""The payments API: create, read, list with filters, cancel; every bad input a 4xx in the
one error shape, and nothing created by a refused request."""

import json
import re
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import AuditEvent
from merchants.models import ApiMode
from payments.domain.models import Payment, PaymentEvent, PaymentStatus
from payments.webhooks.models import WebhookEvent
from tests.payments.payment_support import (
    PAYMENTS_URL,
    ApiShop,
    api_shop,
    confirmed,
    payment_body,
    post,
)

pytestmark = pytest.mark.django_db


def error_of(response: Any) -> dict:  # a test client response
    body = json.loads(response.content)
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    return body["error"]


def test_a_payment_is_created_with_a_public_id_amounts_and_a_checkout_url(
    live_shop: ApiShop,
) -> None:
    # given a complete body
    body = payment_body(amount=12_800)

    # when the merchant creates the payment
    response = live_shop.create(body, key="create-1")

    # then it is 201 with an opaque id, the status, the amounts and a checkout URL
    assert response.status_code == 201
    data = response.json()
    assert re.fullmatch(r"pay_[0-9a-z]{24}", data["id"])
    assert data["status"] == "requires_confirmation"
    assert (data["amount"], data["currency"], data["amount_captured"]) == (12_800, "CNY", 0)
    assert (data["fee"], data["net"]) == (None, None)
    payment = Payment.objects.get(public_id=data["id"])
    assert data["checkout_url"] == f"http://localhost:8000/pay/{payment.checkout_token}/"
    assert payment.checkout_token not in data["id"]
    # and what risk control needs is stored on the payment
    assert (payment.merchant, payment.mode, payment.channel) == (
        live_shop.merchant,
        ApiMode.LIVE,
        "alipay",
    )
    assert (payment.device_fingerprint, payment.device_ip, payment.device_user_agent) == (
        "fp_9c1d2e",
        "203.0.113.7",
        "Mozilla/5.0 (iPhone)",
    )
    assert (payment.region, payment.region_group) == ("CN-ZJ", "east")
    assert (payment.payer_email, payment.payer_phone) == ("payer@example.com", "+8613800138000")
    assert payment.metadata == {"cart_id": "c-42", "campaign": "double-11"}
    assert payment.expires_at - payment.created_at == timedelta(minutes=30)
    # and the timeline starts
    event = PaymentEvent.objects.get(payment=payment)
    assert (event.from_status, event.to_status, event.actor_type, event.actor_label) == (
        "",
        "requires_confirmation",
        "merchant",
        live_shop.key.masked,
    )


def test_the_checkout_url_has_no_language_prefix(live_shop: ApiShop) -> None:
    # given a merchant whose server asks for Chinese messages
    live_shop.client.defaults["HTTP_ACCEPT_LANGUAGE"] = "zh-hans"

    response = live_shop.create(payment_body())

    # then the stored URL does not depend on it (the page follows the payer's browser)
    assert response.status_code == 201
    assert response.json()["checkout_url"].startswith("http://localhost:8000/pay/")


def test_the_currency_defaults_to_cny_and_the_region_to_other(live_shop: ApiShop) -> None:
    body = payment_body()
    del body["currency"], body["region"], body["payer"], body["device"], body["metadata"]

    response = live_shop.create(body)

    assert response.status_code == 201
    payment = Payment.objects.get(public_id=response.json()["id"])
    assert (payment.currency, payment.region, payment.region_group) == ("CNY", "other", "other")
    assert (payment.device_ip, payment.payer_email, payment.metadata) == (None, "", {})


@pytest.mark.parametrize(
    ("region", "stored", "group"),
    [("north", "north", "north"), ("cn-bj", "CN-BJ", "north"), ("GD", "CN-GD", "south")],
)
def test_a_region_is_a_report_region_or_a_province(
    live_shop: ApiShop, region: str, stored: str, group: str
) -> None:
    response = live_shop.create(payment_body(region=region))

    assert response.status_code == 201
    payment = Payment.objects.get(public_id=response.json()["id"])
    assert (payment.region, payment.region_group) == (stored, group)


BAD_BODIES = [
    ("amount", {"amount": "12800"}),
    ("amount", {"amount": 12.5}),
    ("amount", {"amount": 0}),
    ("amount", {"amount": -100}),
    ("amount", {"amount": True}),
    ("amount", {"amount": 10**30}),
    ("amount", {"amount": None}),
    ("currency", {"currency": "cny"}),
    ("currency", {"currency": "XYZ"}),
    ("currency", {"currency": 156}),
    ("channel", {"channel": "paypal"}),
    ("merchant_order_id", {"merchant_order_id": "has space"}),
    ("merchant_order_id", {"merchant_order_id": "x" * 65}),
    ("merchant_order_id", {"merchant_order_id": ""}),
    ("description", {"description": "x" * 256}),
    ("payer", {"payer": {"email": "not-an-email"}}),
    ("payer", {"payer": {"phone": "+8613800138000"}}),
    ("payer", {"payer": {"email": "a@example.com", "phone": "call me"}}),
    ("payer", {"payer": {"email": "a@example.com", "nickname": "x"}}),
    ("device", {"device": {"ip": "999.1.1.1"}}),
    ("device", {"device": "fp_123"}),
    ("region", {"region": "mars"}),
    ("region", {"region": "CN-XX"}),
    ("return_url", {"return_url": "ftp://shop.example.com/x"}),
    ("return_url", {"return_url": "not a url"}),
    ("return_url", {"return_url": "http://shop.example.com/x"}),  # live mode wants https
    ("metadata", {"metadata": ["a", "b"]}),
    ("metadata", {"metadata": {"count": 3}}),
    ("metadata", {"metadata": {"k" * 41: "v"}}),
    ("metadata", {"metadata": {"note": "v" * 501}}),
    ("metadata", {"metadata": {f"k{n}": "v" for n in range(21)}}),
    ("metadata", {"metadata": None}),
    ("colour", {"colour": "blue"}),
]


@pytest.mark.parametrize(("field", "changes"), BAD_BODIES)
def test_a_bad_field_is_a_400_naming_it_and_creates_nothing(
    live_shop: ApiShop, field: str, changes: dict
) -> None:
    response = live_shop.create(payment_body(**changes))

    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "validation_error"
    assert field in error["details"]
    assert Payment.objects.count() == 0


@pytest.mark.parametrize(
    "raw",
    [
        b"{not json",
        b"[1, 2, 3]",
        b'"a string"',
        b"",
        json.dumps(payment_body(description="nul \x00 byte")).encode(),
        b'{"amount": 100, "channel": "alipay", "merchant_order_id": "A-1", "description": "\\ud800"}',
        b'{"amount": NaN, "channel": "alipay", "merchant_order_id": "A-1"}',
        "\u00e9".encode("latin-1"),
    ],
)
def test_a_malformed_body_is_a_400_and_never_a_500(live_shop: ApiShop, raw: bytes) -> None:
    response = live_shop.client.post(PAYMENTS_URL, data=raw, content_type="application/json")

    assert response.status_code == 400
    assert error_of(response)["code"] in {"validation_error", "parse_error"}
    assert Payment.objects.count() == 0


def test_a_body_that_is_not_json_is_a_415(live_shop: ApiShop) -> None:
    response = live_shop.client.post(PAYMENTS_URL, data="amount=1", content_type="text/plain")

    assert response.status_code == 415
    assert error_of(response)["code"] == "unsupported_media_type"


@pytest.mark.parametrize(
    "metadata",
    [
        {"card": "4111111111111111"},
        {"note": "paid with 4111 1111 1111 1111 yesterday"},
        {"note": "5500-0000-0000-0004"},
        {"4111111111111111": "key is a card"},
    ],
)
def test_a_card_number_in_metadata_is_a_clear_422_and_is_not_echoed(
    live_shop: ApiShop, metadata: dict
) -> None:
    response = live_shop.create(payment_body(metadata=metadata))

    assert response.status_code == 422
    error = error_of(response)
    assert error["code"] == "card_number_refused"
    assert "card number" in error["message"]
    assert "metadata" in error["details"]
    assert b"4111" not in response.content and b"5500" not in response.content
    assert Payment.objects.count() == 0


def test_a_card_number_in_the_description_is_refused(live_shop: ApiShop) -> None:
    response = live_shop.create(payment_body(description="card 4000 0566 5566 5556"))

    assert response.status_code == 422
    assert error_of(response)["code"] == "card_number_refused"
    assert Payment.objects.count() == 0


def test_digits_that_fail_the_luhn_check_are_not_a_card_number(live_shop: ApiShop) -> None:
    # given a 16-digit order reference that is not Luhn-valid, and a 20-digit run
    metadata = {"erp_ref": "4111111111111112", "tracking": "12345678901234567890"}

    response = live_shop.create(payment_body(metadata=metadata))

    assert response.status_code == 201
    assert Payment.objects.get().metadata == metadata


def test_a_merchant_order_id_has_one_payment_per_mode(live_shop: ApiShop) -> None:
    # given a payment for an order
    first = live_shop.create(payment_body(merchant_order_id="ORD-1001"))
    assert first.status_code == 201

    # when the merchant creates another for the same order
    second = live_shop.create(payment_body(merchant_order_id="ORD-1001"))

    # then it is refused and names the existing payment
    assert second.status_code == 409
    error = error_of(second)
    assert error["code"] == "duplicate_merchant_order_id"
    assert error["details"]["payment_id"] == first.json()["id"]
    assert Payment.objects.count() == 1
    # but the same order id in test mode is another order
    test_key = api_shop(ApiMode.TEST, of=live_shop.merchant)
    assert test_key.create(payment_body(merchant_order_id="ORD-1001")).status_code == 201


def test_a_test_key_may_use_an_http_return_url(test_shop: ApiShop) -> None:
    response = test_shop.create(payment_body(return_url="http://localhost:3000/return"))

    assert response.status_code == 201
    assert response.json()["mode"] == "test"


def test_a_payment_is_read_by_its_id(live_shop: ApiShop) -> None:
    payment = live_shop.payment(amount=5_000)

    response = live_shop.client.get(f"{PAYMENTS_URL}/{payment.public_id}")

    assert response.status_code == 200
    data = response.json()
    assert (data["id"], data["amount"], data["status"]) == (
        payment.public_id,
        5_000,
        "requires_confirmation",
    )


@pytest.mark.parametrize(
    "bad_id", ["1", "pay_", "pay_ZZZZZZZZZZZZZZZZZZZZZZZZ", "%00", "pay_..%2F"]
)
def test_an_unknown_or_malformed_id_is_404(live_shop: ApiShop, bad_id: str) -> None:
    response = live_shop.client.get(f"{PAYMENTS_URL}/{bad_id}")

    assert response.status_code == 404
    assert error_of(response)["code"] in {"payment_not_found", "not_found"}


def test_the_list_filters_by_status_channel_amount_order_and_creation_time(
    live_shop: ApiShop,
) -> None:
    # given payments of different channels, amounts and states
    small = live_shop.payment(amount=1_000, channel="alipay", merchant_order_id="A-1")
    large = live_shop.payment(amount=90_000, channel="wechat_pay", merchant_order_id="A-2")
    card = live_shop.payment(amount=50_000, channel="bank_card", merchant_order_id="A-3")
    confirmed(card)
    Payment.objects.filter(pk=small.pk).update(created_at=timezone.now() - timedelta(days=2))

    def ids(**params: Any) -> list[str]:
        response = live_shop.client.get(PAYMENTS_URL, params)
        assert response.status_code == 200, response.content
        return [row["id"] for row in response.json()["results"]]

    # then each filter narrows the list (newest first)
    assert ids() == [card.public_id, large.public_id, small.public_id]
    assert ids(status="processing") == [card.public_id]
    assert ids(status="processing,requires_confirmation") == [
        card.public_id,
        large.public_id,
        small.public_id,
    ]
    assert ids(channel="wechat_pay") == [large.public_id]
    assert ids(amount_min=10_000, amount_max=60_000) == [card.public_id]
    assert ids(merchant_order_id="A-1") == [small.public_id]
    since = (timezone.now() - timedelta(days=1)).isoformat()
    assert ids(created_after=since) == [card.public_id, large.public_id]
    assert ids(created_before=since) == [small.public_id]


@pytest.mark.parametrize(
    "params",
    [
        {"status": "paid"},
        {"channel": "paypal"},
        {"amount_min": "ten"},
        {"amount_min": "10.5"},
        {"amount_max": "1e999"},
        {"amount_min": "100", "amount_max": "5"},
        {"created_after": "yesterday"},
        {"merchant_order_id": "x" * 65},
        {"merchant_order_id": "a\x00b"},
    ],
)
def test_a_bad_filter_is_a_400(live_shop: ApiShop, params: dict) -> None:
    response = live_shop.client.get(PAYMENTS_URL, params)

    assert response.status_code == 400
    assert error_of(response)["code"] == "validation_error"


def test_the_list_pages_with_a_cursor(live_shop: ApiShop) -> None:
    payments = [live_shop.payment(merchant_order_id=f"P-{n}") for n in range(5)]

    first = live_shop.client.get(PAYMENTS_URL, {"page_size": 2}).json()
    second = Client(headers={"Authorization": f"Bearer {live_shop.raw_key}"}).get(first["next"])

    assert [row["id"] for row in first["results"]] == [
        payments[4].public_id,
        payments[3].public_id,
    ]
    assert [row["id"] for row in second.json()["results"]] == [
        payments[2].public_id,
        payments[1].public_id,
    ]


def test_a_payment_is_canceled_before_confirmation(live_shop: ApiShop) -> None:
    # given an unconfirmed payment
    payment = live_shop.payment()

    # when the merchant cancels it
    response = post(
        live_shop.client, f"{PAYMENTS_URL}/{payment.public_id}/cancel", {"reason": "out of stock"}
    )

    # then it is canceled, on the timeline, audited and announced to the merchant's webhooks
    assert response.status_code == 200
    assert response.json()["status"] == "canceled"
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.CANCELED
    assert payment.canceled_at is not None
    event = payment.events.get(to_status="canceled")
    assert (event.from_status, event.reason, event.actor_label) == (
        "requires_confirmation",
        "out of stock",
        live_shop.key.masked,
    )
    audit = AuditEvent.objects.get(action="payment.cancel")
    assert audit.object_id == str(payment.pk)
    assert list(WebhookEvent.objects.values_list("type", "idempotency_key")) == [
        ("payment.canceled", f"payment:{payment.public_id}:canceled")
    ]


def test_a_cancel_with_an_empty_body_is_fine(live_shop: ApiShop) -> None:
    payment = live_shop.payment()

    # as `curl -X POST` sends it: no body, no Content-Type
    response = live_shop.client.generic("POST", f"{PAYMENTS_URL}/{payment.public_id}/cancel")

    assert response.status_code == 200
    assert response.json()["status"] == "canceled"


def test_a_confirmed_payment_cannot_be_canceled(live_shop: ApiShop) -> None:
    # given a payment the payer confirmed
    payment = confirmed(live_shop.payment())

    # when the merchant tries to cancel it
    response = post(live_shop.client, f"{PAYMENTS_URL}/{payment.public_id}/cancel", {})

    # then it is a 409 and nothing changed
    assert response.status_code == 409
    error = error_of(response)
    assert error["code"] == "invalid_transition"
    assert (error["details"]["from"], error["details"]["to"]) == ("processing", "canceled")
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PROCESSING
    assert not payment.events.filter(to_status="canceled").exists()
    assert not WebhookEvent.objects.exists()
    assert not AuditEvent.objects.filter(action="payment.cancel").exists()


def test_a_cancel_with_an_unknown_field_is_refused(live_shop: ApiShop) -> None:
    payment = live_shop.payment()

    response = post(live_shop.client, f"{PAYMENTS_URL}/{payment.public_id}/cancel", {"why": "x"})

    assert response.status_code == 400
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.REQUIRES_CONFIRMATION


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_other_methods_are_405(live_shop: ApiShop, method: str) -> None:
    response = getattr(live_shop.client, method)(PAYMENTS_URL)

    assert response.status_code == 405
    assert error_of(response)["code"] == "method_not_allowed"


def test_the_api_needs_a_key() -> None:
    response = Client().post(PAYMENTS_URL, data="{}", content_type="application/json")

    assert response.status_code == 401
    assert error_of(response)["code"] == "not_authenticated"
    assert Payment.objects.count() == 0


def test_the_openapi_schema_lists_the_payments_api() -> None:
    schema = Client().get("/api/schema/", {"format": "json"}).json()

    assert {"/api/v1/payments", "/api/v1/payments/{payment_id}"} <= set(schema["paths"])
    assert "/api/v1/payments/{payment_id}/cancel" in schema["paths"]
    assert not any(path.startswith("/api/acquirer/") for path in schema["paths"])
