"""Operations pages of refunds: every merchant's refunds, their approvals and delays.

The list and a refund's page need accounts.view_all_merchants; the delayed queue is the
finance operators' (accounts.run_settlement). Staff read here: approving stays with each
merchant's own owners and finance users (maker-checker inside the merchant).
"""

from functools import partial
from typing import Any

from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from accounts.http import AuthenticatedRequest
from refunds.errors import RefundNotFound
from refunds.forms import RefundSearchForm
from refunds.models import Refund
from refunds.portal_selectors import (
    QUEUE_LIMIT,
    refund_approvals_for_staff,
    refund_get_for_staff,
    refund_search_for_staff,
)
from refunds.views.common import (
    FINANCE_PERMISSION,
    STAFF_VIEW_PERMISSION,
    filters_query,
    list_page,
    permission_required,
    render_list,
    search_form,
    staff_tabs,
)
from refunds.views.decisions import resolve_manual_review
from refunds.views.portal import delayed_context, detail_context


def _staff_search(form: RefundSearchForm) -> Any:
    return refund_search_for_staff(
        filters=form.selector_filters(),
        merchant=form.cleaned_data.get("merchant"),
        mode=form.cleaned_data.get("mode") or None,
        refund_id=form.refund_id(),
        currency=form.currency_filter(),
    )


@require_GET
@permission_required(STAFF_VIEW_PERMISSION)
def staff_refund_list(request: AuthenticatedRequest) -> HttpResponse:
    """List every merchant's refunds, filtered, newest first."""
    form = search_form(request, staff=True)
    page = list_page(request, form, _staff_search)
    query = filters_query(request)
    context = {
        "form": form,
        "page": page,
        "is_staff_view": True,
        "tabs": staff_tabs(request),
        "current_tab": "list",
        "list_url": reverse("staff_refund_list"),
        "export_url": reverse("staff_refund_export") + (f"?{query}" if query else ""),
        "detail_url_name": "staff_refund_detail",
        "mode": "",
        "is_filtered": bool(set(request.GET) - {"after", "before"}),
    }
    return render_list(request, "refunds/list.html", context)


def _staff_refund_or_404(public_id: str) -> Refund:
    try:
        return refund_get_for_staff(public_id)
    except RefundNotFound:
        raise Http404 from None


def _render_detail(
    request: AuthenticatedRequest, refund: Refund, *, status: int = 200, **extra: Any
) -> HttpResponse:
    context = {
        **detail_context(refund, request.user, is_staff_view=True),
        "list_url": reverse("staff_refund_list"),
        "payment_url": reverse("staff_payment_detail", args=[refund.payment.public_id]),
        **extra,
    }
    return render(request, "refunds/detail.html", context, status=status)


@require_GET
@permission_required(STAFF_VIEW_PERMISSION)
def staff_refund_detail(request: AuthenticatedRequest, public_id: str) -> HttpResponse:
    """Show any merchant's refund; Paydesk finance may resolve one in manual review."""
    return _render_detail(request, _staff_refund_or_404(public_id))


@require_POST
@permission_required(FINANCE_PERMISSION)
def staff_refund_review(request: AuthenticatedRequest, public_id: str, action: str) -> HttpResponse:
    """Retry or close any merchant's refund in manual review (Paydesk finance)."""
    refund = _staff_refund_or_404(public_id)
    return resolve_manual_review(
        request,
        refund,
        action,
        back=reverse("staff_refund_detail", args=[refund.public_id]),
        render_error=partial(_render_detail, request, refund),
    )


@require_GET
@permission_required(STAFF_VIEW_PERMISSION)
def staff_refund_approvals(request: AuthenticatedRequest) -> HttpResponse:
    """Every merchant's refunds awaiting approval, oldest first (read-only)."""
    rows = refund_approvals_for_staff()
    context = {
        "entries": [{"refund": refund, "can_decide": False} for refund in rows],
        "is_staff_view": True,
        "is_truncated": len(rows) >= QUEUE_LIMIT,
        "limit": QUEUE_LIMIT,
        "tabs": staff_tabs(request),
        "current_tab": "approvals",
        "detail_url_name": "staff_refund_detail",
    }
    return render(request, "refunds/approvals.html", context)


@require_GET
@permission_required(FINANCE_PERMISSION)
def staff_refund_delayed(request: AuthenticatedRequest) -> HttpResponse:
    """Every merchant's refunds past their SLA, by age, and the platform's delayed rate."""
    context = {
        **delayed_context(request, None),
        "is_staff_view": True,
        "tabs": staff_tabs(request),
        "page_url": reverse("staff_refund_delayed"),
        "detail_url_name": "staff_refund_detail",
    }
    return render(request, "refunds/delayed.html", context)
