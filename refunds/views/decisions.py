"""Decisions on a refund awaiting approval, from the queue or the refund's page.

Maker-checker is the service's rule (`refund_approve`, `refund_reject`): the approver is
an owner or finance user who did not request the refund. The pages only hide buttons
that would be refused; a refused decision (a stale page, a second tab) is shown as an
error, and nothing changes.
"""

from collections.abc import Callable
from functools import partial

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.http import AuthenticatedRequest
from config.errors import ApplicationError, InvalidTransition
from merchants.views.access import MemberRequest, merchant_member_required
from payments.templatetags.money import money_format
from refunds.forms import RefundCancelForm, RefundCloseForm, RefundRejectForm
from refunds.models import Refund, RefundStatus
from refunds.services import (
    RefundActor,
    refund_approve,
    refund_cancel,
    refund_close,
    refund_reject,
    refund_retry,
)
from refunds.views.common import safe_next
from refunds.views.portal import merchant_refund_or_404, render_detail

REVIEW_ACTIONS = frozenset({"retry", "close"})


def refusal_message(refund: Refund, error: ApplicationError) -> str:
    """Return what to tell the user about a refused action on `refund`."""
    if isinstance(error, InvalidTransition):
        # Someone else (or another tab) acted first: say what the refund is now.
        refund.refresh_from_db(fields=["status"])
        return _("Nothing was changed: this refund is now %(status)s.") % {
            "status": RefundStatus(refund.status).label
        }
    return error.message


def resolve_manual_review(
    request: AuthenticatedRequest,
    refund: Refund,
    action: str,
    *,
    back: str,
    render_error: Callable[..., HttpResponse],
) -> HttpResponse:
    """Retry or close a refund in manual review (`refund_retry`, `refund_close`).

    The services check who may (the merchant's owners and finance users, Paydesk
    finance); a refusal is shown, and a close without a reason keeps the page's form.
    """
    if action not in REVIEW_ACTIONS:
        raise Http404
    user = request.user
    if action == "retry":
        try:
            refund_retry(refund=refund, actor=user, request=request)
        except ApplicationError as error:
            messages.error(request, refusal_message(refund, error))
        else:
            messages.success(request, _("Refund sent to the acquirer again."))
        return redirect(back)
    form = RefundCloseForm(request.POST)
    if not form.is_valid():
        return render_error(status=400, close_form=form)
    try:
        refund_close(
            refund=refund,
            actor=user,
            reason=form.cleaned_data["reason"],
            request=request,
        )
    except ApplicationError as error:
        form.add_error(None, refusal_message(refund, error))
        return render_error(status=error.status, close_form=form)
    messages.success(
        request,
        _("Refund closed as failed: the payer was not paid, the merchant's balance is restored."),
    )
    return redirect(back)


@require_POST
@merchant_member_required("approve_refunds")
def refund_approve_view(request: MemberRequest, public_id: str) -> HttpResponse:
    """Approve a refund and send it to the acquirer; back to where the user came from."""
    refund = merchant_refund_or_404(request, public_id)
    back = safe_next(request, reverse("refund_detail", args=[refund.public_id]))
    try:
        refund_approve(
            refund=refund,
            actor=RefundActor.for_user(request.user),
            request=request,
        )
    except ApplicationError as error:
        messages.error(request, refusal_message(refund, error))
        return redirect(back)
    messages.success(
        request,
        _("Refund of %(amount)s approved and sent to the acquirer.")
        % {"amount": money_format(refund.amount, refund.currency)},
    )
    return redirect(back)


@require_POST
@merchant_member_required("approve_refunds")
def refund_reject_view(request: MemberRequest, public_id: str) -> HttpResponse:
    """Reject a refund, saying why; a missing or refused reason shows the refund's page."""
    refund = merchant_refund_or_404(request, public_id)
    form = RefundRejectForm(request.POST)
    if not form.is_valid():
        # The refund's page keeps what was typed and shows why it was not accepted.
        return render_detail(request, refund, status=400, reject_form=form)
    try:
        refund_reject(
            refund=refund,
            actor=RefundActor.for_user(request.user),
            reason=form.cleaned_data["reason"],
            request=request,
        )
    except ApplicationError as error:
        for messages_of_field in error.details.values():
            if isinstance(messages_of_field, list):
                for message in messages_of_field:
                    form.add_error("reason", str(message))
        if not form.errors:
            form.add_error(None, refusal_message(refund, error))
        return render_detail(request, refund, status=error.status, reject_form=form)
    messages.success(
        request,
        _("Refund of %(amount)s rejected. No money moved.")
        % {"amount": money_format(refund.amount, refund.currency)},
    )
    return redirect(safe_next(request, reverse("refund_detail", args=[refund.public_id])))


@require_POST
@merchant_member_required("refund")
def refund_cancel_view(request: MemberRequest, public_id: str) -> HttpResponse:
    """Withdraw a refund the user asked for, while it still awaits approval."""
    refund = merchant_refund_or_404(request, public_id)
    form = RefundCancelForm(request.POST)
    if not form.is_valid():
        return render_detail(request, refund, status=400, cancel_form=form)
    try:
        refund_cancel(
            refund=refund,
            actor=RefundActor.for_user(request.user),
            reason=form.cleaned_data["reason"],
            request=request,
        )
    except ApplicationError as error:
        messages.error(request, refusal_message(refund, error))
    else:
        messages.success(request, _("Refund request withdrawn."))
    return redirect("refund_detail", refund.public_id)


@require_POST
@merchant_member_required("approve_refunds")
def refund_review_view(request: MemberRequest, public_id: str, action: str) -> HttpResponse:
    """Retry ("retry") or close ("close") one of the merchant's refunds in manual review."""
    refund = merchant_refund_or_404(request, public_id)
    return resolve_manual_review(
        request,
        refund,
        action,
        back=reverse("refund_detail", args=[refund.public_id]),
        render_error=partial(render_detail, request, refund),
    )
