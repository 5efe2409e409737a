"""Webhook endpoints: where Paydesk sends a merchant's events, and the secrets that sign them."""

import uuid
from datetime import datetime
from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from merchants.models.api_keys import ApiMode


class WebhookEventType(models.TextChoices):
    """The catalogue of events an endpoint can subscribe to."""

    PAYMENT_SUCCEEDED = "payment.succeeded", _("Payment succeeded")
    PAYMENT_FAILED = "payment.failed", _("Payment failed")
    PAYMENT_CANCELED = "payment.canceled", _("Payment canceled")
    PAYMENT_EXPIRED = "payment.expired", _("Payment expired")
    REFUND_CREATED = "refund.created", _("Refund created")
    REFUND_SUCCEEDED = "refund.succeeded", _("Refund succeeded")
    REFUND_FAILED = "refund.failed", _("Refund failed")


class WebhookEndpoint(models.Model):
    """An HTTPS URL of a merchant, in test or live mode, with the event types it wants."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    merchant = models.ForeignKey(
        "merchants.Merchant", on_delete=models.CASCADE, related_name="webhook_endpoints"
    )
    mode = models.CharField(_("mode"), max_length=8, choices=ApiMode.choices)
    url = models.URLField(_("URL"), max_length=2048)
    description = models.CharField(_("description"), max_length=200, blank=True)
    # A JSON list of WebhookEventType values (JSON, not ArrayField: local dev runs on SQLite).
    events = models.JSONField(_("events"), default=list)
    is_enabled = models.BooleanField(_("enabled"), default=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")
        ordering = ("-created_at", "-id")
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=models.Q(mode__in=ApiMode.values), name="webhookendpoint_mode"
            ),
        ]

    def __str__(self) -> str:
        return self.url

    def wants(self, event_type: str) -> bool:
        """Return whether this endpoint subscribes to `event_type`."""
        return self.is_enabled and event_type in self.events


class WebhookSecret(models.Model):
    """One signing secret of an endpoint, encrypted at rest (see merchants.crypto).

    A rotation adds a new row and gives the old one an `expires_at`: until then both sign,
    so receivers can switch without losing events. Rows are never edited otherwise.
    """

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="secrets")
    secret_encrypted = models.TextField(editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at", "-id")
        indexes = [models.Index(fields=["endpoint", "expires_at"])]

    def __str__(self) -> str:
        return f"secret #{self.pk} of endpoint {self.endpoint_id}"

    def is_valid_at(self, moment: datetime | None = None) -> bool:
        """Return whether the secret still signs at `moment` (default now)."""
        now = moment or timezone.now()
        return self.expires_at is None or self.expires_at > now
