"""Read-only admin of payments and their timelines: staff look, services act.

Registered by `payments/admin.py`. Money, status and timestamps are never edited here: a
status changes only through the transition services (payments.services).
"""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from payments.domain.models import Payment, PaymentEvent


class _ReadOnly:
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class PaymentEventInline(_ReadOnly, admin.TabularInline):
    model = PaymentEvent
    fields = ("occurred_at", "from_status", "to_status", "reason", "actor_type", "actor_label")
    readonly_fields = fields
    extra = 0


@admin.register(Payment)
class PaymentAdmin(_ReadOnly, admin.ModelAdmin):
    list_display = (
        "public_id",
        "merchant",
        "mode",
        "status",
        "amount",
        "currency",
        "channel",
        "created_at",
    )
    list_filter = ("status", "mode", "channel", "region_group")
    search_fields = ("public_id", "merchant_order_id", "acquirer_reference")
    list_select_related = ("merchant",)
    # The checkout token and the payer's token are keys to the payment: never shown.
    exclude = ("checkout_token", "payer_token")
    inlines = (PaymentEventInline,)
    show_full_result_count = False  # no COUNT(*) over millions of rows on every page

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [f.name for f in Payment._meta.fields if f.name not in self.exclude]
