"""Changes to settlement terms: each adds a version effective from the next settlement.

Who may do what: a merchant member with "manage_settings" sets the minimum payout, asks
for T+0 and returns to T+1 (views check the capability); a finance operator
(`accounts.run_settlement`) sets fee rates and approves or rejects T+0 requests (checked
here, since it is platform policy rather than a page's concern).
"""

import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.services.audit import audit_event_record
from config.errors import Conflict, PermissionDenied, ValidationFailed
from merchants.models import (
    CycleRequestStatus,
    Merchant,
    MerchantMembership,
    MerchantStatus,
    SettlementCycle,
    SettlementCycleRequest,
    SettlementTerms,
)
from merchants.models.settlement import MAX_FEE_BPS
from merchants.selectors.settlement import settlement_terms_latest

# Ten million CNY, in fen: a minimum payout above it is a typo.
MAX_MINIMUM_PAYOUT = 10_000_000_00
TERMS_FIELDS = (
    "cycle",
    "wallet_fee_bps",
    "bank_card_fee_bps",
    "other_fee_bps",
    "minimum_payout_amount",
)


def next_settlement_date(now: datetime.datetime | None = None) -> datetime.date:
    """Return the date of the next daily settlement run: tomorrow, in Paydesk's time zone.

    Settlement runs once a day for the previous day, so a change made today first applies
    to tomorrow's run. (Holidays are not modelled: settlement runs every day.)
    """
    return timezone.localdate(now) + datetime.timedelta(days=1)


def _require_finance(actor: User) -> None:
    if not actor.has_perm("accounts.run_settlement"):
        raise PermissionDenied(_("Only a finance operator can do this."))


def _terms_version_add(
    *,
    merchant: Merchant,
    changes: dict[str, Any],
    actor: User | None,
    reason: str = "",
    audit_action: str,
    request: HttpRequest | None = None,
) -> SettlementTerms:
    """Add a version: the latest one with `changes` applied, effective at the next settlement.

    Call inside an atomic block that has locked the merchant row (version numbers are
    allocated under that lock).
    """
    latest = settlement_terms_latest(merchant)
    values = {field: getattr(latest, field) for field in TERMS_FIELDS}
    if all(values[field] == value for field, value in changes.items()):
        raise ValidationFailed(_("Nothing changes: these are already the terms."), code="no_change")
    values.update(changes)
    terms = SettlementTerms.objects.create(
        merchant=merchant,
        version=latest.version + 1,
        effective_from=next_settlement_date(),
        reason=reason[:300],
        created_by=actor,
        **values,
    )
    audit_event_record(
        action=audit_action,
        actor=actor,
        target=merchant,
        before=latest.as_audit_dict(),
        after={**terms.as_audit_dict(), "reason": reason},
        request=request,
    )
    return terms


def _lock(merchant: Merchant) -> Merchant:
    return Merchant.objects.select_for_update().get(pk=merchant.pk)


def settlement_terms_minimum_payout_set(
    *,
    merchant: Merchant,
    amount: int,
    actor: User,
    request: HttpRequest | None = None,
) -> SettlementTerms:
    """Set the smallest balance (fen) paid out; below it the balance waits for the next run."""
    if (
        isinstance(amount, bool)
        or not isinstance(amount, int)
        or not 0 <= amount <= MAX_MINIMUM_PAYOUT
    ):
        message = _("Enter an amount from 0 to 10,000,000.00.")
        raise ValidationFailed(message, details={"minimum_payout_amount": [message]})
    with transaction.atomic():
        return _terms_version_add(
            merchant=_lock(merchant),
            changes={"minimum_payout_amount": amount},
            actor=actor,
            audit_action="settlement_terms.minimum_payout_set",
            request=request,
        )


def settlement_terms_fees_set(
    *,
    merchant: Merchant,
    wallet_fee_bps: int,
    bank_card_fee_bps: int,
    other_fee_bps: int,
    reason: str,
    actor: User,
    request: HttpRequest | None = None,
) -> SettlementTerms:
    """Set the merchant's fee rates in basis points (finance operators only; reason required)."""
    _require_finance(actor)
    fees = {
        "wallet_fee_bps": wallet_fee_bps,
        "bank_card_fee_bps": bank_card_fee_bps,
        "other_fee_bps": other_fee_bps,
    }
    errors = {
        field: [_("Enter a whole number of basis points from 0 to %(max)d.") % {"max": MAX_FEE_BPS}]
        for field, value in fees.items()
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_FEE_BPS
    }
    reason = (reason or "").strip()
    if not reason:
        errors["reason"] = [_("Give a reason: it is kept with the terms.")]
    if errors:
        raise ValidationFailed(_("Some of the data is not valid."), details=errors)
    with transaction.atomic():
        return _terms_version_add(
            merchant=_lock(merchant),
            changes=fees,
            actor=actor,
            reason=reason,
            audit_action="settlement_terms.fees_set",
            request=request,
        )


def settlement_cycle_t0_request(
    *,
    merchant: Merchant,
    actor: User,
    note: str = "",
    request: HttpRequest | None = None,
) -> SettlementCycleRequest:
    """Ask finance for same-day (T+0) settlement; one open request per merchant."""
    note = (note or "").strip()[:500]
    with transaction.atomic():
        locked = _lock(merchant)
        if locked.status != MerchantStatus.APPROVED:
            raise Conflict(
                _("T+0 settlement can be requested once the merchant is approved."),
                code="merchant_not_approved",
            )
        if settlement_terms_latest(locked).cycle == SettlementCycle.T0:
            raise Conflict(_("This merchant already settles T+0."), code="already_t0")
        try:
            with transaction.atomic():
                cycle_request = SettlementCycleRequest.objects.create(
                    merchant=locked,
                    requested_cycle=SettlementCycle.T0,
                    note=note,
                    requested_by=actor,
                )
        except IntegrityError:
            raise Conflict(
                _("A T+0 request is already waiting for a decision."), code="request_pending"
            ) from None
        audit_event_record(
            action="settlement_terms.t0_request",
            actor=actor,
            target=locked,
            after={"request": cycle_request.pk, "note": note},
            request=request,
        )
    return cycle_request


def _lock_pending(cycle_request: SettlementCycleRequest) -> SettlementCycleRequest:
    locked = SettlementCycleRequest.objects.select_for_update().get(pk=cycle_request.pk)
    if locked.status != CycleRequestStatus.PENDING:
        raise Conflict(_("This request has already been decided."), code="request_decided")
    return locked


def settlement_cycle_request_withdraw(
    *,
    cycle_request: SettlementCycleRequest,
    actor: User,
    request: HttpRequest | None = None,
) -> SettlementCycleRequest:
    """Withdraw the merchant's own pending request."""
    with transaction.atomic():
        _lock(cycle_request.merchant)
        locked = _lock_pending(cycle_request)
        locked.status = CycleRequestStatus.WITHDRAWN
        locked.decided_at = timezone.now()
        locked.decided_by = actor
        locked.save(update_fields=["status", "decided_at", "decided_by"])
        audit_event_record(
            action="settlement_terms.t0_withdraw",
            actor=actor,
            target=locked.merchant,
            after={"request": locked.pk},
            request=request,
        )
    return locked


def _require_independent(actor: User, cycle_request: SettlementCycleRequest) -> None:
    # Maker-checker: nobody decides a request they made or for a merchant they belong to.
    if (
        cycle_request.requested_by_id == actor.pk
        or MerchantMembership.objects.filter(
            merchant_id=cycle_request.merchant_id, user=actor
        ).exists()
    ):
        raise PermissionDenied(
            _("You cannot decide a request of a merchant you belong to."),
            code="not_independent",
        )


def settlement_cycle_request_approve(
    *,
    cycle_request: SettlementCycleRequest,
    actor: User,
    reason: str = "",
    request: HttpRequest | None = None,
) -> SettlementCycleRequest:
    """Approve a T+0 request: the merchant settles T+0 from the next settlement on."""
    _require_finance(actor)
    _require_independent(actor, cycle_request)
    reason = (reason or "").strip()
    with transaction.atomic():
        merchant = _lock(cycle_request.merchant)
        locked = _lock_pending(cycle_request)
        if merchant.status != MerchantStatus.APPROVED:
            raise Conflict(
                _("The merchant is not approved; reject the request instead."),
                code="merchant_not_approved",
            )
        terms = _terms_version_add(
            merchant=merchant,
            changes={"cycle": locked.requested_cycle},
            actor=actor,
            reason=reason or _("T+0 request approved"),
            audit_action="settlement_terms.t0_approve",
            request=request,
        )
        locked.status = CycleRequestStatus.APPROVED
        locked.decided_at = timezone.now()
        locked.decided_by = actor
        locked.decision_reason = reason[:500]
        locked.resulting_terms = terms
        locked.save(
            update_fields=[
                "status",
                "decided_at",
                "decided_by",
                "decision_reason",
                "resulting_terms",
            ]
        )
    return locked


def settlement_cycle_request_reject(
    *,
    cycle_request: SettlementCycleRequest,
    actor: User,
    reason: str,
    request: HttpRequest | None = None,
) -> SettlementCycleRequest:
    """Reject a T+0 request; the reason is shown to the merchant and is required."""
    _require_finance(actor)
    _require_independent(actor, cycle_request)
    reason = (reason or "").strip()
    if not reason:
        message = _("Give a reason: the merchant sees it.")
        raise ValidationFailed(message, details={"reason": [message]})
    with transaction.atomic():
        _lock(cycle_request.merchant)
        locked = _lock_pending(cycle_request)
        locked.status = CycleRequestStatus.REJECTED
        locked.decided_at = timezone.now()
        locked.decided_by = actor
        locked.decision_reason = reason[:500]
        locked.save(update_fields=["status", "decided_at", "decided_by", "decision_reason"])
        audit_event_record(
            action="settlement_terms.t0_reject",
            actor=actor,
            target=locked.merchant,
            after={"request": locked.pk, "reason": reason},
            request=request,
        )
    return locked


def settlement_cycle_t1_set(
    *, merchant: Merchant, actor: User, request: HttpRequest | None = None
) -> SettlementTerms:
    """Return to next-day (T+1) settlement; slowing down needs nobody's approval."""
    with transaction.atomic():
        return _terms_version_add(
            merchant=_lock(merchant),
            changes={"cycle": SettlementCycle.T1},
            actor=actor,
            audit_action="settlement_terms.t1_set",
            request=request,
        )
