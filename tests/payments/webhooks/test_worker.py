"""End to end, on committed rows: a real Celery worker, and two workers racing."""

import threading

import pytest
from django.db import connection, transaction
from standardwebhooks import Webhook

from payments.webhooks.delivery import webhook_delivery_attempt
from payments.webhooks.models import DeliveryStatus, WebhookAttempt, WebhookDelivery
from tests.helpers.celery_worker import wait_until
from tests.payments.webhooks.conftest import shop_with_endpoint
from tests.payments.webhooks.support import only_delivery, publish


def _status(delivery_id: int) -> str:
    return WebhookDelivery.objects.get(pk=delivery_id).status


@pytest.mark.celery
def test_the_worker_delivers_and_redelivers_after_the_receiver_comes_back(
    transactional_db, celery_worker_process, receiver
):
    # given an endpoint whose receiver is failing
    shop = shop_with_endpoint(receiver.url)
    receiver.status = 503
    # when a payment's transaction publishes an event and commits
    with transaction.atomic():
        event = publish(shop)
    delivery_id = only_delivery(event).pk
    # then the worker tries at once, and the failure schedules a retry 5 seconds later
    receiver.wait_for(1)
    wait_until(lambda: _status(delivery_id) == DeliveryStatus.FAILED, message="no failure")
    # when the receiver comes back
    receiver.status = 200
    # then the retry reaches it, and the standardwebhooks library verifies it
    second = receiver.wait_for(2, timeout=30)[1]
    assert Webhook(shop.secret).verify(second.body, second.headers) == event.payload
    wait_until(lambda: _status(delivery_id) == DeliveryStatus.SUCCEEDED, message="no success")
    attempts = list(
        WebhookAttempt.objects.filter(delivery_id=delivery_id).values_list(
            "number", "response_status", "is_success"
        )
    )
    assert attempts == [(1, 503, False), (2, 200, True)]
    assert len(receiver.requests) == 2


def test_two_workers_running_the_same_delivery_at_once_send_it_once(
    transactional_db, receiver, queued
):
    # given a committed delivery (its task kept from the session's worker) and a slow receiver
    shop = shop_with_endpoint(receiver.url)
    delivery_id = only_delivery(publish(shop)).pk
    receiver.delay = 0.5
    results: list[object] = []

    def work() -> None:
        try:
            results.append(webhook_delivery_attempt(delivery_id=delivery_id))
        finally:
            connection.close()

    # when two workers run it at the same moment
    workers = [threading.Thread(target=work) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=30)
    # then one sent it and the other did nothing
    assert len(receiver.requests) == 1
    assert sorted(result is None for result in results) == [False, True]
    assert WebhookAttempt.objects.filter(delivery_id=delivery_id).count() == 1
    assert _status(delivery_id) == DeliveryStatus.SUCCEEDED
