"""A merchant's team: who belongs to it, with which team role."""

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class TeamRole(models.TextChoices):
    OWNER = "owner", _("Owner")
    ADMIN = "admin", _("Admin")
    DEVELOPER = "developer", _("Developer")
    FINANCE = "finance", _("Finance")
    SUPPORT = "support", _("Support")
    READ_ONLY = "read_only", _("Read-only")


class MerchantMembership(models.Model):
    merchant = models.ForeignKey(
        "merchants.Merchant", on_delete=models.CASCADE, related_name="memberships"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(_("team role"), max_length=16, choices=TeamRole.choices)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("team member")
        verbose_name_plural = _("team members")
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["merchant", "user"], name="membership_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.merchant} ({self.role})"
