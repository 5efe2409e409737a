"""Fixtures of the webhook delivery tests: a live receiver, a merchant with an endpoint."""

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.core.cache import cache

from merchants.models import ApiMode, Merchant, WebhookEndpoint
from merchants.services.webhooks import webhook_endpoint_create
from payments.webhooks import tasks
from tests.merchants.platform import merchant
from tests.payments.webhooks.receiver import Receiver, running_receiver

EVENTS = ["payment.succeeded", "payment.failed"]


@dataclass
class Shop:
    merchant: Merchant
    endpoint: WebhookEndpoint
    secret: str


def shop_with_endpoint(
    url: str,
    *,
    events: list[str] | None = None,
    mode: str = ApiMode.TEST,
    of: Merchant | None = None,
) -> Shop:
    """Return a merchant (new unless `of`) with one endpoint at `url`, through the service."""
    owner = of or merchant()
    endpoint, secret = webhook_endpoint_create(
        merchant=owner, mode=mode, url=url, events=events or EVENTS
    )
    return Shop(merchant=owner, endpoint=endpoint, secret=secret)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as live:
        yield live


@pytest.fixture
def shop(db: None, receiver: Receiver) -> Shop:
    return shop_with_endpoint(receiver.url)


@dataclass
class Queued:
    """Tasks the code under test sent, instead of sending them to the broker."""

    attempts: list[tuple[Any, ...]]
    notifications: list[tuple[Any, ...]]


@pytest.fixture
def queued(monkeypatch: pytest.MonkeyPatch) -> Queued:
    record = Queued(attempts=[], notifications=[])

    def attempt_apply_async(args: tuple[Any, ...], **options: Any) -> None:
        record.attempts.append(args)

    monkeypatch.setattr(
        tasks.webhook_delivery_attempt, "delay", lambda *args: record.attempts.append(args)
    )
    monkeypatch.setattr(tasks.webhook_delivery_attempt, "apply_async", attempt_apply_async)
    monkeypatch.setattr(
        tasks.webhook_endpoint_disabled_notify,
        "delay",
        lambda *args: record.notifications.append(args),
    )
    return record


@pytest.fixture(autouse=True)
def _clear_cache() -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()
