"""The portal's webhook events page and its Redeliver button."""

import pytest
from django.urls import reverse

from merchants.models import TeamRole
from payments.webhooks.models import DeliveryStatus, WebhookDelivery
from tests.merchants.platform import member, portal_client
from tests.payments.webhooks.conftest import shop_with_endpoint
from tests.payments.webhooks.support import publish

pytestmark = pytest.mark.django_db


def test_the_events_page_lists_the_merchants_events_only(shop, queued):
    # given an event of the merchant and one of another merchant
    own = publish(shop)
    foreign = publish(shop_with_endpoint("https://other.example.com/hooks"))
    client = portal_client(member(shop.merchant, TeamRole.DEVELOPER).user)
    # when a developer opens the page
    response = client.get(reverse("webhook_events"))
    # then only the merchant's event is shown, with its delivery and a Redeliver button
    assert response.status_code == 200
    page = response.content.decode()
    assert own.public_id in page
    assert foreign.public_id not in page
    assert shop.endpoint.url in page
    assert 'data-testid="redeliver"' in page


def test_members_without_the_webhooks_capability_are_refused(shop, queued):
    client = portal_client(member(shop.merchant, TeamRole.READ_ONLY).user)
    assert client.get(reverse("webhook_events")).status_code == 403


def test_the_redeliver_button_queues_the_delivery_and_returns_the_event_card(
    shop, queued, django_capture_on_commit_callbacks
):
    # given a succeeded delivery
    event = publish(shop)
    WebhookDelivery.objects.update(status=DeliveryStatus.SUCCEEDED, next_attempt_at=None)
    client = portal_client(member(shop.merchant).user)
    queued.attempts.clear()
    # when Redeliver is pressed (htmx)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("webhook_event_redeliver", args=[event.public_id]),
            {"endpoint": str(shop.endpoint.public_id)},
            headers={"HX-Request": "true"},
        )
    # then the card comes back with a notice, and the delivery is queued
    assert response.status_code == 200
    assert f'id="event-{event.public_id}"' in response.content.decode()
    assert "Redelivery queued" in response.content.decode()
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == DeliveryStatus.PENDING
    assert queued.attempts == [(delivery.pk,)]


def test_another_merchants_event_cannot_be_redelivered_from_the_portal(shop, queued):
    foreign = publish(shop_with_endpoint("https://other.example.com/hooks"))
    client = portal_client(member(shop.merchant).user)
    response = client.post(reverse("webhook_event_redeliver", args=[foreign.public_id]))
    assert response.status_code == 404
    assert WebhookDelivery.objects.filter(redelivery_requested_at__isnull=False).count() == 0


def test_a_refused_redelivery_without_javascript_shows_the_reason(shop, queued):
    from merchants.services.webhooks import webhook_endpoint_update

    event = publish(shop)
    webhook_endpoint_update(endpoint=shop.endpoint, is_enabled=False)
    client = portal_client(member(shop.merchant).user)
    response = client.post(
        reverse("webhook_event_redeliver", args=[event.public_id]),
        {"endpoint": str(shop.endpoint.public_id)},
        follow=True,
    )
    assert response.status_code == 200
    assert "The endpoint is disabled" in response.content.decode()
    assert WebhookDelivery.objects.get().status == DeliveryStatus.PENDING
