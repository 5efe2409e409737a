"""Which merchant a portal user is acting for, and what their team role lets them do."""

from django.http import HttpRequest

from accounts.models import User
from merchants.models import MerchantMembership
from merchants.permissions import TEAM_CAPABILITIES

ACTIVE_MERCHANT_SESSION_KEY = "active_merchant_id"
# Where request_membership keeps the request's membership: the navigation asks once
# per capability entry, and one query per page is enough.
_REQUEST_MEMBERSHIP_ATTRIBUTE = "_merchants_membership"


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
    session = getattr(request, "session", None)
    chosen = session.get(ACTIVE_MERCHANT_SESSION_KEY) if session is not None else None
    for membership in memberships:
        if membership.merchant_id == chosen:
            return membership
    return memberships[0]


def membership_has_capability(membership: MerchantMembership | None, capability: str) -> bool:
    """Return whether the membership's team role grants `capability` (see TEAM_CAPABILITIES)."""
    return membership is not None and capability in TEAM_CAPABILITIES.get(membership.role, ())


def request_membership(request: HttpRequest) -> MerchantMembership | None:
    """Return `membership_for_request(request)`, looked up once per request.

    For what many parts of one page ask (the navigation's capability entries, the
    dashboard's status section); a view that changes the active merchant must not use it.
    """
    if not hasattr(request, _REQUEST_MEMBERSHIP_ATTRIBUTE):
        setattr(request, _REQUEST_MEMBERSHIP_ATTRIBUTE, membership_for_request(request))
    membership: MerchantMembership | None = getattr(request, _REQUEST_MEMBERSHIP_ATTRIBUTE)
    return membership


def request_has_capability(request: HttpRequest, capability: str) -> bool:
    """Return whether the user's membership for this request grants `capability`.

    The navigation's capability check (registered in MerchantsConfig.ready with
    `accounts.context_processors.register_capability_check`).
    """
    return membership_has_capability(request_membership(request), capability)
