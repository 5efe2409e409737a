"""Reads of the ledger: balances derived from entries, postings by key or source.

A balance is never read from a column: it is the latest balance checkpoint of the account
plus the entries made at or after the checkpoint's cutoff (one index range scan on
`(account, created_at)`), computed in one query for any number of accounts.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db import models
from django.db.models import Count, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from merchants.models import Merchant
from payments.ledger.models import (
    MERCHANT_ACCOUNT_KINDS,
    NORMAL_SIDE,
    AccountKind,
    EntryDirection,
    LedgerAccount,
    LedgerBalanceCheckpoint,
    LedgerEntry,
    LedgerPosting,
)

# Before any entry: the cutoff of an account that has no checkpoint yet.
BEGINNING = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class AccountTotals:
    """The sums of an account's debits and credits, in minor units of its currency."""

    account: LedgerAccount
    debits: int
    credits: int

    @property
    def balance(self) -> int:
        """The balance on the account's normal side (positive when it is as expected)."""
        if NORMAL_SIDE[self.account.kind] == EntryDirection.DEBIT:
            return self.debits - self.credits
        return self.credits - self.debits


@dataclass(frozen=True)
class MerchantBalance:
    """A merchant's balances in one currency, in minor units (credit-normal: owed to them)."""

    currency: str
    pending: int = 0
    available: int = 0
    refunds_in_transit: int = 0
    payouts_in_transit: int = 0


_MERCHANT_BALANCE_FIELDS: dict[str, str] = {
    AccountKind.MERCHANT_PENDING: "pending",
    AccountKind.MERCHANT_AVAILABLE: "available",
    AccountKind.MERCHANT_REFUNDS_IN_TRANSIT: "refunds_in_transit",
    AccountKind.MERCHANT_PAYOUTS_IN_TRANSIT: "payouts_in_transit",
}


def _entries_sum(entries: models.QuerySet[LedgerEntry], direction: str) -> Coalesce:
    total = (
        entries.filter(direction=direction)
        .order_by()
        .values("account")
        .annotate(total=Sum("amount"))
        .values("total")[:1]
    )
    return Coalesce(Subquery(total), Value(0), output_field=models.BigIntegerField())


def accounts_with_totals(
    accounts: models.QuerySet[LedgerAccount], *, as_of: datetime | None = None
) -> models.QuerySet[LedgerAccount]:
    """Annotate `accounts` with `debits`, `credits` and `entry_count`: checkpoint + later.

    Also annotates `checkpoint_cutoff` (the start of time without a checkpoint) and
    `recent_entries`, the number of entries counted after the checkpoint.

    With `as_of`, count only entries created before that instant (and only checkpoints
    whose cutoff is not after it).
    """
    checkpoints = LedgerBalanceCheckpoint.objects.filter(account=OuterRef("pk"))
    if as_of is not None:
        checkpoints = checkpoints.filter(cutoff__lte=as_of)
    latest = checkpoints.order_by("-cutoff")
    big = models.BigIntegerField()
    accounts = accounts.annotate(
        checkpoint_cutoff=Coalesce(
            Subquery(latest.values("cutoff")[:1]),
            Value(BEGINNING),
            output_field=models.DateTimeField(),
        ),
        checkpoint_debits=Coalesce(
            Subquery(latest.values("debit_total")[:1]), Value(0), output_field=big
        ),
        checkpoint_credits=Coalesce(
            Subquery(latest.values("credit_total")[:1]), Value(0), output_field=big
        ),
        checkpoint_entries=Coalesce(
            Subquery(latest.values("entry_count")[:1]), Value(0), output_field=big
        ),
    )
    recent = LedgerEntry.objects.filter(
        account=OuterRef("pk"), created_at__gte=OuterRef("checkpoint_cutoff")
    )
    if as_of is not None:
        recent = recent.filter(created_at__lt=as_of)
    recent_count = recent.order_by().values("account").annotate(n=Count("id")).values("n")[:1]
    return accounts.annotate(
        recent_entries=Coalesce(Subquery(recent_count), Value(0), output_field=big),
        debits=models.F("checkpoint_debits") + _entries_sum(recent, EntryDirection.DEBIT),
        credits=models.F("checkpoint_credits") + _entries_sum(recent, EntryDirection.CREDIT),
        entry_count=models.F("checkpoint_entries") + models.F("recent_entries"),
    )


def account_totals_list(
    accounts: models.QuerySet[LedgerAccount], *, as_of: datetime | None = None
) -> list[AccountTotals]:
    """Return the debit and credit totals of every account in `accounts`, in one query."""
    annotated: Iterable[Any] = accounts_with_totals(accounts, as_of=as_of)
    return [
        AccountTotals(account=account, debits=account.debits, credits=account.credits)
        for account in annotated
    ]


def account_balance(account: LedgerAccount, *, as_of: datetime | None = None) -> int:
    """Return the balance of `account` on its normal side, in minor units.

    Merchant balances and fee revenue are credit-normal, receivables and the bank are
    debit-normal; a negative result means the account is on its unusual side (e.g. a
    merchant who owes the platform after refunds). `as_of` excludes entries created at or
    after that instant.
    """
    (totals,) = account_totals_list(LedgerAccount.objects.filter(pk=account.pk), as_of=as_of)
    return totals.balance


def account_find(
    *, kind: str, currency: str, merchant: Merchant | None = None
) -> LedgerAccount | None:
    """Return the account of `kind` in `currency` (and `merchant`), or None if never opened."""
    return LedgerAccount.objects.filter(kind=kind, currency=currency, merchant=merchant).first()


def merchant_balances(
    *, merchant: Merchant, as_of: datetime | None = None
) -> list[MerchantBalance]:
    """Return `merchant`'s balances, one `MerchantBalance` per currency, sorted by currency.

    Scoped to the merchant: only its own accounts are read. A currency appears once the
    merchant has an account in it.
    """
    accounts = LedgerAccount.objects.filter(
        merchant=merchant, kind__in=sorted(MERCHANT_ACCOUNT_KINDS)
    )
    by_currency: dict[str, dict[str, int]] = defaultdict(dict)
    for totals in account_totals_list(accounts, as_of=as_of):
        field = _MERCHANT_BALANCE_FIELDS[totals.account.kind]
        by_currency[totals.account.currency][field] = totals.balance
    return [
        MerchantBalance(currency=currency, **fields)
        for currency, fields in sorted(by_currency.items())
    ]


def trial_balance(*, as_of: datetime | None = None) -> dict[str, int]:
    """Return, per currency, all debits minus all credits of the whole ledger.

    Every value is zero when the ledger balances.
    """
    result: dict[str, int] = defaultdict(int)
    for totals in account_totals_list(LedgerAccount.objects.all(), as_of=as_of):
        result[totals.account.currency] += totals.debits - totals.credits
    return dict(sorted(result.items()))


def posting_get_by_key(key: str) -> LedgerPosting | None:
    """Return the posting made under `key`, or None."""
    return LedgerPosting.objects.filter(key=key).first()


def postings_for_source(source: models.Model) -> models.QuerySet[LedgerPosting]:
    """Return the postings recorded for `source` (e.g. a payment), oldest first, with lines."""
    return (
        LedgerPosting.objects.filter(source_type=source._meta.label_lower, source_id=str(source.pk))
        .prefetch_related("entries__account")
        .order_by("created_at", "id")
    )


def ledger_entry_list_for_merchant(
    *, merchant: Merchant, currency: str | None = None, kinds: Iterable[str] | None = None
) -> models.QuerySet[LedgerEntry]:
    """Return the entries on `merchant`'s own accounts, newest first: its statement."""
    entries = LedgerEntry.objects.filter(account__merchant=merchant)
    if currency is not None:
        entries = entries.filter(currency=currency)
    if kinds is not None:
        entries = entries.filter(account__kind__in=list(kinds))
    return entries.select_related("posting", "account").order_by("-created_at", "-id")
