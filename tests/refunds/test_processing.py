"""Refunds at the real sandbox acquirer (task bodies called in-process): success, decline,
time-outs, retries with the same reference, manual review, and the ledger after each."""

from typing import Any

import pytest
from django.conf import LazySettings
from django.utils import timezone

from config.errors import InvalidTransition
from merchants.models import Merchant, TeamRole
from payments.gateways import (
    GatewayMismatch,
    GatewayRejected,
    GatewayStatus,
    Notification,
    NotificationKind,
    RefundRequest,
    get_gateway,
)
from payments.ledger.checks import ledger_check
from payments.ledger.models import CheckStatus
from payments.webhooks.models import WebhookEvent
from refunds import tasks
from refunds.models import Refund, RefundStatus
from refunds.selectors import refund_summary_for_payment
from refunds.services import (
    RefundActor,
    processing,
    refund_close,
    refund_gateway_result_apply,
    refund_notification_apply,
    refund_requery,
    refund_retry,
)
from refunds.services.processing import refund_request_for
from tests.helpers.celery_worker import wait_until
from tests.helpers.sandbox_acquirer import SandboxAcquirer, unique_reference
from tests.payments.payment_support import UNREACHABLE_URL
from tests.refunds.support import (
    fund,
    ledger_is_balanced,
    pending_balance,
    person,
    refund_of,
    refund_postings,
    statuses,
    succeeded_payment,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def paid(shop: Merchant, acquirer: SandboxAcquirer) -> Any:
    """A payment of 100,000 captured at the sandbox acquirer (fee 600: pending 99,400)."""
    return succeeded_payment(shop, amount=100_000, via_acquirer=True)


def refunded_at_acquirer_is(payment: Any, expected: int) -> bool:
    """Return whether the acquirer holds exactly `expected` refunded (or in flight).

    One more than what is left is refused; exactly what is left is accepted (and uses it).
    """
    left = payment.amount - expected
    probe = {"payment_reference": payment.public_id, "currency": payment.currency}
    try:
        get_gateway().refund(
            RefundRequest(refund_reference=unique_reference("probe"), amount=left + 1, **probe)
        )
        return False
    except GatewayRejected as error:
        if error.reason != "refund_exceeds_captured":
            raise
    if left == 0:
        return True
    result = get_gateway().refund(
        RefundRequest(refund_reference=unique_reference("probe"), amount=left, **probe)
    )
    return result.status == GatewayStatus.SUCCEEDED


def test_a_refund_succeeds_with_balanced_postings_a_webhook_and_the_payer_email(
    shop: Merchant,
    paid: Any,
    queued: list[tuple[str, Any]],
    django_capture_on_commit_callbacks: Any,
) -> None:
    refund = refund_of(paid, amount=3_000)

    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.refund_submit_to_gateway(refund.pk) == RefundStatus.SUCCEEDED

    refund.refresh_from_db()
    assert refund.acquirer_reference.startswith("SBXR")
    assert refund.succeeded_at is not None
    assert statuses(refund)[-1] == ("processing", "succeeded")
    assert refund_postings(refund) == [
        (f"refund:{refund.public_id}:initiate", "refund"),
        (f"refund:{refund.public_id}:complete", "refund_completion"),
    ]
    assert pending_balance(shop) == (99_400 - 3_000, 0, 0)
    assert ledger_is_balanced()
    assert (
        WebhookEvent.objects.get(type="refund.succeeded").payload["data"]["status"] == "succeeded"
    )
    assert ("refund_payer_notify", refund.pk) in queued
    summary = refund_summary_for_payment(paid)
    assert (summary.refunded, summary.in_progress, summary.refundable) == (3_000, 0, 97_000)
    # and running the task again changes nothing and refunds nothing more
    assert tasks.refund_submit_to_gateway(refund.pk) == RefundStatus.SUCCEEDED
    assert len(refund_postings(refund)) == 2
    assert refunded_at_acquirer_is(paid, 3_000)


def test_a_declined_refund_fails_with_its_reason_and_is_reversed(
    shop: Merchant, paid: Any, queued: Any
) -> None:
    refund = refund_of(paid, amount=40_001)  # the acquirer declines: insufficient balance

    assert tasks.refund_submit_to_gateway(refund.pk) == RefundStatus.FAILED

    refund.refresh_from_db()
    assert (refund.failure_code, refund.failed_at is not None) == (
        "insufficient_merchant_balance",
        True,
    )
    assert refund_postings(refund) == [
        (f"refund:{refund.public_id}:initiate", "refund"),
        (f"refund:{refund.public_id}:reverse", "refund_reversal"),
    ]
    assert pending_balance(shop) == (99_400, 0, 0)
    assert ledger_is_balanced()
    event = WebhookEvent.objects.get(type="refund.failed")
    assert event.payload["data"]["failure"]["code"] == "insufficient_merchant_balance"
    # and the amount is refundable again
    assert refund_summary_for_payment(paid).refundable == 100_000


def test_an_acquirer_unavailable_on_every_retry_ends_in_manual_review_with_its_reversal(
    shop: Merchant, paid: Any, queued: Any
) -> None:
    refund = refund_of(paid, amount=50_300)  # HTTP 503 every time

    # when the task runs with all its retries (eagerly: the countdowns are skipped)
    tasks.refund_submit_to_gateway.apply(args=(refund.pk,))

    # then the refund does not pretend to be pending: manual review, with the reason
    refund.refresh_from_db()
    assert refund.status == RefundStatus.MANUAL_REVIEW
    assert refund.failure_code == "acquirer_unavailable"
    assert statuses(refund)[-1] == ("processing", "manual_review")
    last_event = refund.events.last()
    assert last_event is not None
    assert last_event.reason == "retries_exhausted"
    # and the money it had put in transit is back, by a reversing posting
    assert refund_postings(refund) == [
        (f"refund:{refund.public_id}:initiate", "refund"),
        (f"refund:{refund.public_id}:reverse", "refund_reversal"),
    ]
    assert pending_balance(shop) == (99_400, 0, 0)
    assert ledger_is_balanced()
    assert not WebhookEvent.objects.filter(type="refund.failed").exists()
    # and it still counts against the payment until someone retries or closes it
    assert refund_summary_for_payment(paid).in_progress == 50_300


def test_a_retry_after_unavailable_uses_the_same_reference_and_refunds_once(
    paid: Any, queued: Any
) -> None:
    refund = refund_of(paid, amount=50_301)  # 503 on the first attempt only

    tasks.refund_submit_to_gateway.apply(args=(refund.pk,))

    refund.refresh_from_db()
    assert refund.status == RefundStatus.SUCCEEDED
    assert len(refund_postings(refund)) == 2
    assert refunded_at_acquirer_is(paid, 50_301)


def test_a_time_out_makes_the_refund_unknown_and_the_janitor_settles_it_once(
    shop: Merchant, paid: Any, acquirer: SandboxAcquirer, queued: Any
) -> None:
    refund = refund_of(paid, amount=40_800)  # no answer in time; succeeds after the hang

    assert tasks.refund_submit_to_gateway(refund.pk) == RefundStatus.UNKNOWN
    refund.refresh_from_db()
    assert refund.next_query_at is not None
    assert pending_balance(shop) == (99_400 - 40_800, 0, 40_800)

    # when the janitor asks until the acquirer knows
    def settled() -> bool:
        return refund_requery(refund_id=refund.pk).status == RefundStatus.SUCCEEDED

    wait_until(settled, timeout=acquirer.hang_seconds + 5, interval=0.3)

    assert statuses(refund)[-2:] == [("processing", "unknown"), ("unknown", "succeeded")]
    assert len(refund_postings(refund)) == 2
    assert pending_balance(shop) == (99_400 - 40_800, 0, 0)
    assert refunded_at_acquirer_is(paid, 40_800)


def test_a_lost_submission_is_sent_again_by_the_janitor_with_the_same_reference(
    paid: Any, queued: Any
) -> None:
    # given a processing refund whose submission task never ran
    refund = refund_of(paid, amount=2_000)

    # when the janitor asks, the acquirer has never heard of it: it is sent again
    assert refund_requery(refund_id=refund.pk).status == RefundStatus.SUCCEEDED
    last_event = refund.events.last()
    assert last_event is not None
    assert last_event.reason == "gateway_resubmission"
    assert refunded_at_acquirer_is(paid, 2_000)


def _notification(refund: Refund, **changes: Any) -> Notification:
    result = get_gateway().refund_query(refund.public_id)
    values = {
        "notification_id": unique_reference("ntf"),
        "kind": NotificationKind.REFUND,
        "reference": result.refund_reference,
        "payment_reference": result.payment_reference,
        "status": result.status,
        "amount": result.amount,
        "currency": result.currency,
        "acquirer_reference": result.acquirer_reference,
        "completed_at": result.completed_at,
        **changes,
    }
    return Notification(**values)


def test_a_late_answer_comes_by_notification_applied_once(
    paid: Any, acquirer: SandboxAcquirer, queued: Any
) -> None:
    refund = refund_of(paid, amount=20_200)  # "processing" now, succeeded later
    assert tasks.refund_submit_to_gateway(refund.pk) == RefundStatus.PROCESSING
    wait_until(
        lambda: get_gateway().refund_query(refund.public_id).is_final,
        timeout=5,
        interval=0.05,
    )

    # a notification that does not match the refund changes nothing
    with pytest.raises(GatewayMismatch):
        refund_notification_apply(_notification(refund, amount=20_201), "sandbox")
    refund.refresh_from_db()
    assert refund.status == RefundStatus.PROCESSING

    # the genuine one settles it; its repetitions change nothing
    notification = _notification(refund)
    for _delivery in range(3):
        refund_notification_apply(notification, "sandbox")

    refund.refresh_from_db()
    assert refund.status == RefundStatus.SUCCEEDED
    assert [s for s in statuses(refund) if s[1] == "succeeded"] == [("processing", "succeeded")]
    assert len(refund_postings(refund)) == 2
    assert WebhookEvent.objects.filter(type="refund.succeeded").count() == 1


def test_a_refund_in_manual_review_is_retried_under_a_new_ledger_key(
    shop: Merchant,
    paid: Any,
    settings: LazySettings,
    queued: list[tuple[str, Any]],
    django_capture_on_commit_callbacks: Any,
) -> None:
    # given a refund that met an unreachable acquirer on its last attempt
    refund = refund_of(paid, amount=5_000)
    acquirer_url = settings.SANDBOX_ACQUIRER_URL
    settings.SANDBOX_ACQUIRER_URL = UNREACHABLE_URL
    processing.refund_submit_to_gateway(refund_id=refund.pk, is_last_attempt=True)
    refund.refresh_from_db()
    assert (refund.status, refund.failure_code) == (RefundStatus.MANUAL_REVIEW, "unreachable")
    settings.SANDBOX_ACQUIRER_URL = acquirer_url

    # when finance retries it
    finance = person(shop, TeamRole.FINANCE)
    with django_capture_on_commit_callbacks(execute=True):
        refund_retry(refund=refund, actor=finance)
    assert tasks.refund_submit_to_gateway(refund.pk) == RefundStatus.SUCCEEDED

    # then it was posted again under attempt 2 and completed; the ledger balances
    refund.refresh_from_db()
    assert refund.attempt == 2
    assert refund_postings(refund) == [
        (f"refund:{refund.public_id}:initiate", "refund"),
        (f"refund:{refund.public_id}:reverse", "refund_reversal"),
        (f"refund:{refund.public_id}:initiate:2", "refund"),
        (f"refund:{refund.public_id}:complete", "refund_completion"),
    ]
    assert pending_balance(shop) == (99_400 - 5_000, 0, 0)
    assert ledger_check().status == CheckStatus.PASSED
    assert ("refund_submit_to_gateway", refund.pk) in queued
    # and a refund not in manual review cannot be retried
    with pytest.raises(InvalidTransition):
        refund_retry(refund=refund, actor=finance)


def test_a_refund_the_acquirer_made_after_all_is_recorded_from_manual_review(
    shop: Merchant, paid: Any, settings: LazySettings, queued: Any
) -> None:
    refund = refund_of(paid, amount=5_000)
    acquirer_url = settings.SANDBOX_ACQUIRER_URL
    settings.SANDBOX_ACQUIRER_URL = UNREACHABLE_URL
    processing.refund_submit_to_gateway(refund_id=refund.pk, is_last_attempt=True)
    settings.SANDBOX_ACQUIRER_URL = acquirer_url
    # the acquirer did get the same request (say, from a janitor's query at that moment)
    result = get_gateway().refund(refund_request_for(refund))

    refund_gateway_result_apply(
        refund=refund, result=result, actor=RefundActor.for_acquirer("sandbox"), reason="test"
    )

    refund.refresh_from_db()
    assert statuses(refund)[-1] == ("manual_review", "succeeded")
    assert [kind for _key, kind in refund_postings(refund)] == [
        "refund",
        "refund_reversal",
        "refund",
        "refund_completion",
    ]
    assert pending_balance(shop) == (99_400 - 5_000, 0, 0)
    assert ledger_is_balanced()


def test_closing_a_refund_in_manual_review_fails_it_without_a_second_reversal(
    shop: Merchant, paid: Any, queued: Any
) -> None:
    refund = refund_of(paid, amount=50_300)
    processing.refund_submit_to_gateway(refund_id=refund.pk, is_last_attempt=True)
    owner = person(shop, TeamRole.OWNER)

    closed = refund_close(
        refund=refund, actor=owner, reason="Acquirer down; refunded by bank transfer"
    )

    assert (closed.status, closed.failure_code) == (RefundStatus.FAILED, "acquirer_unavailable")
    assert [kind for _key, kind in refund_postings(refund)] == ["refund", "refund_reversal"]
    assert WebhookEvent.objects.filter(type="refund.failed").count() == 1
    assert pending_balance(shop) == (99_400, 0, 0)
    with pytest.raises(InvalidTransition):
        refund_close(refund=closed, actor=owner, reason="again")


def test_a_refund_the_acquirer_refuses_goes_to_manual_review(
    shop: Merchant, paid: Any, queued: Any
) -> None:
    # given the acquirer already refunded most of the payment outside Paydesk
    fund(shop, 1_000_000)
    get_gateway().refund(
        RefundRequest(
            refund_reference=unique_reference("outside"),
            payment_reference=paid.public_id,
            amount=99_000,
            currency="CNY",
        )
    )
    refund = refund_of(paid, amount=5_000)

    assert tasks.refund_submit_to_gateway(refund.pk) == RefundStatus.MANUAL_REVIEW

    refund.refresh_from_db()
    assert refund.failure_code == "refund_exceeds_captured"
    assert [kind for _key, kind in refund_postings(refund)] == ["refund", "refund_reversal"]
    assert ledger_is_balanced()


def test_the_payer_email_is_sent_once_in_the_configured_language(
    paid: Any, queued: Any, mailoutbox: list[Any]
) -> None:
    refund = refund_of(paid, amount=1_234)
    tasks.refund_submit_to_gateway(refund.pk)

    assert tasks.refund_payer_notify(refund.pk) is True
    assert tasks.refund_payer_notify(refund.pk) is False

    (email,) = mailoutbox
    assert email.to == ["payer@example.com"]
    assert "¥12.34" in email.subject
    assert refund.public_id in email.body and paid.public_id in email.body
    refund.refresh_from_db()
    assert refund.payer_notified_at is not None
    assert refund.payer_notified_at <= timezone.now()
