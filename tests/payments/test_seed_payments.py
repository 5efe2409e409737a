"""`manage.py seed_payments`: the volume data matches the report's mixes and stays consistent.

The mixes are random draws, so they are checked within tolerances several standard
deviations wide for the sample sizes used here (a fixed seed keeps every run the same).
"""

import itertools
import statistics
from collections import Counter
from datetime import date, timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Sum
from django.utils import timezone

from merchants.models import Merchant, MerchantStatus
from payments.domain.models import Payment, PaymentEvent, PaymentStatus
from payments.domain.validators import PROVINCE_REGIONS
from payments.ledger.checks import ledger_check
from payments.ledger.models import EntryDirection, LedgerEntry, LedgerPosting, PostingKind
from payments.ledger.selectors import trial_balance
from payments.seeding import services, writers
from payments.seeding.reset import payments_seed_reset, seeded_payments
from payments.services import Actor, PaymentInput, payment_create
from payments.services.transitions import capture_fee, capture_posting_key

pytestmark = pytest.mark.django_db

FINAL = {PaymentStatus.SUCCEEDED, PaymentStatus.FAILED}
ABANDONED = {PaymentStatus.EXPIRED, PaymentStatus.CANCELED}


def _seed(**options: Any) -> services.SeedResult:
    defaults: dict[str, Any] = {"count": 3000, "days": 14, "merchant_count": 3, "seed": 42}
    return services.payments_seed(**{**defaults, **options})


def _shares(values: list[str]) -> dict[str, float]:
    counts = Counter(values)
    return {name: count / len(values) for name, count in counts.items()}


def test_seed_follows_the_report_mixes() -> None:
    # Given a merchant still in onboarding, which must receive nothing
    draft = Merchant.objects.create(name="Still onboarding", status=MerchantStatus.DRAFT)

    # When 3,000 payments are seeded
    result = _seed()

    # Then exactly that many exist, all of approved merchants, none of the draft one
    payments = Payment.objects.all()
    assert payments.count() == 3000 == result.payments
    assert not payments.filter(merchant=draft).exists()
    assert set(payments.values_list("merchant__status", flat=True)) == {MerchantStatus.APPROVED}
    assert payments.values("merchant").distinct().count() == 3
    # channels: wallets 78% (Alipay and WeChat Pay), bank card 15%, other 7%
    channels = _shares(list(payments.values_list("channel", flat=True)))
    assert channels["alipay"] + channels["wechat_pay"] == pytest.approx(0.78, abs=0.03)
    assert channels["bank_card"] == pytest.approx(0.15, abs=0.025)
    assert channels["other"] == pytest.approx(0.07, abs=0.02)
    # regions: east 35%, north 28%, south 22%, other 15%; each province in its region
    regions = _shares(list(payments.values_list("region_group", flat=True)))
    for region, share in {"east": 0.35, "north": 0.28, "south": 0.22, "other": 0.15}.items():
        assert regions[region] == pytest.approx(share, abs=0.03)
    for province, region in payments.values_list("region", "region_group").distinct():
        assert PROVINCE_REGIONS[province] == region
    # outcomes: about 96.5% success among final payments, about 2% abandoned
    statuses = Counter(payments.values_list("status", flat=True))
    succeeded, failed = statuses[PaymentStatus.SUCCEEDED], statuses[PaymentStatus.FAILED]
    assert 0.955 <= succeeded / (succeeded + failed) <= 0.975
    abandoned = sum(statuses[status] for status in ABANDONED)
    assert 0.01 <= abandoned / 3000 <= 0.03
    # amounts: whole fen, log-normal with a median near 50 CNY
    amounts = list(payments.values_list("amount", flat=True))
    assert 4_000 <= statistics.median(amounts) <= 6_500
    assert min(amounts) >= 100


def test_seeded_statuses_agree_with_their_timestamps_and_events() -> None:
    # Given
    before = timezone.now()

    # When
    _seed(count=2000)

    # Then every time is in the past, in order, and set exactly for the status reached
    transaction_seconds = []
    for payment in Payment.objects.prefetch_related("events"):
        assert before - timedelta(days=14, hours=1) < payment.created_at <= timezone.now()
        assert payment.expires_at == payment.created_at + timedelta(minutes=30)
        confirmed = payment.status not in {PaymentStatus.REQUIRES_CONFIRMATION, *ABANDONED}
        assert (payment.confirmed_at is not None) == confirmed
        assert (payment.succeeded_at is not None) == (payment.status == PaymentStatus.SUCCEEDED)
        assert (payment.failed_at is not None) == (payment.status == PaymentStatus.FAILED)
        assert (payment.canceled_at is not None) == (payment.status == PaymentStatus.CANCELED)
        assert (payment.expired_at is not None) == (payment.status == PaymentStatus.EXPIRED)
        assert (payment.fee_amount is not None) == (payment.status == PaymentStatus.SUCCEEDED)
        if payment.confirmed_at:
            assert payment.created_at <= payment.confirmed_at < payment.expires_at
        if payment.succeeded_at:
            assert payment.confirmed_at is not None
            assert payment.succeeded_at >= payment.confirmed_at
            transaction_seconds.append(
                (payment.succeeded_at - payment.confirmed_at).total_seconds()
            )
        if payment.expired_at:
            assert payment.expired_at >= payment.expires_at
        if payment.canceled_at:
            assert payment.created_at <= payment.canceled_at <= payment.expires_at
        # the timeline: starts at creation, each step from the previous one, ends at the status
        events = list(payment.events.all())
        assert (events[0].from_status, events[0].to_status) == ("", "requires_confirmation")
        assert events[0].occurred_at == payment.created_at
        for previous, event in itertools.pairwise(events):
            assert event.from_status == previous.to_status
            assert event.occurred_at >= previous.occurred_at
        assert events[-1].to_status == payment.status
    # transaction time: mean about 1.2 s, nearly all under the 3 s KPI
    assert 0.8 <= statistics.mean(transaction_seconds) <= 1.8
    assert sum(s < 3 for s in transaction_seconds) / len(transaction_seconds) >= 0.95


@pytest.mark.parametrize("writer", ["copy", "orm"])
def test_seeded_captures_are_balanced_postings_of_the_ledger(
    writer: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the COPY writer (PostgreSQL) or the ORM one (what SQLite uses)
    if writer == "orm":
        monkeypatch.setattr(
            services, "_writer", lambda *, with_postings: writers.OrmWriter(with_postings=True)
        )

    # When
    _seed(count=600)

    # Then each succeeded payment has its capture posting, and nothing else has one
    succeeded = Payment.objects.filter(status=PaymentStatus.SUCCEEDED)
    assert LedgerPosting.objects.count() == succeeded.count() > 500
    for payment in succeeded[:50]:
        posting = LedgerPosting.objects.get(key=capture_posting_key(payment))
        assert (posting.kind, posting.source_id) == (PostingKind.PAYMENT_CAPTURE, str(payment.pk))
        bps, fee = capture_fee(payment, on_date=timezone.localdate(payment.succeeded_at))
        assert (payment.fee_bps, payment.fee_amount) == (bps, fee)
        debits = posting.entries.filter(direction=EntryDirection.DEBIT).aggregate(s=Sum("amount"))
        assert debits["s"] == payment.amount
    # and the ledger check finds the whole ledger balanced
    run = ledger_check()
    assert run.is_passed, run.problems
    assert run.posting_count == succeeded.count()
    assert set(trial_balance().values()) == {0}


def test_seed_has_the_daily_rhythm_and_the_double_11_peak() -> None:
    # When four past days around Double 11 are seeded
    year = timezone.localdate().year - 1
    _seed(count=4000, days=4, last_day=date(year, 11, 12))

    # Then Double 11 dwarfs its neighbours, and evenings are busier than nights
    local = [timezone.localtime(t) for t in Payment.objects.values_list("created_at", flat=True)]
    days = Counter(moment.date() for moment in local)
    assert set(days) == {date(year, 11, day) for day in (9, 10, 11, 12)}
    assert days[date(year, 11, 11)] > 2.5 * max(days[date(year, 11, 10)], days[date(year, 11, 12)])
    hours = Counter(moment.hour for moment in local if moment.date() != date(year, 11, 11))
    assert hours[20] + hours[21] > 5 * (hours[3] + hours[4])


def test_the_same_seed_draws_the_same_payments_and_a_rerun_adds_more() -> None:
    # Given a past span, so that "now" does not move the last hour
    options = {"count": 500, "days": 3, "last_day": timezone.localdate() - timedelta(days=5)}
    first = _seed(**options)
    drawn = list(Payment.objects.order_by("created_at").values_list("amount", "channel", "region"))

    # When the same seed runs again
    second = _seed(**options)

    # Then it adds 500 more, drawn identically, with order ids of its own run
    assert Payment.objects.count() == 1000
    again = list(
        Payment.objects.filter(merchant_order_id__contains=second.run_id)
        .order_by("created_at")
        .values_list("amount", "channel", "region")
    )
    assert again == drawn
    assert first.run_id != second.run_id
    assert Payment.objects.values("merchant_order_id").distinct().count() == 1000


def test_reset_removes_only_seeded_payments_and_reverses_their_postings() -> None:
    # Given seeded payments, and a merchant's own payment whose order id starts with "seed-"
    result = _seed(count=400)
    own = payment_create(
        merchant=result.merchants[0],
        mode="live",
        data=PaymentInput(amount=1234, channel="alipay", merchant_order_id="seed-my-own-order"),
        actor=Actor("merchant", label="sk_live_abcd…1234"),
    )
    captures = LedgerPosting.objects.count()

    # When
    reset = payments_seed_reset()

    # Then the seeded payments and their events are gone, the merchant's own payment stays
    assert (reset.payments, reset.reversals) == (400, captures)
    assert list(Payment.objects.all()) == [own]
    assert set(PaymentEvent.objects.values_list("payment_id", flat=True)) == {own.pk}
    assert not seeded_payments().exists()
    # and every capture has its mirror image: the books balance per account again
    assert LedgerPosting.objects.filter(kind=PostingKind.REVERSAL).count() == captures
    for account_id in LedgerEntry.objects.values_list("account", flat=True).distinct():
        lines = LedgerEntry.objects.filter(account_id=account_id)
        debit = lines.filter(direction=EntryDirection.DEBIT).aggregate(s=Sum("amount"))["s"]
        credit = lines.filter(direction=EntryDirection.CREDIT).aggregate(s=Sum("amount"))["s"]
        assert debit == credit
    assert ledger_check().is_passed
    # and a second reset finds nothing left to do
    assert payments_seed_reset() == type(reset)()


def test_command_seeds_and_reports_and_refuses_bad_input() -> None:
    # When
    out = StringIO()
    call_command(
        "seed_payments", "--count", "300", "--days", "2", "--merchants", "2", "--jobs", "1",
        "--skip-postings", "--seed", "1", "--force", stdout=out,
    )  # fmt: skip

    # Then
    assert "Added 300 payments" in out.getvalue()
    assert "Success rate among final payments" in out.getvalue()
    assert Payment.objects.count() == 300
    assert not LedgerPosting.objects.exists()
    # and bad input is refused before anything is written
    for bad in (["--count", "0"], ["--days", "0"], ["--merchants", "0"], ["--jobs", "99"]):
        with pytest.raises(CommandError):
            call_command("seed_payments", *bad, "--force", stdout=StringIO())
    # and with DEBUG off (as here) it refuses to run at all without --force
    with pytest.raises(CommandError, match="DEBUG"):
        call_command("seed_payments", "--count", "10", stdout=StringIO())
    with pytest.raises(CommandError, match="DEBUG"):
        call_command("seed_payments", "--reset", stdout=StringIO())
    assert Payment.objects.count() == 300
    assert Merchant.objects.filter(status=MerchantStatus.APPROVED).count() == 2


@pytest.mark.django_db(transaction=True)
def test_parallel_batches_commit_everything_balanced() -> None:
    # When two threads write batches of 250 side by side
    result = _seed(count=1500, merchant_count=2, jobs=2, batch_size=250)

    # Then every batch is there, with its events and postings, and the ledger balances
    assert Payment.objects.count() == 1500 == result.payments
    assert PaymentEvent.objects.count() == result.events
    assert LedgerPosting.objects.count() == result.postings
    assert ledger_check().is_passed
