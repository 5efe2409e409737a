"""Request types for views that decorators have already checked.

Django types `request.user` as a user or AnonymousUser; behind `login_required` it is a
`User`, which the type checker cannot infer from a decorator. Annotate such a view's
request as `AuthenticatedRequest` instead of casting or ignoring at every use.
"""

from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails

from accounts.models import User


class AuthenticatedRequest(HttpRequest):
    """A request from a signed-in user (the view is behind `login_required`)."""

    user: User
    htmx: HtmxDetails  # set on every request by django-htmx's HtmxMiddleware
