"""API authentication: `Authorization: Bearer sk_test_...` or `sk_live_...`.

A request authenticated by key has `request.auth` = the ApiKey (merchant loaded) and an
anonymous `request.user`: an API call acts for the merchant, not for a person. Use
`api_merchant(request)` and `api_mode(request)` to scope every query.
"""

from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.utils.translation import gettext as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from merchants.models import ApiKey, Merchant
from merchants.services.api_keys import ApiKeyRefused, api_key_authenticate

KEYWORD = "Bearer"


class ApiKeyAuthentication(BaseAuthentication):
    """Authenticate by secret API key; every failure is a 401 with a precise code."""

    def authenticate(self, request: Request) -> tuple[AnonymousUser, ApiKey] | None:
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != KEYWORD.lower().encode():
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(
                _("Send the key as “Authorization: Bearer <key>”."), code="invalid_api_key"
            )
        try:
            raw_key = parts[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed(
                _("The API key is not valid."), code="invalid_api_key"
            ) from None
        try:
            api_key = api_key_authenticate(raw_key)
        except ApiKeyRefused as refused:
            raise exceptions.AuthenticationFailed(refused.message, code=refused.code) from None
        return AnonymousUser(), api_key

    def authenticate_header(self, request: Request) -> str:
        # Makes DRF answer 401 (not 403) when the key is missing or refused.
        return f'{KEYWORD} realm="api"'


class HasApiKey(BasePermission):
    """Allow requests authenticated by an API key (the default for /api/v1/)."""

    def has_permission(self, request: Request, view: Any) -> bool:
        return isinstance(request.auth, ApiKey)


def api_key_of(request: Request) -> ApiKey:
    """Return the request's API key; only call behind HasApiKey."""
    if not isinstance(request.auth, ApiKey):
        raise exceptions.NotAuthenticated()
    return request.auth


def api_merchant(request: Request) -> Merchant:
    """Return the merchant the request's API key belongs to: the scope of every query."""
    return api_key_of(request).merchant


def api_mode(request: Request) -> str:
    """Return "test" or "live": the mode of the request's key, which scopes its objects."""
    return api_key_of(request).mode


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    """Describe the key authentication in the OpenAPI schema (HTTP bearer)."""

    target_class = ApiKeyAuthentication
    name = "apiKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "sk_test_… / sk_live_…",
            "description": _("A secret API key from the portal's Developers page."),
        }
