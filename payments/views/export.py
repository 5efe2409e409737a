"""CSV export of a payments list: exactly the rows the list's filters select.

The file is streamed: rows come from a server-side cursor 2,000 at a time
(`payment_export_rows`) and are written as they are read, so a million rows need no more
memory than a few. UTF-8 with a byte order mark, so that Excel opens Chinese text right.
Amounts are given twice: in major units ("1234.56", exact decimals) and in minor units.
Column names are stable keys, not translated: spreadsheets and scripts depend on them.
"""

import csv
from collections.abc import Iterable, Iterator
from typing import Any

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
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
from payments.views.portal import filters_query, search_form
from payments.views.staff import staff_search, staff_view_required

BOM = "\ufeff"
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
# A cell starting with one of these is a formula to Excel: a description such as
# "=HYPERLINK(...)" must stay text (OWASP "CSV injection").
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


class _Echo:
    """A file-like object whose write returns the line instead of storing it."""

    def write(self, value: str) -> str:
        return value


def _text(value: str) -> str:
    return f"'{value}" if value.startswith(_FORMULA_PREFIXES) else value


def _instant(value: Any) -> str:
    return timezone.localtime(value).isoformat() if value else ""


def _row(payment: Payment, *, staff: bool) -> list[Any]:
    fee = payment.fee_amount
    row: list[Any] = [
        payment.public_id,
        _instant(payment.created_at),
        payment.mode,
        payment.status,
        payment.channel,
        payment.currency,
        str(minor_to_major(payment.amount, payment.currency)),
        payment.amount,
        "" if fee is None else str(minor_to_major(fee, payment.currency)),
        "" if fee is None else fee,
        _text(payment.merchant_order_id),
        _text(payment.description),
        _text(payment.payer_email),
        payment.region_group,
        _instant(payment.confirmed_at),
        _instant(payment.succeeded_at),
        _text(payment.failure_code),
    ]
    if staff:
        row = [str(payment.merchant.public_id), _text(payment.merchant.name), *row]
    return row


def csv_lines(payments: Iterable[Payment], *, staff: bool) -> Iterator[str]:
    """Yield the BOM, the header and one CSV line per payment, as they are read."""
    writer = csv.writer(_Echo())
    yield BOM
    yield writer.writerow(STAFF_COLUMNS if staff else COLUMNS)
    for payment in payments:
        yield writer.writerow(_row(payment, staff=staff))


def _response(lines: Iterator[str], filename: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(
        (line.encode("utf-8") for line in lines), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


def _filename(*parts: str) -> str:
    return (
        "-".join(["payments", *[part for part in parts if part], timezone.localdate().isoformat()])
        + ".csv"
    )


def _invalid(request: HttpRequest, list_url_name: str) -> HttpResponse:
    # The list shows the same filters with their errors; nothing is exported.
    query = filters_query(request)
    return redirect(reverse(list_url_name) + (f"?{query}" if query else ""))


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
        return _invalid(request, "payment_list")
    try:
        payments = payment_search_for_merchant(
            merchant,
            mode=form.cleaned_data["mode"],
            filters=form.api_filters(),
            search=form.cleaned_data["q"],
            currency=form.currency_filter(),
        )
    except ValidationFailed:
        return _invalid(request, "payment_list")
    _audit(request, form, scope="merchant", target=merchant)
    return _response(
        csv_lines(payment_export_rows(payments, fields=EXPORT_FIELDS), staff=False),
        _filename(form.cleaned_data["mode"]),
    )


@require_GET
@staff_view_required
def staff_payment_export(request: AuthenticatedRequest) -> HttpResponseBase:
    """Stream every merchant's payments (or one merchant's) matching the filters as CSV."""
    form = search_form(request, staff=True)
    if not form.is_valid():
        return _invalid(request, "staff_payment_list")
    try:
        payments = staff_search(form)
    except ValidationFailed:
        return _invalid(request, "staff_payment_list")
    merchant = form.cleaned_data.get("merchant")
    _audit(request, form, scope="staff", target=merchant)
    return _response(
        csv_lines(payment_export_rows(payments, fields=EXPORT_FIELDS), staff=True),
        _filename("all" if merchant is None else "merchant", form.cleaned_data.get("mode") or ""),
    )
