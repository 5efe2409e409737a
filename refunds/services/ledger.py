"""The money of a refund in the ledger (docs/ledger.md, docs/refunds.md).

- Sent to the acquirer (`refund:<id>:initiate`, kind `refund`): the merchant's balance
  to `merchant_refunds_in_transit`. Taken from `merchant_pending` first (the refunded
  payment is usually not settled yet), the rest from `merchant_available`.
- Confirmed (`refund:<id>:complete`, `refund_completion`): refunds in transit to
  `acquirer_receivable`: the acquirer paid the payer and owes us that much less.
- Failed or sent to manual review (`refund:<id>:reverse`, `refund_reversal`): the mirror
  of the initiate posting, never an edit. A retry after manual review posts again under
  `...:initiate:<attempt>` (and reverses under `...:reverse:<attempt>`).

Only live refunds move money: test-mode payments never posted, so their refunds do not.
The platform's fee on the payment is not returned to the merchant.
"""

from dataclasses import dataclass

from merchants.models import ApiMode, Merchant
from payments.ledger.models import AccountKind, LedgerPosting, PostingKind
from payments.ledger.recipes import posting_key, refund_completion_lines, refund_lines
from payments.ledger.selectors import merchant_balances, posting_get_by_key
from payments.ledger.services import Line, posting_create, posting_reverse
from refunds import policies
from refunds.errors import RefundExceedsBalance
from refunds.models import Refund


@dataclass(frozen=True)
class BalanceDraw:
    """How a refund is taken from the merchant's balances, in minor units."""

    from_pending: int
    from_available: int
    # What the balances did not cover (0 unless the policy allows a negative balance).
    shortfall: int


def moves_money(refund: Refund) -> bool:
    """Return whether `refund` posts to the ledger (live mode only)."""
    return refund.mode == ApiMode.LIVE


def initiate_key(refund: Refund) -> str:
    if refund.attempt == 1:
        return posting_key("refund", refund.public_id, "initiate")
    return posting_key("refund", refund.public_id, "initiate", refund.attempt)


def reverse_key(refund: Refund) -> str:
    if refund.attempt == 1:
        return posting_key("refund", refund.public_id, "reverse")
    return posting_key("refund", refund.public_id, "reverse", refund.attempt)


def complete_key(refund: Refund) -> str:
    return posting_key("refund", refund.public_id, "complete")


def merchant_balance_lock(merchant_id: int) -> None:
    """Serialise balance checks of one merchant's refunds; call inside the atomic block.

    The payment lock guards one payment's refunds; two refunds of two payments of the
    same merchant could otherwise both read a balance that covers only one of them.
    FOR NO KEY UPDATE does not block the foreign-key checks of postings and payments.
    """
    Merchant.objects.select_for_update(no_key=True).filter(pk=merchant_id).exists()


def balance_draw(*, merchant: Merchant, amount: int, currency: str, enforce: bool) -> BalanceDraw:
    """Return how `amount` is drawn from `merchant`'s balances in `currency`, pending first.

    With `enforce` and the "refuse" policy, raise RefundExceedsBalance when pending and
    available together do not cover it. Otherwise the uncovered part is drawn from
    available, which goes negative until the next settlement nets it.
    Call under `merchant_balance_lock`.
    """
    balances = {b.currency: b for b in merchant_balances(merchant=merchant)}
    balance = balances.get(currency)
    pending = max(balance.pending, 0) if balance else 0
    available = max(balance.available, 0) if balance else 0
    from_pending = min(pending, amount)
    from_available = amount - from_pending
    shortfall = max(from_available - available, 0)
    if shortfall and enforce and policies.insufficient_balance_policy() == policies.REFUSE:
        raise RefundExceedsBalance(
            details={
                "currency": currency,
                "balance": pending + available,
                "requested": amount,
            }
        )
    return BalanceDraw(
        from_pending=from_pending, from_available=from_available, shortfall=shortfall
    )


def refund_initiate_post(refund: Refund, *, enforce_balance: bool = True) -> LedgerPosting | None:
    """Post the refund's money into transit; None for a test-mode refund.

    Call inside the atomic block that moves the refund to processing (after the payment
    and refund locks). `enforce_balance=False` records a refund the acquirer already made,
    whatever the balance.
    """
    if not moves_money(refund):
        return None
    merchant_balance_lock(refund.merchant_id)
    draw = balance_draw(
        merchant=refund.merchant,
        amount=refund.amount,
        currency=refund.currency,
        enforce=enforce_balance,
    )
    lines: list[Line] = []
    for kind, part in (
        (AccountKind.MERCHANT_PENDING, draw.from_pending),
        (AccountKind.MERCHANT_AVAILABLE, draw.from_available),
    ):
        if part:
            lines += refund_lines(
                merchant=refund.merchant, amount=part, currency=refund.currency, from_kind=kind
            )
    return posting_create(
        key=initiate_key(refund),
        kind=PostingKind.REFUND,
        lines=lines,
        source=refund,
        memo=f"Refund {refund.public_id} of {refund.payment.public_id}",
    )


def refund_complete_post(refund: Refund) -> LedgerPosting | None:
    """Post the acquirer's confirmation of the refund (once per refund, ever)."""
    if not moves_money(refund):
        return None
    return posting_create(
        key=complete_key(refund),
        kind=PostingKind.REFUND_COMPLETION,
        lines=refund_completion_lines(
            merchant=refund.merchant, amount=refund.amount, currency=refund.currency
        ),
        source=refund,
        memo=f"Refund {refund.public_id} confirmed",
    )


def refund_reverse_post(refund: Refund) -> LedgerPosting | None:
    """Reverse the current attempt's initiate posting (the money did not leave).

    Returns None when there is nothing to reverse (test mode, or never posted).
    """
    initiate = posting_get_by_key(initiate_key(refund))
    if initiate is None:
        return None
    return posting_reverse(
        posting=initiate,
        key=reverse_key(refund),
        kind=PostingKind.REFUND_REVERSAL,
        source=refund,
        memo=f"Refund {refund.public_id} not paid: reversed",
    )
