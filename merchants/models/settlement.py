"""Settlement terms: cycle, fee rates and minimum payout, as versioned rows.

A change never edits a row: it adds a version that takes effect from the next settlement
date, so a settlement run always knows which terms applied on its day
(`merchants.selectors.settlement.settlement_terms_effective`).
"""

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class SettlementCycle(models.TextChoices):
    T1 = "T+1", _("T+1 (next day)")
    T0 = "T+0", _("T+0 (same day)")


class FeeGroup(models.TextChoices):
    """Channels are priced in groups; wallets are Alipay and WeChat Pay."""

    WALLET = "wallet", _("Mobile wallets")
    BANK_CARD = "bank_card", _("Bank card")
    OTHER = "other", _("Other")


# Payment channel -> fee group. A channel not listed is priced as "other".
CHANNEL_FEE_GROUPS: dict[str, str] = {
    "alipay": FeeGroup.WALLET,
    "wechat_pay": FeeGroup.WALLET,
    "bank_card": FeeGroup.BANK_CARD,
}

DEFAULT_FEE_BPS: dict[str, int] = {
    FeeGroup.WALLET: 60,
    FeeGroup.BANK_CARD: 55,
    FeeGroup.OTHER: 80,
}
DEFAULT_MINIMUM_PAYOUT = 100_00  # fen: 100.00 CNY
MAX_FEE_BPS = 1_000  # 10%: anything above is a typo, not a price


class SettlementTerms(models.Model):
    """One version of a merchant's settlement terms, effective from a settlement date."""

    merchant = models.ForeignKey(
        "merchants.Merchant", on_delete=models.CASCADE, related_name="settlement_terms"
    )
    version = models.PositiveIntegerField(_("version"))
    effective_from = models.DateField(_("effective from"))
    cycle = models.CharField(
        _("settlement cycle"),
        max_length=4,
        choices=SettlementCycle.choices,
        default=SettlementCycle.T1,
    )
    wallet_fee_bps = models.PositiveIntegerField(
        _("wallet fee (basis points)"), default=DEFAULT_FEE_BPS[FeeGroup.WALLET]
    )
    bank_card_fee_bps = models.PositiveIntegerField(
        _("bank card fee (basis points)"), default=DEFAULT_FEE_BPS[FeeGroup.BANK_CARD]
    )
    other_fee_bps = models.PositiveIntegerField(
        _("other channels fee (basis points)"), default=DEFAULT_FEE_BPS[FeeGroup.OTHER]
    )
    minimum_payout_amount = models.BigIntegerField(
        _("minimum payout (fen)"), default=DEFAULT_MINIMUM_PAYOUT
    )
    currency = models.CharField(max_length=3, default="CNY")
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = _("settlement terms")
        verbose_name_plural = _("settlement terms")
        ordering = ("-effective_from", "-version")
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["merchant", "version"], name="terms_version_unique"),
            models.CheckConstraint(
                condition=models.Q(cycle__in=SettlementCycle.values), name="terms_cycle_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(minimum_payout_amount__gte=0), name="terms_min_payout_gte_0"
            ),
            models.CheckConstraint(
                condition=models.Q(wallet_fee_bps__lte=MAX_FEE_BPS)
                & models.Q(bank_card_fee_bps__lte=MAX_FEE_BPS)
                & models.Q(other_fee_bps__lte=MAX_FEE_BPS),
                name="terms_fee_bps_max",
            ),
        ]
        indexes = [models.Index(fields=["merchant", "effective_from", "version"])]

    def __str__(self) -> str:
        return f"{self.merchant_id} v{self.version} from {self.effective_from}"

    def fee_bps_for_channel(self, channel: str) -> int:
        """Return the fee rate, in basis points, for a payment channel such as "alipay"."""
        group = CHANNEL_FEE_GROUPS.get(channel, FeeGroup.OTHER)
        if group == FeeGroup.WALLET:
            return self.wallet_fee_bps
        if group == FeeGroup.BANK_CARD:
            return self.bank_card_fee_bps
        return self.other_fee_bps

    @property
    def fee_rows(self) -> list[dict[str, object]]:
        """The fee rates for display: group label, basis points and percent ("0.60%")."""
        rates = (
            (FeeGroup.WALLET, self.wallet_fee_bps),
            (FeeGroup.BANK_CARD, self.bank_card_fee_bps),
            (FeeGroup.OTHER, self.other_fee_bps),
        )
        return [
            {"group": group, "label": group.label, "bps": bps, "percent": f"{bps / 100:.2f}%"}
            for group, bps in rates
        ]

    def as_audit_dict(self) -> dict[str, object]:
        return {
            "version": self.version,
            "effective_from": self.effective_from.isoformat() if self.effective_from else None,
            "cycle": self.cycle,
            "wallet_fee_bps": self.wallet_fee_bps,
            "bank_card_fee_bps": self.bank_card_fee_bps,
            "other_fee_bps": self.other_fee_bps,
            "minimum_payout_amount": self.minimum_payout_amount,
        }


class CycleRequestStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class SettlementCycleRequest(models.Model):
    """A merchant's request for a faster settlement cycle (T+0), decided by finance."""

    merchant = models.ForeignKey(
        "merchants.Merchant", on_delete=models.CASCADE, related_name="settlement_cycle_requests"
    )
    requested_cycle = models.CharField(
        _("requested cycle"), max_length=4, choices=SettlementCycle.choices
    )
    note = models.CharField(_("note"), max_length=500, blank=True)
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=CycleRequestStatus.choices,
        default=CycleRequestStatus.PENDING,
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField(_("requested"), default=timezone.now)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    decision_reason = models.CharField(_("decision reason"), max_length=500, blank=True)
    resulting_terms = models.ForeignKey(
        SettlementTerms, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = _("settlement cycle request")
        verbose_name_plural = _("settlement cycle requests")
        ordering = ("requested_at", "id")
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["merchant"],
                condition=models.Q(status="pending"),
                name="cycle_request_one_pending",
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=CycleRequestStatus.values),
                name="cycle_request_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.merchant_id} -> {self.requested_cycle} ({self.status})"
