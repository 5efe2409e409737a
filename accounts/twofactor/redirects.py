"""Where to go after a 2FA step: the `next` parameter, checked against open redirects."""

from urllib.parse import urlencode

from django.http import HttpRequest
from django.utils.http import url_has_allowed_host_and_scheme


def safe_next_url(request: HttpRequest) -> str:
    """Return the `next` parameter if it points into this site, else an empty string."""
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return ""


def url_with_next(url: str, next_url: str) -> str:
    """Return `url` with `?next=` added when there is somewhere to go back to."""
    return f"{url}?{urlencode({'next': next_url})}" if next_url else url
