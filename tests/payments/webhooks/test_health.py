"""Endpoint health: days of nothing but failures disable the endpoint and mail its owners."""

import datetime

import pytest
from django.core import mail

from accounts.models import AuditEvent
from merchants.models import TeamRole
from payments.webhooks.delivery import webhook_delivery_attempt
from payments.webhooks.health import webhook_endpoint_disabled_notify
from payments.webhooks.models import DeliveryStatus, WebhookDelivery
from tests.merchants.platform import member
from tests.payments.webhooks.support import T0, frozen_now, only_delivery, publish

pytestmark = pytest.mark.django_db

DAY = datetime.timedelta(days=1)
MINUTE = datetime.timedelta(minutes=1)


def _fail_at(shop, moment, monkeypatch, *, event_type="payment.succeeded"):
    frozen_now(monkeypatch, moment)
    delivery = only_delivery(publish(shop, event_type))
    attempt = webhook_delivery_attempt(delivery_id=delivery.pk, now=moment)
    assert attempt is not None
    return delivery


def test_an_endpoint_failing_for_three_days_is_disabled_audited_and_its_owners_emailed(
    shop, receiver, queued, monkeypatch, django_capture_on_commit_callbacks
):
    # given an owner, a developer, and a receiver that answers 503 from T0 on
    owner = member(shop.merchant, TeamRole.OWNER, email="owner@shop.example.com").user
    member(shop.merchant, TeamRole.DEVELOPER, email="dev@shop.example.com")
    receiver.status = 503
    first = _fail_at(shop, T0, monkeypatch)
    # when a delivery fails again more than three days later
    with django_capture_on_commit_callbacks(execute=True):
        last = _fail_at(shop, T0 + 3 * DAY + MINUTE, monkeypatch, event_type="payment.failed")
    # then the endpoint is disabled, with the reason in the audit log
    shop.endpoint.refresh_from_db()
    assert shop.endpoint.is_enabled is False
    update = AuditEvent.objects.get(action="webhook_endpoint.update")
    assert update.before is not None
    assert update.after is not None
    assert (update.before["enabled"], update.after["enabled"]) == (True, False)
    reason = AuditEvent.objects.get(action="webhook_endpoint.disable_failing")
    assert reason.object_id == str(shop.endpoint.pk)
    assert reason.after == {"failing_since": T0.isoformat(), "disable_after_days": 3}
    # and its open deliveries are abandoned
    for delivery in (first, last):
        delivery.refresh_from_db()
        assert delivery.status == DeliveryStatus.ABANDONED
        assert delivery.next_attempt_at is None
    # and the owners' email is queued after commit, once
    assert queued.notifications == [(shop.endpoint.pk, T0.isoformat())]
    # when the task runs, only the owner gets the email, naming the endpoint
    assert (
        webhook_endpoint_disabled_notify(endpoint_id=shop.endpoint.pk, failing_since=T0.isoformat())
        == 1
    )
    (email,) = mail.outbox
    assert email.to == [owner.email]
    assert shop.merchant.name in email.subject
    assert shop.endpoint.url in email.body
    assert "/webhooks/events/" in email.body
    # and a retried task does not mail again
    assert (
        webhook_endpoint_disabled_notify(endpoint_id=shop.endpoint.pk, failing_since=T0.isoformat())
        == 0
    )
    assert len(mail.outbox) == 1


def test_a_success_in_between_keeps_the_endpoint_enabled(
    shop, receiver, queued, monkeypatch, django_capture_on_commit_callbacks
):
    # given failures from T0, a success on day 2, and failures again on day 4
    receiver.status = 500
    _fail_at(shop, T0, monkeypatch)
    receiver.status = 200
    _fail_at(shop, T0 + 2 * DAY, monkeypatch)
    receiver.status = 500
    # when a delivery fails more than three days after the first failure
    with django_capture_on_commit_callbacks(execute=True):
        _fail_at(shop, T0 + 3 * DAY + MINUTE, monkeypatch)
    # then the endpoint stays enabled and no one is emailed
    shop.endpoint.refresh_from_db()
    assert shop.endpoint.is_enabled is True
    assert not AuditEvent.objects.filter(action="webhook_endpoint.disable_failing").exists()
    assert queued.notifications == []
    assert WebhookDelivery.objects.filter(status=DeliveryStatus.FAILED).count() == 2
