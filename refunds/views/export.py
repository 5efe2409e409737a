"""CSV export of a refunds list: exactly the rows the list's filters select.

Streamed like the payments export: rows come from a server-side cursor 2,000 at a time
(`refund_export_rows`) and are written as they are read. UTF-8 with a byte order mark,
so that Excel opens Chinese text right. Amounts are given in major units (exact decimals)
and in minor units. Column names are stable keys, not translated: spreadsheets and
scripts depend on them. Every export is audited with its filters.
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
from payments.templatetags.money import minor_to_major
from payments.views.csv_export import (
    csv_lines,
    csv_response,
    instant_cell,
    invalid_filters_redirect,
    text_cell,
)
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
    permission_required,
    search_form,
)

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


def _row(refund: Refund, *, staff: bool) -> list[Any]:
    row: list[Any] = [
        refund.public_id,
        instant_cell(refund.created_at),
        refund.mode,
        refund.status,
        refund.currency,
        str(minor_to_major(refund.amount, refund.currency)),
        refund.amount,
        refund.payment.public_id,
        refund.payment.amount,
        refund.reason,
        text_cell(refund.reason_text),
        refund.requested_via,
        refund.requested_by.email if refund.requested_by else text_cell(refund.requester_label),
        refund.approval_reason,
        refund.decided_by.email if refund.decided_by else text_cell(refund.decision_label),
        text_cell(refund.decision_reason),
        instant_cell(refund.approved_at),
        instant_cell(refund.succeeded_at),
        instant_cell(refund.sla_due_at),
        "true" if refund.is_delayed else "false",
        text_cell(refund.failure_code),
    ]
    if staff:
        row = [str(refund.merchant.public_id), text_cell(refund.merchant.name), *row]
    return row


def refund_csv_lines(refunds: Iterable[Refund], *, staff: bool) -> Iterator[str]:
    """Yield the BOM, the header and one CSV line per refund, as they are read."""
    return csv_lines(
        STAFF_COLUMNS if staff else COLUMNS, (_row(refund, staff=staff) for refund in refunds)
    )


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
        return invalid_filters_redirect(request, "refund_list")
    try:
        refunds = refund_search_for_merchant(
            merchant,
            mode=form.cleaned_data["mode"],
            filters=form.selector_filters(),
            refund_id=form.refund_id(),
            currency=form.currency_filter(),
        )
    except ValidationFailed:
        return invalid_filters_redirect(request, "refund_list")
    _audit(request, form, scope="merchant", target=merchant)
    return csv_response(
        refund_csv_lines(refund_export_rows(refunds), staff=False),
        "refunds",
        form.cleaned_data["mode"],
    )


@require_GET
@permission_required(STAFF_VIEW_PERMISSION)
def staff_refund_export(request: AuthenticatedRequest) -> HttpResponseBase:
    """Stream every merchant's refunds (or one merchant's) matching the filters as CSV."""
    form = search_form(request, staff=True)
    if not form.is_valid():
        return invalid_filters_redirect(request, "staff_refund_list")
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
        return invalid_filters_redirect(request, "staff_refund_list")
    _audit(request, form, scope="staff", target=merchant)
    return csv_response(
        refund_csv_lines(refund_export_rows(refunds), staff=True),
        "refunds",
        "all" if merchant is None else "merchant",
        form.cleaned_data.get("mode") or "",
    )
