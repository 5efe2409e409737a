"""Reads of the refunds portal pages that `refunds.selectors` does not already answer.

Every read is scoped to its caller: a merchant's pages pass the merchant the member acts
for; the `_for_staff` reads are for operations staff only (the views check the
permission). Lists page by keyset like the payments list (`payments.portal_selectors`),
so a deep page costs what the first one does, and never COUNT(*) a whole table.
"""

from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any, cast

from django.db.models import Prefetch, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from config.errors import ValidationFailed
from merchants.models import ApiMode, Merchant
from payments.filters import filter_data_normalise
from payments.ledger.models import LedgerPosting
from payments.ledger.selectors import postings_for_source
from payments.portal_selectors import PaymentPage, payment_page
from payments.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEvent
from refunds.errors import RefundNotFound
from refunds.filters import RefundFilter
from refunds.models import Refund, RefundStatus
from refunds.selectors import (
    PUBLIC_ID_PATTERN,
    refund_approval_queue,
    refund_delayed_queue,
    refund_list_for_merchant,
)

EXPORT_CHUNK_SIZE = 2000
# Queues show their oldest rows first; past this many the page says so instead of paging.
QUEUE_LIMIT = 200
DELAYED_SORTS = ("oldest", "newest")

RefundPage = PaymentPage


def _narrow(refunds: QuerySet[Refund], *, refund_id: str, currency: str | None) -> QuerySet[Refund]:
    if refund_id:
        refunds = refunds.filter(public_id=refund_id)
    if currency:
        refunds = refunds.filter(currency=currency)
    return refunds.select_related("payment", "requested_by")


def refund_search_for_merchant(
    merchant: Merchant,
    *,
    mode: str,
    filters: Mapping[str, Any],
    refund_id: str = "",
    currency: str | None = None,
) -> QuerySet[Refund]:
    """Return `merchant`'s refunds of `mode` matching `filters`, a refund id and a currency.

    `filters` are those of `refunds.selectors.refund_list_for_merchant` (ValidationFailed
    when invalid). Nothing of another merchant is ever returned.
    """
    refunds = refund_list_for_merchant(merchant, filters, mode=mode)
    return _narrow(refunds, refund_id=refund_id, currency=currency)


def refund_search_for_staff(
    *,
    filters: Mapping[str, Any],
    merchant: Merchant | None = None,
    mode: str | None = None,
    refund_id: str = "",
    currency: str | None = None,
) -> QuerySet[Refund]:
    """Return every merchant's refunds (or `merchant`'s) matching the filters.

    For operations staff holding accounts.view_all_merchants only: the caller checks it.
    """
    refunds = Refund.objects.all()
    if merchant is not None:
        refunds = refunds.filter(merchant=merchant)
    if mode:
        refunds = refunds.filter(mode=mode)
    filterset = RefundFilter(data=filter_data_normalise(filters), queryset=refunds)
    if not filterset.is_valid():
        raise ValidationFailed(
            details={name: [str(m) for m in errors] for name, errors in filterset.errors.items()}
        )
    return _narrow(filterset.qs, refund_id=refund_id, currency=currency)


def refund_page(
    refunds: QuerySet[Refund], *, after: str | None = None, before: str | None = None
) -> RefundPage:
    """Return one page of `refunds`, newest first, after or before a cursor.

    The payments pager is generic over (created_at, id) keysets; refunds have the same
    key and the index `refund_merchant_list` (merchant, mode, -created_at, -id).
    """
    return payment_page(cast(Any, refunds), after=after, before=before)


def refund_export_rows(refunds: QuerySet[Refund]) -> Iterator[Refund]:
    """Yield `refunds` newest first from a server-side cursor, 2,000 rows at a time."""
    return (
        refunds.select_related("merchant", "payment", "requested_by", "decided_by")
        .order_by("-created_at", "-id")
        .iterator(chunk_size=EXPORT_CHUNK_SIZE)
    )


def refund_mode_default(merchant: Merchant) -> str:
    """Return the mode a merchant's refunds list opens in: live once it has a live refund."""
    has_live = Refund.objects.filter(merchant=merchant, mode=ApiMode.LIVE).exists()
    return ApiMode.LIVE if has_live else ApiMode.TEST


def refund_get_for_staff(refund_id: str) -> Refund:
    """Return any merchant's refund by public id, or raise RefundNotFound (staff pages)."""
    if not isinstance(refund_id, str) or not PUBLIC_ID_PATTERN.match(refund_id):
        raise RefundNotFound()
    refund = (
        Refund.objects.select_related("merchant", "payment", "requested_by", "decided_by")
        .filter(public_id=refund_id)
        .first()
    )
    if refund is None:
        raise RefundNotFound()
    return refund


def refund_postings(refund: Refund) -> list[LedgerPosting]:
    """Return the refund's ledger postings (initiate, completion, reversal), oldest first."""
    return list(postings_for_source(refund))


def refund_webhook_events(refund: Refund) -> list[WebhookEvent]:
    """Return the webhook events published about `refund`, with deliveries and attempts.

    Refund events carry the refund as their `data`; the search stays inside the refund's
    merchant and mode, from its creation on.
    """
    deliveries = WebhookDelivery.objects.select_related("endpoint").order_by("id")
    attempts = WebhookAttempt.objects.order_by("number", "id")
    return list(
        WebhookEvent.objects.filter(
            merchant_id=refund.merchant_id,
            mode=refund.mode,
            created_at__gte=refund.created_at,
            payload__data__id=refund.public_id,
        )
        .prefetch_related(
            Prefetch("deliveries", queryset=deliveries),
            Prefetch("deliveries__attempts", queryset=attempts),
        )
        .order_by("created_at", "id")
    )


def refund_approval_count(merchant: Merchant) -> int:
    """Return how many of `merchant`'s refunds await approval (for the tab's badge)."""
    return Refund.objects.filter(merchant=merchant, status=RefundStatus.REQUESTED).count()


def refund_delayed_count(merchant: Merchant | None) -> int:
    """Return how many open refunds of `merchant` (None: all) are marked delayed."""
    return refund_delayed_queue(merchant).count()


def refund_approvals_for_merchant(
    merchant: Merchant, *, now: datetime | None = None
) -> list[Refund]:
    """Return `merchant`'s refunds awaiting approval (both modes), oldest first, with `age`."""
    queue = refund_approval_queue(merchant, now=now).select_related("requested_by")
    return list(queue[:QUEUE_LIMIT])


def refund_approvals_for_staff(*, now: datetime | None = None) -> list[Refund]:
    """Return every merchant's refunds awaiting approval, oldest first, with `age`.

    Read-only for operations staff (accounts.view_all_merchants): only a merchant's own
    owners and finance users approve.
    """
    moment = now or timezone.now()
    queue = (
        Refund.objects.filter(status=RefundStatus.REQUESTED)
        .select_related("merchant", "payment", "requested_by")
        .order_by("created_at", "id")
    )
    rows = list(queue[:QUEUE_LIMIT])
    for refund in rows:
        # A display attribute for the queue templates, not a model field.
        refund.age = moment - refund.created_at  # type: ignore[attr-defined]
    return rows


def refund_delayed_rows(
    merchant: Merchant | None, *, sort: str = "oldest", now: datetime | None = None
) -> list[Refund]:
    """Return the open delayed refunds of `merchant` (None: every merchant's) with `age`.

    `sort` "oldest" puts the longest-waiting first (the finance queue's order), "newest"
    the most recently approved. Age runs from approval, when the SLA started.
    """
    if sort not in DELAYED_SORTS:
        raise ValidationFailed(details={"sort": [_("Choose oldest or newest.")]})
    queue = refund_delayed_queue(merchant, now=now).select_related("requested_by")
    if sort == "newest":
        queue = queue.order_by("-approved_at", "-id")
    return list(queue[:QUEUE_LIMIT])
