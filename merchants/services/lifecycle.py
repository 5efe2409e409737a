"""Merchant status transitions: the one place a merchant's status changes.

Every move is checked against MERCHANT_TRANSITIONS under a row lock, appends a MerchantEvent
and an audit event, and (for decisions the merchant must hear about) queues the notification
email once the transaction commits.
"""

from functools import partial
from typing import Any

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import User
from accounts.roles import Role
from accounts.services.audit import audit_event_record
from config.errors import InvalidTransition, PermissionDenied, ValidationFailed
from merchants.models import Merchant, MerchantEvent, MerchantStatus
from merchants.models.merchant import MERCHANT_TRANSITIONS

# The merchant owner gets an email when its merchant reaches one of these statuses.
NOTIFIED_STATUSES = frozenset(
    {
        MerchantStatus.APPROVED,
        MerchantStatus.REJECTED,
        MerchantStatus.NEEDS_INFORMATION,
        MerchantStatus.SUSPENDED,
    }
)


class ReasonRequired(ValidationFailed):
    code = "reason_required"
    default_message = gettext_lazy("Give a reason.")


def can_change_merchant_status(user: User) -> bool:
    """Return whether `user` may suspend and reinstate merchants (administrators only)."""
    return user.is_active and (user.is_superuser or user.has_role(Role.ADMINISTRATOR))


def merchant_transition(
    *,
    merchant: Merchant,
    to_status: str,
    actor: User | None,
    reason: str = "",
    audit_action: str | None = None,
    audit_extra: dict[str, Any] | None = None,
    request: HttpRequest | None = None,
) -> MerchantEvent:
    """Move `merchant` to `to_status` if the transition table allows it; return the event.

    Locks the merchant row, so concurrent moves serialise and the loser sees the new status
    and gets InvalidTransition. Updates the caller's `merchant` instance in place.
    """
    with transaction.atomic():
        locked = Merchant.objects.select_for_update().get(pk=merchant.pk)
        from_status = locked.status
        if to_status not in MERCHANT_TRANSITIONS.get(from_status, frozenset()):
            raise InvalidTransition(
                _("A merchant cannot go from %(from)s to %(to)s.")
                % {
                    "from": MerchantStatus(from_status).label,
                    "to": MerchantStatus(to_status).label,
                },
                details={"from": from_status, "to": to_status},
            )
        now = timezone.now()
        locked.status = to_status
        locked.status_reason = reason
        update_fields = ["status", "status_reason", "updated_at"]
        if to_status == MerchantStatus.APPROVED and locked.approved_at is None:
            locked.approved_at = now
            update_fields.append("approved_at")
        locked.save(update_fields=update_fields)
        event = MerchantEvent.objects.create(
            merchant=locked,
            occurred_at=now,
            from_status=from_status,
            to_status=to_status,
            reason=reason,
            actor=actor,
        )
        audit_event_record(
            action=audit_action or f"merchant.{to_status}",
            actor=actor,
            target=locked,
            before={"status": from_status},
            after={"status": to_status, "reason": reason, **(audit_extra or {})},
            request=request,
        )
        if to_status in NOTIFIED_STATUSES:
            from merchants.tasks import merchant_notify_decision

            transaction.on_commit(partial(merchant_notify_decision.delay, event.pk))
    merchant.status = locked.status
    merchant.status_reason = locked.status_reason
    merchant.approved_at = locked.approved_at
    return event


def _require_reason(reason: str) -> str:
    reason = reason.strip()
    if not reason:
        raise ReasonRequired(_("Give a reason: the merchant sees it."))
    return reason


def merchant_suspend(
    *, merchant: Merchant, actor: User, reason: str, request: HttpRequest | None = None
) -> MerchantEvent:
    """Suspend an approved merchant (administrators only, reason mandatory).

    From the commit on, the merchant's API keys stop authenticating (the key check reads
    merchant.status) and its portal shows the reason.
    """
    if not can_change_merchant_status(actor):
        raise PermissionDenied(_("Only an administrator can suspend a merchant."))
    return merchant_transition(
        merchant=merchant,
        to_status=MerchantStatus.SUSPENDED,
        actor=actor,
        reason=_require_reason(reason),
        audit_action="merchant.suspend",
        request=request,
    )


def merchant_reinstate(
    *, merchant: Merchant, actor: User, reason: str, request: HttpRequest | None = None
) -> MerchantEvent:
    """Return a suspended merchant to approved (administrators only, reason mandatory)."""
    if not can_change_merchant_status(actor):
        raise PermissionDenied(_("Only an administrator can reinstate a merchant."))
    reason = _require_reason(reason)
    with transaction.atomic():
        locked = Merchant.objects.select_for_update().get(pk=merchant.pk)
        # Reinstating is only for suspended merchants, not a back door to approval.
        if locked.status != MerchantStatus.SUSPENDED:
            raise InvalidTransition(
                _("Only a suspended merchant can be reinstated."),
                details={"from": locked.status, "to": MerchantStatus.APPROVED},
            )
        return merchant_transition(
            merchant=merchant,
            to_status=MerchantStatus.APPROVED,
            actor=actor,
            reason=reason,
            audit_action="merchant.reinstate",
            request=request,
        )
