"""Sending deliveries: Standard Webhooks signatures, attempts recorded, retries, abandonment."""

import datetime
import json

import pytest
from standardwebhooks import Webhook

from merchants.services.webhooks import webhook_endpoint_update, webhook_secret_rotate
from payments.webhooks.delivery import RETRY_DELAYS, webhook_delivery_attempt, webhook_retry_at
from payments.webhooks.models import DeliveryStatus, WebhookAttempt
from payments.webhooks.services import webhook_event_body
from tests.payments.webhooks.conftest import shop_with_endpoint
from tests.payments.webhooks.receiver import closed_port_url
from tests.payments.webhooks.support import T0, frozen_now, only_delivery, publish

pytestmark = pytest.mark.django_db

SECOND = datetime.timedelta(seconds=1)


def test_a_delivery_is_signed_so_that_the_standardwebhooks_library_verifies_it(
    shop, receiver, queued
):
    # given a published event
    event = publish(shop)
    delivery = only_delivery(event)
    # when its delivery is attempted
    attempt = webhook_delivery_attempt(delivery_id=delivery.pk)
    # then the receiver got the exact body with Standard Webhooks headers
    (request,) = receiver.requests
    assert request.path == "/hooks"
    assert request.body == webhook_event_body(event)
    assert request.headers["content-type"] == "application/json"
    assert request.headers["user-agent"] == "Paydesk-Webhooks/1"
    assert request.headers["webhook-id"] == event.public_id
    assert request.headers["webhook-signature"].startswith("v1,")
    assert " " not in request.headers["webhook-signature"]
    # and the library verifies it with the endpoint's secret and returns the event
    assert Webhook(shop.secret).verify(request.body, request.headers) == event.payload
    # and the attempt is stored, the delivery succeeded
    assert attempt is not None
    assert attempt.number == 1
    assert attempt.is_success is True
    assert attempt.is_manual is False
    assert attempt.response_status == 200
    assert attempt.response_excerpt == '{"received": true}'
    assert attempt.error == ""
    assert attempt.duration_ms >= 0
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SUCCEEDED
    assert delivery.attempt_count == 1
    assert delivery.next_attempt_at is None
    assert delivery.leased_until is None
    assert delivery.completed_at == attempt.started_at


def test_during_a_secret_rotation_both_secrets_sign_and_each_one_verifies(shop, receiver, queued):
    # given a rotated secret whose predecessor still signs for a day
    rotated = webhook_secret_rotate(endpoint=shop.endpoint, overlap_hours=24)
    event = publish(shop)
    # when the delivery is sent
    webhook_delivery_attempt(delivery_id=only_delivery(event).pk)
    # then it carries two signatures, and a receiver holding either secret accepts it
    (request,) = receiver.requests
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    assert Webhook(shop.secret).verify(request.body, request.headers)["id"] == event.public_id
    assert Webhook(rotated.secret).verify(request.body, request.headers)["id"] == event.public_id
    # but not a receiver holding some other secret
    with pytest.raises(Exception, match="No matching signature"):
        Webhook("whsec_" + "QUJD" * 8).verify(request.body, request.headers)


def test_a_failing_receiver_is_retried_on_schedule_and_succeeds_when_it_comes_back(
    shop, receiver, queued, monkeypatch, django_capture_on_commit_callbacks
):
    # given an event published at T0 and a receiver answering 500
    frozen_now(monkeypatch, T0)
    event = publish(shop)
    delivery = only_delivery(event)
    receiver.status = 500
    receiver.response_body = b"database is down"
    queued.attempts.clear()
    # when the first attempt is made
    with django_capture_on_commit_callbacks(execute=True):
        first = webhook_delivery_attempt(delivery_id=delivery.pk, now=T0)
    # then it is stored with the answer, and a retry is set 5 seconds later (queued directly)
    assert first is not None
    assert (first.response_status, first.is_success) == (500, False)
    assert first.response_excerpt == "database is down"
    assert first.error == "HTTP 500"
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.next_attempt_at == T0 + datetime.timedelta(seconds=5)
    assert delivery.last_attempt_at == T0
    assert queued.attempts == [(delivery.pk,)]
    # when a task runs before the retry is due, nothing is sent
    assert webhook_delivery_attempt(delivery_id=delivery.pk, now=T0 + 4 * SECOND) is None
    assert len(receiver.requests) == 1
    # when the receiver is back and the retry is due
    receiver.status = 200
    second = webhook_delivery_attempt(delivery_id=delivery.pk, now=T0 + 5 * SECOND)
    # then the same message (same webhook-id) is delivered and verifies
    assert second is not None
    assert (second.number, second.is_success, second.response_status) == (2, True, 200)
    retried = receiver.requests[1]
    assert retried.headers["webhook-id"] == receiver.requests[0].headers["webhook-id"]
    assert Webhook(shop.secret).verify(retried.body, retried.headers)["id"] == event.public_id
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SUCCEEDED
    assert delivery.attempt_count == 2
    assert list(delivery.attempts.values_list("number", "response_status")) == [(1, 500), (2, 200)]


def test_a_refused_connection_is_stored_as_an_attempt_without_a_response(db, queued):
    # given an endpoint where nothing listens
    shop = shop_with_endpoint(closed_port_url())
    delivery = only_delivery(publish(shop))
    # when the delivery is attempted
    attempt = webhook_delivery_attempt(delivery_id=delivery.pk)
    # then the attempt records the connection error and a retry is scheduled
    assert attempt is not None
    assert attempt.is_success is False
    assert attempt.response_status is None
    assert attempt.response_excerpt == ""
    assert attempt.error.startswith("ConnectError: ")
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.next_attempt_at == attempt.started_at + datetime.timedelta(seconds=5)


def test_the_retry_schedule_runs_over_three_days_then_gives_up():
    # then the delays are the documented ones
    assert [int(delay.total_seconds()) for delay in RETRY_DELAYS] == [
        5, 300, 1800, 7200, 18000, 36000, 36000, 36000, 36000, 36000, 36000,
    ]  # fmt: skip
    # and a retry that would fall after the three days is not made
    late = T0 + datetime.timedelta(days=3) - datetime.timedelta(hours=1)
    assert webhook_retry_at(created_at=T0, attempts_made=5, now=late) is None
    assert webhook_retry_at(created_at=T0, attempts_made=12, now=T0) is None
    assert webhook_retry_at(created_at=T0, attempts_made=1, now=T0) == T0 + 5 * SECOND


def test_a_delivery_that_keeps_failing_is_abandoned_after_three_days(db, queued, monkeypatch):
    # given an event published at T0 to an endpoint that never answers
    frozen_now(monkeypatch, T0)
    shop = shop_with_endpoint(closed_port_url())
    delivery = only_delivery(publish(shop))
    # when every attempt is made when it is due
    while True:
        delivery.refresh_from_db()
        if delivery.next_attempt_at is None:
            break
        assert webhook_delivery_attempt(delivery_id=delivery.pk, now=delivery.next_attempt_at)
    # then there were 12 attempts on the documented schedule, all within three days
    offsets = [
        (started - T0).total_seconds()
        for started in WebhookAttempt.objects.filter(delivery=delivery).values_list(
            "started_at", flat=True
        )
    ]
    hours = 3600
    assert offsets == [
        0, 5, 305, 2105, 9305, 27305,
        27305 + 10 * hours, 27305 + 20 * hours, 27305 + 30 * hours,
        27305 + 40 * hours, 27305 + 50 * hours, 27305 + 60 * hours,
    ]  # fmt: skip
    assert offsets[-1] < 3 * 24 * hours
    # and the delivery is abandoned: no more attempts
    assert delivery.status == DeliveryStatus.ABANDONED
    assert delivery.attempt_count == 12
    assert delivery.completed_at == T0 + datetime.timedelta(seconds=offsets[-1])
    assert (
        webhook_delivery_attempt(delivery_id=delivery.pk, now=T0 + datetime.timedelta(days=4))
        is None
    )
    assert WebhookAttempt.objects.count() == 12
    # but one event's failures (67.6 hours) do not disable the endpoint
    shop.endpoint.refresh_from_db()
    assert shop.endpoint.is_enabled is True


def test_running_the_attempt_twice_sends_once(shop, receiver, queued):
    # given a delivery that was sent
    delivery = only_delivery(publish(shop))
    assert webhook_delivery_attempt(delivery_id=delivery.pk) is not None
    # when a duplicate task runs it
    assert webhook_delivery_attempt(delivery_id=delivery.pk) is None
    # then the receiver got one request and there is one attempt
    assert len(receiver.requests) == 1
    assert WebhookAttempt.objects.count() == 1


def test_a_delivery_leased_by_another_worker_is_left_alone(shop, receiver, queued):
    # given a delivery another worker is sending right now
    delivery = only_delivery(publish(shop))
    now = delivery.next_attempt_at
    assert now is not None
    type(delivery).objects.filter(pk=delivery.pk).update(leased_until=now + 30 * SECOND)
    # when a second task runs it, nothing is sent
    assert webhook_delivery_attempt(delivery_id=delivery.pk, now=now) is None
    assert receiver.requests == []
    # and once that lease has run out (the worker died), it can be sent again
    assert webhook_delivery_attempt(delivery_id=delivery.pk, now=now + 31 * SECOND) is not None
    assert len(receiver.requests) == 1


def test_a_disabled_endpoint_gets_nothing_more_and_its_delivery_is_abandoned(
    shop, receiver, queued
):
    # given a pending delivery whose endpoint is then disabled
    delivery = only_delivery(publish(shop))
    webhook_endpoint_update(endpoint=shop.endpoint, is_enabled=False)
    # when the task runs
    assert webhook_delivery_attempt(delivery_id=delivery.pk) is None
    # then nothing is sent and the delivery is abandoned without an attempt
    assert receiver.requests == []
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.ABANDONED
    assert delivery.next_attempt_at is None
    assert WebhookAttempt.objects.count() == 0


def test_a_long_response_is_cut_to_one_kilobyte(shop, receiver, queued):
    receiver.response_body = json.dumps({"echo": "x" * 5000}).encode()
    attempt = webhook_delivery_attempt(delivery_id=only_delivery(publish(shop)).pk)
    assert attempt is not None
    assert len(attempt.response_excerpt) == 1024
    assert attempt.response_excerpt.startswith('{"echo": "xxx')
