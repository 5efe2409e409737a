"""The payment state machine: every transition a service under a row lock with an event;
confirmation and the submission to the real sandbox acquirer (task body called directly;
one end-to-end test on a real Celery worker)."""

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from config.errors import InvalidTransition
from merchants.models import ApiMode, SettlementTerms
from payments.domain.models import PAYMENT_TRANSITIONS, Payment, PaymentStatus
from payments.gateways import GatewayUnavailable
from payments.ledger.checks import ledger_check
from payments.ledger.models import CheckStatus, LedgerEntry, LedgerPosting
from payments.services import (
    CardNumberNotAllowed,
    PaymentExpired,
    payment_confirm,
    payment_mark_succeeded,
)
from payments.services import payments as payment_services
from payments.services.transitions import SYSTEM, payment_lock, transition
from payments.tasks import payment_submit_to_gateway
from payments.webhooks.models import WebhookEvent
from tests.helpers.celery_worker import CeleryWorker
from tests.helpers.sandbox_acquirer import SandboxAcquirer
from tests.payments.payment_support import (
    ApiShop,
    capture_postings,
    confirmed,
    refreshed,
    statuses,
    wait_status,
)

ALL_STATUSES = list(PaymentStatus)
ALLOWED = [(a, b) for a in ALL_STATUSES for b in ALL_STATUSES if b in PAYMENT_TRANSITIONS[a]]
REFUSED = [(a, b) for a in ALL_STATUSES for b in ALL_STATUSES if b not in PAYMENT_TRANSITIONS[a]]


def test_the_transition_table_is_the_issue_s() -> None:
    assert {(str(a), str(b)) for a, b in ALLOWED} == {
        ("requires_confirmation", "processing"),
        ("requires_confirmation", "canceled"),
        ("requires_confirmation", "expired"),
        ("processing", "succeeded"),
        ("processing", "failed"),
        ("processing", "unknown"),
        ("unknown", "succeeded"),
        ("unknown", "failed"),
    }


@pytest.mark.django_db
@pytest.mark.parametrize(("from_status", "to_status"), REFUSED)
def test_a_move_outside_the_table_is_refused_and_changes_nothing(
    live_shop: ApiShop, from_status: str, to_status: str
) -> None:
    # given a payment in `from_status`
    payment = live_shop.payment()
    Payment.objects.filter(pk=payment.pk).update(status=from_status)
    events_before = payment.events.count()

    # when something tries to move it to `to_status`
    with pytest.raises(InvalidTransition):
        locked = payment_lock(payment)
        transition(locked, to_status, actor=SYSTEM, reason="test")

    # then nothing changed
    assert refreshed(payment).status == from_status
    assert payment.events.count() == events_before
    assert not WebhookEvent.objects.exists()


@pytest.mark.django_db
def test_confirmation_moves_to_processing_and_queues_the_submission_after_commit(
    live_shop: ApiShop,
    django_capture_on_commit_callbacks: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given an unconfirmed payment
    payment = live_shop.payment()
    queued: list[int] = []
    monkeypatch.setattr(payment_submit_to_gateway, "delay", queued.append)

    # when the payer confirms it with a passkey
    with django_capture_on_commit_callbacks(execute=True):
        confirmed(payment)

    # then it is processing, with who/how/when recorded, and the submission is queued once
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PROCESSING
    assert payment.confirmed_at is not None
    assert (payment.confirmation_method, payment.payer_token) == ("passkey", "tok_wallet_4f2a")
    assert queued == [payment.pk]
    event = payment.events.get(to_status="processing")
    assert (event.from_status, event.actor_type) == ("requires_confirmation", "payer")
    assert event.details == {"method": "passkey", "evidence": {"credential_id": "cred-1"}}


@pytest.mark.django_db
def test_confirmation_refuses_a_card_number_as_the_token(
    live_shop: ApiShop, django_capture_on_commit_callbacks: Any
) -> None:
    payment = live_shop.payment()

    with django_capture_on_commit_callbacks() as callbacks, pytest.raises(CardNumberNotAllowed):
        payment_confirm(
            payment=payment,
            payer=None,
            method="passkey",
            evidence={"payer_token": "4111 1111 1111 1111"},
        )

    assert refreshed(payment).status == PaymentStatus.REQUIRES_CONFIRMATION
    assert refreshed(payment).payer_token == ""
    assert callbacks == []


@pytest.mark.django_db
def test_a_payment_cannot_be_confirmed_twice(live_shop: ApiShop) -> None:
    payment = confirmed(live_shop.payment())

    with pytest.raises(InvalidTransition):
        confirmed(payment)

    assert payment.events.filter(to_status="processing").count() == 1


@pytest.mark.django_db
def test_confirming_after_the_window_expires_the_payment_instead(
    live_shop: ApiShop, django_capture_on_commit_callbacks: Any
) -> None:
    payment = live_shop.payment()
    Payment.objects.filter(pk=payment.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

    with django_capture_on_commit_callbacks() as callbacks, pytest.raises(PaymentExpired):
        confirmed(payment)

    payment.refresh_from_db()
    assert payment.status == PaymentStatus.EXPIRED
    assert payment.confirmed_at is None
    assert WebhookEvent.objects.get().type == "payment.expired"
    assert callbacks == []  # no submission queued (and no endpoint to deliver to)


# --- submission to the sandbox acquirer (the task body, called directly) ---


@pytest.mark.django_db
def test_an_approved_payment_succeeds_posts_once_and_tells_the_merchant(
    live_shop: ApiShop, acquirer: SandboxAcquirer
) -> None:
    # given a confirmed live payment of 100.00 CNY by Alipay (default wallet fee: 60 bps)
    payment = confirmed(live_shop.payment(amount=10_000, channel="alipay"))

    # when the submission task runs (twice, as a redelivered task would)
    payment_submit_to_gateway(payment.pk)
    payment_submit_to_gateway(payment.pk)

    # then it succeeded once, with the fee of the merchant's terms, and the KPI timestamps
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED
    assert (payment.fee_bps, payment.fee_amount, payment.net_amount) == (60, 60, 9_940)
    assert payment.acquirer_reference.startswith("SBX")
    assert payment.confirmed_at is not None and payment.succeeded_at is not None
    assert payment.succeeded_at >= payment.confirmed_at
    assert payment.next_query_at is None
    assert statuses(payment) == [
        ("", "requires_confirmation"),
        ("requires_confirmation", "processing"),
        ("processing", "succeeded"),
    ]
    # and exactly one balanced capture posting, and one webhook event
    posting = LedgerPosting.objects.get(key=f"payment:{payment.public_id}:capture")
    lines = sorted(posting.entries.values_list("account__kind", "direction", "amount"))
    assert lines == [
        ("acquirer_receivable", "debit", 10_000),
        ("fee_revenue", "credit", 60),
        ("merchant_pending", "credit", 9_940),
    ]
    event = WebhookEvent.objects.get()
    assert (event.type, event.mode) == ("payment.succeeded", "live")
    assert event.payload["data"]["id"] == payment.public_id
    assert event.payload["data"]["status"] == "succeeded"
    assert ledger_check().status == CheckStatus.PASSED


@pytest.mark.django_db
def test_the_fee_follows_the_merchant_s_terms_and_rounds_half_up(
    live_shop: ApiShop, acquirer: SandboxAcquirer
) -> None:
    SettlementTerms.objects.create(
        merchant=live_shop.merchant,
        version=1,
        effective_from=timezone.localdate() - timedelta(days=1),
        bank_card_fee_bps=55,
    )
    payment = confirmed(live_shop.payment(amount=10_090, channel="bank_card"))

    payment_submit_to_gateway(payment.pk)

    payment.refresh_from_db()
    # 10,090 x 0.55% = 55.495 -> 55; the posting carries the same fee
    assert (payment.status, payment.fee_bps, payment.fee_amount) == ("succeeded", 55, 55)
    fee_line = LedgerEntry.objects.get(
        posting__key=f"payment:{payment.public_id}:capture", account__kind="fee_revenue"
    )
    assert fee_line.amount == 55


@pytest.mark.django_db
def test_a_test_mode_payment_succeeds_without_touching_the_ledger(
    test_shop: ApiShop, acquirer: SandboxAcquirer
) -> None:
    payment = confirmed(test_shop.payment(amount=10_000))

    payment_submit_to_gateway(payment.pk)

    assert refreshed(payment).status == PaymentStatus.SUCCEEDED
    assert refreshed(payment).fee_amount == 60
    assert not LedgerPosting.objects.exists()
    assert WebhookEvent.objects.get().mode == ApiMode.TEST


@pytest.mark.django_db
def test_a_declined_payment_fails_with_the_reason(
    live_shop: ApiShop, acquirer: SandboxAcquirer
) -> None:
    payment = confirmed(live_shop.payment(amount=40001))  # the sandbox's "insufficient funds"

    payment_submit_to_gateway(payment.pk)

    payment.refresh_from_db()
    assert payment.status == PaymentStatus.FAILED
    assert (payment.failure_code, payment.failure_message) == (
        "insufficient_funds",
        "Insufficient funds",
    )
    assert payment.failed_at is not None and payment.succeeded_at is None
    assert capture_postings(payment) == 0
    assert WebhookEvent.objects.get().type == "payment.failed"


@pytest.mark.django_db
def test_a_timeout_makes_the_payment_unknown_never_failed(
    live_shop: ApiShop, acquirer: SandboxAcquirer
) -> None:
    payment = confirmed(live_shop.payment(amount=40800))  # the sandbox hangs past our timeout

    before = timezone.now()
    payment_submit_to_gateway(payment.pk)

    payment.refresh_from_db()
    assert payment.status == PaymentStatus.UNKNOWN
    assert payment.next_query_at is not None
    assert (
        before + timedelta(minutes=1)
        <= payment.next_query_at
        <= timezone.now() + timedelta(minutes=1)
    )
    assert payment.query_attempts == 0
    assert payment.events.get(to_status="unknown").reason == "timeout"
    assert capture_postings(payment) == 0
    assert not WebhookEvent.objects.exists()


@pytest.mark.django_db
def test_an_unavailable_acquirer_is_retried_then_the_payment_becomes_unknown(
    live_shop: ApiShop, acquirer: SandboxAcquirer
) -> None:
    payment = confirmed(live_shop.payment(amount=50300))  # 503 every time

    # a retry attempt leaves the payment processing for the task to try again
    with pytest.raises(GatewayUnavailable):
        payment_services.payment_submit_to_gateway(payment_id=payment.pk, is_last_attempt=False)
    assert refreshed(payment).status == PaymentStatus.PROCESSING

    # the last attempt gives up to "unknown" (the janitor keeps asking), never to "failed"
    payment_services.payment_submit_to_gateway(payment_id=payment.pk, is_last_attempt=True)
    assert refreshed(payment).status == PaymentStatus.UNKNOWN
    assert refreshed(payment).events.get(to_status="unknown").reason == "gateway_unavailable"


@pytest.mark.django_db
def test_the_task_retries_an_unavailable_acquirer_and_then_succeeds(
    live_shop: ApiShop, acquirer: SandboxAcquirer
) -> None:
    payment = confirmed(live_shop.payment(amount=50301))  # 503 once, then approves

    with pytest.raises(GatewayUnavailable):  # called directly, the retry re-raises
        payment_submit_to_gateway(payment.pk)
    assert refreshed(payment).status == PaymentStatus.PROCESSING
    payment_submit_to_gateway(payment.pk)

    assert refreshed(payment).status == PaymentStatus.SUCCEEDED
    assert capture_postings(payment) == 1


@pytest.mark.django_db
def test_an_asynchronous_answer_keeps_the_payment_processing_and_schedules_a_query(
    live_shop: ApiShop, acquirer: SandboxAcquirer
) -> None:
    payment = confirmed(live_shop.payment(amount=20200))  # "processing" now, result later

    payment_submit_to_gateway(payment.pk)

    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PROCESSING
    assert payment.acquirer_reference.startswith("SBX")
    assert payment.next_query_at is not None
    assert payment.next_query_at <= timezone.now() + timedelta(minutes=1)
    assert statuses(payment)[-1] == ("requires_confirmation", "processing")


@pytest.mark.django_db
def test_the_submission_leaves_a_payment_that_is_not_processing_alone(
    live_shop: ApiShop, acquirer: SandboxAcquirer
) -> None:
    payment = live_shop.payment()

    payment_submit_to_gateway(payment.pk)

    assert refreshed(payment).status == PaymentStatus.REQUIRES_CONFIRMATION
    assert payment.events.count() == 1


@pytest.mark.django_db
def test_marking_succeeded_twice_is_refused_and_posts_once(live_shop: ApiShop) -> None:
    payment = confirmed(live_shop.payment())
    payment_mark_succeeded(payment=payment, actor=SYSTEM, reason="test")

    with pytest.raises(InvalidTransition):
        payment_mark_succeeded(payment=payment, actor=SYSTEM, reason="test again")

    assert capture_postings(payment) == 1
    assert payment.events.filter(to_status="succeeded").count() == 1


@pytest.mark.celery
@pytest.mark.django_db(transaction=True)
def test_a_confirmed_payment_is_submitted_by_the_real_worker(
    celery_worker_process: CeleryWorker, acquirer: SandboxAcquirer
) -> None:
    # given a live shop's payment, confirmed by the payer (the task is queued on commit)
    from tests.payments.payment_support import api_shop

    shop = api_shop(ApiMode.LIVE)
    payment = confirmed(shop.payment(amount=12_345, channel="wechat_pay"))

    # then the worker submits it to the sandbox acquirer, which approves it
    payment = wait_status(payment, PaymentStatus.SUCCEEDED, timeout=20)
    assert capture_postings(payment) == 1
    assert payment.fee_amount == 74  # 12,345 x 0.60% = 74.07
    assert WebhookEvent.objects.filter(type="payment.succeeded").count() == 1
    assert ledger_check().status == CheckStatus.PASSED
