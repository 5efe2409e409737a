"""The decorator every merchant portal page uses to find its merchant and check the team role."""

from collections.abc import Callable
from functools import wraps
from typing import Any, cast

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponseBase
from django.shortcuts import redirect

from accounts.http import AuthenticatedRequest
from merchants.models import Merchant, MerchantMembership
from merchants.selectors.membership import membership_for_request, membership_has_capability

View = Callable[..., HttpResponseBase]


class MemberRequest(AuthenticatedRequest):
    """The request a `merchant_member_required` view receives."""

    membership: MerchantMembership
    merchant: Merchant


def merchant_member_required(capability: str = "view") -> Callable[[View], View]:
    """Require a signed-in member whose team role grants `capability`.

    The view receives the membership as `request.membership` and the merchant as
    `request.merchant`. A user with no merchant goes to the dashboard; a member without the
    capability gets 403.
    """

    def decorator(view: View) -> View:
        @login_required
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            membership = membership_for_request(request)
            if membership is None:
                return redirect("dashboard")
            if not membership_has_capability(membership, capability):
                raise PermissionDenied
            member_request = cast(MemberRequest, request)  # the same object, now complete
            member_request.membership = membership
            member_request.merchant = membership.merchant
            return view(member_request, *args, **kwargs)

        return wrapped

    return decorator
