"""Reads of refunds, each scoped to its caller (a merchant's key or team, finance staff).

The API, the refunds portal pages, the payment detail page (through the refunds portal
views: payments knows nothing of refunds) and the KPI dashboard read through these.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, DurationField, ExpressionWrapper, F, Q, QuerySet, Sum, Value
from django.utils import timezone
from django.utils.translation import gettext as _

from config.errors import ValidationFailed
from merchants.models import ApiMode, Merchant
from payments.domain.models import Payment, PaymentStatus
from payments.filters import filter_data_normalise
from refunds import policies
from refunds.errors import RefundNotFound
from refunds.filters import RefundFilter
from refunds.models import (
    AWAITING_ACQUIRER_STATUSES,
    OPEN_APPROVED_STATUSES,
    RELEASED_STATUSES,
    Refund,
    RefundEvent,
    RefundPolicy,
    RefundStatus,
)

PUBLIC_ID_PATTERN = re.compile(r"^re_[0-9a-z]{24}$")


def refund_get_for_merchant(
    merchant: Merchant, refund_id: str, *, mode: str | None = None
) -> Refund:
    """Return `merchant`'s refund with public id `refund_id` (of `mode` when given).

    Raise RefundNotFound otherwise: another merchant's refund is "not found" too.
    """
    if not isinstance(refund_id, str) or not PUBLIC_ID_PATTERN.match(refund_id):
        raise RefundNotFound()
    refunds = Refund.objects.select_related("payment").filter(
        merchant=merchant, public_id=refund_id
    )
    if mode is not None:
        refunds = refunds.filter(mode=mode)
    refund = refunds.first()
    if refund is None:
        raise RefundNotFound()
    return refund


def refund_list_for_merchant(
    merchant: Merchant, filters: Mapping[str, Any] | None = None, *, mode: str | None = None
) -> QuerySet[Refund]:
    """Return `merchant`'s refunds (of one mode when given) matching `filters`, newest first.

    `filters`: status (one value or a list), payment (its public id), reason,
    requested_via, is_delayed (true/false), created_after / created_before (ISO 8601),
    amount_min / amount_max (minor units). Raise ValidationFailed for an invalid filter.
    """
    refunds = Refund.objects.filter(merchant=merchant).select_related("payment")
    if mode is not None:
        refunds = refunds.filter(mode=mode)
    filterset = RefundFilter(data=filter_data_normalise(filters or {}), queryset=refunds)
    if not filterset.is_valid():
        raise ValidationFailed(
            details={name: [str(m) for m in errors] for name, errors in filterset.errors.items()}
        )
    return filterset.qs.order_by("-created_at", "-id")


def refund_list_for_payment(payment: Payment) -> QuerySet[Refund]:
    """Return the payment's refunds, newest first (the caller has scoped the payment)."""
    return Refund.objects.filter(payment=payment).order_by("-created_at", "-id")


def refund_timeline(refund: Refund) -> QuerySet[RefundEvent]:
    """Return the refund's events, oldest first, with the acting user."""
    return RefundEvent.objects.filter(refund=refund).select_related("actor")


@dataclass(frozen=True)
class RefundSummary:
    """What a payment's detail page shows about its refunds, in minor units."""

    currency: str
    refunded: int  # succeeded
    in_progress: int  # requested, processing, unknown, manual review
    refundable: int  # what a new refund may still ask for (0 unless the payment is refundable)
    count: int  # refunds that count against the payment (not failed, rejected, canceled)
    is_refundable: bool


def refund_summary_for_payment(payment: Payment, *, now: datetime | None = None) -> RefundSummary:
    """Return "refunded so far / refundable" for `payment` (a read; no lock).

    `refundable` is what a refund could ask for now: the amount less every refund that
    is not failed, rejected or canceled, and 0 when the payment did not succeed, is past
    the refund window or has the most refunds allowed. The create service checks again
    under the payment's lock.
    """
    totals = Refund.objects.filter(payment=payment).aggregate(
        refunded=Sum("amount", filter=Q(status=RefundStatus.SUCCEEDED), default=0),
        counted=Sum("amount", filter=~Q(status__in=RELEASED_STATUSES), default=0),
        count=Count("id", filter=~Q(status__in=RELEASED_STATUSES)),
    )
    moment = now or timezone.now()
    left = payment.amount - int(totals["counted"])
    is_refundable = (
        payment.status == PaymentStatus.SUCCEEDED
        and payment.succeeded_at is not None
        and payment.succeeded_at + policies.refund_window() >= moment
        and int(totals["count"]) < policies.max_partial_refunds()
        and left > 0
    )
    return RefundSummary(
        currency=payment.currency,
        refunded=int(totals["refunded"]),
        in_progress=int(totals["counted"]) - int(totals["refunded"]),
        refundable=left if is_refundable else 0,
        count=int(totals["count"]),
        is_refundable=is_refundable,
    )


def _with_age(refunds: QuerySet[Refund], since: str, now: datetime) -> QuerySet[Refund]:
    return refunds.annotate(
        age=ExpressionWrapper(Value(now) - F(since), output_field=DurationField())
    )


def refund_approval_queue(
    merchant: Merchant, *, mode: str | None = None, now: datetime | None = None
) -> QuerySet[Refund]:
    """Return `merchant`'s refunds awaiting approval, oldest first, annotated with `age`.

    The caller shows approve and reject to users for whom
    `policies.user_can_decide_refund(user, refund)` holds (not the requester).
    """
    refunds = Refund.objects.filter(merchant=merchant, status=RefundStatus.REQUESTED)
    if mode is not None:
        refunds = refunds.filter(mode=mode)
    refunds = refunds.select_related("payment", "requested_by").order_by("created_at", "id")
    return _with_age(refunds, "created_at", now or timezone.now())


def refund_delayed_queue(
    merchant: Merchant | None = None, *, mode: str | None = None, now: datetime | None = None
) -> QuerySet[Refund]:
    """Return the open refunds marked delayed, longest-waiting first, with their `age`.

    `age` runs from approval (when the SLA started). Scoped to `merchant` for its finance
    users; `merchant=None` is every merchant's, for Paydesk finance operators only.
    """
    refunds = Refund.objects.filter(status__in=OPEN_APPROVED_STATUSES, is_delayed=True)
    if merchant is not None:
        refunds = refunds.filter(merchant=merchant)
    if mode is not None:
        refunds = refunds.filter(mode=mode)
    refunds = refunds.select_related("payment", "merchant").order_by("approved_at", "id")
    return _with_age(refunds, "approved_at", now or timezone.now())


def refund_manual_review_queue(
    merchant: Merchant | None = None, *, mode: str | None = None, now: datetime | None = None
) -> QuerySet[Refund]:
    """Return refunds in manual review, oldest first, with their `age` in review.

    `merchant=None` is every merchant's, for Paydesk finance operators only.
    """
    refunds = Refund.objects.filter(status=RefundStatus.MANUAL_REVIEW)
    if merchant is not None:
        refunds = refunds.filter(merchant=merchant)
    if mode is not None:
        refunds = refunds.filter(mode=mode)
    refunds = refunds.select_related("payment", "merchant").order_by("manual_review_at", "id")
    return _with_age(refunds, "manual_review_at", now or timezone.now())


def refund_policy_for_merchant(merchant: Merchant) -> tuple[int, bool]:
    """Return `(approval_threshold, is_platform_default)` for `merchant`."""
    policy = RefundPolicy.objects.filter(merchant=merchant).first()
    if policy is None:
        return policies.approval_threshold_default(), True
    return policy.approval_threshold, False


# --- the janitor's reads ---


def refund_ids_due_for_query(*, now: datetime, limit: int) -> list[int]:
    """Return ids of refunds awaiting the acquirer whose next query time has passed."""
    return list(
        Refund.objects.filter(status__in=AWAITING_ACQUIRER_STATUSES, next_query_at__lte=now)
        .order_by("next_query_at")
        .values_list("pk", flat=True)[:limit]
    )


def refund_ids_past_sla(*, now: datetime, limit: int) -> list[int]:
    """Return ids of open approved refunds past their SLA and not yet marked delayed."""
    return list(
        Refund.objects.filter(
            status__in=OPEN_APPROVED_STATUSES, is_delayed=False, sla_due_at__lte=now
        )
        .order_by("sla_due_at")
        .values_list("pk", flat=True)[:limit]
    )


# --- KPI ---


@dataclass(frozen=True)
class DelayedRefundRate:
    """The delayed-refund rate of a period: numerator / denominator (None without refunds)."""

    numerator: int
    denominator: int

    @property
    def rate(self) -> float | None:
        return self.numerator / self.denominator if self.denominator else None


def delayed_refund_q(as_of: datetime) -> Q:
    """Return the condition "delayed as of `as_of`" (DOMAIN.md), for a Refund queryset.

    The SLA runs from approval: a refund is delayed once its deadline has passed without
    it having succeeded by the deadline, whether it is still open, failed or succeeded
    late. A refund never approved (awaiting approval, rejected, canceled) has no SLA.
    """
    return Q(sla_due_at__isnull=False, sla_due_at__lte=as_of) & (
        Q(succeeded_at__isnull=True) | Q(succeeded_at__gt=F("sla_due_at"))
    )


def delayed_refund_rate(
    period_start: datetime,
    period_end: datetime,
    merchant: Merchant | None = None,
    *,
    mode: str | None = ApiMode.LIVE,
    as_of: datetime | None = None,
) -> DelayedRefundRate:
    """Return the delayed-refund rate of refunds requested in [period_start, period_end).

    Denominator: every refund requested in the period (whatever became of it).
    Numerator: those of them delayed as of `as_of` (default now; see `delayed_refund_q`):
    not succeeded within the SLA, a refund still open past the SLA counting as delayed.
    Live refunds only by default (`mode=None`: both modes); `merchant=None` is the
    whole platform.
    """
    if period_end <= period_start:
        raise ValidationFailed(details={"period_end": [_("The end is not after the start.")]})
    refunds = Refund.objects.filter(created_at__gte=period_start, created_at__lt=period_end)
    if merchant is not None:
        refunds = refunds.filter(merchant=merchant)
    if mode is not None:
        refunds = refunds.filter(mode=mode)
    figures = refunds.aggregate(
        denominator=Count("id"),
        numerator=Count("id", filter=delayed_refund_q(as_of or timezone.now())),
    )
    return DelayedRefundRate(numerator=figures["numerator"], denominator=figures["denominator"])


def refund_age(refund: Refund, *, now: datetime | None = None) -> timedelta:
    """Return how long `refund` has waited: since approval when approved, else requested."""
    return (now or timezone.now()) - (refund.approved_at or refund.created_at)
