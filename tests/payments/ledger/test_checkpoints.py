"""Balance checkpoints and balances as of an instant, on committed data."""

import threading

import pytest

from payments.ledger.checkpoints import balance_checkpoints_create
from payments.ledger.models import LedgerBalanceCheckpoint, LedgerPosting
from payments.ledger.selectors import account_balance, merchant_balances
from payments.ledger.services import merchant_accounts_open
from tests.payments.ledger.support import accounts, capture, new_merchant, run_in_threads

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _no_checkpoint_lag(settings):
    settings.LEDGER_CHECKPOINT_LAG_SECONDS = 0


def test_a_checkpoint_sums_committed_entries_and_balances_add_the_later_ones():
    merchant = new_merchant()
    for _ in range(3):
        capture(merchant, amount=10_000, fee=60)

    written = balance_checkpoints_create()
    capture(merchant, amount=1_000, fee=10)

    book = accounts(merchant)
    assert written == 3
    checkpoint = LedgerBalanceCheckpoint.objects.get(account=book["pending"])
    assert (checkpoint.debit_total, checkpoint.credit_total, checkpoint.entry_count) == (
        0,
        29_820,
        3,
    )
    assert account_balance(book["pending"]) == 29_820 + 990
    assert account_balance(book["receivable"]) == 31_000


def test_a_second_run_checkpoints_only_accounts_with_new_entries():
    merchant = new_merchant()
    other = new_merchant()
    capture(merchant, amount=10_000, fee=60)
    capture(other, amount=5_000, fee=30)
    balance_checkpoints_create()

    capture(other, amount=2_000, fee=0)
    second = balance_checkpoints_create()
    third = balance_checkpoints_create()

    assert second == 2  # the other merchant's pending and the acquirer receivable
    assert third == 0
    assert (
        LedgerBalanceCheckpoint.objects.filter(account=accounts(merchant)["pending"]).count() == 1
    )
    assert merchant_balances(merchant=other)[0].pending == 4_970 + 2_000
    assert account_balance(accounts(other)["receivable"]) == 17_000


def test_a_checkpoint_never_skips_an_entry_of_a_transaction_still_open():
    merchant = new_merchant()
    merchant_accounts_open(merchant=merchant, currency="CNY")
    capture(merchant, amount=10_000, fee=60)
    holding, release = threading.Event(), threading.Event()

    def hold_open(_index: int) -> None:
        from django.db import transaction

        with transaction.atomic():
            capture(merchant, amount=5_000, fee=50, key="payment:late:capture")
            holding.set()
            assert release.wait(timeout=30)

    worker = threading.Thread(target=lambda: run_in_threads(1, hold_open))
    worker.start()
    try:
        assert holding.wait(timeout=30)
        balance_checkpoints_create()
    finally:
        release.set()
        worker.join(timeout=30)

    late = LedgerPosting.objects.get(key="payment:late:capture")
    pending = accounts(merchant)["pending"]
    checkpoint = LedgerBalanceCheckpoint.objects.get(account=pending)
    assert checkpoint.cutoff <= late.created_at
    assert checkpoint.credit_total == 9_940
    assert account_balance(pending) == 9_940 + 4_950


def test_a_balance_as_of_an_instant_counts_only_earlier_postings():
    merchant = new_merchant()
    first = capture(merchant, amount=10_000, fee=60)
    second = capture(merchant, amount=2_000, fee=20)
    balance_checkpoints_create()
    capture(merchant, amount=500, fee=5)
    pending = accounts(merchant)["pending"]

    assert account_balance(pending, as_of=first.created_at) == 0
    assert account_balance(pending, as_of=second.created_at) == 9_940
    assert merchant_balances(merchant=merchant, as_of=second.created_at)[0].pending == 9_940
    assert account_balance(pending) == 9_940 + 1_980 + 495
