"""Read-only admin of refunds: money and status change through services, never a form.

The one action, retrying refunds in manual review, calls `refund_retry` as the signed-in
user (who needs the right to resolve manual review).
"""

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from accounts.http import AuthenticatedRequest
from config.errors import ApplicationError
from refunds.models import Refund, RefundEvent, RefundPolicy, RefundStatus
from refunds.services import refund_retry


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class RefundEventInline(admin.TabularInline):
    model = RefundEvent
    fields = (
        "occurred_at",
        "from_status",
        "to_status",
        "reason",
        "actor_type",
        "actor",
        "actor_label",
    )
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Refund)
class RefundAdmin(ReadOnlyAdmin):
    list_display = (
        "public_id",
        "merchant",
        "mode",
        "status",
        "amount",
        "currency",
        "reason",
        "is_delayed",
        "created_at",
    )
    list_filter = ("status", "mode", "is_delayed", "reason", "requested_via")
    search_fields = ("=public_id", "=payment__public_id", "merchant__name")
    list_select_related = ("merchant",)
    inlines = (RefundEventInline,)
    actions = ("retry_manual_review",)

    @admin.action(description=_("Retry the selected refunds in manual review"))
    def retry_manual_review(
        self, request: AuthenticatedRequest, queryset: QuerySet[Refund]
    ) -> None:
        retried = 0
        for refund in queryset.filter(status=RefundStatus.MANUAL_REVIEW):
            try:
                refund_retry(refund=refund, actor=request.user, request=request)
            except ApplicationError as error:
                self.message_user(request, f"{refund.public_id}: {error.message}", messages.ERROR)
            else:
                retried += 1
        self.message_user(
            request, _("%(count)d refunds sent again.") % {"count": retried}, messages.SUCCESS
        )


@admin.register(RefundPolicy)
class RefundPolicyAdmin(ReadOnlyAdmin):
    list_display = ("merchant", "approval_threshold", "updated_at", "updated_by")
    search_fields = ("merchant__name",)
    list_select_related = ("merchant", "updated_by")
