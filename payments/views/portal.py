"""Merchant portal pages of payments: the searchable list and one payment's page.

Every read is scoped to the merchant the member acts for (`merchant_member_required`): a
payment of another merchant is a 404, exactly like one that does not exist. The list pages
by keyset (`after` / `before` cursors) and never counts; the staff pages (staff.py) reuse
the helpers here with an unscoped query.
"""

from collections.abc import Callable
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from accounts.http import AuthenticatedRequest
from config.errors import NotFound, ValidationFailed
from merchants.views.access import MemberRequest, merchant_member_required
from payments.domain.models import Payment
from payments.forms import PaymentSearchForm
from payments.ledger.selectors import postings_for_source
from payments.panels import payment_detail_panels
from payments.portal_selectors import (
    PaymentPage,
    payment_mode_default,
    payment_page,
    payment_search_for_merchant,
    payment_webhook_events,
)
from payments.selectors import payment_get_for_merchant, payment_timeline

CURSOR_PARAMS = ("after", "before")
RESULTS_TARGET = "payment-results"


def filter_data(request: HttpRequest, *, default_mode: str = "") -> QueryDict:
    """Return the request's query without the page cursors (a missing mode defaulted).

    The filters of a list or an export page, payments' or refunds'.
    """
    data: QueryDict = request.GET.copy()
    for name in CURSOR_PARAMS:
        data.pop(name, None)
    if default_mode and not data.get("mode"):
        data["mode"] = default_mode
    return data


def search_form(request: HttpRequest, *, staff: bool, default_mode: str = "") -> PaymentSearchForm:
    """Return the bound filter form of a list or export request (a missing mode defaulted)."""
    return PaymentSearchForm(filter_data(request, default_mode=default_mode), staff=staff)


def filters_query(request: HttpRequest) -> str:
    """Return the request's query string without the page cursors (for links and export)."""
    return filter_data(request).urlencode()


def form_errors_from(form: PaymentSearchForm, error: ValidationFailed) -> None:
    """Put the selector's validation details on the form, as field errors where possible."""
    for name, messages in error.details.items():
        field = {"created_after": "created_from", "created_before": "created_to"}.get(name, name)
        for message in messages:
            form.add_error(field if field in form.fields else None, message)


def list_page(
    request: HttpRequest,
    form: PaymentSearchForm,
    search: Callable[[PaymentSearchForm], Any],
) -> PaymentPage | None:
    """Run `search(form)` for a valid form and return the requested page, else None."""
    if not form.is_valid():
        return None
    try:
        payments = search(form)
    except ValidationFailed as error:
        form_errors_from(form, error)
        return None
    return payment_page(payments, after=request.GET.get("after"), before=request.GET.get("before"))


def render_list(
    request: AuthenticatedRequest, template: str, context: dict[str, Any]
) -> HttpResponse:
    """Render the list page, or only its results card for an htmx filter or page change."""
    is_partial = bool(request.htmx) and request.htmx.target == RESULTS_TARGET
    return render(request, "payments/portal/_results.html" if is_partial else template, context)


def _merchant_search(merchant: Any) -> Callable[[PaymentSearchForm], Any]:
    def search(form: PaymentSearchForm) -> Any:
        return payment_search_for_merchant(
            merchant,
            mode=form.cleaned_data["mode"],
            filters=form.api_filters(),
            search=form.cleaned_data["q"],
            currency=form.currency_filter(),
        )

    return search


@require_GET
@merchant_member_required("view")
def payment_list(request: MemberRequest) -> HttpResponse:
    """List the merchant's payments of one mode, filtered and searched, newest first."""
    merchant = request.merchant
    form = search_form(request, staff=False, default_mode=payment_mode_default(merchant))
    page = list_page(request, form, _merchant_search(merchant))
    query = filters_query(request)
    context = {
        "form": form,
        "page": page,
        "merchant": merchant,
        "is_staff_view": False,
        "list_url": reverse("payment_list"),
        "export_url": reverse("payment_export") + (f"?{query}" if query else ""),
        "detail_url_name": "payment_detail",
        "mode": form.cleaned_data.get("mode") if page is not None else form.data.get("mode"),
        "is_filtered": bool(set(request.GET) - {"after", "before", "mode"}),
    }
    return render_list(request, "payments/portal/list.html", context)


def detail_context(payment: Payment) -> dict[str, Any]:
    """Return what a payment's page shows: timeline, ledger postings, webhook events."""
    return {
        "payment": payment,
        "events": list(payment_timeline(payment)),
        "postings": list(postings_for_source(payment)),
        "webhook_events": payment_webhook_events(payment),
    }


@require_GET
@merchant_member_required("view")
def payment_detail(request: MemberRequest, public_id: str) -> HttpResponse:
    """Show one of the merchant's payments (either mode); another merchant's is a 404."""
    merchant = request.merchant
    try:
        payment = payment_get_for_merchant(merchant, public_id)
    except NotFound:
        raise Http404 from None
    context = {
        **detail_context(payment),
        "is_staff_view": False,
        "list_url": reverse("payment_list") + f"?mode={payment.mode}",
        "panels": payment_detail_panels(request, payment, is_staff_view=False),
    }
    return render(request, "payments/portal/detail.html", context)
