"""Operations pages of payments: every merchant's payments, for accounts.view_all_merchants.

The same list, filters, keyset pages and payment page as the merchant portal, over all
merchants, with a merchant filter and a merchant column.
"""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from accounts.http import AuthenticatedRequest
from config.errors import NotFound
from payments.forms import PaymentSearchForm
from payments.panels import payment_detail_panels
from payments.portal_selectors import payment_get_for_staff, payment_search_for_staff
from payments.views.portal import (
    detail_context,
    filters_query,
    list_page,
    render_list,
    search_form,
)

View = Callable[..., HttpResponseBase]
STAFF_PERMISSION = "accounts.view_all_merchants"


def staff_view_required(view: View) -> View:
    """Require a signed-in user holding accounts.view_all_merchants (403 otherwise)."""

    @login_required
    @wraps(view)
    def wrapped(request: AuthenticatedRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.has_perm(STAFF_PERMISSION):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapped


def staff_search(form: PaymentSearchForm) -> Any:
    """Return the staff query of a valid filter form (every merchant unless one is chosen)."""
    return payment_search_for_staff(
        filters=form.api_filters(),
        merchant=form.cleaned_data.get("merchant"),
        mode=form.cleaned_data.get("mode") or None,
        search=form.cleaned_data["q"],
        currency=form.currency_filter(),
    )


@require_GET
@staff_view_required
def staff_payment_list(request: AuthenticatedRequest) -> HttpResponse:
    """List every merchant's payments, filtered and searched, newest first."""
    form = search_form(request, staff=True)
    page = list_page(request, form, staff_search)
    query = filters_query(request)
    context = {
        "form": form,
        "page": page,
        "is_staff_view": True,
        "list_url": reverse("staff_payment_list"),
        "export_url": reverse("staff_payment_export") + (f"?{query}" if query else ""),
        "detail_url_name": "staff_payment_detail",
        "mode": "",
        "is_filtered": bool(set(request.GET) - {"after", "before"}),
    }
    return render_list(request, "payments/portal/list.html", context)


@require_GET
@staff_view_required
def staff_payment_detail(request: AuthenticatedRequest, public_id: str) -> HttpResponse:
    """Show any merchant's payment, with its merchant."""
    try:
        payment = payment_get_for_staff(public_id)
    except NotFound:
        raise Http404 from None
    context = {
        **detail_context(payment),
        "is_staff_view": True,
        "list_url": reverse("staff_payment_list"),
        "panels": payment_detail_panels(request, payment, is_staff_view=True),
    }
    return render(request, "payments/portal/detail.html", context)
