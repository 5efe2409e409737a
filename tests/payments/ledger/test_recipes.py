"""The standard movements, step by step, and the balances each one leaves."""

import pytest

from payments.ledger.errors import InvalidPosting
from payments.ledger.models import AccountKind, LedgerPosting, PostingKind
from payments.ledger.recipes import (
    acquirer_settlement_lines,
    fee_lines,
    merchant_settlement_lines,
    payment_capture_lines,
    payout_completion_lines,
    payout_lines,
    refund_completion_lines,
    refund_lines,
    write_off_lines,
)
from payments.ledger.selectors import (
    MerchantBalance,
    account_balance,
    account_find,
    ledger_entry_list_for_merchant,
    merchant_balances,
    trial_balance,
)
from payments.ledger.services import posting_create, posting_reverse
from tests.payments.ledger.support import new_merchant

pytestmark = pytest.mark.django_db


def platform(kind: str) -> int:
    account = account_find(kind=kind, currency="CNY")
    return account_balance(account) if account else 0


def post(key: str, kind: str, lines) -> LedgerPosting:
    return posting_create(key=key, kind=kind, lines=lines)


def test_a_payments_life_from_capture_to_payout_keeps_every_balance_exact():
    merchant = new_merchant()
    bystander = new_merchant()
    post(
        "payment:b:capture",
        PostingKind.PAYMENT_CAPTURE,
        payment_capture_lines(merchant=bystander, amount=3_000, fee=18, currency="CNY"),
    )

    # Captured: the acquirer owes the gross, the merchant is owed the net.
    post(
        "payment:1:capture",
        PostingKind.PAYMENT_CAPTURE,
        payment_capture_lines(merchant=merchant, amount=10_000, fee=60, currency="CNY"),
    )
    assert merchant_balances(merchant=merchant) == [MerchantBalance("CNY", pending=9_940)]

    # Settled T+1: pending becomes available.
    post(
        "settlement:1",
        PostingKind.MERCHANT_SETTLEMENT,
        merchant_settlement_lines(merchant=merchant, amount=9_940, currency="CNY"),
    )
    assert merchant_balances(merchant=merchant) == [
        MerchantBalance("CNY", pending=0, available=9_940)
    ]

    # A refund of 2,000 goes out and succeeds; one of 500 goes out and fails.
    post(
        "refund:1:initiate",
        PostingKind.REFUND,
        refund_lines(
            merchant=merchant,
            amount=2_000,
            currency="CNY",
            from_kind=AccountKind.MERCHANT_AVAILABLE,
        ),
    )
    post(
        "refund:1:complete",
        PostingKind.REFUND_COMPLETION,
        refund_completion_lines(merchant=merchant, amount=2_000, currency="CNY"),
    )
    failed = post(
        "refund:2:initiate",
        PostingKind.REFUND,
        refund_lines(
            merchant=merchant, amount=500, currency="CNY", from_kind=AccountKind.MERCHANT_AVAILABLE
        ),
    )
    assert merchant_balances(merchant=merchant)[0].refunds_in_transit == 500
    posting_reverse(posting=failed, key="refund:2:reverse", kind=PostingKind.REFUND_REVERSAL)
    assert merchant_balances(merchant=merchant) == [
        MerchantBalance("CNY", pending=0, available=7_940, refunds_in_transit=0)
    ]

    # A payout of 7,000 is sent, then confirmed by the bank.
    post(
        "payout:1",
        PostingKind.PAYOUT,
        payout_lines(merchant=merchant, amount=7_000, currency="CNY"),
    )
    assert merchant_balances(merchant=merchant)[0].payouts_in_transit == 7_000
    post(
        "payout:1:complete",
        PostingKind.PAYOUT_COMPLETION,
        payout_completion_lines(merchant=merchant, amount=7_000, currency="CNY"),
    )

    # The acquirer pays what it owed, net of the refund.
    post(
        "acquirer-settlement:2026-11-25",
        PostingKind.ACQUIRER_SETTLEMENT,
        acquirer_settlement_lines(amount=8_000, currency="CNY"),
    )

    assert merchant_balances(merchant=merchant) == [
        MerchantBalance("CNY", available=940, refunds_in_transit=0, payouts_in_transit=0)
    ]
    assert merchant_balances(merchant=bystander) == [MerchantBalance("CNY", pending=2_982)]
    assert platform(AccountKind.ACQUIRER_RECEIVABLE) == 13_000 - 2_000 - 8_000
    assert platform(AccountKind.SETTLEMENT_BANK) == 8_000 - 7_000
    assert platform(AccountKind.FEE_REVENUE) == 60 + 18
    assert trial_balance() == {"CNY": 0}
    assert [e.posting.key for e in ledger_entry_list_for_merchant(merchant=bystander)] == [
        "payment:b:capture"
    ]


def test_a_fee_equal_to_the_amount_leaves_no_merchant_line():
    merchant = new_merchant()

    lines = payment_capture_lines(merchant=merchant, amount=50, fee=50, currency="CNY")

    assert [(line.account.kind, line.direction, line.amount) for line in lines] == [
        (AccountKind.ACQUIRER_RECEIVABLE, "debit", 50),
        (AccountKind.FEE_REVENUE, "credit", 50),
    ]


@pytest.mark.parametrize("fee", [-1, 10_001, 1.5])
def test_a_fee_is_between_zero_and_the_amount(fee):
    merchant = new_merchant()

    with pytest.raises(InvalidPosting):
        payment_capture_lines(merchant=merchant, amount=10_000, fee=fee, currency="CNY")


def test_a_refund_comes_from_a_merchant_balance_only():
    merchant = new_merchant()

    with pytest.raises(InvalidPosting):
        refund_lines(
            merchant=merchant, amount=100, currency="CNY", from_kind=AccountKind.FEE_REVENUE
        )


def test_a_fee_and_a_write_off_move_between_merchant_and_platform():
    merchant = new_merchant()
    post(
        "payout-fee:1",
        PostingKind.FEE,
        fee_lines(merchant=merchant, amount=200, currency="CNY"),
    )

    post(
        "write-off:1",
        PostingKind.ADJUSTMENT,
        write_off_lines(merchant=merchant, amount=200, currency="CNY"),
    )

    assert merchant_balances(merchant=merchant) == [MerchantBalance("CNY", available=0)]
    assert platform(AccountKind.FEE_REVENUE) == 200
    assert platform(AccountKind.LOSSES) == 200
    assert trial_balance() == {"CNY": 0}


def test_a_merchant_without_accounts_has_no_balances():
    assert merchant_balances(merchant=new_merchant()) == []
