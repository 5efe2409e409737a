"""Reads of payments, each scoped to its caller (a merchant's key, a payer's checkout token).

The API, the merchant portal, the checkout page and the exports read through these.
"""

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from config.errors import NotFound, ValidationFailed
from merchants.models import Merchant
from payments.domain.models import (
    AWAITING_ACQUIRER_STATUSES,
    Payment,
    PaymentEvent,
    PaymentStatus,
)
from payments.filters import PaymentFilter, filter_data_normalise

PUBLIC_ID_PATTERN = re.compile(r"^pay_[0-9a-z]{24}$")
CHECKOUT_TOKEN_PATTERN = re.compile(r"^[A-Za-z0-9_-]{20,64}$")


def payment_checkout_url(payment: Payment) -> str:
    """Return the absolute URL of the payment's hosted checkout page (by its secret token).

    Without a language prefix, whatever the caller's language: the URL is stored in
    replayed responses and webhook events, and the page follows the payer's browser.
    """
    with translation.override(settings.LANGUAGE_CODE):
        path = reverse("checkout", kwargs={"token": payment.checkout_token})
    return settings.PAYMENT_CHECKOUT_BASE_URL.rstrip("/") + path


def _not_found() -> NotFound:
    return NotFound(_("No such payment."), code="payment_not_found")


def payment_list_for_merchant(
    merchant: Merchant, filters: Mapping[str, Any] | None = None, *, mode: str | None = None
) -> QuerySet[Payment]:
    """Return the merchant's payments (of one mode when given) matching `filters`, newest first.

    `filters` is a query dict or a plain dict with any of: status and channel (one value or
    a list), created_after / created_before (ISO 8601), amount_min / amount_max (minor
    units, inclusive), merchant_order_id. Raise ValidationFailed for an invalid filter.
    """
    payments = Payment.objects.filter(merchant=merchant)
    if mode is not None:
        payments = payments.filter(mode=mode)
    filterset = PaymentFilter(data=filter_data_normalise(filters or {}), queryset=payments)
    if not filterset.is_valid():
        raise ValidationFailed(
            details={name: [str(m) for m in errors] for name, errors in filterset.errors.items()}
        )
    return filterset.qs.order_by("-created_at", "-id")


def payment_get_for_merchant(
    merchant: Merchant, payment_id: str, *, mode: str | None = None
) -> Payment:
    """Return the merchant's payment with public id `payment_id`, or raise NotFound.

    Another merchant's payment (or one of the other mode) is "not found" too, so that a
    key cannot even learn that it exists.
    """
    if not isinstance(payment_id, str) or not PUBLIC_ID_PATTERN.match(payment_id):
        raise _not_found()
    payments = Payment.objects.filter(merchant=merchant, public_id=payment_id)
    if mode is not None:
        payments = payments.filter(mode=mode)
    payment = payments.first()
    if payment is None:
        raise _not_found()
    return payment


def payment_get_by_checkout_token(token: str) -> Payment:
    """Return the payment whose checkout token is `token` (the payer's only key), or NotFound."""
    if not isinstance(token, str) or not CHECKOUT_TOKEN_PATTERN.match(token):
        raise _not_found()
    payment = Payment.objects.select_related("merchant").filter(checkout_token=token).first()
    if payment is None:
        raise _not_found()
    return payment


def payment_get_by_reference(reference: str) -> Payment | None:
    """Return the payment the acquirer knows as `reference`, or None.

    Not scoped to a merchant: only for callers that verified the acquirer's signature.
    """
    if not isinstance(reference, str) or not PUBLIC_ID_PATTERN.match(reference):
        return None
    return Payment.objects.filter(public_id=reference).first()


def payment_timeline(payment: Payment) -> QuerySet[PaymentEvent]:
    """Return the payment's events, oldest first, with the acting user."""
    return PaymentEvent.objects.filter(payment=payment).select_related("actor")


def payment_ids_due_for_expiry(*, now: datetime, limit: int) -> list[int]:
    """Return ids of unconfirmed payments whose confirmation window has passed."""
    return list(
        Payment.objects.filter(status=PaymentStatus.REQUIRES_CONFIRMATION, expires_at__lte=now)
        .order_by("expires_at")
        .values_list("pk", flat=True)[:limit]
    )


def payment_ids_due_for_query(*, now: datetime, limit: int) -> list[int]:
    """Return ids of payments awaiting the acquirer whose next query time has passed."""
    return list(
        Payment.objects.filter(status__in=AWAITING_ACQUIRER_STATUSES, next_query_at__lte=now)
        .order_by("next_query_at")
        .values_list("pk", flat=True)[:limit]
    )
