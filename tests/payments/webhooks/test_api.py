"""The events API: scoped to the key's merchant and mode; redelivery."""

import json

import pytest

from accounts.models import AuditEvent
from merchants.models import ApiMode
from payments.webhooks.delivery import webhook_delivery_attempt
from payments.webhooks.models import DeliveryStatus, WebhookDelivery
from payments.webhooks.services import webhook_event_publish
from tests.merchants.platform import api_client, new_key
from tests.payments.webhooks.conftest import shop_with_endpoint
from tests.payments.webhooks.support import only_delivery, publish

pytestmark = pytest.mark.django_db


def post(client, path, data=None):
    return client.post(path, json.dumps(data or {}), content_type="application/json")


@pytest.fixture
def client(shop):
    _key, raw_key = new_key(shop.merchant)
    return api_client(raw_key)


def test_events_are_listed_with_deliveries_and_attempts(shop, client, receiver, queued):
    # given a delivered event
    event = publish(shop)
    webhook_delivery_attempt(delivery_id=only_delivery(event).pk)
    # when the events are listed
    response = client.get("/api/v1/events")
    # then the event shows its data, delivery and attempt
    assert response.status_code == 200
    (listed,) = response.json()["results"]
    assert listed["id"] == event.public_id
    assert listed["type"] == "payment.succeeded"
    assert listed["mode"] == "test"
    assert listed["data"] == {"id": "pay_1", "amount": 1999, "currency": "CNY"}
    (delivery,) = listed["deliveries"]
    assert delivery["endpoint_id"] == str(shop.endpoint.public_id)
    assert delivery["status"] == "succeeded"
    assert delivery["attempt_count"] == 1
    (attempt,) = delivery["attempts"]
    assert attempt["number"] == 1
    assert attempt["succeeded"] is True
    assert attempt["response_status"] == 200
    assert attempt["manual"] is False
    # and the detail shows the same
    detail = client.get(f"/api/v1/events/{event.public_id}")
    assert detail.status_code == 200
    assert detail.json() == listed


def test_another_merchants_or_modes_events_are_not_found(shop, client, queued):
    # given an event of another merchant and a live event of this merchant
    other = shop_with_endpoint("https://other.example.com/hooks")
    foreign = publish(other)
    shop_with_endpoint("https://shop.example.com/live", mode=ApiMode.LIVE, of=shop.merchant)
    live = webhook_event_publish(
        merchant=shop.merchant, event_type="payment.succeeded", payload={}, mode=ApiMode.LIVE
    )
    assert WebhookDelivery.objects.filter(event=live).count() == 1
    own = publish(shop)
    # then the list shows only the key's merchant and mode
    listed = client.get("/api/v1/events").json()["results"]
    assert [event["id"] for event in listed] == [own.public_id]
    # and the others are "not found", for reading and for redelivery
    for event in (foreign, live):
        assert client.get(f"/api/v1/events/{event.public_id}").status_code == 404
        response = post(client, f"/api/v1/events/{event.public_id}/redeliver")
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"
    assert not WebhookDelivery.objects.filter(redelivery_requested_at__isnull=False).exists()
    assert not AuditEvent.objects.filter(action="webhook_event.redeliver").exists()


def test_redelivery_over_the_api_queues_an_attempt_to_the_endpoint(
    shop, client, queued, django_capture_on_commit_callbacks
):
    # given a succeeded delivery
    event = publish(shop)
    WebhookDelivery.objects.update(status=DeliveryStatus.SUCCEEDED, next_attempt_at=None)
    queued.attempts.clear()
    # when it is redelivered to its endpoint
    with django_capture_on_commit_callbacks(execute=True):
        response = post(
            client,
            f"/api/v1/events/{event.public_id}/redeliver",
            {"endpoint_id": str(shop.endpoint.public_id)},
        )
    # then it is accepted, pending and queued, and the audit row names the key
    assert response.status_code == 202
    body = response.json()
    assert body["event_id"] == event.public_id
    assert [d["status"] for d in body["deliveries"]] == ["pending"]
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == DeliveryStatus.PENDING
    assert queued.attempts == [(delivery.pk,)]
    audit = AuditEvent.objects.get(action="webhook_event.redeliver")
    assert audit.after is not None
    assert audit.after["api_key"].startswith("sk_test_")


def test_redelivery_names_a_foreign_endpoint_or_bad_input_clearly(shop, client, queued):
    event = publish(shop)
    foreign = shop_with_endpoint("https://other.example.com/hooks").endpoint
    path = f"/api/v1/events/{event.public_id}/redeliver"
    # a foreign endpoint is not found
    response = post(client, path, {"endpoint_id": str(foreign.public_id)})
    assert response.status_code == 404
    # an invalid id or an unknown field is a validation error
    response = post(client, path, {"endpoint_id": "nope"})
    assert response.status_code == 400
    assert "endpoint_id" in response.json()["error"]["details"]
    response = post(client, path, {"endpoints": []})
    assert response.status_code == 400
    assert WebhookDelivery.objects.get().redelivery_requested_at is None


def test_the_events_api_needs_a_key(db):
    response = api_client("sk_test_wrong").get("/api/v1/events")
    assert response.status_code == 401
