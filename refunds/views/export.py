"""CSV export of a refunds list: exactly the rows the list's filters select.

Streamed like the payments export: rows come from a server-side cursor 2,000 at a time
(`refund_export_rows`) and are written as they are read. UTF-8 with a byte order mark,
so that Excel opens Chinese text right. Amounts are given in major units (exact decimals)
and in minor units. Column names are stable keys, not translated: spreadsheets and
scripts depend on them. Every export is audited with its filters.
"""

import csv
import io
from collections.abc import Iterable, Iterator
from datetime import datetime
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
from payments.templatetags.money import minor_to_major
from refunds.forms import RefundSearchForm
from refunds.models import Refund
from refunds.portal_selectors import (
    refund_export_rows,
    refund_mode_default,
    refund_search_for_merchant,
    refund_search_for_staff,
)
from refunds.views.common import (
    STAFF_VIEW_PERMISSION,
    filters_query,
    permission_required,
    search_form,
)

BOM = "\ufeff"
COLUMNS = (
    "refund_id",
    "created_at",
    "mode",
    "status",
    "currency",
    "amount",
    "amount_minor",
    "payment_id",
    "payment_amount_minor",
    "reason",
    "reason_text",
    "requested_via",
    "requested_by",
    "approval_reason",
    "decided_by",
    "decision_reason",
    "approved_at",
    "succeeded_at",
    "sla_due_at",
    "is_delayed",
    "failure_code",
)
STAFF_COLUMNS = ("merchant_id", "merchant_name", *COLUMNS)
# A cell starting with one of these is a formula to a spreadsheet: free text (a reason, a
# merchant's name) must stay text (OWASP "CSV injection").
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: str) -> str:
    return f"'{value}" if value.startswith(FORMULA_PREFIXES) else value


def _instant(value: datetime | None) -> str:
    return timezone.localtime(value).isoformat() if value else ""


def _row(refund: Refund, *, staff: bool) -> list[Any]:
    row: list[Any] = [
        refund.public_id,
        _instant(refund.created_at),
        refund.mode,
        refund.status,
        refund.currency,
        str(minor_to_major(refund.amount, refund.currency)),
        refund.amount,
        refund.payment.public_id,
        refund.payment.amount,
        refund.reason,
        _cell(refund.reason_text),
        refund.requested_via,
        refund.requested_by.email if refund.requested_by else _cell(refund.requester_label),
        refund.approval_reason,
        refund.decided_by.email if refund.decided_by else _cell(refund.decision_label),
        _cell(refund.decision_reason),
        _instant(refund.approved_at),
        _instant(refund.succeeded_at),
        _instant(refund.sla_due_at),
        "true" if refund.is_delayed else "false",
        _cell(refund.failure_code),
    ]
    if staff:
        row = [str(refund.merchant.public_id), _cell(refund.merchant.name), *row]
    return row


def csv_lines(refunds: Iterable[Refund], *, staff: bool) -> Iterator[str]:
    """Yield the BOM, the header and one CSV line per refund, as they are read."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def line(values: Iterable[Any]) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(values)
        return buffer.getvalue()

    yield BOM
    yield line(STAFF_COLUMNS if staff else COLUMNS)
    for refund in refunds:
        yield line(_row(refund, staff=staff))


def _response(lines: Iterator[str], *parts: str) -> StreamingHttpResponse:
    filename = "-".join(["refunds", *[p for p in parts if p], timezone.localdate().isoformat()])
    response = StreamingHttpResponse(
        (line.encode("utf-8") for line in lines), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
    response["Cache-Control"] = "no-store"
    return response


def _invalid(request: HttpRequest, list_url_name: str) -> HttpResponse:
    # The list shows the same filters with their errors; nothing is exported.
    query = filters_query(request)
    return redirect(reverse(list_url_name) + (f"?{query}" if query else ""))


def _audit(request: HttpRequest, form: RefundSearchForm, *, scope: str, target: Any) -> None:
    audit_event_record(
        action="refund.export",
        target=target,
        after={"scope": scope, "filters": form.active_filters()},
        request=request,
    )


@require_GET
@merchant_member_required("view")
def refund_export(request: MemberRequest) -> HttpResponseBase:
    """Stream the merchant's refunds that match the list's filters as CSV."""
    merchant = request.merchant
    form = search_form(request, staff=False, default_mode=refund_mode_default(merchant))
    if not form.is_valid():
        return _invalid(request, "refund_list")
    try:
        refunds = refund_search_for_merchant(
            merchant,
            mode=form.cleaned_data["mode"],
            filters=form.selector_filters(),
            refund_id=form.refund_id(),
            currency=form.currency_filter(),
        )
    except ValidationFailed:
        return _invalid(request, "refund_list")
    _audit(request, form, scope="merchant", target=merchant)
    return _response(csv_lines(refund_export_rows(refunds), staff=False), form.cleaned_data["mode"])


@require_GET
@permission_required(STAFF_VIEW_PERMISSION)
def staff_refund_export(request: AuthenticatedRequest) -> HttpResponseBase:
    """Stream every merchant's refunds (or one merchant's) matching the filters as CSV."""
    form = search_form(request, staff=True)
    if not form.is_valid():
        return _invalid(request, "staff_refund_list")
    merchant = form.cleaned_data.get("merchant")
    try:
        refunds = refund_search_for_staff(
            filters=form.selector_filters(),
            merchant=merchant,
            mode=form.cleaned_data.get("mode") or None,
            refund_id=form.refund_id(),
            currency=form.currency_filter(),
        )
    except ValidationFailed:
        return _invalid(request, "staff_refund_list")
    _audit(request, form, scope="staff", target=merchant)
    return _response(
        csv_lines(refund_export_rows(refunds), staff=True),
        "all" if merchant is None else "merchant",
        form.cleaned_data.get("mode") or "",
    )
