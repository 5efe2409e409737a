"""Asking for a refund from the portal, and the "Refund" panel of the payment page.

payments knows nothing of refunds: `payment_refund_panel` is registered with
`payments.panels` in RefundsConfig.ready, and the payment page includes the template it
names. The form posts here; this view calls `refunds.services.refund_create` with the
signed-in member as requester.

Double submits: the form carries a signed one-time token. The first POST with it claims
it in the cache (`cache.add`, atomic on Redis) and stores the refund's id there once it
is created; a second POST of the same form (a double click, a resent request) finds the
claim and creates nothing. A refused request releases its claim, so the corrected form
can be sent again. The service itself checks the amount under the payment's lock, so even
without the cache nothing could be refunded twice beyond what is refundable.
"""

from typing import Any

from django.contrib import messages
from django.core.cache import cache
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from config.errors import ApplicationError, NotFound, ValidationFailed
from merchants.selectors.membership import membership_has_capability
from merchants.views.access import MemberRequest, merchant_member_required
from payments.domain.models import Payment, PaymentStatus
from payments.panels import PaymentPanel
from payments.selectors import payment_get_for_merchant
from payments.templatetags.money import money_format
from refunds import policies
from refunds.errors import (
    PaymentNotRefundable,
    RefundLimitReached,
    RefundWindowClosed,
)
from refunds.forms import TOKEN_MAX_AGE, RefundRequestForm
from refunds.models import RefundStatus
from refunds.selectors import RefundSummary, refund_list_for_payment, refund_summary_for_payment
from refunds.services import RefundActor, refund_create

PANEL_TEMPLATE = "refunds/partials/payment_refund_panel.html"
PANEL_REFUNDS = 5
CLAIM_PREFIX = "refunds:portal-request:"
CLAIM_PENDING = "pending"


def not_refundable_reason(payment: Payment, summary: RefundSummary) -> str:
    """Return why `payment` cannot be refunded now ("" when it can)."""
    if summary.is_refundable:
        return ""
    if payment.status != PaymentStatus.SUCCEEDED:
        return str(PaymentNotRefundable.default_message)
    if summary.count >= policies.max_partial_refunds():
        return str(RefundLimitReached.default_message)
    if summary.in_progress + summary.refunded >= payment.amount:
        return _("Everything has been refunded, or is being refunded.")
    return str(RefundWindowClosed.default_message)


def payment_refund_panel(
    request: HttpRequest, payment: Payment, *, is_staff_view: bool
) -> PaymentPanel | None:
    """Return the payment page's "Refunds" panel: what is refunded, what is left, the form.

    The payment was scoped to the caller by the payment page. Members see the form when
    their team role may refund; staff see the figures and the refunds, read-only.
    """
    if payment.status != PaymentStatus.SUCCEEDED:
        # Only a succeeded payment is ever refunded: no panel for the others.
        return None
    summary = refund_summary_for_payment(payment)
    membership = getattr(request, "membership", None)
    can_refund = not is_staff_view and membership_has_capability(membership, "refund")
    form = None
    if can_refund and summary.is_refundable:
        form = RefundRequestForm(payment=payment, summary=summary)
    refunds = list(refund_list_for_payment(payment).select_related("requested_by")[:PANEL_REFUNDS])
    if is_staff_view:
        all_url = reverse("staff_refund_list") + f"?q={payment.public_id}"
    else:
        all_url = reverse("refund_list") + f"?q={payment.public_id}&mode={payment.mode}"
    return PaymentPanel(
        PANEL_TEMPLATE,
        {
            "payment": payment,
            "summary": summary,
            "form": form,
            "can_refund": can_refund,
            "not_refundable_reason": not_refundable_reason(payment, summary),
            "refunds": refunds,
            "has_more": summary.count > PANEL_REFUNDS or len(refunds) >= PANEL_REFUNDS,
            "all_url": all_url,
            "detail_url_name": "staff_refund_detail" if is_staff_view else "refund_detail",
            "action_url": reverse("refund_create", args=[payment.public_id]),
            "is_staff_view": is_staff_view,
        },
    )


def _form_errors_from(form: RefundRequestForm, error: ApplicationError) -> None:
    """Put the service's refusal on the form: on its field when it names one."""
    placed = False
    if isinstance(error, ValidationFailed) or error.details:
        for name, messages_of_field in error.details.items():
            if name in form.fields and isinstance(messages_of_field, list):
                for message in messages_of_field:
                    form.add_error(name, str(message))
                    placed = True
    if not placed:
        form.add_error(None, error.message)


def _render(
    request: HttpRequest, payment: Payment, form: RefundRequestForm | None, *, status: int = 200
) -> HttpResponse:
    summary = form.summary if form is not None else refund_summary_for_payment(payment)
    context = {
        "payment": payment,
        "summary": summary,
        "form": form,
        "not_refundable_reason": not_refundable_reason(payment, summary),
        "payment_url": reverse("payment_detail", args=[payment.public_id]),
        "action_url": reverse("refund_create", args=[payment.public_id]),
    }
    return render(request, "refunds/request.html", context, status=status)


def _success_message(refund: Any) -> str:
    amount = money_format(refund.amount, refund.currency)
    if refund.status == RefundStatus.REQUESTED:
        return _(
            "Refund of %(amount)s requested. It waits for approval by an owner or finance "
            "user who did not request it."
        ) % {"amount": amount}
    return _("Refund of %(amount)s sent to the acquirer.") % {"amount": amount}


@require_http_methods(["GET", "POST"])
@merchant_member_required("refund")
def refund_create_view(request: MemberRequest, payment_id: str) -> HttpResponse:
    """Show the refund form of one of the merchant's payments, or ask for the refund."""
    merchant = request.merchant
    try:
        payment = payment_get_for_merchant(merchant, payment_id)
    except NotFound:
        raise Http404 from None
    summary = refund_summary_for_payment(payment)
    if request.method == "GET":
        form = (
            RefundRequestForm(payment=payment, summary=summary) if summary.is_refundable else None
        )
        return _render(request, payment, form)

    form = RefundRequestForm(request.POST, payment=payment, summary=summary)
    if not form.is_valid():
        if form.has_error("token"):
            form.fresh_token()
        return _render(request, payment, form, status=400)

    payment_url = reverse("payment_detail", args=[payment.public_id])
    claim = CLAIM_PREFIX + form.cleaned_data["token"]
    if not cache.add(claim, CLAIM_PENDING, timeout=int(TOKEN_MAX_AGE.total_seconds())):
        earlier = cache.get(claim)
        if isinstance(earlier, str) and earlier.startswith("re_"):
            messages.info(request, _("This refund was already requested: it was not sent twice."))
            return redirect("refund_detail", earlier)
        messages.warning(request, _("This refund is already being requested. Check below."))
        return redirect(payment_url)
    try:
        refund = refund_create(
            payment=payment,
            amount=form.cleaned_data["amount"],
            reason=form.cleaned_data["reason"],
            reason_text=form.cleaned_data["reason_text"],
            actor=RefundActor.for_user(request.user),
            request=request,
        )
    except ApplicationError as error:
        cache.delete(claim)
        # The figures may have changed (another refund meanwhile): show the current ones.
        fresh = RefundRequestForm(
            request.POST, payment=payment, summary=refund_summary_for_payment(payment)
        )
        fresh.is_valid()
        _form_errors_from(fresh, error)
        return _render(request, payment, fresh, status=error.status)
    except Exception:
        # A crash is not an answer: the same form may be sent again.
        cache.delete(claim)
        raise
    cache.set(claim, refund.public_id, timeout=int(TOKEN_MAX_AGE.total_seconds()))
    messages.success(request, _success_message(refund))
    return redirect(payment_url)
