"""The webhook events page in a real Chromium: attempts shown, Redeliver over htmx."""

import pytest
from django.test import Client
from playwright.sync_api import expect

from payments.webhooks import tasks
from payments.webhooks.delivery import webhook_delivery_attempt
from payments.webhooks.models import DeliveryStatus, WebhookDelivery
from tests.helpers.twofactor import verified_session_cookie
from tests.merchants.platform import member
from tests.payments.webhooks.conftest import shop_with_endpoint
from tests.payments.webhooks.receiver import running_receiver
from tests.payments.webhooks.support import only_delivery, publish

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_failed_delivery_is_shown_and_redelivered_from_the_page(
    page, context, live_server, screenshot, monkeypatch
):
    # Tasks are recorded, not sent: a session worker must not race the attempt made below.
    queued: list[tuple[object, ...]] = []
    monkeypatch.setattr(tasks.webhook_delivery_attempt, "delay", lambda *a: queued.append(a))
    with running_receiver() as receiver:
        # given a delivery that failed with a 500
        shop = shop_with_endpoint(receiver.url)
        receiver.status = 500
        receiver.response_body = b'{"error": "database is down"}'
        event = publish(shop)
        delivery = only_delivery(event)
        webhook_delivery_attempt(delivery_id=delivery.pk)
        owner = member(shop.merchant).user
        context.add_cookies([verified_session_cookie(Client(), owner, url=live_server.url)])
        violations: list[str] = []
        page.on(
            "console",
            lambda message: (
                violations.append(message.text)
                if "Content Security Policy" in message.text
                else None
            ),
        )
        # when the owner opens the events page and looks at the attempts
        page.goto(f"{live_server.url}/webhooks/events/")
        card = page.locator(f"#event-{event.public_id}")
        expect(card).to_contain_text("payment.succeeded")
        expect(card.locator("[data-delivery-status=failed]")).to_be_visible()
        card.get_by_text("1 attempt").click()
        expect(card).to_contain_text("database is down")
        screenshot(page, "webhook-events-failed")
        # and presses Redeliver once the receiver is back
        receiver.status = 200
        card.get_by_test_id("redeliver").click()
        # then the card is replaced in place with the notice, and the delivery is pending
        expect(page.locator(f"#event-{event.public_id}")).to_contain_text("Redelivery queued")
        expect(page.locator("[data-delivery-status=pending]")).to_be_visible()
        screenshot(page, "webhook-events-redelivered")
        assert WebhookDelivery.objects.get().status == DeliveryStatus.PENDING
        assert queued[-1] == (delivery.pk,)
        # and the attempt (run here instead of by a worker) reaches the receiver
        attempt = webhook_delivery_attempt(delivery_id=delivery.pk)
        assert attempt is not None
        assert (attempt.is_manual, attempt.response_status) == (True, 200)
        assert len(receiver.requests) == 2
        assert violations == []
