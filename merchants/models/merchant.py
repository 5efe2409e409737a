"""The merchant and its lifecycle state machine."""

import uuid
from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class MerchantStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Submitted")
    UNDER_REVIEW = "under_review", _("Under review")
    NEEDS_INFORMATION = "needs_information", _("Needs information")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    SUSPENDED = "suspended", _("Suspended")


# The allowed moves; every transition service checks against this table under a row lock.
MERCHANT_TRANSITIONS: dict[str, frozenset[str]] = {
    MerchantStatus.DRAFT: frozenset({MerchantStatus.SUBMITTED}),
    MerchantStatus.SUBMITTED: frozenset({MerchantStatus.UNDER_REVIEW}),
    MerchantStatus.UNDER_REVIEW: frozenset(
        {MerchantStatus.APPROVED, MerchantStatus.REJECTED, MerchantStatus.NEEDS_INFORMATION}
    ),
    MerchantStatus.NEEDS_INFORMATION: frozenset({MerchantStatus.SUBMITTED}),
    MerchantStatus.APPROVED: frozenset({MerchantStatus.SUSPENDED}),
    MerchantStatus.SUSPENDED: frozenset({MerchantStatus.APPROVED}),
    MerchantStatus.REJECTED: frozenset(),
}


class Merchant(models.Model):
    """A business that takes payments through Paydesk."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(_("name"), max_length=200)
    status = models.CharField(
        _("status"), max_length=32, choices=MerchantStatus.choices, default=MerchantStatus.DRAFT
    )
    status_reason = models.TextField(_("status reason"), blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    approved_at = models.DateTimeField(_("approved"), null=True, blank=True)

    members: models.ManyToManyField = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="merchants.MerchantMembership", related_name="merchants"
    )

    class Meta:
        verbose_name = _("merchant")
        verbose_name_plural = _("merchants")
        ordering = ("name",)
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=models.Q(status__in=MerchantStatus.values), name="merchant_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_live(self) -> bool:
        return self.status == MerchantStatus.APPROVED


class MerchantEvent(models.Model):
    """One status transition of a merchant: the merchant's timeline."""

    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="events")
    occurred_at = models.DateTimeField(default=timezone.now)
    from_status = models.CharField(max_length=32, blank=True)
    to_status = models.CharField(max_length=32)
    reason = models.TextField(blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ("occurred_at", "id")

    def __str__(self) -> str:
        return f"{self.merchant_id}: {self.from_status or '-'} -> {self.to_status}"
