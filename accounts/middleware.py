"""The two-factor wall, and access to the current request for signal handlers."""

import contextvars
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

_current_request: contextvars.ContextVar[HttpRequest | None] = contextvars.ContextVar(
    "current_request", default=None
)


def current_request() -> HttpRequest | None:
    """Return the request being served, for audit records made from signal handlers."""
    return _current_request.get()


class TwoFactorWallMiddleware:
    """Send users who must use 2FA to setup or verification until this session is verified.

    Placeholder owned by the 2FA work: today it only records the current request.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = _current_request.set(request)
        try:
            return self.get_response(request)
        finally:
            _current_request.reset(token)
