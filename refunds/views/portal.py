"""Merchant portal pages of refunds: the list, a refund's page and the two queues.

Every read is scoped to the merchant the member acts for (`merchant_member_required`): a
refund of another merchant is a 404, exactly like one that does not exist. The staff
pages (staff.py) reuse the helpers here with unscoped reads.
"""

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from accounts.models import User
from merchants.models import Merchant
from merchants.views.access import MemberRequest, merchant_member_required
from refunds import policies
from refunds.errors import RefundNotFound
from refunds.forms import (
    DelayedQueueForm,
    RefundCancelForm,
    RefundCloseForm,
    RefundRejectForm,
    RefundSearchForm,
)
from refunds.models import Refund, RefundStatus
from refunds.portal_selectors import (
    QUEUE_LIMIT,
    refund_approvals_for_merchant,
    refund_delayed_rows,
    refund_mode_default,
    refund_postings,
    refund_search_for_merchant,
    refund_webhook_events,
)
from refunds.selectors import (
    delayed_refund_rate,
    refund_get_for_merchant,
    refund_summary_for_payment,
    refund_timeline,
)
from refunds.views.common import (
    FINANCE_PERMISSION,
    filters_query,
    list_page,
    merchant_tabs,
    render_list,
    search_form,
)

# The report's target for the delayed-refund rate (docs: DOMAIN.md, KPIs).
DELAYED_RATE_TARGET = 0.005


def _merchant_search(merchant: Merchant) -> Callable[[RefundSearchForm], Any]:
    def search(form: RefundSearchForm) -> Any:
        return refund_search_for_merchant(
            merchant,
            mode=form.cleaned_data["mode"],
            filters=form.selector_filters(),
            refund_id=form.refund_id(),
            currency=form.currency_filter(),
        )

    return search


@require_GET
@merchant_member_required("view")
def refund_list(request: MemberRequest) -> HttpResponse:
    """List the merchant's refunds of one mode, filtered, newest first."""
    merchant = request.merchant
    form = search_form(request, staff=False, default_mode=refund_mode_default(merchant))
    page = list_page(request, form, _merchant_search(merchant))
    query = filters_query(request)
    context = {
        "form": form,
        "page": page,
        "merchant": merchant,
        "is_staff_view": False,
        "tabs": merchant_tabs(request),
        "current_tab": "list",
        "list_url": reverse("refund_list"),
        "export_url": reverse("refund_export") + (f"?{query}" if query else ""),
        "detail_url_name": "refund_detail",
        "mode": form.cleaned_data.get("mode") if page is not None else form.data.get("mode"),
        "is_filtered": bool(set(request.GET) - {"after", "before", "mode"}),
    }
    return render_list(request, "refunds/list.html", context)


def detail_context(refund: Refund, user: User, *, is_staff_view: bool) -> dict[str, Any]:
    """Return what a refund's page shows: timeline, postings, webhooks and the actions."""
    is_waiting = refund.is_awaiting_approval and not is_staff_view
    can_decide = is_waiting and policies.user_can_decide_refund(user, refund)
    can_resolve = refund.status == RefundStatus.MANUAL_REVIEW and (
        user.has_perm(FINANCE_PERMISSION)
        if is_staff_view
        else policies.user_can_decide_refunds(user, refund.merchant_id)
    )
    review_url_name = "staff_refund_review" if is_staff_view else "refund_review"
    return {
        "refund": refund,
        "payment": refund.payment,
        "summary": refund_summary_for_payment(refund.payment),
        "events": list(refund_timeline(refund)),
        "postings": refund_postings(refund),
        "webhook_events": refund_webhook_events(refund),
        "is_staff_view": is_staff_view,
        "can_decide": can_decide,
        "is_requester": refund.requested_by_id is not None and refund.requested_by_id == user.pk,
        "may_decide_refunds": policies.user_can_decide_refunds(user, refund.merchant_id),
        "can_cancel": is_waiting and policies.user_can_cancel_refund(user, refund),
        "reject_form": RefundRejectForm() if can_decide else None,
        "cancel_form": RefundCancelForm(),
        "can_resolve": can_resolve,
        "close_form": RefundCloseForm() if can_resolve else None,
        "retry_url": reverse(review_url_name, args=[refund.public_id, "retry"]),
        "close_url": reverse(review_url_name, args=[refund.public_id, "close"]),
    }


def merchant_refund_or_404(request: MemberRequest, public_id: str) -> Refund:
    """Return the member's merchant's refund, or raise Http404 (another merchant's too)."""
    try:
        return refund_get_for_merchant(request.merchant, public_id)
    except RefundNotFound:
        raise Http404 from None


def render_detail(
    request: MemberRequest, refund: Refund, *, status: int = 200, **extra: Any
) -> HttpResponse:
    """Render the merchant's refund page (with a bound form and its errors, when given)."""
    context = {
        **detail_context(refund, request.user, is_staff_view=False),
        "list_url": reverse("refund_list") + f"?mode={refund.mode}",
        "payment_url": reverse("payment_detail", args=[refund.payment.public_id]),
        **extra,
    }
    return render(request, "refunds/detail.html", context, status=status)


@require_GET
@merchant_member_required("view")
def refund_detail(request: MemberRequest, public_id: str) -> HttpResponse:
    """Show one of the merchant's refunds (either mode); another merchant's is a 404."""
    return render_detail(request, merchant_refund_or_404(request, public_id))


@require_GET
@merchant_member_required("approve_refunds")
def refund_approvals(request: MemberRequest) -> HttpResponse:
    """List the merchant's refunds awaiting approval, oldest first, to approve or reject."""
    merchant = request.merchant
    rows = refund_approvals_for_merchant(merchant)
    user = request.user
    entries = [
        {
            "refund": refund,
            "can_decide": policies.user_can_decide_refund(user, refund),
            "is_requester": refund.requested_by_id == user.pk,
        }
        for refund in rows
    ]
    context = {
        "merchant": merchant,
        "entries": entries,
        "is_staff_view": False,
        "is_truncated": len(rows) >= QUEUE_LIMIT,
        "limit": QUEUE_LIMIT,
        "tabs": merchant_tabs(request),
        "current_tab": "approvals",
        "detail_url_name": "refund_detail",
        "reject_form": RefundRejectForm(),
    }
    return render(request, "refunds/approvals.html", context)


def delayed_context(request: HttpRequest, merchant: Merchant | None) -> dict[str, Any]:
    """Return the delayed queue of `merchant` (None: all) and the period's delayed rate."""
    form = DelayedQueueForm(request.GET or None)
    days, sort = form.period_days(), form.sort_order()
    now = timezone.now()
    rate = delayed_refund_rate(now - timedelta(days=days), now, merchant)
    rows = refund_delayed_rows(merchant, sort=sort, now=now)
    return {
        "form": form,
        "rows": rows,
        "sort": sort,
        "period": str(days),
        "rate": rate,
        "rate_percent": None if rate.rate is None else rate.rate * 100,
        "target_percent": DELAYED_RATE_TARGET * 100,
        "is_over_target": rate.rate is not None and rate.rate > DELAYED_RATE_TARGET,
        "is_truncated": len(rows) >= QUEUE_LIMIT,
        "limit": QUEUE_LIMIT,
        "current_tab": "delayed",
    }


@require_GET
@merchant_member_required("approve_refunds")
def refund_delayed(request: MemberRequest) -> HttpResponse:
    """The merchant's refunds past their SLA, by age, and its delayed-refund rate."""
    merchant = request.merchant
    context = {
        **delayed_context(request, merchant),
        "merchant": merchant,
        "is_staff_view": False,
        "tabs": merchant_tabs(request),
        "page_url": reverse("refund_delayed"),
        "detail_url_name": "refund_detail",
    }
    return render(request, "refunds/delayed.html", context)
