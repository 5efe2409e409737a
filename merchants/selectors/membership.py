"""Which merchant a portal user is acting for, and what their team role lets them do."""

from django.http import HttpRequest

from accounts.models import User
from merchants.models import MerchantMembership
from merchants.permissions import TEAM_CAPABILITIES

ACTIVE_MERCHANT_SESSION_KEY = "active_merchant_id"


def membership_list_for_user(*, user: User) -> list[MerchantMembership]:
    """Return the user's memberships, merchant loaded, oldest first."""
    return list(
        MerchantMembership.objects.filter(user=user).select_related("merchant").order_by("id")
    )


def membership_for_request(request: HttpRequest) -> MerchantMembership | None:
    """Return the membership of the merchant the user is acting for in this session.

    The session remembers the chosen merchant; without a choice (or with a stale one) the
    user's first membership is used.
    """
    if not request.user.is_authenticated:
        return None
    memberships = membership_list_for_user(user=request.user)
    if not memberships:
        return None
    chosen = request.session.get(ACTIVE_MERCHANT_SESSION_KEY)
    for membership in memberships:
        if membership.merchant_id == chosen:
            return membership
    return memberships[0]


def membership_has_capability(membership: MerchantMembership | None, capability: str) -> bool:
    """Return whether the membership's team role grants `capability` (see TEAM_CAPABILITIES)."""
    return membership is not None and capability in TEAM_CAPABILITIES.get(membership.role, ())
