"""The standard movements of money, as ready-made posting lines (docs/ledger.md).

Each function returns the lines; the calling service posts them under its key, in the
transaction that records the business change:

    posting_create(
        key=posting_key("payment", payment.public_id, "capture"),
        kind=PostingKind.PAYMENT_CAPTURE,
        lines=payment_capture_lines(merchant=m, amount=10_000, fee=60, currency="CNY"),
        source=payment,
    )

A failed refund or a returned payout is undone with `posting_reverse` (kinds
`refund_reversal` and `payout_reversal`), never by editing anything.
"""

from django.utils.translation import gettext_lazy as _

from merchants.models import Merchant
from payments.ledger.errors import InvalidPosting
from payments.ledger.models import AccountKind, LedgerAccount
from payments.ledger.services import Line, account_get_or_create

# The merchant balances a refund or a fee may be taken from.
MERCHANT_BALANCE_KINDS = frozenset({AccountKind.MERCHANT_PENDING, AccountKind.MERCHANT_AVAILABLE})


def posting_key(*parts: object) -> str:
    """Join `parts` into a posting key, e.g. `posting_key("refund", 42, "complete")`.

    Keys name the business event, not the attempt, so that every retry and every duplicate
    notification of the same event carries the same key (docs/ledger.md lists them).
    """
    if not parts or any(str(part) == "" or ":" in str(part) for part in parts):
        raise InvalidPosting(_("Posting key parts are non-empty and contain no colon."))
    return ":".join(str(part) for part in parts)


def _account(kind: str, currency: str, merchant: Merchant | None = None) -> LedgerAccount:
    return account_get_or_create(kind=kind, currency=currency, merchant=merchant)


def _positive(amount: int, name: str = "amount") -> int:
    if type(amount) is not int or amount <= 0:
        raise InvalidPosting(
            _("An amount is a positive whole number of minor units."),
            details={name: str(amount)},
        )
    return amount


def _merchant_balance(kind: str) -> str:
    if kind not in MERCHANT_BALANCE_KINDS:
        raise InvalidPosting(
            _("Take it from the merchant's pending or available balance."),
            details={"from_kind": str(kind)},
        )
    return kind


def payment_capture_lines(
    *, merchant: Merchant, amount: int, fee: int, currency: str
) -> list[Line]:
    """Lines of a succeeded payment of `amount` on which the platform charges `fee`.

    The acquirer owes the gross amount; the merchant's pending balance gets the net, fee
    revenue the fee. `0 <= fee <= amount`; a zero part gets no line.
    """
    _positive(amount)
    if type(fee) is not int or not 0 <= fee <= amount:
        raise InvalidPosting(
            _("The fee is a whole number of minor units between zero and the amount."),
            details={"fee": str(fee), "amount": str(amount)},
        )
    lines = [Line.debit(_account(AccountKind.ACQUIRER_RECEIVABLE, currency), amount)]
    if amount - fee:
        lines.append(
            Line.credit(_account(AccountKind.MERCHANT_PENDING, currency, merchant), amount - fee)
        )
    if fee:
        lines.append(Line.credit(_account(AccountKind.FEE_REVENUE, currency), fee))
    return lines


def refund_lines(*, merchant: Merchant, amount: int, currency: str, from_kind: str) -> list[Line]:
    """Lines of a refund sent to the acquirer: the merchant's balance to refunds in transit.

    `from_kind` is `merchant_pending` (not yet settled) or `merchant_available`. The
    ledger does not stop a balance going negative (that would need a lock); the refund
    service guards the refundable amount under its payment lock.
    """
    return [
        Line.debit(_account(_merchant_balance(from_kind), currency, merchant), _positive(amount)),
        Line.credit(_account(AccountKind.MERCHANT_REFUNDS_IN_TRANSIT, currency, merchant), amount),
    ]


def refund_completion_lines(*, merchant: Merchant, amount: int, currency: str) -> list[Line]:
    """Lines of a refund the acquirer confirmed: it pays the payer and owes us that less."""
    return [
        Line.debit(
            _account(AccountKind.MERCHANT_REFUNDS_IN_TRANSIT, currency, merchant), _positive(amount)
        ),
        Line.credit(_account(AccountKind.ACQUIRER_RECEIVABLE, currency), amount),
    ]


def acquirer_settlement_lines(*, amount: int, currency: str) -> list[Line]:
    """Lines of money received from the acquirer into the platform's settlement bank."""
    return [
        Line.debit(_account(AccountKind.SETTLEMENT_BANK, currency), _positive(amount)),
        Line.credit(_account(AccountKind.ACQUIRER_RECEIVABLE, currency), amount),
    ]


def merchant_settlement_lines(*, merchant: Merchant, amount: int, currency: str) -> list[Line]:
    """Lines of a settlement run for one merchant: pending becomes available."""
    return [
        Line.debit(_account(AccountKind.MERCHANT_PENDING, currency, merchant), _positive(amount)),
        Line.credit(_account(AccountKind.MERCHANT_AVAILABLE, currency, merchant), amount),
    ]


def payout_lines(*, merchant: Merchant, amount: int, currency: str) -> list[Line]:
    """Lines of a payout instructed to the bank: available to payouts in transit."""
    return [
        Line.debit(_account(AccountKind.MERCHANT_AVAILABLE, currency, merchant), _positive(amount)),
        Line.credit(_account(AccountKind.MERCHANT_PAYOUTS_IN_TRANSIT, currency, merchant), amount),
    ]


def payout_completion_lines(*, merchant: Merchant, amount: int, currency: str) -> list[Line]:
    """Lines of a payout the bank confirmed: the money left the settlement bank account."""
    return [
        Line.debit(
            _account(AccountKind.MERCHANT_PAYOUTS_IN_TRANSIT, currency, merchant), _positive(amount)
        ),
        Line.credit(_account(AccountKind.SETTLEMENT_BANK, currency), amount),
    ]


def fee_lines(
    *,
    merchant: Merchant,
    amount: int,
    currency: str,
    from_kind: str = AccountKind.MERCHANT_AVAILABLE,
) -> list[Line]:
    """Lines of a fee charged outside a payment (e.g. a payout fee): balance to fee revenue."""
    return [
        Line.debit(_account(_merchant_balance(from_kind), currency, merchant), _positive(amount)),
        Line.credit(_account(AccountKind.FEE_REVENUE, currency), amount),
    ]


def write_off_lines(*, merchant: Merchant, amount: int, currency: str) -> list[Line]:
    """Lines that write off a merchant's negative available balance as a platform loss."""
    return [
        Line.debit(_account(AccountKind.LOSSES, currency), _positive(amount)),
        Line.credit(_account(AccountKind.MERCHANT_AVAILABLE, currency, merchant), amount),
    ]
