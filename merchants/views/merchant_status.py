"""Operations pages about a merchant's status: the merchant list, detail, suspend, reinstate.

Anyone with accounts.view_all_merchants (or accounts.review_kyc) sees the pages; only
administrators (the administrator role or a superuser) get the suspend and reinstate forms,
and the services check that again.
"""

from collections.abc import Callable
from typing import Any
from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.http import AuthenticatedRequest
from config.errors import ApplicationError
from merchants.forms.review import MerchantFilterForm, StatusReasonForm
from merchants.models import Merchant, MerchantApplication, MerchantStatus
from merchants.selectors.applications import (
    application_for_merchant,
    merchant_events,
    merchant_get_for_staff,
)
from merchants.services.lifecycle import (
    can_change_merchant_status,
    merchant_reinstate,
    merchant_suspend,
)

View = Callable[..., HttpResponse]
PAGE_SIZE = 25


def staff_required(view: View) -> View:
    """Require accounts.view_all_merchants or accounts.review_kyc (403 otherwise)."""

    @login_required
    def wrapped(request: AuthenticatedRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user = request.user
        if not (
            user.has_perm("accounts.view_all_merchants") or user.has_perm("accounts.review_kyc")
        ):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    wrapped.__name__ = view.__name__
    wrapped.__doc__ = view.__doc__
    return wrapped


@staff_required
def merchant_list(request: AuthenticatedRequest) -> HttpResponse:
    """List every merchant with its status; filter by status, search by name or code."""
    form = MerchantFilterForm(request.GET or None)
    data = form.cleaned_data if form.is_valid() else {}
    queryset = Merchant.objects.select_related("application").order_by("-created_at", "pk")
    if data.get("status"):
        queryset = queryset.filter(status=data["status"])
    search = (data.get("q") or "").strip()
    if search:
        queryset = queryset.filter(
            Q(name__icontains=search)
            | Q(application__legal_name__icontains=search)
            | Q(application__credit_code__iexact=search.replace(" ", "").upper())
        )
    page = Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "merchants/review/merchant_list.html",
        {"form": form, "page": page, "is_filtered": bool(request.GET.keys() - {"page"})},
    )


def _merchant(public_id: UUID) -> Merchant:
    merchant = merchant_get_for_staff(public_id=public_id)
    if merchant is None:
        raise Http404
    return merchant


def _detail(
    request: AuthenticatedRequest,
    merchant: Merchant,
    *,
    status: int = 200,
    form: StatusReasonForm | None = None,
) -> HttpResponse:
    application: MerchantApplication | None = application_for_merchant(merchant=merchant)
    can_change = can_change_merchant_status(request.user)
    return render(
        request,
        "merchants/review/merchant_detail.html",
        {
            "merchant": merchant,
            "application": application,
            "events": merchant_events(merchant=merchant),
            "can_change_status": can_change,
            "can_suspend": can_change and merchant.status == MerchantStatus.APPROVED,
            "can_reinstate": can_change and merchant.status == MerchantStatus.SUSPENDED,
            "can_review": request.user.has_perm("accounts.review_kyc"),
            "status_form": form or StatusReasonForm(),
            "owners": merchant.memberships.filter(role="owner").select_related("user"),
        },
        status=status,
    )


@staff_required
def merchant_staff_detail(request: AuthenticatedRequest, public_id: UUID) -> HttpResponse:
    """Show a merchant's status, its timeline and (for administrators) suspend/reinstate."""
    return _detail(request, _merchant(public_id))


def _change_status(
    request: AuthenticatedRequest, public_id: UUID, *, suspend: bool
) -> HttpResponse:
    if not can_change_merchant_status(request.user):
        raise PermissionDenied
    merchant = _merchant(public_id)
    form = StatusReasonForm(request.POST)
    if not form.is_valid():
        return _detail(request, merchant, status=400, form=form)
    service = merchant_suspend if suspend else merchant_reinstate
    try:
        service(
            merchant=merchant,
            actor=request.user,
            reason=form.cleaned_data["reason"],
            request=request,
        )
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            _("%(name)s is suspended; its API keys are refused from now on.")
            % {"name": merchant.name}
            if suspend
            else _("%(name)s is reinstated.") % {"name": merchant.name},
        )
    return redirect("merchant_staff_detail", public_id=public_id)


@require_POST
@login_required
def merchant_suspend_view(request: AuthenticatedRequest, public_id: UUID) -> HttpResponse:
    """Suspend an approved merchant (administrators only, reason required)."""
    return _change_status(request, public_id, suspend=True)


@require_POST
@login_required
def merchant_reinstate_view(request: AuthenticatedRequest, public_id: UUID) -> HttpResponse:
    """Reinstate a suspended merchant (administrators only, reason required)."""
    return _change_status(request, public_id, suspend=False)
