"""The refund rules that are configuration, and who may do what to a refund.

Settings are read at call time (so a test or an operator's change applies at once):

| setting | default | meaning |
| --- | --- | --- |
| REFUND_APPROVAL_THRESHOLD | 100000 | minor units; above it a refund waits for approval, unless the merchant's RefundPolicy says otherwise |
| REFUND_MAX_PARTIAL_REFUNDS | 50 | refunds per payment that are not failed, rejected or canceled |
| REFUND_WINDOW_DAYS | 365 | days after the payment succeeded during which it can be refunded |
| REFUND_INSUFFICIENT_BALANCE_POLICY | "refuse" | or "allow_negative" (recovered at the next settlement) |
| REFUND_SLA_HOURS | 24 | from approval to success; past it an open refund is delayed |
| REFUND_PAYER_EMAIL_LANGUAGE | LANGUAGE_CODE | the payer's email language (Paydesk does not know the payer's own) |

The permission functions answer for people (portal users, support agents); an API key
acts for the merchant system and is checked in the services.
"""

from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from accounts.models import User
from accounts.roles import Role
from merchants.models import Merchant, MerchantMembership, TeamRole
from merchants.permissions import TEAM_CAPABILITIES
from refunds.models import Refund, RefundPolicy

REFUSE = "refuse"
ALLOW_NEGATIVE = "allow_negative"
BALANCE_POLICIES = frozenset({REFUSE, ALLOW_NEGATIVE})

DEFAULT_APPROVAL_THRESHOLD = 100_000  # ¥1,000.00
DEFAULT_MAX_PARTIAL_REFUNDS = 50
DEFAULT_WINDOW_DAYS = 365
DEFAULT_SLA_HOURS = 24


def approval_threshold_default() -> int:
    """Return the platform's approval threshold in minor units (REFUND_APPROVAL_THRESHOLD)."""
    return int(getattr(settings, "REFUND_APPROVAL_THRESHOLD", DEFAULT_APPROVAL_THRESHOLD))


def approval_threshold_for(merchant: Merchant) -> int:
    """Return `merchant`'s approval threshold: its RefundPolicy, else the platform default."""
    policy = RefundPolicy.objects.filter(merchant=merchant).only("approval_threshold").first()
    return policy.approval_threshold if policy else approval_threshold_default()


def max_partial_refunds() -> int:
    return int(getattr(settings, "REFUND_MAX_PARTIAL_REFUNDS", DEFAULT_MAX_PARTIAL_REFUNDS))


def refund_window() -> timedelta:
    return timedelta(days=int(getattr(settings, "REFUND_WINDOW_DAYS", DEFAULT_WINDOW_DAYS)))


def refund_sla() -> timedelta:
    return timedelta(hours=float(getattr(settings, "REFUND_SLA_HOURS", DEFAULT_SLA_HOURS)))


def insufficient_balance_policy() -> str:
    """Return "refuse" or "allow_negative"; a typo in the setting is a configuration error."""
    policy = getattr(settings, "REFUND_INSUFFICIENT_BALANCE_POLICY", REFUSE)
    if policy not in BALANCE_POLICIES:
        raise ImproperlyConfigured(
            f"REFUND_INSUFFICIENT_BALANCE_POLICY must be one of {sorted(BALANCE_POLICIES)}, "
            f"not {policy!r}"
        )
    return str(policy)


def payer_email_language() -> str:
    return str(getattr(settings, "REFUND_PAYER_EMAIL_LANGUAGE", "") or settings.LANGUAGE_CODE)


# --- who may do what (people) ---


def membership_of(user: User, merchant: Merchant | int) -> MerchantMembership | None:
    """Return `user`'s membership of `merchant`, or None."""
    merchant_id = merchant if isinstance(merchant, int) else merchant.pk
    if not user.is_authenticated or not user.is_active:
        return None
    return MerchantMembership.objects.filter(user=user, merchant_id=merchant_id).first()


def _has_capability(user: User, merchant: Merchant | int, capability: str) -> bool:
    membership = membership_of(user, merchant)
    return membership is not None and capability in TEAM_CAPABILITIES.get(membership.role, ())


def is_support_agent_for(user: User, merchant: Merchant | int) -> bool:
    """Return whether `user` proposes refunds for `merchant` as a support agent.

    A member with the team role "support", or Paydesk's own customer-service agent (who
    is not a member): every refund they propose waits for approval.
    """
    membership = membership_of(user, merchant)
    if membership is not None:
        return membership.role == TeamRole.SUPPORT
    return user.is_active and user.has_role(Role.SUPPORT_AGENT)


def user_can_request_refund(user: User, merchant: Merchant | int) -> bool:
    """Return whether `user` may ask for a refund of `merchant`'s payments.

    Members whose team role has the "refund" capability, and Paydesk support agents.
    """
    if not user.is_authenticated or not user.is_active:
        return False
    if membership_of(user, merchant) is not None:
        return _has_capability(user, merchant, "refund")
    return user.has_role(Role.SUPPORT_AGENT)


def user_can_decide_refunds(user: User, merchant: Merchant | int) -> bool:
    """Return whether `user` is an owner or finance user of `merchant` ("approve_refunds")."""
    return _has_capability(user, merchant, "approve_refunds")


def user_can_decide_refund(user: User, refund: Refund) -> bool:
    """Return whether `user` may approve or reject `refund`: maker-checker.

    An owner or finance user of the refund's merchant who did not request it.
    """
    if refund.requested_by_id is not None and refund.requested_by_id == user.pk:
        return False
    return user_can_decide_refunds(user, refund.merchant_id)


def user_can_cancel_refund(user: User, refund: Refund) -> bool:
    """Return whether `user` may withdraw `refund`: only the person who asked for it."""
    return refund.requested_by_id is not None and refund.requested_by_id == user.pk


def user_can_resolve_manual_review(user: User, refund: Refund) -> bool:
    """Return whether `user` may retry or close a refund in manual review.

    The merchant's owners and finance users, and Paydesk's finance operators.
    """
    if user_can_decide_refunds(user, refund.merchant_id):
        return True
    return user.is_active and user.has_perm("accounts.run_settlement")


def user_can_set_refund_policy(user: User, merchant: Merchant | int) -> bool:
    """Return whether `user` may change `merchant`'s approval threshold: owners only.

    Raising the threshold weakens the maker-checker control, so it takes both the
    "manage_settings" and the "approve_refunds" capabilities.
    """
    return _has_capability(user, merchant, "manage_settings") and _has_capability(
        user, merchant, "approve_refunds"
    )
