"""`payment_data` is exactly what PaymentOutputSerializer gives, in every state.

The API, the stored idempotent replays and the webhook payloads are built by the plain
function `payment_data`; the serializer stays as the schema's description. The two must
agree field for field, in order, and render to the same bytes.
"""

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from django.utils import timezone
from rest_framework.renderers import JSONRenderer

from merchants.models import ApiMode, Merchant
from payments.domain.models import Payment, PaymentStatus
from payments.serializers import PaymentOutputSerializer, payment_data
from payments.services import Actor, payment_cancel, payment_expire
from payments.services.transitions import (
    payment_mark_failed,
    payment_mark_succeeded,
    payment_mark_unknown,
)
from tests.merchants.platform import merchant
from tests.payments.payment_support import ApiShop, confirmed, payment_body, payment_of

ACQUIRER = Actor.for_acquirer("sandbox")


def _requires_confirmation(shop: Merchant) -> Payment:
    return payment_of(
        shop,
        description="Oolong tea, 250 g",
        payer_email="payer@example.com",
        payer_phone="+8613800138000",
        device_fingerprint="fp_9c1d2e",
        device_ip="2001:db8::7",
        device_user_agent="Mozilla/5.0 (iPhone)",
        return_url="https://shop.example.com/orders/return",
        metadata={"cart_id": "c-42", "campaign": "double-11"},
    )


def _processing(shop: Merchant) -> Payment:
    return confirmed(payment_of(shop))


def _succeeded(shop: Merchant) -> Payment:
    return payment_mark_succeeded(
        payment=_processing(shop), actor=ACQUIRER, reason="test", acquirer_reference="acq-1"
    )


def _failed(shop: Merchant) -> Payment:
    return payment_mark_failed(
        payment=_processing(shop),
        actor=ACQUIRER,
        reason="gateway_rejected",
        failure_code="insufficient_funds",
        failure_message="Not enough money on the card.",
    )


def _unknown(shop: Merchant) -> Payment:
    return payment_mark_unknown(payment=_processing(shop), actor=ACQUIRER, reason="timeout")


def _canceled(shop: Merchant) -> Payment:
    return payment_cancel(payment=payment_of(shop), actor=Actor("system"), reason="duplicate")


def _expired(shop: Merchant) -> Payment:
    payment = payment_of(shop, mode=ApiMode.TEST)
    expired = payment_expire(payment=payment, now=payment.expires_at)
    assert expired is not None
    return expired


STATES: dict[str, Callable[[Merchant], Payment]] = {
    PaymentStatus.REQUIRES_CONFIRMATION: _requires_confirmation,
    PaymentStatus.PROCESSING: _processing,
    PaymentStatus.SUCCEEDED: _succeeded,
    PaymentStatus.FAILED: _failed,
    PaymentStatus.UNKNOWN: _unknown,
    PaymentStatus.CANCELED: _canceled,
    PaymentStatus.EXPIRED: _expired,
}


def _assert_same(payment: Payment) -> None:
    expected = dict(PaymentOutputSerializer(payment).data)
    actual = payment_data(payment)
    assert actual == expected
    assert list(actual) == list(expected)
    for name in ("payer", "device", "failure", "metadata"):
        if expected[name] is not None:
            assert list(actual[name]) == list(expected[name])
    assert JSONRenderer().render(actual) == JSONRenderer().render(expected)


@pytest.mark.django_db
@pytest.mark.parametrize("status", list(STATES))
def test_payment_data_is_the_serializer_output_in_every_state(status: str) -> None:
    # given a payment in `status`, as the services leave it and as read back from the database
    payment = STATES[status](merchant())
    assert payment.status == status

    # then the plain function and the serializer agree, before and after a reload
    _assert_same(payment)
    _assert_same(Payment.objects.get(pk=payment.pk))


@pytest.mark.django_db
def test_payment_data_renders_moments_in_the_current_time_zone_like_the_serializer() -> None:
    payment = _succeeded(merchant())

    with timezone.override("UTC"):
        in_utc = payment_data(payment)
        _assert_same(payment)
    with timezone.override("America/New_York"):
        _assert_same(payment)

    assert in_utc["created_at"].endswith("Z")


@pytest.mark.django_db
def test_payment_data_matches_on_odd_stored_values() -> None:
    # given values the API never writes but a row may hold (old rows, admin edits)
    payment = payment_of(merchant())
    Payment.objects.filter(pk=payment.pk).update(
        metadata={"count": 3, "flag": True, "nothing": None, "nested": {"a": 1}},
        device_ip=None,
        fee_amount=0,
        created_at=datetime(2026, 11, 11, 0, 0, 0, 123456, tzinfo=UTC),
    )

    _assert_same(Payment.objects.get(pk=payment.pk))


@pytest.mark.django_db
def test_create_and_retrieve_answer_with_the_serializer_shape(live_shop: ApiShop) -> None:
    # given a payment created through the API
    created = live_shop.create(payment_body(), key="shape-1")

    # when it is read back
    payment = Payment.objects.get()
    retrieved = live_shop.client.get(f"/api/v1/payments/{payment.public_id}")

    # then both answers are the serializer's output for it, byte for byte
    expected = JSONRenderer().render(dict(PaymentOutputSerializer(payment).data))
    assert created.status_code == 201
    assert retrieved.status_code == 200
    assert created.content == expected
    assert retrieved.content == expected
