"""Reads for payment confirmation: what a payer may use, their payments, the funnel."""

from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.conf import settings
from django.db.models import Count, Exists, OuterRef, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.passkeys.selectors import user_has_passkey
from config.errors import NotFound
from merchants.models import Merchant
from payments.confirmation.models import (
    VerificationAttempt,
    VerificationMethod,
    VerificationStage,
)
from payments.domain.models import Payment, PaymentStatus

# The email-code fallback is sized in CNY (no exchange rates here): other currencies
# need a passkey.
EMAIL_CODE_FALLBACK_CURRENCY = "CNY"
PAYER_PAYMENTS_SHOWN = 50
RATE_PLACES = Decimal("0.0001")


def payment_is_confirmable(payment: Payment, *, now: datetime | None = None) -> bool:
    """Whether the payer may still confirm: awaiting confirmation and inside its window."""
    now = now or timezone.now()
    return payment.status == PaymentStatus.REQUIRES_CONFIRMATION and payment.expires_at > now


def payer_has_passkey(payer: User) -> bool:
    """Whether the payer holds a passkey that is not blocked."""
    return user_has_passkey(payer)


def email_code_fallback_allowed(payment: Payment) -> bool:
    """Whether an email code may confirm `payment`: a CNY payment of at most
    PAYMENT_EMAIL_CODE_FALLBACK_MAX_AMOUNT minor units."""
    return (
        payment.currency == EMAIL_CODE_FALLBACK_CURRENCY
        and payment.amount <= settings.PAYMENT_EMAIL_CODE_FALLBACK_MAX_AMOUNT
    )


def payment_list_for_payer(*, payer: User) -> QuerySet[Payment]:
    """Return the payments `payer` confirmed, newest confirmation first (at most 50)."""
    return (
        Payment.objects.filter(confirmed_by=payer)
        .select_related("merchant", "confirmation_evidence")
        .order_by("-confirmed_at", "-id")[:PAYER_PAYMENTS_SHOWN]
    )


def payment_get_for_payer(*, payer: User, public_id: str) -> Payment:
    """Return one payment `payer` confirmed (their receipt); NotFound for anyone else's."""
    payment = (
        Payment.objects.select_related("merchant", "confirmation_evidence")
        .filter(confirmed_by=payer, public_id=str(public_id))
        .first()
    )
    if payment is None:
        raise NotFound(_("No such payment."), code="payment_not_found")
    return payment


# ----------------------------------------------------------------- the funnel


@dataclass(frozen=True)
class MethodFunnel:
    """Attempts of one method started in the period, by the stage they reached."""

    started: int = 0
    succeeded: int = 0
    failed: int = 0
    abandoned: int = 0
    in_progress: int = 0
    failure_codes: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class VerificationFunnel:
    """The verification funnel of a period, and the checkout abandonment (DOMAIN.md)."""

    period_start: datetime
    period_end: datetime
    methods: dict[str, MethodFunnel]
    payments_created: int
    payments_abandoned: int
    # Abandoned payments on which the payer had started at least one verification.
    payments_abandoned_in_verification: int
    abandonment_rate: Decimal | None

    def as_dict(self) -> dict[str, Any]:
        """Return JSON-friendly values (the rate as a string, e.g. "0.0200")."""
        return {
            "period_start": self.period_start.isoformat(),
            "period_end": self.period_end.isoformat(),
            "methods": {
                key: {
                    "started": value.started,
                    "succeeded": value.succeeded,
                    "failed": value.failed,
                    "abandoned": value.abandoned,
                    "in_progress": value.in_progress,
                    "failure_codes": dict(value.failure_codes),
                }
                for key, value in self.methods.items()
            },
            "payments_created": self.payments_created,
            "payments_abandoned": self.payments_abandoned,
            "payments_abandoned_in_verification": self.payments_abandoned_in_verification,
            "abandonment_rate": (
                None if self.abandonment_rate is None else str(self.abandonment_rate)
            ),
        }


def _rate(part: int, whole: int) -> Decimal | None:
    if not whole:
        return None
    return (Decimal(part) / Decimal(whole)).quantize(RATE_PLACES, rounding=ROUND_HALF_UP)


def verification_funnel(
    period_start: datetime, period_end: datetime, merchant: Merchant | None = None
) -> VerificationFunnel:
    """Return the funnel of attempts started in [period_start, period_end), by method and
    stage, with the failure codes, and the checkout abandonment rate of the period.

    The abandonment rate is DOMAIN.md's: payments created in the period that expired or
    were canceled without the payer's confirmation / payments created in the period
    (None when none were created). With `merchant`, only that merchant's payments count.
    """
    attempts = VerificationAttempt.objects.filter(
        started_at__gte=period_start, started_at__lt=period_end
    )
    payments = Payment.objects.filter(created_at__gte=period_start, created_at__lt=period_end)
    if merchant is not None:
        attempts = attempts.filter(payment__merchant=merchant)
        payments = payments.filter(merchant=merchant)

    stages: dict[str, dict[str, int]] = {
        method: {stage: 0 for stage in VerificationStage.values}
        for method in VerificationMethod.values
    }
    for row in attempts.values("method", "stage").annotate(count=Count("id")).order_by():
        stages[row["method"]][row["stage"]] = row["count"]
    codes: dict[str, dict[str, int]] = {method: {} for method in VerificationMethod.values}
    failures = (
        attempts.filter(stage=VerificationStage.FAILED)
        .values("method", "failure_code")
        .annotate(count=Count("id"))
        .order_by("method", "-count", "failure_code")
    )
    for failure in failures:
        codes[failure["method"]][failure["failure_code"]] = failure["count"]
    methods = {
        method: MethodFunnel(
            started=sum(counts.values()),
            succeeded=counts[VerificationStage.SUCCEEDED],
            failed=counts[VerificationStage.FAILED],
            abandoned=counts[VerificationStage.ABANDONED],
            in_progress=counts[VerificationStage.STARTED],
            failure_codes=codes[method],
        )
        for method, counts in stages.items()
    }

    abandoned = payments.filter(
        status__in=[PaymentStatus.EXPIRED, PaymentStatus.CANCELED], confirmed_at__isnull=True
    )
    created = payments.count()
    abandoned_total = abandoned.count()
    abandoned_in_verification = abandoned.filter(
        Exists(VerificationAttempt.objects.filter(payment=OuterRef("pk")))
    ).count()
    return VerificationFunnel(
        period_start=period_start,
        period_end=period_end,
        methods=methods,
        payments_created=created,
        payments_abandoned=abandoned_total,
        payments_abandoned_in_verification=abandoned_in_verification,
        abandonment_rate=_rate(abandoned_total, created),
    )
