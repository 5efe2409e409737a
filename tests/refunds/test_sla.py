"""The refund SLA: the delayed sweep, the finance queue with ages, and the delayed-refund
rate as DOMAIN.md defines it, on exact numbers."""

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from accounts.models import AuditEvent
from config.errors import ValidationFailed
from merchants.models import ApiMode, Merchant
from payments.domain.models import Payment
from refunds.models import Refund, RefundStatus
from refunds.selectors import delayed_refund_rate, refund_delayed_queue
from refunds.services.janitor import refund_sla_sweep
from tests.merchants.platform import merchant as new_merchant
from tests.refunds.support import fund, refund_of, statuses, succeeded_payment

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
DAY = timedelta(days=1)
HOUR = timedelta(hours=1)


def test_the_sweep_marks_open_refunds_past_their_sla_once(shop: Merchant, queued: Any) -> None:
    # given three processing refunds approved 25 h, 23 h and 30 h ago (SLA 24 h)
    fund(shop, 1_000_000)
    payment = succeeded_payment(shop, amount=100_000)
    late, on_time, finished = (refund_of(payment, amount=1_000) for _ in range(3))
    now = timezone.now()
    for refund, hours in ((late, 25), (on_time, 23), (finished, 30)):
        approved = now - timedelta(hours=hours)
        Refund.objects.filter(pk=refund.pk).update(
            approved_at=approved, sla_due_at=approved + timedelta(hours=24)
        )
    # the third one succeeded (late) before the sweep came
    Refund.objects.filter(pk=finished.pk).update(status=RefundStatus.SUCCEEDED, succeeded_at=now)

    # when the sweep runs, twice
    assert refund_sla_sweep(now=now) == 1
    assert refund_sla_sweep(now=now) == 0

    # then only the open one past its SLA is delayed, with an event and an audit entry
    late.refresh_from_db()
    assert (late.is_delayed, late.delayed_at, late.status) == (True, now, RefundStatus.PROCESSING)
    assert statuses(late)[-1] == ("processing", "processing")
    last_event = late.events.last()
    assert last_event is not None
    assert last_event.reason == "sla_missed"
    audit = AuditEvent.objects.get(action="refund.delayed")
    assert audit.object_id == str(late.pk)
    assert audit.after is not None
    assert audit.after["hours_since_approval"] == 25.0
    assert Refund.objects.filter(is_delayed=True).count() == 1


def test_the_finance_queue_shows_delayed_open_refunds_with_their_age(
    shop: Merchant, queued: Any
) -> None:
    fund(shop, 1_000_000)
    payment = succeeded_payment(shop, amount=100_000)
    now = timezone.now()
    older, newer = refund_of(payment, amount=1_000), refund_of(payment, amount=2_000)
    for refund, hours in ((older, 50), (newer, 30)):
        approved = now - timedelta(hours=hours)
        Refund.objects.filter(pk=refund.pk).update(
            approved_at=approved, sla_due_at=approved + timedelta(hours=24)
        )
    refund_sla_sweep(now=now)
    other_shop = new_merchant()

    queue = list(refund_delayed_queue(shop, now=now))

    ages = [(r.public_id, r.age) for r in queue]  # type: ignore[attr-defined]  # set by the selector
    assert ages == [
        (older.public_id, timedelta(hours=50)),
        (newer.public_id, timedelta(hours=30)),
    ]
    assert list(refund_delayed_queue(other_shop, now=now)) == []
    assert len(list(refund_delayed_queue(None, now=now))) == 2


def _row(
    payment: Payment,
    *,
    created: datetime,
    status: str,
    approved_after: timedelta | None = None,
    succeeded_after: timedelta | None = None,
    mode: str = ApiMode.LIVE,
) -> Refund:
    """A refund row as history left it (test data written directly, not a workflow)."""
    approved_at = created + approved_after if approved_after is not None else None
    return Refund.objects.create(
        merchant=payment.merchant,
        payment=payment,
        mode=mode,
        status=status,
        amount=100,
        currency="CNY",
        reason="duplicate",
        requested_via="api",
        created_at=created,
        approved_at=approved_at,
        sla_due_at=approved_at + timedelta(hours=24) if approved_at else None,
        succeeded_at=(
            approved_at + succeeded_after if approved_at and succeeded_after is not None else None
        ),
    )


def test_the_delayed_refund_rate_counts_as_domain_defines_it(shop: Merchant) -> None:
    # given the period 1 November (Asia/Shanghai), evaluated on 3 November at noon
    start = datetime(2026, 11, 1, tzinfo=SHANGHAI)
    end = start + DAY
    as_of = datetime(2026, 11, 3, 12, tzinfo=SHANGHAI)
    payment = succeeded_payment(shop, amount=100_000)
    test_payment = succeeded_payment(shop, amount=100_000, mode=ApiMode.TEST)
    other = succeeded_payment(new_merchant(), amount=100_000)
    noon = start + 12 * HOUR
    s = RefundStatus
    # requested in the period, this merchant, live:
    _row(payment, created=noon, status=s.SUCCEEDED, approved_after=HOUR, succeeded_after=23 * HOUR)
    _row(payment, created=noon, status=s.SUCCEEDED, approved_after=HOUR, succeeded_after=25 * HOUR)
    _row(payment, created=noon, status=s.PROCESSING, approved_after=HOUR)  # SLA passed: open
    _row(payment, created=end - HOUR, status=s.PROCESSING, approved_after=36 * HOUR)  # not yet due
    _row(payment, created=noon, status=s.FAILED, approved_after=HOUR)  # never succeeded
    _row(payment, created=noon, status=s.REJECTED)  # never approved: no SLA
    _row(payment, created=noon, status=s.REQUESTED)  # still awaiting approval: no SLA
    _row(payment, created=noon, status=s.MANUAL_REVIEW, approved_after=HOUR)  # open past SLA
    _row(payment, created=start, status=s.UNKNOWN, approved_after=HOUR)  # first instant counts
    # outside the period, or another mode, or another merchant:
    _row(payment, created=start - HOUR, status=s.PROCESSING, approved_after=HOUR)
    _row(payment, created=end, status=s.PROCESSING, approved_after=HOUR)
    _row(test_payment, created=noon, status=s.PROCESSING, approved_after=HOUR, mode=ApiMode.TEST)
    _row(other, created=noon, status=s.SUCCEEDED, approved_after=HOUR, succeeded_after=48 * HOUR)

    merchant_rate = delayed_refund_rate(start, end, shop, as_of=as_of)
    platform_rate = delayed_refund_rate(start, end, as_of=as_of)
    both_modes = delayed_refund_rate(start, end, shop, mode=None, as_of=as_of)
    empty = delayed_refund_rate(end + DAY, end + 2 * DAY, as_of=as_of)

    assert (merchant_rate.numerator, merchant_rate.denominator) == (5, 9)
    assert merchant_rate.rate == 5 / 9
    assert (platform_rate.numerator, platform_rate.denominator, platform_rate.rate) == (6, 10, 0.6)
    assert (both_modes.numerator, both_modes.denominator) == (6, 10)
    assert (empty.numerator, empty.denominator, empty.rate) == (0, 0, None)
    # and a day later the refund that was not yet due has missed its SLA too
    later = delayed_refund_rate(start, end, shop, as_of=as_of + DAY)
    assert (later.numerator, later.denominator) == (6, 9)


def test_the_rate_refuses_an_empty_or_reversed_period() -> None:
    start = datetime(2026, 11, 1, tzinfo=SHANGHAI)

    with pytest.raises(ValidationFailed):
        delayed_refund_rate(start, start)
