"""The merchant owner's status section on the dashboard (registered in MerchantsConfig.ready).

accounts renders it through its hook (`accounts.dashboard`): a suspended or rejected
merchant sees why, and a draft or an application sent back for more information gets a
shortcut to the onboarding pages.
"""

from typing import Any

from django.http import HttpRequest

from merchants.models import MerchantStatus
from merchants.selectors.applications import application_for_merchant
from merchants.selectors.membership import membership_has_capability, request_membership

DASHBOARD_TEMPLATE = "merchants/partials/status_banner.html"


def merchant_dashboard_context(request: HttpRequest) -> dict[str, Any] | None:
    """Return the status banner's context for the merchant's owner, or None.

    None for anyone who cannot edit the application (only the owner's team role can),
    and for an approved merchant: it has nothing to act on.
    """
    if not request.user.is_authenticated:
        return None
    membership = request_membership(request)
    if membership is None or not membership_has_capability(membership, "edit_application"):
        return None
    merchant = membership.merchant
    if merchant.status == MerchantStatus.APPROVED:
        return None
    return {
        "merchant": merchant,
        "application": application_for_merchant(merchant=merchant),
        "show_onboarding_link": True,
    }
