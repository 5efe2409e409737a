"""PostgreSQL enforces the ledger's rules itself, whatever code writes to it."""

import datetime

import pytest
from django.db import IntegrityError, ProgrammingError, connection, transaction

from payments.ledger.models import EntryDirection, LedgerAccount, LedgerEntry, LedgerPosting
from payments.ledger.selectors import account_balance
from tests.payments.ledger.support import accounts, capture, new_merchant, raw_posting

DEBIT, CREDIT = str(EntryDirection.DEBIT), str(EntryDirection.CREDIT)


@pytest.mark.django_db(transaction=True)
def test_an_unbalanced_raw_insert_is_accepted_per_statement_and_refused_at_commit():
    merchant = new_merchant()
    book = accounts(merchant)
    inserted_before_commit = None

    unbalanced = [
        (book["receivable"].pk, DEBIT, 100, "CNY"),
        (book["pending"].pk, CREDIT, 90, "CNY"),
    ]

    with (
        pytest.raises(IntegrityError, match=r"unbalanced in CNY: debits 100, credits 90"),
        transaction.atomic(),
    ):
        posting_id = raw_posting("raw:unbalanced", unbalanced)
        inserted_before_commit = LedgerEntry.objects.filter(posting_id=posting_id).count()

    assert inserted_before_commit == 2  # the check waited for COMMIT
    assert LedgerPosting.objects.count() == 0
    assert LedgerEntry.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_an_unbalanced_orm_bulk_create_around_the_service_is_refused_at_commit():
    merchant = new_merchant()
    book = accounts(merchant)

    with pytest.raises(IntegrityError, match="unbalanced"), transaction.atomic():
        posting = LedgerPosting.objects.create(key="orm:unbalanced", kind="adjustment")
        LedgerEntry.objects.bulk_create(
            [
                LedgerEntry(
                    posting=posting, account=book["fees"], direction=DEBIT, amount=5, currency="CNY"
                ),
                LedgerEntry(
                    posting=posting,
                    account=book["pending"],
                    direction=CREDIT,
                    amount=6,
                    currency="CNY",
                ),
            ]
        )

    assert LedgerPosting.objects.count() == 0
    assert LedgerEntry.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_a_posting_needs_two_entries_in_the_database_too():
    merchant = new_merchant()
    book = accounts(merchant)

    with pytest.raises(IntegrityError, match="has 0 entries"), transaction.atomic():
        raw_posting("raw:empty", [])
    with pytest.raises(IntegrityError, match="has 1 entries"), transaction.atomic():
        raw_posting("raw:single", [(book["fees"].pk, DEBIT, 5, "CNY")])

    assert LedgerPosting.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_a_balanced_raw_posting_commits():
    merchant = new_merchant()
    book = accounts(merchant)

    with transaction.atomic():
        raw_posting(
            "raw:balanced",
            [(book["receivable"].pk, DEBIT, 100, "CNY"), (book["pending"].pk, CREDIT, 100, "CNY")],
        )

    assert LedgerPosting.objects.get().key == "raw:balanced"
    assert account_balance(book["pending"]) == 100


@pytest.mark.django_db(transaction=True)
def test_entries_cannot_be_added_to_a_committed_posting_even_balanced():
    merchant = new_merchant()
    posting = capture(merchant, amount=1_000, fee=10)
    book = accounts(merchant)

    with pytest.raises(IntegrityError, match="made by another transaction"), transaction.atomic():
        LedgerEntry.objects.bulk_create(
            [
                LedgerEntry(
                    posting=posting, account=book["fees"], direction=DEBIT, amount=5, currency="CNY"
                ),
                LedgerEntry(
                    posting=posting,
                    account=book["pending"],
                    direction=CREDIT,
                    amount=5,
                    currency="CNY",
                ),
            ]
        )

    assert posting.entries.count() == 3
    assert account_balance(book["pending"]) == 990


@pytest.mark.django_db
def test_entries_and_postings_cannot_be_updated_or_deleted():
    merchant = new_merchant()
    posting = capture(merchant, amount=1_000, fee=10)
    entry = posting.entries.order_by("id")[0]

    with pytest.raises(ProgrammingError, match="append-only: UPDATE refused"), transaction.atomic():
        LedgerEntry.objects.filter(pk=entry.pk).update(amount=1)
    with pytest.raises(ProgrammingError, match="append-only: DELETE refused"), transaction.atomic():
        LedgerEntry.objects.filter(pk=entry.pk).delete()
    with pytest.raises(ProgrammingError, match="append-only: UPDATE refused"), transaction.atomic():
        LedgerPosting.objects.filter(pk=posting.pk).update(memo="edited")
    with (
        pytest.raises(ProgrammingError, match="append-only: DELETE refused"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("DELETE FROM payments_ledger_posting WHERE id = %s", [posting.pk])
    with pytest.raises(ProgrammingError, match="append-only: UPDATE refused"), transaction.atomic():
        LedgerAccount.objects.filter(pk=entry.account_id).update(currency="USD")

    entry.refresh_from_db()
    assert entry.amount == 1_000
    assert LedgerPosting.objects.get().memo == ""
    assert LedgerEntry.objects.count() == 3
    assert set(LedgerAccount.objects.values_list("currency", flat=True)) == {"CNY"}


@pytest.mark.django_db
def test_an_entry_in_another_currency_than_its_account_is_refused():
    merchant = new_merchant()
    book = accounts(merchant)

    with pytest.raises(IntegrityError, match="entry in USD on account"), transaction.atomic():
        raw_posting(
            "raw:currency",
            [(book["receivable"].pk, DEBIT, 100, "USD"), (book["pending"].pk, CREDIT, 100, "USD")],
        )

    assert LedgerEntry.objects.count() == 0


@pytest.mark.django_db
def test_a_currency_is_three_capital_letters_in_the_database_too():
    with pytest.raises(IntegrityError, match="ledger_account_currency_iso"), transaction.atomic():
        LedgerAccount.objects.create(kind="fee_revenue", currency="cn1")

    assert LedgerAccount.objects.count() == 0


@pytest.mark.django_db
def test_the_database_stamps_the_time_so_nothing_is_backdated():
    merchant = new_merchant()
    book = accounts(merchant)
    with connection.cursor() as cursor:
        cursor.execute("SELECT transaction_timestamp()")
        (now,) = cursor.fetchone()

    posting = LedgerPosting.objects.create(
        key="backdated",
        kind="adjustment",
        created_at=datetime.datetime(2001, 1, 1, tzinfo=datetime.UTC),
    )
    entries = LedgerEntry.objects.bulk_create(
        [
            LedgerEntry(
                posting=posting,
                account=book["fees"],
                direction=DEBIT,
                amount=5,
                currency="CNY",
                created_at=datetime.datetime(2001, 1, 1, tzinfo=datetime.UTC),
            ),
            LedgerEntry(
                posting=posting, account=book["pending"], direction=CREDIT, amount=5, currency="CNY"
            ),
        ]
    )

    assert LedgerPosting.objects.get(pk=posting.pk).created_at == now
    assert set(LedgerEntry.objects.values_list("created_at", flat=True)) == {now}
    assert len(entries) == 2


@pytest.mark.django_db
def test_a_non_positive_amount_is_refused_by_the_database():
    merchant = new_merchant()
    book = accounts(merchant)

    with pytest.raises(IntegrityError, match="ledger_entry_positive"), transaction.atomic():
        raw_posting(
            "raw:negative",
            [(book["receivable"].pk, DEBIT, -5, "CNY"), (book["pending"].pk, CREDIT, -5, "CNY")],
        )

    assert LedgerEntry.objects.count() == 0
