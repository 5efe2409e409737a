"""The acquirer's refund notifications reach refunds through payments' notify endpoint
(the hook refunds registers), and are applied exactly once, in any order."""

from typing import Any

import pytest
from django.conf import LazySettings

from payments.webhooks.models import WebhookEvent
from refunds import tasks
from refunds.models import Refund, RefundStatus
from tests.helpers.celery_worker import wait_until
from tests.helpers.sandbox_acquirer import SandboxAcquirer
from tests.merchants.platform import merchant as new_merchant
from tests.refunds.support import (
    ledger_is_balanced,
    pending_balance,
    refund_of,
    refund_postings,
    succeeded_payment,
)


@pytest.mark.django_db(transaction=True)
def test_a_notified_decline_fails_the_refund_once_whatever_arrives_after(
    live_server: Any, acquirer: SandboxAcquirer, settings: LazySettings, queued: Any
) -> None:
    # given the sandbox posts its notifications to Paydesk's notify endpoint
    settings.PAYMENT_NOTIFY_BASE_URL = live_server.url
    shop = new_merchant()
    payment = succeeded_payment(shop, amount=100_000, via_acquirer=True)
    refund = refund_of(payment, amount=20_201)  # "processing" now, declined by notice later

    # when it is sent, and the notice arrives (three times), then again, then out of order
    assert tasks.refund_submit_to_gateway(refund.pk) == RefundStatus.PROCESSING
    wait_until(
        lambda: Refund.objects.filter(pk=refund.pk, status=RefundStatus.FAILED).exists(),
        timeout=10,
        message="the notification did not fail the refund",
    )
    again = acquirer.notify("refund", refund.public_id)
    late = acquirer.notify("refund", refund.public_id, status="processing")

    # then every delivery was accepted and the refund failed once, reversed once
    assert (again["receiver_status"], late["receiver_status"]) == (200, 200)
    refund.refresh_from_db()
    assert (refund.status, refund.failure_code) == (
        RefundStatus.FAILED,
        "insufficient_merchant_balance",
    )
    assert refund.events.filter(to_status="failed").count() == 1
    assert refund.events.get(to_status="failed").actor_type == "acquirer"
    assert [kind for _key, kind in refund_postings(refund)] == ["refund", "refund_reversal"]
    assert WebhookEvent.objects.filter(type="refund.failed").count() == 1
    assert pending_balance(shop) == (99_400, 0, 0)
    assert ledger_is_balanced()
