"""The KYC review queue and application detail, for users with accounts.review_kyc."""

from collections.abc import Callable
from typing import Any, TypeVar

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.http import AuthenticatedRequest
from config.errors import ApplicationError
from merchants.forms.review import (
    ApproveForm,
    QueueFilterForm,
    RejectForm,
    RequestInformationForm,
)
from merchants.models import KycDecision, KycReview, MerchantApplication, MerchantStatus
from merchants.selectors.applications import (
    application_duplicates,
    application_get_for_review,
    application_list_for_review,
    application_queue_counts,
    application_review_history,
    merchant_events,
    threshold,
)
from merchants.services.review import (
    application_approve,
    application_first_approval,
    application_reject,
    application_request_information,
    application_start_review,
    can_review,
)

QUEUE_PAGE_SIZE = 25

View = Callable[..., HttpResponse]


def kyc_reviewer_required(view: View) -> View:
    """Require a signed-in user with accounts.review_kyc (403 otherwise)."""
    return login_required(permission_required("accounts.review_kyc", raise_exception=True)(view))


@kyc_reviewer_required
def kyc_queue(request: AuthenticatedRequest) -> HttpResponse:
    """List applications waiting for review (or any status), oldest submission first."""
    form = QueueFilterForm(request.GET or None)
    filters = form.filters()
    page = Paginator(application_list_for_review(**filters), QUEUE_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "merchants/review/queue.html",
        {
            "form": form,
            "page": page,
            "filters": filters,
            "counts": application_queue_counts(),
            "threshold": threshold(),
            "is_filtered": bool(request.GET.keys() - {"page"}),
        },
    )


def _get_application(pk: int) -> MerchantApplication:
    application = application_get_for_review(pk=pk)
    if application is None:
        raise Http404
    return application


def _detail(
    request: AuthenticatedRequest,
    application: MerchantApplication,
    *,
    status: int = 200,
    **bound_forms: forms.Form,
) -> HttpResponse:
    merchant = application.merchant
    first_approval = application_first_approval(application)
    user = request.user
    is_first_approver = first_approval is not None and first_approval.reviewer_id == user.pk
    context: dict[str, Any] = {
        "application": application,
        "merchant": merchant,
        "documents": list(application.documents.all()),
        "history": application_review_history(application=application),
        "events": merchant_events(merchant=merchant),
        "duplicates": application_duplicates(application=application),
        "first_approval": first_approval,
        "is_first_approver": is_first_approver,
        "can_act": can_review(user, merchant),
        "is_under_review": merchant.status == MerchantStatus.UNDER_REVIEW,
        "is_submitted": merchant.status == MerchantStatus.SUBMITTED,
        "threshold": threshold(),
        "account_name_differs": bool(
            application.bank_account_name
            and application.legal_name
            and application.bank_account_name.strip() != application.legal_name.strip()
        ),
        "approve_form": bound_forms.get("approve_form") or ApproveForm(),
        "reject_form": bound_forms.get("reject_form") or RejectForm(),
        "request_form": bound_forms.get("request_form") or RequestInformationForm(),
        "KycDecision": KycDecision,
    }
    return render(request, "merchants/review/detail.html", context, status=status)


@kyc_reviewer_required
def kyc_application(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """Show one application: every answer, the documents, the history and the actions."""
    return _detail(request, _get_application(pk))


@require_POST
@kyc_reviewer_required
def kyc_start_review(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """Take a submitted application into review."""
    application = _get_application(pk)
    try:
        application_start_review(application=application, reviewer=request.user, request=request)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("You are now reviewing this application."))
    return redirect("kyc_application", pk=pk)


ResultT = TypeVar("ResultT")


def _decide(
    request: AuthenticatedRequest,
    pk: int,
    form_class: type[forms.Form],
    *,
    form_name: str,
    decide: Callable[[MerchantApplication, dict[str, Any]], ResultT],
    success_message: Callable[[ResultT], str],
) -> HttpResponse:
    """Validate the decision's form, then call `decide` with the application and its data.

    An invalid form re-renders the page (400) with its errors; a refusal is an error message.
    """
    application = _get_application(pk)
    form = form_class(request.POST)
    if not form.is_valid():
        return _detail(request, application, status=400, **{form_name: form})
    try:
        result = decide(application, form.cleaned_data)
    except ApplicationError as error:
        messages.error(request, error.message)
        return redirect("kyc_application", pk=pk)
    messages.success(request, success_message(result))
    return redirect("kyc_application", pk=pk)


def _approval_message(review: KycReview) -> str:
    if review.decision == KycDecision.FIRST_APPROVAL:
        return _("First approval recorded. A second reviewer must now give the final approval.")
    return _("Approved. The merchant is being notified by email.")


@require_POST
@kyc_reviewer_required
def kyc_approve(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """Approve, or give the first of two approvals above the volume threshold."""
    return _decide(
        request,
        pk,
        ApproveForm,
        form_name="approve_form",
        decide=lambda application, data: application_approve(
            application=application, reviewer=request.user, note=data["note"], request=request
        ),
        success_message=_approval_message,
    )


@require_POST
@kyc_reviewer_required
def kyc_reject(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """Reject the application with a reason the merchant sees."""
    return _decide(
        request,
        pk,
        RejectForm,
        form_name="reject_form",
        decide=lambda application, data: application_reject(
            application=application, reviewer=request.user, reason=data["reason"], request=request
        ),
        success_message=lambda _review: _("Rejected. The merchant is being notified by email."),
    )


@require_POST
@kyc_reviewer_required
def kyc_request_information(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """Send the application back to the merchant with a request for more information."""
    return _decide(
        request,
        pk,
        RequestInformationForm,
        form_name="request_form",
        decide=lambda application, data: application_request_information(
            application=application,
            reviewer=request.user,
            message=data["message"],
            request=request,
        ),
        success_message=lambda _result: _(
            "Request sent. The application is back with the merchant."
        ),
    )
