"""Decisions on a refund awaiting approval, from the queue or the refund's page.

Maker-checker is the service's rule (`refund_approve`, `refund_reject`): the approver is
an owner or finance user who did not request the refund. The pages only hide buttons
that would be refused; a refused decision (a stale page, a second tab) is shown as an
error, and nothing changes.
"""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from config.errors import ApplicationError, InvalidTransition
from merchants.views.access import merchant_member_required
from payments.templatetags.money import money_format
from refunds.forms import RefundCancelForm, RefundRejectForm
from refunds.models import Refund, RefundStatus
from refunds.services import RefundActor, refund_approve, refund_cancel, refund_reject
from refunds.views.common import safe_next
from refunds.views.portal import merchant_refund_or_404, render_detail


def _refusal(refund: Refund, error: ApplicationError) -> str:
    if isinstance(error, InvalidTransition):
        # Someone else (or another tab) decided first: say what the refund is now.
        refund.refresh_from_db(fields=["status"])
        return _("This refund is no longer waiting for approval: it is %(status)s.") % {
            "status": RefundStatus(refund.status).label
        }
    return error.message


@require_POST
@merchant_member_required("approve_refunds")
def refund_approve_view(request: HttpRequest, public_id: str) -> HttpResponse:
    """Approve a refund and send it to the acquirer; back to where the user came from."""
    refund = merchant_refund_or_404(request, public_id)
    back = safe_next(request, reverse("refund_detail", args=[refund.public_id]))
    try:
        refund_approve(
            refund=refund,
            actor=RefundActor.for_user(request.user),  # type: ignore[arg-type]
            request=request,
        )
    except ApplicationError as error:
        messages.error(request, _refusal(refund, error))
        return redirect(back)
    messages.success(
        request,
        _("Refund of %(amount)s approved and sent to the acquirer.")
        % {"amount": money_format(refund.amount, refund.currency)},
    )
    return redirect(back)


@require_POST
@merchant_member_required("approve_refunds")
def refund_reject_view(request: HttpRequest, public_id: str) -> HttpResponse:
    """Reject a refund, saying why; a missing or refused reason shows the refund's page."""
    refund = merchant_refund_or_404(request, public_id)
    form = RefundRejectForm(request.POST)
    if not form.is_valid():
        # The refund's page keeps what was typed and shows why it was not accepted.
        return render_detail(request, refund, status=400, reject_form=form)
    try:
        refund_reject(
            refund=refund,
            actor=RefundActor.for_user(request.user),  # type: ignore[arg-type]
            reason=form.cleaned_data["reason"],
            request=request,
        )
    except ApplicationError as error:
        for messages_of_field in error.details.values():
            if isinstance(messages_of_field, list):
                for message in messages_of_field:
                    form.add_error("reason", str(message))
        if not form.errors:
            form.add_error(None, _refusal(refund, error))
        return render_detail(request, refund, status=error.status, reject_form=form)
    messages.success(
        request,
        _("Refund of %(amount)s rejected. No money moved.")
        % {"amount": money_format(refund.amount, refund.currency)},
    )
    return redirect(safe_next(request, reverse("refund_detail", args=[refund.public_id])))


@require_POST
@merchant_member_required("refund")
def refund_cancel_view(request: HttpRequest, public_id: str) -> HttpResponse:
    """Withdraw a refund the user asked for, while it still awaits approval."""
    refund = merchant_refund_or_404(request, public_id)
    form = RefundCancelForm(request.POST)
    if not form.is_valid():
        return render_detail(request, refund, status=400, cancel_form=form)
    try:
        refund_cancel(
            refund=refund,
            actor=RefundActor.for_user(request.user),  # type: ignore[arg-type]
            reason=form.cleaned_data["reason"],
            request=request,
        )
    except ApplicationError as error:
        messages.error(request, _refusal(refund, error))
    else:
        messages.success(request, _("Refund request withdrawn."))
    return redirect("refund_detail", refund.public_id)
