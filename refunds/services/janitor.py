"""The refunds janitor, run by Celery beat (config/schedules.py).

- `refund_query_sweep`: queue a query for each refund awaiting the acquirer whose
  `next_query_at` has passed (unknown refunds, lost notifications, lost submissions).
  An unknown refund is never failed by guesswork, as payments.
- `refund_sla_sweep`: mark the approved refunds still open past their SLA as delayed,
  with an event on their timeline and an audit entry, for the finance queue.
"""

import logging
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from refunds.models import AWAITING_ACQUIRER_STATUSES, OPEN_APPROVED_STATUSES, Refund
from refunds.selectors import refund_ids_due_for_query, refund_ids_past_sla
from refunds.services.common import JANITOR, on_commit_queue, refund_audit, refund_event_append

logger = logging.getLogger("refunds")

SWEEP_BATCH = 500
# A refund claimed by a sweep is not claimed again for this long, so that a slow or lost
# query task is retried by a later sweep but never doubled by the next one.
QUERY_CLAIM = timedelta(minutes=2)


def refund_query_sweep(*, now: datetime | None = None, limit: int = SWEEP_BATCH) -> list[int]:
    """Claim the refunds due for a query and queue one query task each; return their ids.

    A refund locked by someone else right now is skipped (the next sweep sees it).
    """
    moment = now or timezone.now()
    claimed: list[int] = []
    for refund_id in refund_ids_due_for_query(now=moment, limit=limit):
        with transaction.atomic():
            refund = (
                Refund.objects.select_for_update(skip_locked=True)
                .filter(
                    pk=refund_id,
                    status__in=AWAITING_ACQUIRER_STATUSES,
                    next_query_at__lte=moment,
                )
                .first()
            )
            if refund is None:
                continue
            refund.next_query_at = moment + QUERY_CLAIM
            refund.save(update_fields=["next_query_at", "updated_at"])
            on_commit_queue("refund_requery", refund_id)
            claimed.append(refund_id)
    return claimed


def refund_sla_sweep(*, now: datetime | None = None, limit: int = SWEEP_BATCH) -> int:
    """Mark approved refunds still open past their SLA as delayed; return how many.

    Each refund is marked under its own lock (skipping one locked right now: the next
    sweep sees it), with `is_delayed`, `delayed_at`, an event (`sla_missed`, its status
    unchanged) and an audit entry `refund.delayed`. A refund that succeeds or leaves the
    open states meanwhile is left alone. Safe to run twice.
    """
    moment = now or timezone.now()
    marked = 0
    for refund_id in refund_ids_past_sla(now=moment, limit=limit):
        with transaction.atomic():
            refund = (
                Refund.objects.select_for_update(skip_locked=True)
                .filter(
                    pk=refund_id,
                    status__in=OPEN_APPROVED_STATUSES,
                    is_delayed=False,
                    sla_due_at__lte=moment,
                )
                .first()
            )
            if refund is None:
                continue
            refund.is_delayed = True
            refund.delayed_at = moment
            refund.save(update_fields=["is_delayed", "delayed_at", "updated_at"])
            assert refund.sla_due_at is not None and refund.approved_at is not None
            details = {
                "sla_due_at": refund.sla_due_at.isoformat(),
                "hours_since_approval": round(
                    (moment - refund.approved_at).total_seconds() / 3600, 2
                ),
            }
            refund_event_append(
                refund,
                from_status=refund.status,
                to_status=refund.status,
                actor=JANITOR,
                reason="sla_missed",
                details=details,
                occurred_at=moment,
            )
            refund_audit(
                refund,
                action="refund.delayed",
                actor=JANITOR,
                before={"is_delayed": False},
                after={"is_delayed": True, "status": refund.status, **details},
            )
            marked += 1
    if marked:
        logger.warning("refunds janitor: %d refunds are past their SLA", marked)
    return marked
