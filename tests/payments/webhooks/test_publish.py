"""Publishing events: the outbox row, one delivery per subscribed endpoint, tasks after commit."""

import datetime
import uuid

import pytest
from django.db import transaction

from merchants.models import ApiMode
from merchants.services.webhooks import webhook_endpoint_update
from payments.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEvent
from payments.webhooks.services import webhook_event_body, webhook_event_publish
from tests.payments.webhooks.conftest import shop_with_endpoint

pytestmark = pytest.mark.django_db

DATA = {"id": "pay_123", "amount": 1999, "currency": "CNY", "status": "succeeded"}


class BoomError(Exception):
    pass


def test_publish_writes_the_event_and_one_delivery_per_subscribed_enabled_endpoint(
    shop, queued, django_capture_on_commit_callbacks
):
    # given endpoints of the merchant that must not receive a test-mode payment.succeeded
    shop_with_endpoint(
        "https://shop.example.com/failed-only", events=["payment.failed"], of=shop.merchant
    )
    disabled = shop_with_endpoint("https://shop.example.com/off", of=shop.merchant).endpoint
    webhook_endpoint_update(endpoint=disabled, is_enabled=False)
    shop_with_endpoint("https://shop.example.com/live", mode=ApiMode.LIVE, of=shop.merchant)
    shop_with_endpoint("https://other.example.com/hooks")  # another merchant
    # when an event is published
    with django_capture_on_commit_callbacks(execute=True):
        event = webhook_event_publish(
            merchant=shop.merchant, event_type="payment.succeeded", payload=DATA, mode="test"
        )
    # then the event body follows the documented shape
    assert event.public_id.startswith("evt_")
    assert event.payload == {
        "id": event.public_id,
        "type": "payment.succeeded",
        "created": event.created_at.isoformat().replace("+00:00", "Z"),
        "mode": "test",
        "data": DATA,
    }
    # and only the subscribed, enabled endpoint of that mode gets a delivery, queued once
    delivery = WebhookDelivery.objects.get()
    assert delivery.event == event
    assert delivery.endpoint == shop.endpoint
    assert delivery.url == shop.endpoint.url
    assert delivery.status == DeliveryStatus.PENDING
    assert delivery.next_attempt_at == event.created_at
    assert queued.attempts == [(delivery.pk,)]


def test_publish_inside_a_rolled_back_transaction_leaves_nothing(
    shop, queued, django_capture_on_commit_callbacks
):
    # when the caller's transaction fails after publishing
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(BoomError),
        transaction.atomic(),
    ):
        webhook_event_publish(
            merchant=shop.merchant, event_type="payment.succeeded", payload=DATA, mode="test"
        )
        raise BoomError
    # then there is no event, no delivery and no task
    assert WebhookEvent.objects.count() == 0
    assert WebhookDelivery.objects.count() == 0
    assert callbacks == []
    assert queued.attempts == []


def test_publish_with_the_same_idempotency_key_returns_the_first_event(
    shop, queued, django_capture_on_commit_callbacks
):
    # given an event published with a key
    with django_capture_on_commit_callbacks(execute=True):
        first = webhook_event_publish(
            merchant=shop.merchant,
            event_type="payment.succeeded",
            payload=DATA,
            mode="test",
            idempotency_key="payment:pay_123:succeeded",
        )
    # when the same key is published again, inside the caller's transaction
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        again = webhook_event_publish(
            merchant=shop.merchant,
            event_type="payment.succeeded",
            payload={**DATA, "amount": 1},
            mode="test",
            idempotency_key="payment:pay_123:succeeded",
        )
    # then the first event comes back and nothing more is written or queued
    assert again == first
    assert WebhookEvent.objects.count() == 1
    assert WebhookDelivery.objects.count() == 1
    assert len(queued.attempts) == 1


def test_publish_takes_the_mode_from_the_payload_and_refuses_an_event_without_one(shop, queued):
    # when the payload says livemode false, the event is a test event
    event = webhook_event_publish(
        merchant=shop.merchant,
        event_type="payment.failed",
        payload={"id": "pay_1", "livemode": False},
    )
    assert event.mode == "test"
    # when nothing says the mode, or the type is unknown, it is refused and nothing is written
    with pytest.raises(ValueError, match="mode"):
        webhook_event_publish(merchant=shop.merchant, event_type="payment.failed", payload={})
    with pytest.raises(ValueError, match="unknown webhook event type"):
        webhook_event_publish(
            merchant=shop.merchant, event_type="payment.exploded", payload={}, mode="test"
        )
    assert WebhookEvent.objects.count() == 1


def test_the_body_is_the_same_bytes_for_every_attempt_and_json_safe(shop, queued):
    # given a payload with values JSON has no type for
    moment = datetime.datetime(2026, 11, 11, 0, 0, tzinfo=datetime.UTC)
    reference = uuid.UUID("12345678-1234-5678-1234-567812345678")
    event = webhook_event_publish(
        merchant=shop.merchant,
        event_type="payment.succeeded",
        payload={"paid_at": moment, "reference": reference, "note": "支付成功"},
        mode="test",
    )
    # then they are stored as the strings a receiver gets, and the body never changes
    event.refresh_from_db()
    assert event.payload["data"] == {
        "paid_at": "2026-11-11T00:00:00Z",
        "reference": "12345678-1234-5678-1234-567812345678",
        "note": "支付成功",
    }
    body = webhook_event_body(event)
    assert body == webhook_event_body(WebhookEvent.objects.get(pk=event.pk))
    assert "支付成功".encode() in body
