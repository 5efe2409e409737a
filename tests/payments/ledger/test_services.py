"""Posting through the services: balanced, idempotent by key, reversible, validated."""

import pytest

from payments.ledger.errors import (
    InvalidPosting,
    InvalidReversal,
    PostingAlreadyReversed,
    PostingKeyConflict,
    UnbalancedPosting,
)
from payments.ledger.models import (
    AccountKind,
    EntryDirection,
    LedgerAccount,
    LedgerEntry,
    LedgerPosting,
    PostingKind,
)
from payments.ledger.recipes import payment_capture_lines, posting_key
from payments.ledger.selectors import account_balance, postings_for_source
from payments.ledger.services import (
    Line,
    SourceRef,
    account_get_or_create,
    merchant_accounts_open,
    posting_create,
    posting_get_or_create,
    posting_reverse,
)
from tests.payments.ledger.support import accounts, capture, new_merchant

pytestmark = pytest.mark.django_db


def ledger_rows() -> tuple[int, int]:
    return LedgerPosting.objects.count(), LedgerEntry.objects.count()


def test_a_capture_with_fee_posts_three_balanced_lines():
    merchant = new_merchant()

    posting = capture(merchant, amount=10_000, fee=60, key="payment:p1:capture")

    book = accounts(merchant)
    lines = sorted(posting.entries.values_list("account_id", "direction", "amount", "currency"))
    assert lines == sorted(
        [
            (book["receivable"].pk, EntryDirection.DEBIT, 10_000, "CNY"),
            (book["pending"].pk, EntryDirection.CREDIT, 9_940, "CNY"),
            (book["fees"].pk, EntryDirection.CREDIT, 60, "CNY"),
        ]
    )
    assert posting.kind == PostingKind.PAYMENT_CAPTURE
    assert posting.key == "payment:p1:capture"
    # The database's time stamp, returned to the caller, shared by the header and its lines.
    assert posting.created_at == LedgerPosting.objects.get(pk=posting.pk).created_at
    assert set(posting.entries.values_list("created_at", flat=True)) == {posting.created_at}
    assert account_balance(book["receivable"]) == 10_000
    assert account_balance(book["pending"]) == 9_940
    assert account_balance(book["fees"]) == 60


def test_the_same_key_posts_once_however_often_it_arrives():
    merchant = new_merchant()
    first = capture(merchant, key="payment:p2:capture")

    repeats = [capture(merchant, key="payment:p2:capture") for _ in range(5)]

    assert {p.pk for p in repeats} == {first.pk}
    assert ledger_rows() == (1, 3)
    assert account_balance(accounts(merchant)["pending"]) == 9_940


def test_get_or_create_says_whether_it_posted():
    merchant = new_merchant()
    lines = payment_capture_lines(merchant=merchant, amount=500, fee=0, currency="CNY")

    first = posting_get_or_create(key="k:1", kind=PostingKind.PAYMENT_CAPTURE, lines=lines)
    again = posting_get_or_create(key="k:1", kind=PostingKind.PAYMENT_CAPTURE, lines=lines)

    assert first[1] is True
    assert again == (first[0], False)
    assert ledger_rows() == (1, 2)


def test_the_same_key_with_other_lines_is_a_conflict_and_changes_nothing():
    merchant = new_merchant()
    capture(merchant, amount=10_000, fee=60, key="payment:p3:capture")

    with pytest.raises(PostingKeyConflict) as raised:
        capture(merchant, amount=20_000, fee=60, key="payment:p3:capture")

    assert raised.value.details == {"key": "payment:p3:capture", "differences": ["lines"]}
    assert ledger_rows() == (1, 3)
    assert account_balance(accounts(merchant)["pending"]) == 9_940


def test_the_same_key_with_another_kind_is_a_conflict():
    merchant = new_merchant()
    lines = payment_capture_lines(merchant=merchant, amount=500, fee=5, currency="CNY")
    posting_create(key="k:kind", kind=PostingKind.PAYMENT_CAPTURE, lines=lines)

    with pytest.raises(PostingKeyConflict) as raised:
        posting_create(key="k:kind", kind=PostingKind.ADJUSTMENT, lines=lines)

    assert raised.value.details["differences"] == ["kind"]
    assert ledger_rows() == (1, 3)


def test_an_unbalanced_posting_is_refused_in_python_and_nothing_is_written():
    merchant = new_merchant()
    book = accounts(merchant)

    with pytest.raises(UnbalancedPosting) as raised:
        posting_create(
            key="bad:1",
            kind=PostingKind.ADJUSTMENT,
            lines=[Line.debit(book["receivable"], 100), Line.credit(book["pending"], 90)],
        )

    assert raised.value.details == {"currencies": {"CNY": {"debits": 100, "credits": 90}}}
    assert raised.value.code == "ledger_unbalanced_posting"
    assert ledger_rows() == (0, 0)


def test_each_currency_must_balance_on_its_own():
    merchant = new_merchant()
    cny = accounts(merchant, "CNY")
    usd = accounts(merchant, "USD")

    # 100 + 100 debits against 100 + 100 credits, but CNY is debited and USD credited.
    with pytest.raises(UnbalancedPosting) as raised:
        posting_create(
            key="bad:fx",
            kind=PostingKind.ADJUSTMENT,
            lines=[
                Line.debit(cny["receivable"], 100),
                Line.debit(cny["fees"], 100),
                Line.credit(usd["pending"], 100),
                Line.credit(usd["fees"], 100),
            ],
        )

    assert raised.value.details == {
        "currencies": {
            "CNY": {"debits": 200, "credits": 0},
            "USD": {"debits": 0, "credits": 200},
        }
    }
    assert ledger_rows() == (0, 0)


def test_a_posting_balanced_in_two_currencies_is_accepted():
    merchant = new_merchant()
    cny = accounts(merchant, "CNY")
    usd = accounts(merchant, "USD")

    posting = posting_create(
        key="fx:1",
        kind=PostingKind.ADJUSTMENT,
        lines=[
            Line.debit(cny["receivable"], 700),
            Line.credit(cny["pending"], 700),
            Line.debit(usd["receivable"], 100),
            Line.credit(usd["pending"], 100),
        ],
    )

    assert sorted(posting.entries.values_list("currency", flat=True)) == [
        "CNY",
        "CNY",
        "USD",
        "USD",
    ]
    assert account_balance(usd["pending"]) == 100


@pytest.mark.parametrize("amount", [0, -5, 1.5, True, "100"])
def test_amounts_are_positive_whole_minor_units(amount):
    merchant = new_merchant()
    book = accounts(merchant)

    with pytest.raises(InvalidPosting):
        posting_create(
            key="bad:amount",
            kind=PostingKind.ADJUSTMENT,
            lines=[Line.debit(book["receivable"], amount), Line.credit(book["pending"], amount)],
        )

    assert ledger_rows() == (0, 0)


def test_a_single_line_is_not_a_posting():
    merchant = new_merchant()
    book = accounts(merchant)

    with pytest.raises(InvalidPosting) as raised:
        posting_create(
            key="bad:one", kind=PostingKind.ADJUSTMENT, lines=[Line.debit(book["fees"], 1)]
        )

    assert raised.value.details == {"lines": 1}
    assert ledger_rows() == (0, 0)


@pytest.mark.parametrize("key", ["", "x" * 201])
def test_a_key_is_required_and_bounded(key):
    merchant = new_merchant()

    lines = payment_capture_lines(merchant=merchant, amount=100, fee=1, currency="CNY")

    with pytest.raises(InvalidPosting):
        posting_create(key=key, kind=PostingKind.PAYMENT_CAPTURE, lines=lines)

    assert ledger_rows() == (0, 0)


def test_only_a_reversal_kind_may_reverse_and_it_must_name_the_posting():
    merchant = new_merchant()
    lines = payment_capture_lines(merchant=merchant, amount=100, fee=1, currency="CNY")

    with pytest.raises(InvalidPosting):
        posting_create(key="bad:rev", kind=PostingKind.REVERSAL, lines=lines)

    assert ledger_rows() == (0, 0)


def test_accounts_are_created_once_and_scoped():
    merchant = new_merchant()

    first = account_get_or_create(
        kind=AccountKind.MERCHANT_PENDING, currency="CNY", merchant=merchant
    )
    again = account_get_or_create(
        kind=AccountKind.MERCHANT_PENDING, currency="CNY", merchant=merchant
    )
    platform = account_get_or_create(kind=AccountKind.FEE_REVENUE, currency="CNY")
    platform_again = account_get_or_create(kind=AccountKind.FEE_REVENUE, currency="CNY")

    assert again.pk == first.pk
    assert platform_again.pk == platform.pk
    assert platform.merchant_id is None
    assert LedgerAccount.objects.count() == 2


@pytest.mark.parametrize(
    ("kind", "with_merchant", "currency"),
    [
        (AccountKind.MERCHANT_PENDING, False, "CNY"),
        (AccountKind.FEE_REVENUE, True, "CNY"),
        ("cash_drawer", False, "CNY"),
        (AccountKind.FEE_REVENUE, False, "cny"),
        (AccountKind.FEE_REVENUE, False, "YUAN"),
    ],
)
def test_an_account_needs_a_known_kind_the_right_owner_and_an_iso_currency(
    kind, with_merchant, currency
):
    merchant = new_merchant()

    with pytest.raises(InvalidPosting):
        account_get_or_create(
            kind=kind, currency=currency, merchant=merchant if with_merchant else None
        )

    assert LedgerAccount.objects.count() == 0


def test_opening_a_merchants_accounts_creates_each_kind_once():
    merchant = new_merchant()

    opened = merchant_accounts_open(merchant=merchant, currency="CNY")
    reopened = merchant_accounts_open(merchant=merchant, currency="CNY")

    assert sorted(opened) == sorted(
        [
            AccountKind.MERCHANT_AVAILABLE,
            AccountKind.MERCHANT_PAYOUTS_IN_TRANSIT,
            AccountKind.MERCHANT_PENDING,
            AccountKind.MERCHANT_REFUNDS_IN_TRANSIT,
        ]
    )
    assert {k: a.pk for k, a in reopened.items()} == {k: a.pk for k, a in opened.items()}
    assert LedgerAccount.objects.filter(merchant=merchant).count() == 4


def test_a_reversal_mirrors_the_posting_and_restores_the_balances():
    merchant = new_merchant()
    original = capture(merchant, amount=10_000, fee=60, key="payment:p4:capture")

    reversal = posting_reverse(posting=original, key="payment:p4:capture:reversal", memo="test")

    book = accounts(merchant)
    assert reversal.reverses_id == original.pk
    assert reversal.kind == PostingKind.REVERSAL
    assert sorted(reversal.entries.values_list("account_id", "direction", "amount")) == sorted(
        [
            (book["receivable"].pk, EntryDirection.CREDIT, 10_000),
            (book["pending"].pk, EntryDirection.DEBIT, 9_940),
            (book["fees"].pk, EntryDirection.DEBIT, 60),
        ]
    )
    assert [account_balance(a) for a in book.values()] == [0, 0, 0]
    assert ledger_rows() == (2, 6)


def test_a_posting_is_reversed_at_most_once():
    merchant = new_merchant()
    original = capture(merchant, key="payment:p5:capture")
    reversal = posting_reverse(posting=original, key="payment:p5:reversal")

    retried = posting_reverse(posting=original, key="payment:p5:reversal")
    with pytest.raises(PostingAlreadyReversed):
        posting_reverse(posting=original, key="payment:p5:reversal-again")

    assert retried.pk == reversal.pk
    assert ledger_rows() == (2, 6)


def test_a_reversal_is_not_itself_reversed():
    merchant = new_merchant()
    original = capture(merchant, key="payment:p6:capture")
    reversal = posting_reverse(posting=original, key="payment:p6:reversal")

    with pytest.raises(InvalidReversal):
        posting_reverse(posting=reversal, key="payment:p6:reversal:reversal")

    assert ledger_rows() == (2, 6)


def test_a_reversal_needs_a_reversal_kind():
    merchant = new_merchant()
    original = capture(merchant, key="payment:p7:capture")

    with pytest.raises(InvalidReversal):
        posting_reverse(posting=original, key="payment:p7:x", kind=PostingKind.ADJUSTMENT)

    assert ledger_rows() == (1, 3)


def test_a_posting_records_its_source_and_is_found_by_it():
    merchant = new_merchant()
    lines = payment_capture_lines(merchant=merchant, amount=300, fee=3, currency="CNY")

    posting = posting_create(
        key=posting_key("source", merchant.pk),
        kind=PostingKind.ADJUSTMENT,
        lines=lines,
        source=merchant,
    )
    other = posting_create(
        key="file:2026-11-25",
        kind=PostingKind.ADJUSTMENT,
        lines=payment_capture_lines(merchant=merchant, amount=10, fee=0, currency="CNY"),
        source=SourceRef("acquirer_file", "2026-11-25"),
    )

    assert (posting.source_type, posting.source_id) == ("merchants.merchant", str(merchant.pk))
    assert (other.source_type, other.source_id) == ("acquirer_file", "2026-11-25")
    assert list(postings_for_source(merchant)) == [posting]


def test_posting_keys_are_joined_parts_without_colons():
    assert posting_key("refund", 42, "complete") == "refund:42:complete"
    with pytest.raises(InvalidPosting):
        posting_key("refund", "a:b")
    with pytest.raises(InvalidPosting):
        posting_key("refund", "")
