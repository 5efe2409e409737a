"""What the refunds pages share: the filter form of a request, the tabs, access checks."""

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _

from accounts.http import AuthenticatedRequest
from config.errors import ValidationFailed
from merchants.selectors.membership import membership_has_capability
from merchants.views.access import MemberRequest
from payments.views.portal import filter_data
from payments.views.portal import filters_query as filters_query  # the same for refunds
from refunds.forms import RefundSearchForm
from refunds.portal_selectors import (
    RefundPage,
    refund_approval_count,
    refund_delayed_count,
    refund_page,
)

View = Callable[..., HttpResponseBase]
RESULTS_TARGET = "refund-results"
STAFF_VIEW_PERMISSION = "accounts.view_all_merchants"
FINANCE_PERMISSION = "accounts.run_settlement"


def permission_required(permission: str) -> Callable[[View], View]:
    """Require a signed-in user holding `permission` (403 otherwise): staff pages."""

    def decorator(view: View) -> View:
        @login_required
        @wraps(view)
        def wrapped(request: AuthenticatedRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if not request.user.has_perm(permission):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def search_form(request: HttpRequest, *, staff: bool, default_mode: str = "") -> RefundSearchForm:
    """Return the bound filter form of a list or export request (a missing mode defaulted)."""
    return RefundSearchForm(filter_data(request, default_mode=default_mode), staff=staff)


def list_page(
    request: HttpRequest, form: RefundSearchForm, search: Callable[[RefundSearchForm], Any]
) -> RefundPage | None:
    """Run `search(form)` for a valid form and return the requested page, else None."""
    if not form.is_valid():
        return None
    try:
        refunds = search(form)
    except ValidationFailed as error:
        for name, messages in error.details.items():
            field = {"created_after": "created_from", "created_before": "created_to"}.get(name)
            for message in messages:
                form.add_error(field if field in form.fields else None, message)
        return None
    return refund_page(refunds, after=request.GET.get("after"), before=request.GET.get("before"))


def render_list(
    request: AuthenticatedRequest, template: str, context: dict[str, Any]
) -> HttpResponse:
    """Render the list page, or only its results card for an htmx filter or page change."""
    is_partial = bool(request.htmx) and request.htmx.target == RESULTS_TARGET
    return render(request, "refunds/_results.html" if is_partial else template, context)


def safe_next(request: HttpRequest, default: str) -> str:
    """Return the POSTed `next` when it is a path on this site, else `default`."""
    candidate = request.POST.get("next", "")
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return default


@dataclass(frozen=True)
class Tab:
    """One tab of the refunds area, with an optional count badge."""

    key: str
    label: str | Promise
    url: str
    count: int | None = None


def merchant_tabs(request: MemberRequest) -> list[Tab]:
    """Return the merchant refunds tabs the member may open (queues need approve_refunds)."""
    merchant = request.merchant
    tabs = [Tab("list", _("All refunds"), reverse("refund_list"))]
    if membership_has_capability(request.membership, "approve_refunds"):
        tabs += [
            Tab(
                "approvals",
                _("Awaiting approval"),
                reverse("refund_approvals"),
                refund_approval_count(merchant),
            ),
            Tab("delayed", _("Delayed"), reverse("refund_delayed"), refund_delayed_count(merchant)),
        ]
    return tabs


def staff_tabs(request: HttpRequest) -> list[Tab]:
    """Return the operations refunds tabs (the delayed queue needs run_settlement)."""
    tabs = [
        Tab("list", _("All refunds"), reverse("staff_refund_list")),
        Tab("approvals", _("Awaiting approval"), reverse("staff_refund_approvals")),
    ]
    if request.user.has_perm(FINANCE_PERMISSION):
        tabs.append(
            Tab(
                "delayed", _("Delayed"), reverse("staff_refund_delayed"), refund_delayed_count(None)
            )
        )
    return tabs
