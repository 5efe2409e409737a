"""The decorator every merchant portal page uses to find its merchant and check the team role."""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from merchants.selectors.membership import membership_for_request, membership_has_capability

View = Callable[..., HttpResponse]


def merchant_member_required(capability: str = "view") -> Callable[[View], View]:
    """Require a signed-in member whose team role grants `capability`.

    The view receives the membership as `request.membership` and the merchant as
    `request.merchant`. A user with no merchant goes to the dashboard; a member without the
    capability gets 403.
    """

    def decorator(view: View) -> View:
        @login_required
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            membership = membership_for_request(request)
            if membership is None:
                return redirect("dashboard")
            if not membership_has_capability(membership, capability):
                raise PermissionDenied
            request.membership = membership  # type: ignore[attr-defined]
            request.merchant = membership.merchant  # type: ignore[attr-defined]
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
