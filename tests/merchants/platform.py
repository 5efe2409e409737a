"""Helpers for the team, API key, webhook and settlement terms tests."""

from typing import Any

from django.test import Client

from accounts.models import User
from merchants.models import ApiKey, ApiMode, Merchant, MerchantMembership, MerchantStatus, TeamRole
from merchants.services.api_keys import api_key_create
from merchants.services.team import team_portal_roles_sync
from tests.factories import MerchantFactory, UserFactory
from tests.helpers.twofactor import verify_client


def merchant(status: str = MerchantStatus.APPROVED, **kwargs: object) -> Merchant:
    """Return a merchant, approved unless told otherwise."""
    return MerchantFactory(status=status, **kwargs)


def user(**kwargs: Any) -> User:
    """Return a new user (UserFactory, typed)."""
    return UserFactory(**kwargs)


def member(
    of: Merchant | None = None, role: str = TeamRole.OWNER, **user_kwargs: Any
) -> MerchantMembership:
    """Return a new user's membership of `of` (a new approved merchant by default).

    The user gets the portal role groups their team role calls for, as an invitation would.
    """
    membership = MerchantMembership.objects.create(
        merchant=of or merchant(), user=user(**user_kwargs), role=role
    )
    team_portal_roles_sync(membership.user)
    return membership


def portal_client(user: User) -> Client:
    """Return a test client signed in as `user`, past the 2FA wall."""
    client = Client()
    verify_client(client, user)
    return client


def new_key(of: Merchant, mode: str = ApiMode.TEST) -> tuple[ApiKey, str]:
    """Create an API key through the service; return it and its secret."""
    return api_key_create(merchant=of, name=f"{mode} key", mode=mode, actor=None)


def api_client(raw_key: str) -> Client:
    """Return a test client that sends `Authorization: Bearer <raw_key>` on every request."""
    return Client(headers={"Authorization": f"Bearer {raw_key}"})
