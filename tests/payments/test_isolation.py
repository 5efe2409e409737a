"""Merchant isolation: a key sees and touches only its own merchant's payments of its own
mode; anything else is a 404 in the error shape, and nothing changes."""

from typing import Any

import pytest

from config.errors import NotFound
from merchants.models import ApiMode
from payments.domain.models import Payment, PaymentStatus
from payments.selectors import (
    payment_get_by_checkout_token,
    payment_get_for_merchant,
    payment_list_for_merchant,
)
from tests.payments.payment_support import PAYMENTS_URL, ApiShop, api_shop, payment_body, post

pytestmark = pytest.mark.django_db


@pytest.fixture
def other_shop() -> ApiShop:
    """Merchant B, whose payments merchant A's key must never reach."""
    return api_shop(ApiMode.LIVE)


def assert_not_found(response: Any) -> None:  # a test client response
    assert response.status_code == 404
    body = response.json()
    assert body["error"]["code"] == "payment_not_found"
    assert set(body["error"]) == {"code", "message", "details"}


def test_another_merchant_s_payment_is_not_found(live_shop: ApiShop, other_shop: ApiShop) -> None:
    theirs = other_shop.payment()

    response = live_shop.client.get(f"{PAYMENTS_URL}/{theirs.public_id}")

    assert_not_found(response)


def test_another_merchant_s_payment_cannot_be_canceled(
    live_shop: ApiShop, other_shop: ApiShop
) -> None:
    theirs = other_shop.payment()

    response = post(live_shop.client, f"{PAYMENTS_URL}/{theirs.public_id}/cancel", {}, key="c-1")

    assert_not_found(response)
    theirs.refresh_from_db()
    assert theirs.status == PaymentStatus.REQUIRES_CONFIRMATION
    assert theirs.events.count() == 1


def test_the_list_shows_only_the_key_s_merchant(live_shop: ApiShop, other_shop: ApiShop) -> None:
    mine = live_shop.payment(merchant_order_id="SAME-ORDER")
    other_shop.payment(merchant_order_id="SAME-ORDER")

    everything = live_shop.client.get(PAYMENTS_URL).json()["results"]
    by_order = live_shop.client.get(PAYMENTS_URL, {"merchant_order_id": "SAME-ORDER"}).json()

    assert [row["id"] for row in everything] == [mine.public_id]
    assert [row["id"] for row in by_order["results"]] == [mine.public_id]


def test_a_test_key_does_not_see_live_payments_of_its_own_merchant(live_shop: ApiShop) -> None:
    live_payment = live_shop.payment()
    test_key = api_shop(ApiMode.TEST, of=live_shop.merchant)

    detail = test_key.client.get(f"{PAYMENTS_URL}/{live_payment.public_id}")
    listing = test_key.client.get(PAYMENTS_URL).json()["results"]

    assert_not_found(detail)
    assert listing == []


def test_an_order_id_of_another_merchant_does_not_clash(
    live_shop: ApiShop, other_shop: ApiShop
) -> None:
    other_shop.payment(merchant_order_id="ORD-7")

    response = live_shop.create(payment_body(merchant_order_id="ORD-7"))

    assert response.status_code == 201
    assert Payment.objects.filter(merchant_order_id="ORD-7").count() == 2


def test_the_selectors_are_scoped_to_their_caller(live_shop: ApiShop, other_shop: ApiShop) -> None:
    theirs = other_shop.payment()
    mine = live_shop.payment()

    assert list(payment_list_for_merchant(live_shop.merchant)) == [mine]
    assert payment_get_for_merchant(live_shop.merchant, mine.public_id) == mine
    with pytest.raises(NotFound):
        payment_get_for_merchant(live_shop.merchant, theirs.public_id)
    assert payment_get_by_checkout_token(theirs.checkout_token) == theirs
    with pytest.raises(NotFound):
        payment_get_by_checkout_token(theirs.public_id)
