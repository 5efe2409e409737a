"""Settlement terms: the merchant's page, and the finance queue of T+0 requests and fees."""

import contextlib
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any, Protocol

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts.http import AuthenticatedRequest
from accounts.models import User
from config.errors import ApplicationError
from merchants.models import (
    CycleRequestStatus,
    Merchant,
    SettlementCycle,
    SettlementCycleRequest,
)
from merchants.platform_forms import (
    CycleRequestForm,
    DecisionForm,
    FeesForm,
    MerchantSearchForm,
    MinimumPayoutForm,
    form_add_application_error,
)
from merchants.selectors.membership import membership_has_capability
from merchants.selectors.settlement import (
    settlement_cycle_request_list_for_merchant,
    settlement_cycle_request_pending,
    settlement_cycle_request_queue,
    settlement_cycle_request_recent_decisions,
    settlement_terms_effective,
    settlement_terms_history,
    settlement_terms_latest,
)
from merchants.services.settlement_terms import (
    next_settlement_date,
    settlement_cycle_request_approve,
    settlement_cycle_request_reject,
    settlement_cycle_request_withdraw,
    settlement_cycle_t0_request,
    settlement_cycle_t1_set,
    settlement_terms_fees_set,
    settlement_terms_minimum_payout_set,
)
from merchants.views.access import MemberRequest, merchant_member_required

finance_required = permission_required("accounts.run_settlement", raise_exception=True)


def _terms_context(merchant: Merchant) -> dict[str, Any]:
    today = timezone.localdate()
    current = settlement_terms_effective(merchant, today)
    latest = settlement_terms_latest(merchant)
    return {
        "current": current,
        "upcoming": latest if latest.version != current.version else None,
        "history": settlement_terms_history(merchant),
        "next_settlement_date": next_settlement_date(),
    }


def _settlement_page(
    request: MemberRequest,
    *,
    payout_form: MinimumPayoutForm | None = None,
    cycle_form: CycleRequestForm | None = None,
    status: int = 200,
) -> HttpResponse:
    merchant = request.merchant
    context = _terms_context(merchant)
    latest = settlement_terms_latest(merchant)
    context.update(
        {
            "can_manage": membership_has_capability(
                request.membership,
                "manage_settings",
            ),
            "payout_form": payout_form
            or MinimumPayoutForm(initial={"amount": Decimal(latest.minimum_payout_amount) / 100}),
            "cycle_form": cycle_form or CycleRequestForm(),
            "pending_request": settlement_cycle_request_pending(merchant),
            "requests": settlement_cycle_request_list_for_merchant(merchant)[:10],
            "latest_is_t0": latest.cycle == SettlementCycle.T0,
            "merchant": merchant,
        }
    )
    return render(request, "merchants/settlement/terms.html", context, status=status)


@merchant_member_required("view_finance")
def settlement_terms(request: MemberRequest) -> HttpResponse:
    return _settlement_page(request)


@require_POST
@merchant_member_required("manage_settings")
def settlement_minimum_payout(request: MemberRequest) -> HttpResponse:
    form = MinimumPayoutForm(request.POST)
    if form.is_valid():
        try:
            terms = settlement_terms_minimum_payout_set(
                merchant=request.merchant,
                amount=form.amount_in_fen(),
                actor=request.user,
                request=request,
            )
        except ApplicationError as error:
            form_add_application_error(form, error)
        else:
            messages.success(
                request,
                _("Saved. The new minimum payout applies from the settlement of %(date)s.")
                % {"date": terms.effective_from.isoformat()},
            )
            return redirect("settlement_terms")
    return _settlement_page(request, payout_form=form, status=400)


@require_POST
@merchant_member_required("manage_settings")
def settlement_t0_request(request: MemberRequest) -> HttpResponse:
    form = CycleRequestForm(request.POST)
    if form.is_valid():
        try:
            settlement_cycle_t0_request(
                merchant=request.merchant,
                actor=request.user,
                note=form.cleaned_data["note"],
                request=request,
            )
        except ApplicationError as error:
            form_add_application_error(form, error)
        else:
            messages.success(
                request, _("Your T+0 request is sent. Our finance team will decide on it.")
            )
            return redirect("settlement_terms")
    return _settlement_page(request, cycle_form=form, status=400)


@require_POST
@merchant_member_required("manage_settings")
def settlement_t0_withdraw(request: MemberRequest) -> HttpResponse:
    pending = settlement_cycle_request_pending(request.merchant)
    if pending is None:
        messages.error(request, _("There is no open request to withdraw."))
        return redirect("settlement_terms")
    try:
        settlement_cycle_request_withdraw(
            cycle_request=pending,
            actor=request.user,
            request=request,
        )
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Your T+0 request is withdrawn."))
    return redirect("settlement_terms")


@require_POST
@merchant_member_required("manage_settings")
def settlement_t1(request: MemberRequest) -> HttpResponse:
    try:
        terms = settlement_cycle_t1_set(
            merchant=request.merchant,
            actor=request.user,
            request=request,
        )
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            _("Settlement returns to T+1 from the settlement of %(date)s.")
            % {"date": terms.effective_from.isoformat()},
        )
    return redirect("settlement_terms")


# --- finance operators ---


@login_required
@finance_required
def settlement_term_requests(request: AuthenticatedRequest) -> HttpResponse:
    """The finance queue: open T+0 requests, recent decisions, and a merchant search."""
    search = MerchantSearchForm(request.GET or None)
    found: list[Merchant] = []
    if search.is_valid() and search.cleaned_data["q"]:
        query = search.cleaned_data["q"].strip()
        condition = Q(name__icontains=query)
        with contextlib.suppress(ValueError):  # not an id: search by name only
            condition |= Q(public_id=uuid.UUID(query))
        found = list(Merchant.objects.filter(condition).order_by("name")[:20])
    return render(
        request,
        "merchants/settlement/requests.html",
        {
            "queue": settlement_cycle_request_queue(),
            "decisions": settlement_cycle_request_recent_decisions(),
            "decision_form": DecisionForm(),
            "search": search,
            "found": found,
            "searched": bool(search.is_bound and search.is_valid() and search.cleaned_data["q"]),
        },
    )


def _pending_or_404(pk: int) -> SettlementCycleRequest:
    cycle_request = SettlementCycleRequest.objects.select_related("merchant").filter(pk=pk).first()
    if cycle_request is None:
        raise Http404
    return cycle_request


class _CycleRequestDecision(Protocol):
    def __call__(
        self,
        *,
        cycle_request: SettlementCycleRequest,
        actor: User,
        reason: str,
        request: HttpRequest,
    ) -> object: ...


def _decide(
    request: AuthenticatedRequest,
    pk: int,
    decide: _CycleRequestDecision,
    success_message: Callable[[SettlementCycleRequest], str],
) -> HttpResponse:
    """Approve or reject one T+0 request; the reason is optional, a refusal is a message."""
    cycle_request = _pending_or_404(pk)
    form = DecisionForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    try:
        decide(cycle_request=cycle_request, actor=request.user, reason=reason, request=request)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, success_message(cycle_request))
    return redirect("settlement_term_requests")


@require_POST
@login_required
@finance_required
def settlement_term_request_approve(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    return _decide(
        request,
        pk,
        settlement_cycle_request_approve,
        lambda cycle_request: (
            _("%(merchant)s settles T+0 from %(date)s.")
            % {
                "merchant": cycle_request.merchant.name,
                "date": next_settlement_date().isoformat(),
            }
        ),
    )


@require_POST
@login_required
@finance_required
def settlement_term_request_reject(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    return _decide(
        request,
        pk,
        settlement_cycle_request_reject,
        lambda cycle_request: (
            _("The T+0 request of %(merchant)s is rejected.")
            % {"merchant": cycle_request.merchant.name}
        ),
    )


@require_http_methods(["GET", "POST"])
@login_required
@finance_required
def settlement_terms_fees(request: AuthenticatedRequest, public_id: str) -> HttpResponse:
    """A finance operator sets one merchant's fee rates (effective at the next settlement)."""
    merchant = Merchant.objects.filter(public_id=public_id).first()
    if merchant is None:
        raise Http404
    latest = settlement_terms_latest(merchant)
    form = FeesForm(
        request.POST or None,
        initial={
            "wallet_fee_bps": latest.wallet_fee_bps,
            "bank_card_fee_bps": latest.bank_card_fee_bps,
            "other_fee_bps": latest.other_fee_bps,
        },
    )
    if request.method == "POST" and form.is_valid():
        try:
            terms = settlement_terms_fees_set(
                merchant=merchant,
                actor=request.user,
                request=request,
                **form.cleaned_data,
            )
        except ApplicationError as error:
            form_add_application_error(form, error)
        else:
            messages.success(
                request,
                _("New fees for %(merchant)s apply from the settlement of %(date)s.")
                % {"merchant": merchant.name, "date": terms.effective_from.isoformat()},
            )
            return redirect("settlement_terms_fees", public_id=merchant.public_id)
    context = _terms_context(merchant)
    context.update(
        {
            "merchant": merchant,
            "form": form,
            "pending_request": settlement_cycle_request_pending(merchant),
            "request_statuses": CycleRequestStatus,
        }
    )
    return render(
        request,
        "merchants/settlement/fees.html",
        context,
        status=400 if form.errors else 200,
    )
