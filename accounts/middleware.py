"""The two-factor wall, and access to the current request for signal handlers."""

import contextvars
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django_htmx.http import HttpResponseClientRedirect

_current_request: contextvars.ContextVar[HttpRequest | None] = contextvars.ContextVar(
    "current_request", default=None
)

# Views an unverified user may still open: the 2FA pages themselves, the allauth steps
# that finish a sign-in or reach a signed-out user by a key in an email, sign-out, the
# language switch and the health check. Everything else is a portal page.
WALL_EXEMPT_VIEW_NAMES: frozenset[str] = frozenset(
    {
        "twofactor:setup",
        "twofactor:verify",
        "account_logout",
        "account_inactive",
        "account_email_verification_sent",
        "account_confirm_email",
        "account_reset_password",
        "account_reset_password_done",
        "account_reset_password_from_key",
        "account_reset_password_from_key_done",
        "set_language",
        "healthz",
    }
)
# The REST API authenticates with API keys, not sessions.
WALL_EXEMPT_ROUTE_PREFIXES: tuple[str, ...] = ("api/",)


def current_request() -> HttpRequest | None:
    """Return the request being served, for audit records made from signal handlers."""
    return _current_request.get()


class TwoFactorWallMiddleware:
    """Send users who must use 2FA to setup or verification until this session is verified.

    Runs after django-otp's OTPMiddleware (which gives `request.user.is_verified()`).
    The check sits in `process_view`, after URL resolution, so exemptions are by view
    name whatever the language prefix; an unknown URL simply gets its 404.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = _current_request.set(request)
        try:
            return self.get_response(request)
        finally:
            _current_request.reset(token)

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., HttpResponse],
        view_args: tuple[Any, ...],
        view_kwargs: dict[str, Any],
    ) -> HttpResponse | None:
        target = two_factor_wall_target(request)
        if target is None:
            return None
        if getattr(request, "htmx", False):
            # A fragment swap would put the 2FA page inside the current one.
            return HttpResponseClientRedirect(target)
        return HttpResponseRedirect(target)


def _is_exempt(request: HttpRequest) -> bool:
    if request.path_info.startswith(settings.STATIC_URL):
        return True
    match = request.resolver_match
    if match is None:
        return True
    if match.view_name in WALL_EXEMPT_VIEW_NAMES:
        return True
    return match.route.startswith(WALL_EXEMPT_ROUTE_PREFIXES)


def two_factor_wall_target(request: HttpRequest) -> str | None:
    """Return where the wall sends this request (setup or verify, with `?next=`), or None."""
    from accounts.models import User
    from accounts.twofactor.redirects import url_with_next
    from accounts.twofactor.selectors import user_has_totp_device, user_is_verified

    user = request.user
    if not isinstance(user, User) or _is_exempt(request):
        return None
    if user_is_verified(user):
        return None
    has_device = user_has_totp_device(user)
    # Opting in (enrolling an app) also puts a user without a 2FA role behind the wall.
    if not (user.requires_two_factor or has_device):
        return None
    page = "twofactor:verify" if has_device else "twofactor:setup"
    # Only a page can be returned to: a form post would arrive there as a GET.
    next_url = request.get_full_path() if request.method in ("GET", "HEAD") else ""
    return url_with_next(reverse(page), next_url)
