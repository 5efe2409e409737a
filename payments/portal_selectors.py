"""Read-only selectors of the merchant portal and the staff pages of payments.

Lists are paged by keyset, never by OFFSET or COUNT(*): a page is "the N payments just
before (created_at, id) = the cursor", which the index `payment_merchant_list`
(merchant, mode, -created_at, -id) answers in a few page reads however deep the page is.
Filters come from `payments.selectors` (the API's own), so the portal, the CSV export and
the API agree on what a filter means.
"""

import base64
import binascii
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import F, Prefetch, Q, QuerySet
from django.db.models.fields.tuple_lookups import Tuple, TupleGreaterThan, TupleLessThan
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from config.errors import NotFound, ValidationFailed
from merchants.models import ApiMode, Merchant
from payments.domain.models import Payment
from payments.filters import PaymentFilter, filter_data_normalise
from payments.selectors import PUBLIC_ID_PATTERN, payment_list_for_merchant
from payments.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEvent

PAGE_SIZE = 25
EXPORT_CHUNK_SIZE = 2000
_EMAIL_LIKE = re.compile(r"^[^@\s]+@[^@\s]+$")


@dataclass(frozen=True)
class PaymentPage:
    """One page of a keyset-paged list, newest first, and the cursors around it."""

    rows: list[Payment]
    next_cursor: str | None
    previous_cursor: str | None

    @property
    def has_other_pages(self) -> bool:
        return bool(self.next_cursor or self.previous_cursor)


def payment_cursor_encode(payment: Payment) -> str:
    """Return the opaque cursor of `payment`'s position in a list (created_at, id)."""
    raw = f"{payment.created_at.isoformat()}|{payment.pk}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def payment_cursor_decode(cursor: str) -> tuple[datetime, int] | None:
    """Return the (created_at, id) a cursor names, or None for a malformed one."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        created_raw, _sep, pk_raw = base64.urlsafe_b64decode(padded).decode().partition("|")
        created_at = parse_datetime(created_raw)
        pk = int(pk_raw)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None
    if created_at is None or created_at.tzinfo is None or pk <= 0:
        return None
    return created_at, pk


def _search_q(search: str) -> Q:
    # Each kind of term goes to the one column (and index) it can match: a public id to
    # the unique index, an email to the payer email, anything else to the merchant's
    # order id. No OR across columns: that would read every row of the scope.
    if PUBLIC_ID_PATTERN.match(search.lower()):
        return Q(public_id=search.lower())
    if _EMAIL_LIKE.match(search):
        return Q(payer_email__iexact=search)
    return Q(merchant_order_id=search)


def payment_mode_default(merchant: Merchant) -> str:
    """Return the mode a merchant's list opens in: live once it has a live payment."""
    has_live = Payment.objects.filter(merchant=merchant, mode=ApiMode.LIVE).exists()
    return ApiMode.LIVE if has_live else ApiMode.TEST


def payment_search_for_merchant(
    merchant: Merchant,
    *,
    mode: str,
    filters: Mapping[str, Any],
    search: str = "",
    currency: str | None = None,
) -> QuerySet[Payment]:
    """Return the merchant's payments of `mode` matching the API `filters` and `search`.

    `filters` are those of `payments.selectors.payment_list_for_merchant` (raise
    ValidationFailed when invalid). `search` matches a public id, a merchant order id or
    a payer email exactly (email case-insensitively). Scoped to `merchant`: nothing of
    another merchant is ever returned.
    """
    payments = payment_list_for_merchant(merchant, filters, mode=mode)
    return _narrow(payments, search=search, currency=currency)


def payment_search_for_staff(
    *,
    filters: Mapping[str, Any],
    merchant: Merchant | None = None,
    mode: str | None = None,
    search: str = "",
    currency: str | None = None,
) -> QuerySet[Payment]:
    """Return every merchant's payments (or `merchant`'s) matching the filters and search.

    For operations staff holding accounts.view_all_merchants only: the caller checks it.
    """
    payments = Payment.objects.all()
    if merchant is not None:
        payments = payments.filter(merchant=merchant)
    if mode:
        payments = payments.filter(mode=mode)
    filterset = PaymentFilter(data=filter_data_normalise(filters), queryset=payments)
    if not filterset.is_valid():
        raise ValidationFailed(
            details={name: [str(m) for m in errors] for name, errors in filterset.errors.items()}
        )
    return _narrow(filterset.qs, search=search, currency=currency)


def _narrow(payments: QuerySet[Payment], *, search: str, currency: str | None) -> QuerySet[Payment]:
    if search:
        payments = payments.filter(_search_q(search))
    if currency:
        payments = payments.filter(currency=currency)
    return payments


def payment_page(
    payments: QuerySet[Payment],
    *,
    after: str | None = None,
    before: str | None = None,
    size: int = PAGE_SIZE,
) -> PaymentPage:
    """Return one page of `payments`, newest first, after or before a cursor.

    `after` pages towards older payments, `before` towards newer ones; a malformed
    cursor counts as none (the first page). Reads `size + 1` rows and never counts.
    """
    key = Tuple(F("created_at"), F("id"))
    # Prefetched, not joined: the filters add DISTINCT, and DISTINCT over a join makes
    # PostgreSQL hash every matching row instead of reading 26 from the index.
    payments = payments.prefetch_related("merchant")
    before_position = payment_cursor_decode(before) if before else None
    after_position = payment_cursor_decode(after) if after else None
    if before_position is not None:
        newer = payments.filter(TupleGreaterThan(key, before_position))
        rows = list(newer.order_by("created_at", "id")[: size + 1])
        has_newer = len(rows) > size
        rows = list(reversed(rows[:size]))
        if not rows:
            # Nothing newer (the rows were deleted or the cursor is from the future).
            return payment_page(payments, size=size)
        return PaymentPage(
            rows=rows,
            next_cursor=payment_cursor_encode(rows[-1]),
            previous_cursor=payment_cursor_encode(rows[0]) if has_newer else None,
        )
    if after_position is not None:
        payments = payments.filter(TupleLessThan(key, after_position))
    rows = list(payments.order_by("-created_at", "-id")[: size + 1])
    has_older = len(rows) > size
    rows = rows[:size]
    return PaymentPage(
        rows=rows,
        next_cursor=payment_cursor_encode(rows[-1]) if has_older else None,
        previous_cursor=payment_cursor_encode(rows[0]) if after_position and rows else None,
    )


def payment_export_rows(
    payments: QuerySet[Payment], *, fields: Sequence[str] = ()
) -> Iterator[Payment]:
    """Yield `payments` newest first from a server-side cursor, 2,000 rows at a time.

    Memory stays flat however many rows there are: nothing is cached on the queryset.
    `fields` limits the columns read (the merchant is always loaded, one query a chunk).
    """
    if fields:
        payments = payments.only("merchant", *fields)
    return (
        payments.prefetch_related("merchant")
        .order_by("-created_at", "-id")
        .iterator(chunk_size=EXPORT_CHUNK_SIZE)
    )


def payment_get_for_staff(public_id: str) -> Payment:
    """Return any merchant's payment by public id, or raise NotFound (staff pages only)."""
    if not isinstance(public_id, str) or not PUBLIC_ID_PATTERN.match(public_id):
        raise NotFound(_("No such payment."), code="payment_not_found")
    payment = (
        Payment.objects.select_related("merchant", "confirmed_by")
        .filter(public_id=public_id)
        .first()
    )
    if payment is None:
        raise NotFound(_("No such payment."), code="payment_not_found")
    return payment


def payment_webhook_events(payment: Payment) -> list[WebhookEvent]:
    """Return the webhook events published about `payment`, with deliveries and attempts.

    Events carry the payment as their `data` (payload {"data": {"id": "pay_..."}}); the
    search stays inside the payment's merchant and mode, from its creation on.
    """
    deliveries = WebhookDelivery.objects.select_related("endpoint").order_by("id")
    attempts = WebhookAttempt.objects.order_by("number", "id")
    events = (
        WebhookEvent.objects.filter(
            merchant_id=payment.merchant_id,
            mode=payment.mode,
            created_at__gte=payment.created_at,
            payload__data__id=payment.public_id,
        )
        .prefetch_related(
            Prefetch("deliveries", queryset=deliveries),
            Prefetch("deliveries__attempts", queryset=attempts),
        )
        .order_by("created_at", "id")
    )
    return list(events)
