"""Helpers of the webhook delivery tests."""

import datetime
from typing import Any

from django.utils import timezone

from payments.webhooks.models import WebhookDelivery, WebhookEvent
from payments.webhooks.services import webhook_event_publish
from tests.payments.webhooks.conftest import Shop

T0 = datetime.datetime(2026, 11, 11, 0, 0, tzinfo=datetime.UTC)


def publish(shop: Shop, event_type: str = "payment.succeeded", **data: Any) -> WebhookEvent:
    """Publish a test-mode event for the shop's merchant (outside any caller transaction)."""
    return webhook_event_publish(
        merchant=shop.merchant,
        event_type=event_type,
        payload={"id": "pay_1", "amount": 1999, "currency": "CNY", **data},
        mode="test",
    )


def only_delivery(event: WebhookEvent) -> WebhookDelivery:
    return WebhookDelivery.objects.get(event=event)


def frozen_now(monkeypatch: Any, moment: datetime.datetime) -> None:
    """Make django.utils.timezone.now() return `moment` (publishing reads the clock)."""
    monkeypatch.setattr(timezone, "now", lambda: moment)
