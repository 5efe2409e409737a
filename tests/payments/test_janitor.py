"""The janitor: expiry of unconfirmed payments, and re-queries of payments whose result is
unknown, on a back-off, until the acquirer says what happened (never failed by guesswork)."""

from datetime import timedelta
from typing import Any

import pytest
from celery.schedules import crontab
from django.conf import LazySettings
from django.utils import timezone

from config.celery import app
from config.schedules import CELERY_BEAT_SCHEDULE
from payments.domain.models import Payment, PaymentStatus
from payments.gateways import GatewayStatus
from payments.ledger.checks import ledger_check
from payments.ledger.models import CheckStatus
from payments.services import PaymentExpired
from payments.services.janitor import payment_expiry_sweep, payment_query_sweep, payment_requery
from payments.tasks import payment_requery as payment_requery_task
from payments.tasks import payment_submit_to_gateway
from payments.webhooks.models import WebhookEvent
from tests.helpers.celery_worker import wait_until
from tests.helpers.sandbox_acquirer import SandboxAcquirer
from tests.payments.payment_support import (
    UNREACHABLE_URL,
    ApiShop,
    capture_postings,
    confirmed,
    refreshed,
)

pytestmark = pytest.mark.django_db


def test_the_sweep_expires_payments_left_unconfirmed_past_their_window(
    live_shop: ApiShop,
) -> None:
    # given a payment past its 30 minutes, one still within them, and a confirmed one
    now = timezone.now()
    overdue = live_shop.payment()
    fresh = live_shop.payment()
    paid = confirmed(live_shop.payment())
    Payment.objects.filter(pk__in=[overdue.pk, paid.pk]).update(
        expires_at=now - timedelta(minutes=1)
    )

    # when the minute sweep runs
    expired = payment_expiry_sweep(now=now)

    # then only the overdue one expired, with its event and webhook
    assert expired == 1
    assert refreshed(overdue).status == PaymentStatus.EXPIRED
    assert refreshed(overdue).expired_at is not None
    assert refreshed(overdue).events.get(to_status="expired").actor_label == "janitor"
    assert refreshed(fresh).status == PaymentStatus.REQUIRES_CONFIRMATION
    assert refreshed(paid).status == PaymentStatus.PROCESSING
    assert list(WebhookEvent.objects.values_list("type", flat=True)) == ["payment.expired"]
    # and it cannot be confirmed any more
    with pytest.raises(PaymentExpired):
        confirmed(overdue)


def test_the_payment_expires_after_thirty_minutes_by_default(live_shop: ApiShop) -> None:
    payment = live_shop.payment()

    assert payment_expiry_sweep(now=payment.created_at + timedelta(minutes=29, seconds=59)) == 0
    assert payment_expiry_sweep(now=payment.created_at + timedelta(minutes=30)) == 1
    assert refreshed(payment).status == PaymentStatus.EXPIRED


def test_the_query_sweep_claims_only_payments_due_and_queues_one_query_each(
    live_shop: ApiShop,
    django_capture_on_commit_callbacks: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given unknown payments due and not yet due, and a processing one due
    now = timezone.now()
    due = confirmed(live_shop.payment())
    not_yet = confirmed(live_shop.payment())
    waiting = confirmed(live_shop.payment())
    Payment.objects.filter(pk=due.pk).update(
        status="unknown", next_query_at=now - timedelta(seconds=1)
    )
    Payment.objects.filter(pk=not_yet.pk).update(
        status="unknown", next_query_at=now + timedelta(minutes=4)
    )
    Payment.objects.filter(pk=waiting.pk).update(next_query_at=now - timedelta(seconds=5))
    queued: list[int] = []
    monkeypatch.setattr(payment_requery_task, "delay", queued.append)

    # when the sweep runs twice in a row
    with django_capture_on_commit_callbacks(execute=True):
        first = payment_query_sweep(now=now)
    with django_capture_on_commit_callbacks(execute=True):
        second = payment_query_sweep(now=now)

    # then the due ones were claimed and queued once; the other one waits its turn
    assert sorted(first) == sorted([due.pk, waiting.pk])
    assert sorted(queued) == sorted([due.pk, waiting.pk])
    assert second == []
    assert refreshed(due).next_query_at == now + timedelta(minutes=2)
    assert refreshed(not_yet).next_query_at == now + timedelta(minutes=4)


def _wait_for_acquirer(acquirer: SandboxAcquirer, payment: Payment) -> None:
    """Wait until the acquirer has finished the payment on its side."""
    adapter = acquirer.adapter()
    wait_until(
        lambda: adapter.query(payment.public_id).status != GatewayStatus.PROCESSING,
        timeout=10,
        interval=0.2,
    )


def test_a_timed_out_payment_is_resolved_by_the_janitor_and_posts_once(
    live_shop: ApiShop, acquirer: SandboxAcquirer
) -> None:
    # given a payment whose pay call timed out: unknown, first query in a minute
    payment = confirmed(live_shop.payment(amount=40800))
    payment_submit_to_gateway(payment.pk)
    assert refreshed(payment).status == PaymentStatus.UNKNOWN
    _wait_for_acquirer(acquirer, payment)

    # when the janitor queries it (twice, as a redelivered task would)
    payment_requery(payment_id=payment.pk)
    payment_requery(payment_id=payment.pk)

    # then the acquirer's answer settles it: succeeded, posted once, ledger balanced
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED
    assert payment.next_query_at is None
    assert payment.events.get(to_status="succeeded").reason == "gateway_query"
    assert capture_postings(payment) == 1
    assert WebhookEvent.objects.filter(type="payment.succeeded").count() == 1
    assert ledger_check().status == CheckStatus.PASSED


def test_a_timed_out_decline_is_failed_only_once_the_acquirer_says_so(
    live_shop: ApiShop, acquirer: SandboxAcquirer
) -> None:
    payment = confirmed(live_shop.payment(amount=40801))  # hangs, then declines
    payment_submit_to_gateway(payment.pk)
    assert refreshed(payment).status == PaymentStatus.UNKNOWN
    _wait_for_acquirer(acquirer, payment)

    payment_requery(payment_id=payment.pk)

    payment.refresh_from_db()
    assert (payment.status, payment.failure_code) == ("failed", "issuer_unavailable")
    assert capture_postings(payment) == 0


def test_an_unanswered_query_backs_off_1_min_5_min_1_hour_then_daily(
    live_shop: ApiShop, acquirer: SandboxAcquirer, settings: LazySettings
) -> None:
    # given an unknown payment, and an acquirer that cannot be reached
    payment = confirmed(live_shop.payment(amount=40800))
    payment_submit_to_gateway(payment.pk)
    first_query = refreshed(payment).next_query_at
    assert first_query is not None
    settings.SANDBOX_ACQUIRER_URL = UNREACHABLE_URL

    # when the janitor asks again and again without an answer
    delays = []
    for _attempt in range(5):
        before = timezone.now()
        payment_requery(payment_id=payment.pk)
        next_query = refreshed(payment).next_query_at
        assert next_query is not None
        delays.append(round((next_query - before).total_seconds() / 60))

    # then the payment stays unknown, asked after 5 min, 1 h, then every day
    assert delays == [5, 60, 1440, 1440, 1440]
    assert refreshed(payment).status == PaymentStatus.UNKNOWN
    assert refreshed(payment).query_attempts == 5
    assert not payment.events.filter(to_status="failed").exists()


def test_a_payment_still_processing_at_the_acquirer_is_asked_again_later(
    live_shop: ApiShop, acquirer: SandboxAcquirer
) -> None:
    with acquirer.configured(async_delay_ms=30_000):
        payment = confirmed(live_shop.payment(amount=20200))
        payment_submit_to_gateway(payment.pk)

        payment_requery(payment_id=payment.pk)

    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PROCESSING
    assert payment.query_attempts == 1
    assert payment.next_query_at is not None
    assert payment.next_query_at > timezone.now() + timedelta(minutes=4)


def test_a_payment_the_acquirer_never_received_is_sent_again_with_its_reference(
    live_shop: ApiShop, acquirer: SandboxAcquirer
) -> None:
    # given a confirmed payment whose submission task was lost (the acquirer never saw it)
    payment = confirmed(live_shop.payment(amount=8_800))

    # when the janitor's safety net queries it
    payment_requery(payment_id=payment.pk)

    # then it was submitted with the same reference and succeeded, once
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED
    assert payment.events.get(to_status="succeeded").reason == "gateway_resubmission"
    assert acquirer.adapter().query(payment.public_id).amount == 8_800
    assert capture_postings(payment) == 1


def test_the_janitor_leaves_settled_payments_alone(
    live_shop: ApiShop, acquirer: SandboxAcquirer
) -> None:
    payment = live_shop.payment()

    payment_requery(payment_id=payment.pk)

    assert refreshed(payment).status == PaymentStatus.REQUIRES_CONFIRMATION
    assert payment.events.count() == 1


def test_the_schedules_run_the_sweeps_every_minute_and_the_purge_hourly() -> None:
    schedule = {entry["task"]: entry["schedule"] for entry in CELERY_BEAT_SCHEDULE.values()}

    assert schedule["payments.tasks.payment_expiry_sweep"] == 60.0
    assert schedule["payments.tasks.payment_query_sweep"] == 60.0
    purge = schedule["payments.tasks.idempotency_record_purge"]
    assert purge == crontab(minute=41)
    for name in schedule:
        if name.startswith("payments.tasks."):
            assert name in app.tasks
