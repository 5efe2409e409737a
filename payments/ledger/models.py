"""Ledger tables: accounts, postings (headers) and entries (lines), checkpoints, check runs.

Postings and entries are append-only. On PostgreSQL the database itself enforces it, and
enforces that every posting's debits equal its credits per currency at COMMIT
(payments/migrations/0002_ledger_database_rules.py). Balances are never stored on an
account or a merchant row: they are sums of entries (plus a checkpoint), so posting never
updates, and never waits on, a shared row.
"""

from typing import ClassVar

from django.db import models
from django.db.models.functions import Now
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class EntryDirection(models.TextChoices):
    DEBIT = "debit", _("Debit")
    CREDIT = "credit", _("Credit")


class AccountKind(models.TextChoices):
    """The chart of accounts (docs/ledger.md explains each one)."""

    # Platform accounts: merchant is NULL, one per currency.
    ACQUIRER_RECEIVABLE = "acquirer_receivable", _("Acquirer receivable")
    SETTLEMENT_BANK = "settlement_bank", _("Settlement bank account")
    FEE_REVENUE = "fee_revenue", _("Fee revenue")
    LOSSES = "losses", _("Losses and write-offs")
    # Merchant accounts: one per merchant and currency.
    MERCHANT_PENDING = "merchant_pending", _("Merchant pending balance")
    MERCHANT_AVAILABLE = "merchant_available", _("Merchant available balance")
    MERCHANT_REFUNDS_IN_TRANSIT = "merchant_refunds_in_transit", _("Refunds in transit")
    MERCHANT_PAYOUTS_IN_TRANSIT = "merchant_payouts_in_transit", _("Payouts in transit")


PLATFORM_ACCOUNT_KINDS: frozenset[str] = frozenset(
    {
        AccountKind.ACQUIRER_RECEIVABLE,
        AccountKind.SETTLEMENT_BANK,
        AccountKind.FEE_REVENUE,
        AccountKind.LOSSES,
    }
)
MERCHANT_ACCOUNT_KINDS: frozenset[str] = frozenset(AccountKind.values) - PLATFORM_ACCOUNT_KINDS

# The side on which an account's balance grows: assets and expenses are debit-normal,
# liabilities (money owed to merchants and payers) and revenue are credit-normal.
NORMAL_SIDE: dict[str, str] = {
    AccountKind.ACQUIRER_RECEIVABLE: EntryDirection.DEBIT,
    AccountKind.SETTLEMENT_BANK: EntryDirection.DEBIT,
    AccountKind.LOSSES: EntryDirection.DEBIT,
    AccountKind.FEE_REVENUE: EntryDirection.CREDIT,
    AccountKind.MERCHANT_PENDING: EntryDirection.CREDIT,
    AccountKind.MERCHANT_AVAILABLE: EntryDirection.CREDIT,
    AccountKind.MERCHANT_REFUNDS_IN_TRANSIT: EntryDirection.CREDIT,
    AccountKind.MERCHANT_PAYOUTS_IN_TRANSIT: EntryDirection.CREDIT,
}


class PostingKind(models.TextChoices):
    PAYMENT_CAPTURE = "payment_capture", _("Payment capture")
    REFUND = "refund", _("Refund")
    REFUND_COMPLETION = "refund_completion", _("Refund completion")
    REFUND_REVERSAL = "refund_reversal", _("Refund reversal")
    ACQUIRER_SETTLEMENT = "acquirer_settlement", _("Acquirer settlement")
    MERCHANT_SETTLEMENT = "merchant_settlement", _("Merchant settlement")
    PAYOUT = "payout", _("Payout")
    PAYOUT_COMPLETION = "payout_completion", _("Payout completion")
    PAYOUT_REVERSAL = "payout_reversal", _("Payout reversal")
    FEE = "fee", _("Fee")
    ADJUSTMENT = "adjustment", _("Adjustment")
    REVERSAL = "reversal", _("Reversal")


# A posting that undoes another one has one of these kinds, and only such a posting does.
REVERSAL_POSTING_KINDS: frozenset[str] = frozenset(
    {PostingKind.REFUND_REVERSAL, PostingKind.PAYOUT_REVERSAL, PostingKind.REVERSAL}
)


class LedgerAccount(models.Model):
    """One account of the chart, for one currency (and one merchant for merchant kinds).

    Created lazily and never changed or deleted; its balance is derived from its entries.
    """

    kind = models.CharField(_("kind"), max_length=40, choices=AccountKind.choices)
    merchant = models.ForeignKey(
        "merchants.Merchant",
        verbose_name=_("merchant"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="ledger_accounts",
    )
    currency = models.CharField(_("currency"), max_length=3)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        db_table = "payments_ledger_account"
        verbose_name = _("ledger account")
        verbose_name_plural = _("ledger accounts")
        ordering = ("kind", "merchant_id", "currency")
        constraints: ClassVar = [
            # NULL merchants are distinct in a plain unique constraint: two partial ones.
            models.UniqueConstraint(
                fields=["kind", "merchant", "currency"],
                condition=models.Q(merchant__isnull=False),
                name="ledger_account_merchant_unique",
            ),
            models.UniqueConstraint(
                fields=["kind", "currency"],
                condition=models.Q(merchant__isnull=True),
                name="ledger_account_platform_unique",
            ),
            models.CheckConstraint(
                condition=(
                    models.Q(merchant__isnull=False, kind__in=sorted(MERCHANT_ACCOUNT_KINDS))
                    | models.Q(merchant__isnull=True, kind__in=sorted(PLATFORM_ACCOUNT_KINDS))
                ),
                name="ledger_account_kind_scope",
            ),
        ]

    def __str__(self) -> str:
        owner = f"merchant {self.merchant_id}" if self.merchant_id else "platform"
        return f"{self.kind} ({owner}, {self.currency})"

    @property
    def normal_side(self) -> str:
        """Return the direction in which this account's balance grows."""
        return NORMAL_SIDE[self.kind]


class LedgerPosting(models.Model):
    """The header of one balanced movement of money; its lines are `LedgerEntry` rows.

    `key` makes posting idempotent in the database: one key, one posting, ever.
    """

    key = models.CharField(_("idempotency key"), max_length=200)
    kind = models.CharField(_("kind"), max_length=40, choices=PostingKind.choices)
    # What caused the posting, as strings so that the ledger imports no higher model.
    source_type = models.CharField(_("source type"), max_length=64, blank=True)
    source_id = models.CharField(_("source id"), max_length=64, blank=True)
    reverses = models.OneToOneField(
        "self",
        verbose_name=_("reverses"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="reversed_by",
    )
    memo = models.CharField(_("memo"), max_length=300, blank=True)
    # Set by the database (transaction start on PostgreSQL, where a trigger refuses any
    # other value), so that no posting can be backdated under a balance checkpoint.
    created_at = models.DateTimeField(_("created"), db_default=Now(), db_index=True)

    class Meta:
        db_table = "payments_ledger_posting"
        verbose_name = _("ledger posting")
        verbose_name_plural = _("ledger postings")
        ordering = ("-created_at", "-id")
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["key"], name="ledger_posting_key_unique"),
            models.CheckConstraint(
                condition=(
                    models.Q(reverses__isnull=True)
                    & ~models.Q(kind__in=sorted(REVERSAL_POSTING_KINDS))
                )
                | (
                    models.Q(reverses__isnull=False)
                    & models.Q(kind__in=sorted(REVERSAL_POSTING_KINDS))
                ),
                name="ledger_posting_reversal_kind",
            ),
            models.CheckConstraint(
                condition=~models.Q(key=""), name="ledger_posting_key_not_empty"
            ),
        ]
        indexes: ClassVar = [
            models.Index(fields=["source_type", "source_id"], name="ledger_posting_source_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.key}"


class LedgerEntry(models.Model):
    """One line of a posting: a positive amount debited or credited to one account."""

    posting = models.ForeignKey(
        LedgerPosting, verbose_name=_("posting"), on_delete=models.PROTECT, related_name="entries"
    )
    account = models.ForeignKey(
        LedgerAccount, verbose_name=_("account"), on_delete=models.PROTECT, related_name="entries"
    )
    direction = models.CharField(_("direction"), max_length=6, choices=EntryDirection.choices)
    amount = models.BigIntegerField(_("amount (minor units)"))
    currency = models.CharField(_("currency"), max_length=3)
    # Copied from the posting (the same transaction timestamp) so that an account's entries
    # after a checkpoint are one index range scan.
    created_at = models.DateTimeField(_("created"), db_default=Now())

    class Meta:
        db_table = "payments_ledger_entry"
        verbose_name = _("ledger entry")
        verbose_name_plural = _("ledger entries")
        ordering = ("id",)
        constraints: ClassVar = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="ledger_entry_positive"),
            models.CheckConstraint(
                condition=models.Q(direction__in=EntryDirection.values),
                name="ledger_entry_direction_valid",
            ),
        ]
        indexes: ClassVar = [
            models.Index(fields=["account", "created_at"], name="ledger_entry_account_time_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.direction} {self.amount} {self.currency} -> account {self.account_id}"


class LedgerBalanceCheckpoint(models.Model):
    """The totals of one account's entries created before `cutoff`.

    Derived data: balance = checkpoint totals + entries at or after the cutoff. The nightly
    check recomputes the latest checkpoint of every account from the entries.
    """

    account = models.ForeignKey(LedgerAccount, on_delete=models.PROTECT, related_name="checkpoints")
    cutoff = models.DateTimeField(_("cutoff"))
    debit_total = models.BigIntegerField(_("debit total"))
    credit_total = models.BigIntegerField(_("credit total"))
    entry_count = models.BigIntegerField(_("entry count"))
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        db_table = "payments_ledger_checkpoint"
        verbose_name = _("balance checkpoint")
        verbose_name_plural = _("balance checkpoints")
        ordering = ("account_id", "-cutoff")
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["account", "cutoff"], name="ledger_checkpoint_account_cutoff_unique"
            ),
            models.CheckConstraint(
                condition=models.Q(debit_total__gte=0, credit_total__gte=0, entry_count__gte=0),
                name="ledger_checkpoint_totals_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"account {self.account_id} before {self.cutoff:%Y-%m-%d %H:%M:%S}"


class CheckStatus(models.TextChoices):
    PASSED = "passed", _("Passed")
    FAILED = "failed", _("Failed")


class LedgerCheckRun(models.Model):
    """The outcome of one run of the ledger check; a failed run alerts the administrators."""

    started_at = models.DateTimeField(_("started"), default=timezone.now, db_index=True)
    finished_at = models.DateTimeField(_("finished"))
    status = models.CharField(_("status"), max_length=10, choices=CheckStatus.choices)
    # NULL: the whole ledger was checked; otherwise postings created from this time on.
    checked_from = models.DateTimeField(_("checked from"), null=True, blank=True)
    posting_count = models.BigIntegerField(_("postings checked"), default=0)
    entry_count = models.BigIntegerField(_("entries checked"), default=0)
    account_count = models.BigIntegerField(_("accounts checked"), default=0)
    # [{"check": "...", ...facts...}], capped per check; empty when the run passed.
    problems = models.JSONField(_("problems"), default=list, blank=True)
    alerted_at = models.DateTimeField(_("alert sent"), null=True, blank=True)

    class Meta:
        db_table = "payments_ledger_check_run"
        verbose_name = _("ledger check run")
        verbose_name_plural = _("ledger check runs")
        ordering = ("-started_at", "-id")
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=models.Q(status__in=CheckStatus.values),
                name="ledger_check_run_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.started_at:%Y-%m-%d %H:%M} {self.status}"

    @property
    def is_passed(self) -> bool:
        return self.status == CheckStatus.PASSED
