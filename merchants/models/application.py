"""The merchant's onboarding application, its KYC documents and the reviewers' decisions."""

import uuid
from pathlib import PurePath
from typing import Any, ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from merchants.catalogues import Bank, MerchantCategory
from merchants.models.merchant import Merchant, MerchantStatus
from merchants.validators import mask_account_number

# Statuses in which the owner may change the application; every other status locks it.
EDITABLE_STATUSES = frozenset({MerchantStatus.DRAFT, MerchantStatus.NEEDS_INFORMATION})


def second_review_threshold() -> int:
    """Return the monthly volume (fen) above which approval needs a second reviewer."""
    return int(getattr(settings, "KYC_SECOND_REVIEW_THRESHOLD", 500_000_000))


class MerchantApplication(models.Model):
    """What the merchant told us about itself; one per merchant, edited until submitted."""

    merchant = models.OneToOneField(
        Merchant, on_delete=models.CASCADE, related_name="application", verbose_name=_("merchant")
    )
    # Business
    legal_name = models.CharField(_("legal name"), max_length=200, blank=True)
    credit_code = models.CharField(
        _("unified social credit code"), max_length=18, blank=True, db_index=True
    )
    mcc = models.CharField(
        _("business category"), max_length=4, choices=MerchantCategory.choices, blank=True
    )
    website = models.URLField(_("website"), max_length=200, blank=True)
    expected_monthly_volume = models.BigIntegerField(
        _("expected monthly volume"), null=True, blank=True, help_text=_("In minor units (fen).")
    )
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    # Legal representative and contact
    representative_name = models.CharField(_("legal representative"), max_length=100, blank=True)
    representative_id_number = models.CharField(
        _("representative's identity card number"), max_length=18, blank=True
    )
    contact_name = models.CharField(_("contact name"), max_length=100, blank=True)
    contact_email = models.EmailField(_("contact email"), blank=True)
    contact_phone = models.CharField(_("contact phone"), max_length=20, blank=True)
    # Settlement account (a bank account, not a card: stored, shown masked outside review)
    bank_account_name = models.CharField(_("account name"), max_length=200, blank=True)
    bank_code = models.CharField(_("bank"), max_length=8, choices=Bank.choices, blank=True)
    bank_branch = models.CharField(_("branch"), max_length=200, blank=True)
    bank_account_number = models.CharField(_("account number"), max_length=30, blank=True)
    # Review state (the status itself lives on the merchant)
    review_round = models.PositiveIntegerField(
        _("review round"), default=0, help_text=_("How many times the application was submitted.")
    )
    information_request = models.TextField(_("information requested"), blank=True)
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reviewer"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    submitted_at = models.DateTimeField(_("submitted"), null=True, blank=True, db_index=True)
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("merchant application")
        verbose_name_plural = _("merchant applications")
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=models.Q(expected_monthly_volume__isnull=True)
                | models.Q(expected_monthly_volume__gt=0),
                name="application_volume_positive",
            ),
        ]

    def __str__(self) -> str:
        return self.legal_name or str(self.merchant)

    @property
    def is_editable(self) -> bool:
        return self.merchant.status in EDITABLE_STATUSES

    @property
    def needs_second_review(self) -> bool:
        volume = self.expected_monthly_volume or 0
        return volume > second_review_threshold()

    @property
    def masked_account_number(self) -> str:
        return mask_account_number(self.bank_account_number)


class DocumentKind(models.TextChoices):
    BUSINESS_LICENCE = "business_licence", _("Business licence")
    REPRESENTATIVE_ID = "representative_id", _("Legal representative's ID")
    BANK_PROOF = "bank_proof", _("Bank account opening permit")
    OTHER = "other", _("Other")


# Every application needs these before it can be submitted.
REQUIRED_DOCUMENT_KINDS: tuple[str, ...] = (
    DocumentKind.BUSINESS_LICENCE,
    DocumentKind.REPRESENTATIVE_ID,
)


def document_upload_to(instance: "ApplicationDocument", filename: str) -> str:
    """Store under MEDIA_ROOT/kyc/<merchant>/ with a random name: MEDIA_ROOT is never served."""
    extension = PurePath(filename).suffix.lower()[:8]
    merchant = instance.application.merchant
    return f"kyc/{merchant.public_id}/{uuid.uuid4().hex}{extension}"


class ApplicationDocument(models.Model):
    """One uploaded KYC document; readable only through the protected download view."""

    application = models.ForeignKey(
        MerchantApplication, on_delete=models.CASCADE, related_name="documents"
    )
    kind = models.CharField(_("document"), max_length=32, choices=DocumentKind.choices)
    file = models.FileField(_("file"), upload_to=document_upload_to, max_length=200)
    original_name = models.CharField(_("file name"), max_length=255)
    content_type = models.CharField(_("content type"), max_length=64)
    size = models.PositiveBigIntegerField(_("size"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    uploaded_at = models.DateTimeField(_("uploaded"), default=timezone.now)

    class Meta:
        verbose_name = _("application document")
        verbose_name_plural = _("application documents")
        ordering = ("kind", "uploaded_at", "id")

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.original_name}"

    def audit_data(self) -> dict[str, Any]:
        """Return the JSON-safe facts the audit log keeps about this document."""
        return {
            "kind": self.kind,
            "name": self.original_name,
            "content_type": self.content_type,
            "size": self.size,
            "sha256": self.sha256,
        }


class KycDecision(models.TextChoices):
    REVIEW_STARTED = "review_started", _("Review started")
    FIRST_APPROVAL = "first_approval", _("First approval")
    APPROVAL = "approval", _("Approved")
    REJECTION = "rejection", _("Rejected")
    INFORMATION_REQUEST = "information_request", _("More information requested")


class KycReview(models.Model):
    """One reviewer's step on an application, in the round (submission) it belongs to."""

    application = models.ForeignKey(
        MerchantApplication, on_delete=models.CASCADE, related_name="reviews"
    )
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reviewer"),
        on_delete=models.PROTECT,
        related_name="kyc_reviews",
    )
    decision = models.CharField(_("decision"), max_length=32, choices=KycDecision.choices)
    reason = models.TextField(_("reason"), blank=True)
    round = models.PositiveIntegerField(_("review round"))
    created_at = models.DateTimeField(_("time"), default=timezone.now)

    class Meta:
        verbose_name = _("KYC review")
        verbose_name_plural = _("KYC reviews")
        ordering = ("created_at", "id")
        constraints: ClassVar = [
            # Maker-checker: one first approval per round, so a retry cannot record two.
            models.UniqueConstraint(
                fields=["application", "round"],
                condition=models.Q(decision="first_approval"),
                name="kyc_one_first_approval_per_round",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.application_id} r{self.round}: {self.decision}"
