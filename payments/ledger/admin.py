"""Read-only admin for the ledger: money is moved by services, never typed into a form.

Registered by `payments/admin.py`, which Django's admin autodiscovery imports.
"""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from payments.ledger.models import (
    LedgerAccount,
    LedgerBalanceCheckpoint,
    LedgerCheckRun,
    LedgerEntry,
    LedgerPosting,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class LedgerEntryInline(admin.TabularInline):
    model = LedgerEntry
    fields = ("account", "direction", "amount", "currency")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(LedgerAccount)
class LedgerAccountAdmin(ReadOnlyAdmin):
    list_display = ("id", "kind", "merchant", "currency", "created_at")
    list_filter = ("kind", "currency")
    search_fields = ("merchant__name",)
    list_select_related = ("merchant",)


@admin.register(LedgerPosting)
class LedgerPostingAdmin(ReadOnlyAdmin):
    list_display = ("id", "key", "kind", "source_type", "source_id", "created_at")
    list_filter = ("kind",)
    search_fields = ("=key", "=source_id")
    inlines = (LedgerEntryInline,)


@admin.register(LedgerBalanceCheckpoint)
class LedgerBalanceCheckpointAdmin(ReadOnlyAdmin):
    list_display = ("account", "cutoff", "debit_total", "credit_total", "entry_count")
    list_select_related = ("account",)


@admin.register(LedgerCheckRun)
class LedgerCheckRunAdmin(ReadOnlyAdmin):
    list_display = ("started_at", "status", "posting_count", "account_count", "alerted_at")
    list_filter = ("status",)
