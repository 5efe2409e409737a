"""Writes of the verification funnel: an attempt starts, then succeeds, fails or is
abandoned, exactly once.

Each close is one conditional UPDATE (`... WHERE stage = 'started'`), so a late or
repeated call (a double click, the janitor racing the payer) changes nothing. Reads are
in payments/confirmation/selectors.py (`verification_funnel`).
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from accounts.models import User
from payments.confirmation.models import VerificationAttempt, VerificationStage
from payments.domain.models import Payment, PaymentStatus

FAILURE_CODE_MAX_LENGTH = 64


def verification_attempt_start(
    *, payment: Payment, payer: User, method: str
) -> VerificationAttempt:
    """Record that `payer` started a ceremony of `method` for `payment`; return it."""
    return VerificationAttempt.objects.create(
        payment=payment, payer=payer, method=method, started_at=timezone.now()
    )


def _open(attempt_id: object, *, payment: Payment, payer: User) -> "Q":
    # Scoped to the payment and payer: an id from one session cannot close another's.
    if not isinstance(attempt_id, int):
        return Q(pk__in=[])
    return Q(pk=attempt_id, payment=payment, payer=payer, stage=VerificationStage.STARTED)


def verification_attempt_succeed(
    *, attempt_id: object, payment: Payment, payer: User, now: datetime | None = None
) -> bool:
    """Close the attempt as succeeded; return whether it was open.

    For a confirming method, call inside the transaction that confirms the payment: the
    payer's other open attempts for it are closed as abandoned (they are moot now).
    """
    now = now or timezone.now()
    closed = VerificationAttempt.objects.filter(
        _open(attempt_id, payment=payment, payer=payer)
    ).update(stage=VerificationStage.SUCCEEDED, finished_at=now)
    return bool(closed)


def verification_attempts_supersede(*, payment: Payment, now: datetime | None = None) -> int:
    """Close every attempt still open for a payment that was just confirmed, as abandoned."""
    return VerificationAttempt.objects.filter(
        payment=payment, stage=VerificationStage.STARTED
    ).update(stage=VerificationStage.ABANDONED, finished_at=now or timezone.now())


def verification_attempt_fail(
    *, attempt_id: object, payment: Payment, payer: User, failure_code: str
) -> bool:
    """Close the attempt as failed with `failure_code`; return whether it was open.

    Call outside the block that a refusal rolls back, so that the failure is kept.
    """
    code = (failure_code or "unknown")[:FAILURE_CODE_MAX_LENGTH]
    closed = VerificationAttempt.objects.filter(
        _open(attempt_id, payment=payment, payer=payer)
    ).update(stage=VerificationStage.FAILED, failure_code=code, finished_at=timezone.now())
    return bool(closed)


def verification_attempts_abandon(
    *, payment: Payment, payer: User, method: str, now: datetime | None = None
) -> int:
    """Close the payer's open attempts of `method` for the payment as abandoned (e.g. a
    code sent again retires the one before)."""
    return VerificationAttempt.objects.filter(
        payment=payment, payer=payer, method=method, stage=VerificationStage.STARTED
    ).update(stage=VerificationStage.ABANDONED, finished_at=now or timezone.now())


def verification_attempt_abandon_sweep(*, now: datetime | None = None) -> int:
    """Mark abandoned every attempt still open after VERIFICATION_ABANDON_MINUTES, or whose
    payment can no longer be confirmed (expired, canceled, or confirmed another way).

    Safe to run twice; returns how many it closed. The janitor task runs it every minute.
    """
    now = now or timezone.now()
    cutoff = now - timedelta(minutes=settings.VERIFICATION_ABANDON_MINUTES)
    stale = (
        Q(started_at__lte=cutoff)
        | ~Q(payment__status=PaymentStatus.REQUIRES_CONFIRMATION)
        | Q(payment__expires_at__lte=now)
    )
    ids = list(
        VerificationAttempt.objects.filter(stage=VerificationStage.STARTED)
        .filter(stale)
        .values_list("pk", flat=True)[:5000]
    )
    if not ids:
        return 0
    return VerificationAttempt.objects.filter(pk__in=ids, stage=VerificationStage.STARTED).update(
        stage=VerificationStage.ABANDONED, finished_at=now
    )
