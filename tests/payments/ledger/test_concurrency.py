"""Real concurrency on separate connections: exactly-once posting, and no queue per merchant."""

import threading

import pytest
from django.db import connection, transaction

from payments.ledger.models import LedgerEntry, LedgerPosting, PostingKind
from payments.ledger.recipes import payment_capture_lines
from payments.ledger.selectors import account_balance, merchant_balances
from payments.ledger.services import merchant_accounts_open, posting_get_or_create
from tests.payments.ledger.support import accounts, capture, new_merchant, run_in_threads

pytestmark = pytest.mark.django_db(transaction=True)


def test_ten_simultaneous_notifications_of_one_payment_post_it_once():
    merchant = new_merchant()
    start = threading.Barrier(10)

    def notify(_index: int) -> tuple[int, bool]:
        start.wait(timeout=30)
        # Accounts are created on the fly too, racing each other.
        lines = payment_capture_lines(merchant=merchant, amount=10_000, fee=60, currency="CNY")
        posting, created = posting_get_or_create(
            key="payment:race:capture", kind=PostingKind.PAYMENT_CAPTURE, lines=lines
        )
        return posting.pk, created

    results = run_in_threads(10, notify)

    assert len({posting_id for posting_id, _ in results}) == 1
    assert sorted(created for _, created in results) == [False] * 9 + [True]
    assert LedgerPosting.objects.count() == 1
    assert LedgerEntry.objects.count() == 3
    book = accounts(merchant)
    assert account_balance(book["pending"]) == 9_940
    assert account_balance(book["receivable"]) == 10_000


def test_eight_threads_posting_for_one_merchant_all_complete_with_exact_balances():
    merchant = new_merchant()
    merchant_accounts_open(merchant=merchant, currency="CNY")
    capture(merchant, amount=100, fee=1)  # platform accounts exist before the rush

    def rush(index: int) -> int:
        for number in range(50):
            capture(merchant, amount=1_000 + index, fee=10, key=f"payment:{index}-{number}:capture")
        return index

    run_in_threads(8, rush)

    assert LedgerPosting.objects.count() == 401
    assert LedgerEntry.objects.count() == 401 * 3
    gross = 100 + sum(50 * (1_000 + i) for i in range(8))
    (balance,) = merchant_balances(merchant=merchant)
    assert balance.pending == gross - 1 - 400 * 10
    book = accounts(merchant)
    assert account_balance(book["receivable"]) == gross
    assert account_balance(book["fees"]) == 1 + 400 * 10


def test_a_posting_never_waits_for_another_open_posting_of_the_same_merchant():
    merchant = new_merchant()
    merchant_accounts_open(merchant=merchant, currency="CNY")
    capture(merchant, amount=100, fee=1)
    holding = threading.Event()
    release = threading.Event()

    def hold_open(_index: int) -> None:
        with transaction.atomic():
            capture(merchant, amount=5_000, fee=50, key="payment:held:capture")
            holding.set()
            assert release.wait(timeout=30)

    worker = threading.Thread(target=lambda: run_in_threads(1, hold_open))
    worker.start()
    try:
        assert holding.wait(timeout=30)
        # Any row lock taken by the open transaction would make this fail within 2 s.
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = '2s'")
            capture(merchant, amount=7_000, fee=70, key="payment:free:capture")
        free_committed = LedgerPosting.objects.filter(key="payment:free:capture").exists()
    finally:
        release.set()
        worker.join(timeout=30)

    assert free_committed
    assert LedgerPosting.objects.filter(key="payment:held:capture").exists()
    (balance,) = merchant_balances(merchant=merchant)
    assert balance.pending == 99 + 4_950 + 6_930
