"""CSV export of a payments list: exactly the rows the list's filters select.

The file is streamed: rows come from a server-side cursor 2,000 at a time
(`payment_export_rows`) and are written as they are read, so a million rows need no more
memory than a few. UTF-8 with a byte order mark, so that Excel opens Chinese text right.
Amounts are given twice: in major units ("1234.56", exact decimals) and in minor units.
Column names are stable keys, not translated: spreadsheets and scripts depend on them.
"""

from collections.abc import Iterable, Iterator
from typing import Any

from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.views.decorators.http import require_GET

from accounts.http import AuthenticatedRequest
from accounts.services.audit import audit_event_record
from config.errors import ValidationFailed
from merchants.views.access import MemberRequest, merchant_member_required
from payments.domain.models import Payment
from payments.forms import PaymentSearchForm
from payments.portal_selectors import (
    payment_export_rows,
    payment_mode_default,
    payment_search_for_merchant,
)
from payments.templatetags.money import minor_to_major
from payments.views.csv_export import (
    csv_lines,
    csv_response,
    instant_cell,
    invalid_filters_redirect,
    text_cell,
)
from payments.views.portal import search_form
from payments.views.staff import staff_search, staff_view_required

COLUMNS = (
    "payment_id",
    "created_at",
    "mode",
    "status",
    "channel",
    "currency",
    "amount",
    "amount_minor",
    "fee",
    "fee_minor",
    "merchant_order_id",
    "description",
    "payer_email",
    "region",
    "confirmed_at",
    "succeeded_at",
    "failure_code",
)
STAFF_COLUMNS = ("merchant_id", "merchant_name", *COLUMNS)
# The model fields the columns come from: reading only these halves the export's time.
EXPORT_FIELDS = (
    "public_id",
    "created_at",
    "mode",
    "status",
    "channel",
    "currency",
    "amount",
    "fee_amount",
    "merchant_order_id",
    "description",
    "payer_email",
    "region_group",
    "confirmed_at",
    "succeeded_at",
    "failure_code",
)


def _row(payment: Payment, *, staff: bool) -> list[Any]:
    fee = payment.fee_amount
    row: list[Any] = [
        payment.public_id,
        instant_cell(payment.created_at),
        payment.mode,
        payment.status,
        payment.channel,
        payment.currency,
        str(minor_to_major(payment.amount, payment.currency)),
        payment.amount,
        "" if fee is None else str(minor_to_major(fee, payment.currency)),
        "" if fee is None else fee,
        text_cell(payment.merchant_order_id),
        text_cell(payment.description),
        text_cell(payment.payer_email),
        payment.region_group,
        instant_cell(payment.confirmed_at),
        instant_cell(payment.succeeded_at),
        text_cell(payment.failure_code),
    ]
    if staff:
        row = [str(payment.merchant.public_id), text_cell(payment.merchant.name), *row]
    return row


def payment_csv_lines(payments: Iterable[Payment], *, staff: bool) -> Iterator[str]:
    """Yield the BOM, the header and one CSV line per payment, as they are read."""
    return csv_lines(
        STAFF_COLUMNS if staff else COLUMNS, (_row(payment, staff=staff) for payment in payments)
    )


def _audit(request: HttpRequest, form: PaymentSearchForm, *, scope: str, target: Any) -> None:
    audit_event_record(
        action="payment.export",
        target=target,
        after={"scope": scope, "filters": form.active_filters()},
        request=request,
    )


@require_GET
@merchant_member_required("view")
def payment_export(request: MemberRequest) -> HttpResponseBase:
    """Stream the merchant's payments that match the list's filters as CSV."""
    merchant = request.merchant
    form = search_form(request, staff=False, default_mode=payment_mode_default(merchant))
    if not form.is_valid():
        return invalid_filters_redirect(request, "payment_list")
    try:
        payments = payment_search_for_merchant(
            merchant,
            mode=form.cleaned_data["mode"],
            filters=form.api_filters(),
            search=form.cleaned_data["q"],
            currency=form.currency_filter(),
        )
    except ValidationFailed:
        return invalid_filters_redirect(request, "payment_list")
    _audit(request, form, scope="merchant", target=merchant)
    return csv_response(
        payment_csv_lines(payment_export_rows(payments, fields=EXPORT_FIELDS), staff=False),
        "payments",
        form.cleaned_data["mode"],
    )


@require_GET
@staff_view_required
def staff_payment_export(request: AuthenticatedRequest) -> HttpResponseBase:
    """Stream every merchant's payments (or one merchant's) matching the filters as CSV."""
    form = search_form(request, staff=True)
    if not form.is_valid():
        return invalid_filters_redirect(request, "staff_payment_list")
    try:
        payments = staff_search(form)
    except ValidationFailed:
        return invalid_filters_redirect(request, "staff_payment_list")
    merchant = form.cleaned_data.get("merchant")
    _audit(request, form, scope="staff", target=merchant)
    return csv_response(
        payment_csv_lines(payment_export_rows(payments, fields=EXPORT_FIELDS), staff=True),
        "payments",
        "all" if merchant is None else "merchant",
        form.cleaned_data.get("mode") or "",
    )
