"""The verification funnel: attempts by method and stage, the janitor that marks them
abandoned, and the checkout abandonment rate as DOMAIN.md defines it."""

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from config.schedules import CELERY_BEAT_SCHEDULE
from merchants.models import Merchant
from payments.confirmation.funnel import (
    verification_attempt_abandon_sweep,
    verification_attempt_start,
    verification_attempt_succeed,
    verification_attempts_supersede,
)
from payments.confirmation.models import VerificationAttempt
from payments.confirmation.selectors import verification_funnel
from payments.domain.models import Payment, PaymentStatus
from payments.tasks import verification_attempt_abandon_sweep as sweep_task
from tests.merchants.platform import merchant
from tests.payments.confirmation_support import attempts, signed_in_payer
from tests.payments.payment_support import payment_of

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 3, 1, tzinfo=SHANGHAI)
END = START + timedelta(days=1)
NOON = START + timedelta(hours=12)


def _payment(
    shop: Merchant, status: str = PaymentStatus.REQUIRES_CONFIRMATION, **kw: Any
) -> Payment:
    payment = payment_of(shop)
    created = kw.pop("created_at", NOON)
    Payment.objects.filter(pk=payment.pk).update(
        status=status,
        created_at=created,
        expires_at=created + timedelta(minutes=30),
        confirmed_at=created + timedelta(minutes=2) if kw.pop("confirmed", False) else None,
    )
    payment.refresh_from_db()
    return payment


def _attempt(
    payment: Payment, method: str, stage: str, code: str = "", *, at: datetime = NOON
) -> None:
    VerificationAttempt.objects.create(
        payment=payment,
        method=method,
        stage=stage,
        failure_code=code,
        started_at=at,
        finished_at=None if stage == "started" else at + timedelta(seconds=20),
    )


@pytest.fixture
def shops() -> tuple[Merchant, Merchant]:
    """Two merchants' payments and attempts of 1 March 2026 (Shanghai), plus some outside."""
    tea, other = merchant(name="Hangzhou Tea House"), merchant(name="Other Shop")
    confirmed = [_payment(tea, PaymentStatus.SUCCEEDED, confirmed=True) for _ in range(6)]
    expired_in_passkey = _payment(tea, PaymentStatus.EXPIRED)
    _payment(tea, PaymentStatus.CANCELED)  # canceled before any verification
    expired_in_code = _payment(tea, PaymentStatus.EXPIRED)
    waiting = _payment(tea)
    for payment in confirmed[:4]:
        _attempt(payment, "passkey", "succeeded")
    _attempt(confirmed[4], "passkey", "failed", "ceremony_not_allowed")
    _attempt(confirmed[4], "passkey", "succeeded")
    _attempt(confirmed[5], "email_code", "succeeded")
    _attempt(expired_in_passkey, "passkey", "abandoned")
    _attempt(expired_in_code, "email_code", "failed", "too_many_attempts")
    _attempt(waiting, "passkey", "started")
    _attempt(confirmed[0], "passkey_registration", "succeeded")
    _attempt(waiting, "passkey_registration", "failed", "user_not_verified")
    # outside the period: a payment of the day before and an attempt on it
    before = _payment(tea, PaymentStatus.EXPIRED, created_at=START - timedelta(hours=1))
    _attempt(before, "passkey", "succeeded", at=START - timedelta(minutes=30))
    # the other merchant: one payment confirmed, one expired after a refused passkey
    _payment(other, PaymentStatus.SUCCEEDED, confirmed=True)
    other_expired = _payment(other, PaymentStatus.EXPIRED)
    _attempt(other_expired, "passkey", "failed", "origin_mismatch")
    return tea, other


def test_the_funnel_of_one_merchant_counts_attempts_by_method_and_stage(
    shops: tuple[Merchant, Merchant],
) -> None:
    tea, _other = shops

    funnel = verification_funnel(START, END, merchant=tea).as_dict()

    assert funnel["methods"] == {
        "passkey": {
            "started": 8,
            "succeeded": 5,
            "failed": 1,
            "abandoned": 1,
            "in_progress": 1,
            "failure_codes": {"ceremony_not_allowed": 1},
        },
        "passkey_registration": {
            "started": 2,
            "succeeded": 1,
            "failed": 1,
            "abandoned": 0,
            "in_progress": 0,
            "failure_codes": {"user_not_verified": 1},
        },
        "email_code": {
            "started": 2,
            "succeeded": 1,
            "failed": 1,
            "abandoned": 0,
            "in_progress": 0,
            "failure_codes": {"too_many_attempts": 1},
        },
    }
    # 10 payments created; 2 expired and 1 canceled without confirmation: 3 / 10
    assert (funnel["payments_created"], funnel["payments_abandoned"]) == (10, 3)
    assert funnel["payments_abandoned_in_verification"] == 2
    assert funnel["abandonment_rate"] == "0.3000"


def test_the_platform_funnel_counts_every_merchant(shops: tuple[Merchant, Merchant]) -> None:
    funnel = verification_funnel(START, END)

    passkey = funnel.methods["passkey"]
    assert (passkey.started, passkey.succeeded, passkey.failed) == (9, 5, 2)
    assert passkey.failure_codes == {"ceremony_not_allowed": 1, "origin_mismatch": 1}
    assert (funnel.payments_created, funnel.payments_abandoned) == (12, 4)
    assert funnel.payments_abandoned_in_verification == 3
    assert funnel.abandonment_rate == Decimal("0.3333")


def test_an_empty_period_has_no_rate() -> None:
    funnel = verification_funnel(START, END)

    assert (funnel.payments_created, funnel.abandonment_rate) == (0, None)
    assert funnel.methods["passkey"].started == 0


# ----------------------------------------------------------------- the janitor


def test_the_sweep_abandons_stale_attempts_and_those_of_dead_payments(settings: Any) -> None:
    settings.VERIFICATION_ABANDON_MINUTES = 10
    shop = merchant()
    _client, payer = signed_in_payer()
    now = timezone.now()
    fresh_payment, stale_payment, expired_payment, canceled_payment = (
        payment_of(shop) for _ in range(4)
    )
    fresh = verification_attempt_start(payment=fresh_payment, payer=payer, method="passkey")
    stale = verification_attempt_start(payment=stale_payment, payer=payer, method="email_code")
    VerificationAttempt.objects.filter(pk=stale.pk).update(started_at=now - timedelta(minutes=11))
    verification_attempt_start(payment=expired_payment, payer=payer, method="passkey")
    Payment.objects.filter(pk=expired_payment.pk).update(expires_at=now - timedelta(seconds=1))
    verification_attempt_start(payment=canceled_payment, payer=payer, method="passkey")
    Payment.objects.filter(pk=canceled_payment.pk).update(status=PaymentStatus.CANCELED)

    first = verification_attempt_abandon_sweep(now=now)
    second = verification_attempt_abandon_sweep(now=now)

    assert (first, second) == (3, 0)
    assert attempts(fresh_payment) == [("passkey", "started", "")]
    assert attempts(stale_payment) == [("email_code", "abandoned", "")]
    assert attempts(expired_payment) == [("passkey", "abandoned", "")]
    assert attempts(canceled_payment) == [("passkey", "abandoned", "")]
    assert VerificationAttempt.objects.get(pk=fresh.pk).finished_at is None


def test_a_closed_attempt_is_never_reopened_or_closed_again() -> None:
    payment = payment_of(merchant())
    _client, payer = signed_in_payer()
    attempt = verification_attempt_start(payment=payment, payer=payer, method="passkey")

    first = verification_attempt_succeed(attempt_id=attempt.pk, payment=payment, payer=payer)
    second = verification_attempt_succeed(attempt_id=attempt.pk, payment=payment, payer=payer)
    swept = verification_attempt_abandon_sweep(now=timezone.now() + timedelta(hours=1))

    assert (first, second, swept) == (True, False, 0)
    assert attempts(payment) == [("passkey", "succeeded", "")]


def test_a_confirmation_closes_the_payments_other_open_attempts_as_abandoned() -> None:
    payment = payment_of(merchant())
    _client, payer = signed_in_payer()
    verification_attempt_start(payment=payment, payer=payer, method="email_code")
    passkey = verification_attempt_start(payment=payment, payer=payer, method="passkey")

    verification_attempt_succeed(attempt_id=passkey.pk, payment=payment, payer=payer)
    closed = verification_attempts_supersede(payment=payment)

    assert closed == 1
    assert attempts(payment) == [("email_code", "abandoned", ""), ("passkey", "succeeded", "")]


def test_the_sweep_runs_every_minute_as_a_task() -> None:
    payment = payment_of(merchant())
    _client, payer = signed_in_payer()
    verification_attempt_start(payment=payment, payer=payer, method="passkey")
    Payment.objects.filter(pk=payment.pk).update(status=PaymentStatus.CANCELED)

    closed = sweep_task.apply().get()

    assert closed == 1
    assert CELERY_BEAT_SCHEDULE["payments.verification_attempt_abandon_sweep"] == {
        "task": "payments.tasks.verification_attempt_abandon_sweep",
        "schedule": 60.0,
    }
