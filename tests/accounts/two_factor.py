"""What the two-factor test modules share: their URLs, users and audit trail."""

from django.test import Client

from accounts.models import AuditEvent, User
from accounts.roles import Role
from tests.factories import UserFactory

SETUP_URL = "/account/2fa/setup/"
VERIFY_URL = "/account/2fa/verify/"
MANAGE_URL = "/account/2fa/"


def user_with_roles(*roles: Role, **fields: object) -> User:
    return UserFactory(roles=list(roles), **fields)


def merchant_owner(email: str = "owner@example.com") -> User:
    return user_with_roles(Role.MERCHANT_OWNER, email=email)


def password_step_client(user: User) -> Client:
    """Return a client past the password step only (2FA not verified)."""
    client = Client()
    client.force_login(user)
    return client


def two_factor_actions(user: User) -> list[str]:
    """Return the user's 2FA audit actions, oldest first."""
    return list(
        AuditEvent.objects.filter(actor=user, action__startswith="2fa.")
        .order_by("id")
        .values_list("action", flat=True)
    )
