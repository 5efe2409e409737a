"""What proves a payer's confirmation, and every attempt to confirm (the funnel).

Fields and constraints only; the writes are in payments/confirmation/services.py and
funnel.py. Both tables are append-mostly: evidence is never edited, an attempt only
moves once from "started" to a final stage.
"""

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class VerificationMethod(models.TextChoices):
    PASSKEY = "passkey", _("Passkey")
    PASSKEY_REGISTRATION = "passkey_registration", _("Passkey creation")
    EMAIL_CODE = "email_code", _("Email code")


class VerificationStage(models.TextChoices):
    STARTED = "started", _("Started")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")
    ABANDONED = "abandoned", _("Abandoned")


# The methods that confirm a payment (a passkey creation only prepares one).
CONFIRMING_METHODS: frozenset[str] = frozenset(
    {VerificationMethod.PASSKEY, VerificationMethod.EMAIL_CODE}
)


class VerificationAttempt(models.Model):
    """One ceremony the payer started at checkout: a passkey prompt, a passkey creation,
    or an emailed code. It ends once: succeeded, failed (with a code) or abandoned."""

    payment = models.ForeignKey(
        "payments.Payment",
        verbose_name=_("payment"),
        on_delete=models.CASCADE,
        related_name="verification_attempts",
    )
    # Kept when the payer's account goes: the funnel is about payments, not people.
    payer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("payer"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    method = models.CharField(_("method"), max_length=32, choices=VerificationMethod.choices)
    stage = models.CharField(
        _("stage"),
        max_length=16,
        choices=VerificationStage.choices,
        default=VerificationStage.STARTED,
    )
    failure_code = models.CharField(_("failure code"), max_length=64, blank=True)
    started_at = models.DateTimeField(_("started"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        verbose_name = _("verification attempt")
        verbose_name_plural = _("verification attempts")
        ordering = ("started_at", "id")
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=Q(method__in=VerificationMethod.values),
                name="verification_attempt_method_valid",
            ),
            models.CheckConstraint(
                condition=Q(stage__in=VerificationStage.values),
                name="verification_attempt_stage_valid",
            ),
            # Open while started; closed (with a time) once it reached any other stage.
            models.CheckConstraint(
                condition=(Q(stage="started") & Q(finished_at__isnull=True))
                | (~Q(stage="started") & Q(finished_at__isnull=False)),
                name="verification_attempt_finished_iff_closed",
            ),
            models.CheckConstraint(
                condition=Q(stage="failed") | Q(failure_code=""),
                name="verification_attempt_failure_code_only_when_failed",
            ),
        ]
        indexes: ClassVar = [
            models.Index(fields=["started_at"], name="verification_attempt_period"),
            # The janitor reads only the open attempts.
            models.Index(
                fields=["started_at"],
                condition=Q(stage="started"),
                name="verification_attempt_open",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.method} {self.stage} ({self.payment_id})"


class PaymentConfirmationEvidence(models.Model):
    """What proved the payer's confirmation of one payment, kept for disputes.

    Written in the transaction that confirms the payment, so it exists if and only if the
    payment was confirmed. A passkey is strong customer authentication (possession and
    biometrics or PIN, bound to the amount and payee); an email code is not.
    """

    payment = models.OneToOneField(
        "payments.Payment",
        verbose_name=_("payment"),
        on_delete=models.CASCADE,
        related_name="confirmation_evidence",
    )
    method = models.CharField(_("method"), max_length=32, choices=VerificationMethod.choices)
    is_strong_authentication = models.BooleanField(_("strong customer authentication"))
    payer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("payer"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    # No foreign key to the passkey: the evidence outlives a passkey the payer removes.
    credential_id = models.CharField(_("passkey credential id"), max_length=1400, blank=True)
    sign_count = models.PositiveBigIntegerField(_("signature counter"), null=True, blank=True)
    user_verified = models.BooleanField(_("user verified"), default=False)
    # SHA-256 (hex) of the bound data: payment id, amount, currency and payee.
    bound_digest = models.CharField(_("bound data digest"), max_length=64)
    verified_at = models.DateTimeField(_("verified"))
    details = models.JSONField(_("details"), default=dict, blank=True)
    created_at = models.DateTimeField(_("recorded"), default=timezone.now)

    class Meta:
        verbose_name = _("payment confirmation evidence")
        verbose_name_plural = _("payment confirmation evidence")
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=Q(method__in=sorted(CONFIRMING_METHODS)),
                name="confirmation_evidence_method_confirms",
            ),
            # Only a user-verified passkey counts as SCA; an email code never does.
            models.CheckConstraint(
                condition=(
                    Q(method="passkey", is_strong_authentication=True, user_verified=True)
                    & ~Q(credential_id="")
                )
                | Q(method="email_code", is_strong_authentication=False),
                name="confirmation_evidence_strength_matches_method",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.method} evidence for payment {self.payment_id}"
