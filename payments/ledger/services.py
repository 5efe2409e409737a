"""Writes to the ledger: accounts, postings and reversals.

Posting never locks a row (no `select_for_update`, no balance column to update), so any
number of postings for one merchant proceed in parallel. Exactly-once is the database's
job: the posting key is UNIQUE, and a second insert with the same key returns the first
posting. Every check made here is made again by PostgreSQL at COMMIT
(payments/migrations/0002_ledger_database_rules.py).
"""

import logging
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.db import IntegrityError, models, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from merchants.models import Merchant
from payments.ledger.errors import (
    InvalidPosting,
    InvalidReversal,
    PostingAlreadyReversed,
    PostingKeyConflict,
    UnbalancedPosting,
)
from payments.ledger.models import (
    MERCHANT_ACCOUNT_KINDS,
    PLATFORM_ACCOUNT_KINDS,
    REVERSAL_POSTING_KINDS,
    AccountKind,
    EntryDirection,
    LedgerAccount,
    LedgerEntry,
    LedgerPosting,
    PostingKind,
)

logger = logging.getLogger(__name__)

CURRENCY_CODE = re.compile(r"[A-Z]{3}")
MAX_AMOUNT = 2**63 - 1  # PostgreSQL bigint
KEY_MAX_LENGTH = LedgerPosting._meta.get_field("key").max_length or 200
MEMO_MAX_LENGTH = LedgerPosting._meta.get_field("memo").max_length or 300


@dataclass(frozen=True)
class Line:
    """One line of a posting to be made: `amount` minor units debited or credited.

    The currency is the account's. Build lines with `Line.debit` / `Line.credit` or, for the
    standard movements, with `payments.ledger.recipes`.
    """

    account: LedgerAccount
    direction: str
    amount: int

    @classmethod
    def debit(cls, account: LedgerAccount, amount: int) -> "Line":
        return cls(account=account, direction=EntryDirection.DEBIT, amount=amount)

    @classmethod
    def credit(cls, account: LedgerAccount, amount: int) -> "Line":
        return cls(account=account, direction=EntryDirection.CREDIT, amount=amount)

    @property
    def currency(self) -> str:
        return self.account.currency


@dataclass(frozen=True)
class SourceRef:
    """What caused a posting when it is not a model instance (e.g. an acquirer's file)."""

    type: str
    id: str


# --- accounts ---


def currency_validate(currency: str) -> str:
    """Return `currency` if it is an ISO 4217 code in the form `CNY`; raise otherwise."""
    if not isinstance(currency, str) or not CURRENCY_CODE.fullmatch(currency):
        raise InvalidPosting(
            _("A currency is an ISO 4217 code of three capital letters, such as CNY."),
            details={"currency": str(currency)},
        )
    return currency


def account_get_or_create(
    *, kind: str, currency: str, merchant: Merchant | None = None
) -> LedgerAccount:
    """Return the account of `kind` for `currency` (and `merchant`), creating it if needed.

    Merchant kinds need a merchant, platform kinds must not have one. Safe under races: the
    unique constraints decide, and the loser of a race reads the winner's row. The first
    posting for a new merchant and currency waits on the account insert of a concurrent
    first posting; open the accounts up front with `merchant_accounts_open` to avoid it.
    """
    if kind not in AccountKind.values:
        raise InvalidPosting(_("Unknown ledger account kind."), details={"kind": str(kind)})
    if kind in MERCHANT_ACCOUNT_KINDS and merchant is None:
        raise InvalidPosting(_("This account kind belongs to a merchant."), details={"kind": kind})
    if kind in PLATFORM_ACCOUNT_KINDS and merchant is not None:
        raise InvalidPosting(
            _("This account kind belongs to the platform."), details={"kind": kind}
        )
    currency_validate(currency)
    account, _created = LedgerAccount.objects.get_or_create(
        kind=kind, merchant=merchant, currency=currency
    )
    return account


def merchant_accounts_open(*, merchant: Merchant, currency: str) -> dict[str, LedgerAccount]:
    """Create (or fetch) every merchant account of `merchant` in `currency`, keyed by kind.

    Idempotent. Call it when a merchant can start taking payments in a currency, so that
    the merchant's first postings never wait on each other's account inserts.
    """
    return {
        kind: account_get_or_create(kind=kind, currency=currency, merchant=merchant)
        for kind in sorted(MERCHANT_ACCOUNT_KINDS)
    }


# --- postings ---


def _source_fields(source: models.Model | SourceRef | None) -> tuple[str, str]:
    if source is None:
        return "", ""
    if isinstance(source, SourceRef):
        return source.type[:64], source.id[:64]
    if source.pk is None:
        raise InvalidPosting(_("The source of a posting must be saved first."))
    return source._meta.label_lower, str(source.pk)


def _lines_validate(lines: Sequence[Line]) -> None:
    """Refuse lines that cannot form a posting; the database checks the same at COMMIT."""
    if len(lines) < 2:
        raise InvalidPosting(
            _("A posting needs at least two lines."), details={"lines": len(lines)}
        )
    totals: dict[str, dict[str, int]] = {}
    for number, line in enumerate(lines, start=1):
        if not isinstance(line, Line):
            raise InvalidPosting(_("Posting lines must be ledger Line objects."))
        if line.account.pk is None:
            raise InvalidPosting(_("A line's account must be saved."), details={"line": number})
        if line.direction not in EntryDirection.values:
            raise InvalidPosting(
                _("A line is a debit or a credit."),
                details={"line": number, "direction": str(line.direction)},
            )
        # bool is an int in Python; an amount is never True.
        if type(line.amount) is not int or not 0 < line.amount <= MAX_AMOUNT:
            raise InvalidPosting(
                _("A line's amount is a positive whole number of minor units."),
                details={"line": number, "amount": str(line.amount)},
            )
        currency_validate(line.currency)
        side = totals.setdefault(line.currency, {EntryDirection.DEBIT: 0, EntryDirection.CREDIT: 0})
        side[line.direction] += line.amount
    unbalanced = {
        currency: {"debits": side[EntryDirection.DEBIT], "credits": side[EntryDirection.CREDIT]}
        for currency, side in totals.items()
        if side[EntryDirection.DEBIT] != side[EntryDirection.CREDIT]
    }
    if unbalanced:
        raise UnbalancedPosting(details={"currencies": unbalanced})


def _signature(lines: Iterable[tuple[int, str, int, str]]) -> Counter[tuple[int, str, int, str]]:
    return Counter(lines)


def _assert_same_posting(
    existing: LedgerPosting,
    *,
    kind: str,
    lines: Sequence[Line],
    source_type: str,
    source_id: str,
    reverses: LedgerPosting | None,
) -> None:
    """Raise `PostingKeyConflict` unless `existing` is the posting that was asked for again."""
    wanted = _signature((ln.account.pk, ln.direction, ln.amount, ln.currency) for ln in lines)
    stored = _signature(
        existing.entries.values_list("account_id", "direction", "amount", "currency")
    )
    differences = []
    if existing.kind != kind:
        differences.append("kind")
    if (existing.source_type, existing.source_id) != (source_type, source_id):
        differences.append("source")
    if existing.reverses_id != (reverses.pk if reverses else None):
        differences.append("reverses")
    if stored != wanted:
        differences.append("lines")
    if differences:
        raise PostingKeyConflict(details={"key": existing.key, "differences": differences})


def posting_get_or_create(
    *,
    key: str,
    kind: str,
    lines: Sequence[Line],
    source: models.Model | SourceRef | None = None,
    memo: str = "",
    reverses: LedgerPosting | None = None,
) -> tuple[LedgerPosting, bool]:
    """Post `lines` once under `key`; return `(posting, created)`.

    If a posting with `key` exists (committed by anyone, or earlier in this transaction),
    return it with `created=False`, provided that it has the same kind, source, reversed
    posting and lines; otherwise raise `PostingKeyConflict`. Raise `InvalidPosting` (or
    `UnbalancedPosting`) for lines that are not positive, balanced per currency, at least
    two. Locks nothing: call it inside the caller's atomic block (for example the one that
    moved the payment to succeeded) so that the posting commits with the change it records.
    """
    if not isinstance(key, str) or not 0 < len(key) <= KEY_MAX_LENGTH:
        raise InvalidPosting(_("A posting key is 1 to 200 characters."), details={"key": str(key)})
    if kind not in PostingKind.values:
        raise InvalidPosting(_("Unknown posting kind."), details={"kind": str(kind)})
    if (reverses is not None) != (kind in REVERSAL_POSTING_KINDS):
        raise InvalidPosting(
            _("Only a reversal posting reverses another posting, and it must name it."),
            details={"kind": kind},
        )
    if len(memo) > MEMO_MAX_LENGTH:
        raise InvalidPosting(_("A memo is at most 300 characters."))
    _lines_validate(lines)
    source_type, source_id = _source_fields(source)

    try:
        # A savepoint: a duplicate key must not break the caller's transaction.
        with transaction.atomic():
            # One time for the header and its lines. PostgreSQL replaces it with the
            # transaction's start (and returns that); SQLite keeps it.
            now = timezone.now()
            posting = LedgerPosting.objects.create(
                key=key,
                kind=kind,
                source_type=source_type,
                source_id=source_id,
                reverses=reverses,
                memo=memo,
                created_at=now,
            )
            LedgerEntry.objects.bulk_create(
                [
                    LedgerEntry(
                        posting=posting,
                        account=line.account,
                        direction=line.direction,
                        amount=line.amount,
                        currency=line.currency,
                        created_at=posting.created_at,
                    )
                    for line in lines
                ]
            )
    except IntegrityError:
        # The unique key (or the one-reversal-per-posting rule) said no. A concurrent
        # insert of the same key has committed by now: PostgreSQL waited for it.
        existing = LedgerPosting.objects.filter(key=key).first()
        if existing is None:
            if reverses is not None and LedgerPosting.objects.filter(reverses=reverses).exists():
                raise PostingAlreadyReversed(details={"posting": reverses.key}) from None
            raise
        _assert_same_posting(
            existing,
            kind=kind,
            lines=lines,
            source_type=source_type,
            source_id=source_id,
            reverses=reverses,
        )
        logger.info("ledger posting %s already made; returning it", key)
        return existing, False
    return posting, True


def posting_create(
    *,
    key: str,
    kind: str,
    lines: Sequence[Line],
    source: models.Model | SourceRef | None = None,
    memo: str = "",
) -> LedgerPosting:
    """Post `lines` once under `key` and return the posting (the existing one on a retry).

    The idempotent write behind every movement of money: see `posting_get_or_create` for
    the rules and errors. Use `posting_reverse` to undo a posting.
    """
    posting, _created = posting_get_or_create(
        key=key, kind=kind, lines=lines, source=source, memo=memo
    )
    return posting


def posting_reverse(
    *,
    posting: LedgerPosting,
    key: str,
    kind: str = PostingKind.REVERSAL,
    memo: str = "",
    source: models.Model | SourceRef | None = None,
) -> LedgerPosting:
    """Post the mirror image of `posting` (every debit a credit and back) under `key`.

    The one way to undo a posting: nothing is ever edited or deleted. `kind` is one of the
    reversal kinds (`refund_reversal` for a failed refund, `payout_reversal` for a returned
    payout). The source defaults to the original's. A posting is reversed at most once:
    retrying with the same key returns the reversal, another key raises
    `PostingAlreadyReversed`. A reversal itself is not reversed (post anew instead).
    """
    if kind not in REVERSAL_POSTING_KINDS:
        raise InvalidReversal(
            _("Use a reversal kind for a reversing posting."), details={"kind": kind}
        )
    if posting.kind in REVERSAL_POSTING_KINDS:
        raise InvalidReversal(details={"posting": posting.key})
    mirror: dict[str, str] = {
        EntryDirection.DEBIT: EntryDirection.CREDIT,
        EntryDirection.CREDIT: EntryDirection.DEBIT,
    }
    lines = [
        Line(account=entry.account, direction=mirror[entry.direction], amount=entry.amount)
        for entry in posting.entries.select_related("account").order_by("id")
    ]
    reversal, _created = posting_get_or_create(
        key=key,
        kind=kind,
        lines=lines,
        source=source if source is not None else SourceRef(posting.source_type, posting.source_id),
        memo=memo,
        reverses=posting,
    )
    return reversal
