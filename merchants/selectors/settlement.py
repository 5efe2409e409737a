"""Reads of settlement terms: which terms apply on a day, their history, T+0 requests."""

import datetime

from django.db.models import QuerySet
from django.utils import timezone

from merchants.models import (
    CycleRequestStatus,
    Merchant,
    SettlementCycleRequest,
    SettlementTerms,
)


def settlement_terms_default(merchant: Merchant) -> SettlementTerms:
    """Return the platform's default terms for a merchant that has no version yet (unsaved)."""
    return SettlementTerms(
        merchant=merchant,
        version=0,
        effective_from=timezone.localdate(merchant.created_at),
    )


def settlement_terms_effective(merchant: Merchant, on_date: datetime.date) -> SettlementTerms:
    """Return the terms that apply to `merchant`'s settlement of `on_date`.

    That is the newest version whose `effective_from` is on or before the date; the
    platform defaults (version 0, unsaved) when there is none.
    """
    terms = (
        SettlementTerms.objects.filter(merchant=merchant, effective_from__lte=on_date)
        .order_by("-effective_from", "-version")
        .first()
    )
    return terms or settlement_terms_default(merchant)


def settlement_terms_latest(merchant: Merchant) -> SettlementTerms:
    """Return the most recent version, even one that only takes effect later."""
    terms = SettlementTerms.objects.filter(merchant=merchant).order_by("-version").first()
    return terms or settlement_terms_default(merchant)


def settlement_terms_history(merchant: Merchant) -> QuerySet[SettlementTerms]:
    """Return every version of the merchant's terms, newest first."""
    return (
        SettlementTerms.objects.filter(merchant=merchant)
        .select_related("created_by")
        .order_by("-version")
    )


def settlement_cycle_request_pending(merchant: Merchant) -> SettlementCycleRequest | None:
    """Return the merchant's open T+0 request, if any."""
    return SettlementCycleRequest.objects.filter(
        merchant=merchant, status=CycleRequestStatus.PENDING
    ).first()


def settlement_cycle_request_list_for_merchant(
    merchant: Merchant,
) -> QuerySet[SettlementCycleRequest]:
    """Return the merchant's cycle requests, newest first."""
    return (
        SettlementCycleRequest.objects.filter(merchant=merchant)
        .select_related("requested_by", "decided_by")
        .order_by("-requested_at", "-id")
    )


def settlement_cycle_request_queue() -> QuerySet[SettlementCycleRequest]:
    """Return the pending requests of every merchant, oldest first (the finance queue).

    Only for operators with `accounts.run_settlement`; the view checks it.
    """
    return (
        SettlementCycleRequest.objects.filter(status=CycleRequestStatus.PENDING)
        .select_related("merchant", "requested_by")
        .order_by("requested_at", "id")
    )


def settlement_cycle_request_recent_decisions(limit: int = 20) -> list[SettlementCycleRequest]:
    """Return the latest decided requests, newest first, for the finance queue's history."""
    return list(
        SettlementCycleRequest.objects.exclude(status=CycleRequestStatus.PENDING)
        .select_related("merchant", "decided_by")
        .order_by("-decided_at", "-id")[:limit]
    )
