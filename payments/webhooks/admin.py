"""Read-only admin for webhook events and deliveries: support can look, services act.

Registered by `payments/admin.py`, which Django's admin autodiscovery imports.
"""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from payments.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEvent


class _ReadOnly:
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class WebhookDeliveryInline(_ReadOnly, admin.TabularInline):
    model = WebhookDelivery
    fields = ("url", "status", "attempt_count", "next_attempt_at", "last_attempt_at")
    readonly_fields = fields
    extra = 0


class WebhookAttemptInline(_ReadOnly, admin.TabularInline):
    model = WebhookAttempt
    fields = (
        "number",
        "is_manual",
        "started_at",
        "duration_ms",
        "response_status",
        "error",
        "response_excerpt",
    )
    readonly_fields = fields
    extra = 0


@admin.register(WebhookEvent)
class WebhookEventAdmin(_ReadOnly, admin.ModelAdmin):
    list_display = ("public_id", "type", "merchant", "mode", "created_at")
    list_filter = ("type", "mode")
    search_fields = ("public_id", "merchant__name")
    list_select_related = ("merchant",)
    readonly_fields = ("public_id", "merchant", "mode", "type", "payload", "created_at")
    exclude = ("idempotency_key",)
    inlines = (WebhookDeliveryInline,)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(_ReadOnly, admin.ModelAdmin):
    list_display = ("event", "url", "status", "attempt_count", "next_attempt_at")
    list_filter = ("status",)
    search_fields = ("event__public_id", "url")
    list_select_related = ("event",)
    readonly_fields = (
        "event",
        "endpoint",
        "url",
        "status",
        "attempt_count",
        "next_attempt_at",
        "last_attempt_at",
        "leased_until",
        "queued_at",
        "redelivery_requested_at",
        "created_at",
        "completed_at",
    )
    inlines = (WebhookAttemptInline,)
