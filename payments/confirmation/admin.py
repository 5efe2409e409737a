"""Read-only admin of confirmation evidence and verification attempts (the funnel).

Registered by `payments/admin.py`. Both are records of what happened: never edited here.
"""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from payments.confirmation.models import PaymentConfirmationEvidence, VerificationAttempt


class _ReadOnly:
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(PaymentConfirmationEvidence)
class PaymentConfirmationEvidenceAdmin(_ReadOnly, admin.ModelAdmin):
    list_display = ("payment", "method", "is_strong_authentication", "payer", "verified_at")
    list_filter = ("method", "is_strong_authentication")
    search_fields = ("payment__public_id", "credential_id")
    list_select_related = ("payment", "payer")
    readonly_fields = [f.name for f in PaymentConfirmationEvidence._meta.fields]
    show_full_result_count = False


@admin.register(VerificationAttempt)
class VerificationAttemptAdmin(_ReadOnly, admin.ModelAdmin):
    list_display = ("payment", "method", "stage", "failure_code", "payer", "started_at")
    list_filter = ("method", "stage")
    search_fields = ("payment__public_id", "failure_code")
    list_select_related = ("payment", "payer")
    readonly_fields = [f.name for f in VerificationAttempt._meta.fields]
    show_full_result_count = False
