"""Webhook events (the outbox), their deliveries to endpoints and every delivery attempt."""

import json
import secrets
from typing import ClassVar

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from merchants.models import ApiMode

EVENT_ID_PREFIX = "evt_"
RESPONSE_EXCERPT_MAX_CHARS = 1024
ERROR_MAX_CHARS = 500


def event_public_id_new() -> str:
    """Return a new public event id: "evt_" and 24 random URL-safe characters."""
    return EVENT_ID_PREFIX + secrets.token_urlsafe(18)


class WebhookEvent(models.Model):
    """One thing that happened to a merchant's object, written in the same transaction.

    `payload` is the whole body sent to endpoints ({"id", "type", "created", "mode",
    "data"}); it is never edited, so every delivery and retry sends the same bytes.
    """

    public_id = models.CharField(
        _("event id"), max_length=40, unique=True, default=event_public_id_new, editable=False
    )
    merchant = models.ForeignKey(
        "merchants.Merchant", on_delete=models.PROTECT, related_name="webhook_events"
    )
    mode = models.CharField(_("mode"), max_length=8, choices=ApiMode.choices)
    type = models.CharField(_("type"), max_length=64)
    payload = models.JSONField(_("payload"))
    # Lets a caller publish "at most once" per business fact (e.g. "payment:42:succeeded").
    idempotency_key = models.CharField(max_length=255, blank=True, default="")
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("webhook event")
        verbose_name_plural = _("webhook events")
        ordering = ("-created_at", "-id")
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["merchant", "idempotency_key"],
                condition=~models.Q(idempotency_key=""),
                name="webhookevent_idempotency_key",
            ),
            models.CheckConstraint(
                condition=models.Q(mode__in=ApiMode.values), name="webhookevent_mode"
            ),
        ]
        indexes: ClassVar = [
            models.Index(fields=["merchant", "mode", "-created_at"], name="webhookevent_list"),
        ]

    def __str__(self) -> str:
        return f"{self.public_id} {self.type}"

    @property
    def payload_pretty(self) -> str:
        """The payload as indented JSON, for people (deliveries send the compact form)."""
        return json.dumps(self.payload, indent=2, ensure_ascii=False, sort_keys=True)


class DeliveryStatus(models.TextChoices):
    # pending: no attempt yet (or a manual redelivery is queued);
    # failed: the last attempt failed and a retry is scheduled at next_attempt_at;
    # succeeded: an endpoint answered 2xx; abandoned: no more automatic attempts.
    PENDING = "pending", _("Pending")
    FAILED = "failed", _("Failed, will retry")
    SUCCEEDED = "succeeded", _("Succeeded")
    ABANDONED = "abandoned", _("Abandoned")


# Statuses whose delivery is still to be attempted at next_attempt_at.
OPEN_STATUSES = (DeliveryStatus.PENDING, DeliveryStatus.FAILED)


class WebhookDelivery(models.Model):
    """The sending of one event to one endpoint, across all its attempts."""

    event = models.ForeignKey(WebhookEvent, on_delete=models.CASCADE, related_name="deliveries")
    # SET_NULL: deleting an endpoint must not erase the record of what was sent to it.
    endpoint = models.ForeignKey(
        "merchants.WebhookEndpoint",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="webhook_deliveries",
    )
    url = models.URLField(_("URL"), max_length=2048)
    status = models.CharField(
        _("status"), max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempt_count = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    last_attempt_at = models.DateTimeField(_("last attempt"), null=True, blank=True)
    # A worker that is sending holds the delivery until then: a duplicate task stays away.
    leased_until = models.DateTimeField(null=True, blank=True)
    # When a task was last queued for it: the sweep leaves it alone for a while after that.
    queued_at = models.DateTimeField(null=True, blank=True)
    # Set by a manual redelivery until its attempt is made (that attempt is marked manual).
    redelivery_requested_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    completed_at = models.DateTimeField(_("completed"), null=True, blank=True)

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        ordering = ("-created_at", "-id")
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["event", "endpoint"], name="webhookdelivery_unique"),
            models.CheckConstraint(
                condition=models.Q(status__in=DeliveryStatus.values), name="webhookdelivery_status"
            ),
        ]
        indexes: ClassVar = [
            # The sweep: open deliveries that are due.
            models.Index(
                fields=["next_attempt_at"],
                condition=models.Q(status__in=["pending", "failed"]),
                name="webhookdelivery_due",
            ),
        ]

    def __str__(self) -> str:
        return f"delivery #{self.pk} of {self.event_id} to {self.url}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


class WebhookAttempt(models.Model):
    """One HTTP request of a delivery and what came back (or the error)."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempts")
    # Denormalised so that an endpoint's health is one indexed query.
    endpoint = models.ForeignKey(
        "merchants.WebhookEndpoint",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    number = models.PositiveIntegerField(_("attempt"))
    is_manual = models.BooleanField(_("manual redelivery"), default=False)
    started_at = models.DateTimeField(_("started"))
    duration_ms = models.PositiveIntegerField(_("duration (ms)"))
    is_success = models.BooleanField(_("succeeded"))
    response_status = models.PositiveSmallIntegerField(_("response status"), null=True, blank=True)
    response_excerpt = models.TextField(_("response excerpt"), blank=True)
    error = models.CharField(_("error"), max_length=ERROR_MAX_CHARS, blank=True)

    class Meta:
        verbose_name = _("webhook attempt")
        verbose_name_plural = _("webhook attempts")
        ordering = ("delivery", "number", "id")
        indexes: ClassVar = [
            models.Index(
                fields=["endpoint", "is_success", "started_at"], name="webhookattempt_health"
            ),
        ]

    def __str__(self) -> str:
        return f"attempt {self.number} of delivery #{self.delivery_id}"
