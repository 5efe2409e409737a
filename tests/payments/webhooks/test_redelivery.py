"""Manual redelivery (service) and the sweep that queues due deliveries."""

import datetime

import pytest

from accounts.models import AuditEvent
from config.errors import Conflict, NotFound
from merchants.services.webhooks import webhook_endpoint_update
from payments.webhooks.delivery import webhook_delivery_attempt, webhook_delivery_sweep
from payments.webhooks.models import DeliveryStatus, WebhookDelivery
from payments.webhooks.services import webhook_event_redeliver
from tests.merchants.platform import member
from tests.payments.webhooks.conftest import shop_with_endpoint
from tests.payments.webhooks.receiver import closed_port_url
from tests.payments.webhooks.support import T0, frozen_now, only_delivery, publish

pytestmark = pytest.mark.django_db

MINUTE = datetime.timedelta(minutes=1)


def test_an_abandoned_delivery_is_redelivered_manually_once_the_receiver_is_back(
    shop, receiver, queued, monkeypatch, django_capture_on_commit_callbacks
):
    # given a delivery abandoned after its retries (the receiver was down)
    frozen_now(monkeypatch, T0)
    event = publish(shop)
    delivery = only_delivery(event)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status=DeliveryStatus.ABANDONED, attempt_count=12, next_attempt_at=None, completed_at=T0
    )
    user = member(shop.merchant).user
    queued.attempts.clear()
    # when a member redelivers it (days later, the receiver is back)
    later = T0 + datetime.timedelta(days=5)
    frozen_now(monkeypatch, later)
    with django_capture_on_commit_callbacks(execute=True):
        (redelivered,) = webhook_event_redeliver(event=event, endpoint=shop.endpoint, actor=user)
    # then it is pending now, queued after commit, and audited
    assert redelivered.pk == delivery.pk
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PENDING
    assert delivery.next_attempt_at == later
    assert queued.attempts == [(delivery.pk,)]
    audit = AuditEvent.objects.get(action="webhook_event.redeliver")
    assert audit.actor == user
    assert audit.after == {"event": event.public_id, "endpoints": [str(shop.endpoint.public_id)]}
    # and the attempt is made, marked manual, and succeeds
    attempt = webhook_delivery_attempt(delivery_id=delivery.pk, now=later)
    assert attempt is not None
    assert (attempt.number, attempt.is_manual, attempt.is_success) == (13, True, True)
    assert len(receiver.requests) == 1
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SUCCEEDED
    assert delivery.redelivery_requested_at is None


def test_a_failed_manual_redelivery_after_the_three_days_is_abandoned_again(
    db, queued, monkeypatch
):
    # given an abandoned delivery to a receiver that is still down
    frozen_now(monkeypatch, T0)
    shop = shop_with_endpoint(closed_port_url())
    event = publish(shop)
    delivery = only_delivery(event)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status=DeliveryStatus.ABANDONED, attempt_count=12, next_attempt_at=None
    )
    later = T0 + datetime.timedelta(days=5)
    frozen_now(monkeypatch, later)
    webhook_event_redeliver(event=event)
    # when the manual attempt fails
    attempt = webhook_delivery_attempt(delivery_id=delivery.pk, now=later)
    # then no automatic retries follow
    assert attempt is not None
    assert attempt.is_manual is True
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.ABANDONED
    assert delivery.next_attempt_at is None


def test_redelivery_to_a_disabled_endpoint_is_refused_and_changes_nothing(
    shop, queued, django_capture_on_commit_callbacks
):
    # given a succeeded delivery whose endpoint was disabled since
    event = publish(shop)
    WebhookDelivery.objects.filter(event=event).update(status=DeliveryStatus.SUCCEEDED)
    webhook_endpoint_update(endpoint=shop.endpoint, is_enabled=False)
    before = list(WebhookDelivery.objects.values())
    queued.attempts.clear()
    # when it is redelivered, it is refused with a clear code
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(Conflict) as refused,
    ):
        webhook_event_redeliver(event=event, endpoint=shop.endpoint)
    assert refused.value.code == "webhook_endpoint_disabled"
    # and nothing changed, nothing was queued or audited
    assert list(WebhookDelivery.objects.values()) == before
    assert callbacks == []
    assert queued.attempts == []
    assert not AuditEvent.objects.filter(action="webhook_event.redeliver").exists()


def test_redelivery_to_an_endpoint_the_event_never_went_to_is_not_found(shop, queued):
    event = publish(shop)
    other = shop_with_endpoint("https://shop.example.com/second", of=shop.merchant).endpoint
    with pytest.raises(NotFound):
        webhook_event_redeliver(event=event, endpoint=other)
    assert WebhookDelivery.objects.get().redelivery_requested_at is None


def test_redelivery_while_the_delivery_is_being_sent_is_refused(shop, queued):
    event = publish(shop)
    WebhookDelivery.objects.update(leased_until=T0 + datetime.timedelta(days=3650))
    with pytest.raises(Conflict) as refused:
        webhook_event_redeliver(event=event)
    assert refused.value.code == "webhook_delivery_in_progress"


def test_the_sweep_queues_due_deliveries_that_no_task_holds(
    shop, queued, django_capture_on_commit_callbacks
):
    # given deliveries in every situation the sweep must tell apart
    now = T0 + datetime.timedelta(days=1)

    def delivery(**fields):
        made = only_delivery(publish(shop))
        WebhookDelivery.objects.filter(pk=made.pk).update(**fields)
        return made.pk

    lost = delivery(status=DeliveryStatus.FAILED, next_attempt_at=now - MINUTE, queued_at=None)
    stale = delivery(next_attempt_at=now - MINUTE, queued_at=now - 10 * MINUTE)
    delivery(next_attempt_at=now - MINUTE, queued_at=now - MINUTE)  # queued a minute ago
    delivery(status=DeliveryStatus.FAILED, next_attempt_at=now + MINUTE, queued_at=None)
    delivery(next_attempt_at=now - MINUTE, queued_at=None, leased_until=now + MINUTE)
    delivery(status=DeliveryStatus.SUCCEEDED, next_attempt_at=None, queued_at=None)
    queued.attempts.clear()
    # when the sweep runs
    with django_capture_on_commit_callbacks(execute=True):
        count = webhook_delivery_sweep(now=now)
    # then only the lost and the stale ones are queued, and marked as queued now
    assert count == 2
    assert sorted(queued.attempts) == sorted([(lost,), (stale,)])
    assert set(WebhookDelivery.objects.filter(queued_at=now).values_list("pk", flat=True)) == {
        lost,
        stale,
    }
    # and running it again right away queues nothing more
    with django_capture_on_commit_callbacks(execute=True):
        assert webhook_delivery_sweep(now=now) == 0
