"""Fixtures of the passkey tests: a payer, a software authenticator (clean rate limits come
from tests/accounts/conftest.py)."""

import pytest

from accounts.models import User
from accounts.roles import Role
from tests.factories import UserFactory
from tests.helpers.soft_authenticator import DEFAULT_ORIGIN, DEFAULT_RP_ID, SoftAuthenticator


@pytest.fixture(autouse=True)
def _relying_party(settings) -> None:
    """Pin the relying party to what the software authenticator uses by default."""
    settings.WEBAUTHN_RP_ID = DEFAULT_RP_ID
    settings.WEBAUTHN_RP_NAME = "Paydesk"
    settings.WEBAUTHN_ORIGINS = [DEFAULT_ORIGIN]


@pytest.fixture
def payer(db: None) -> User:
    return UserFactory(email="payer@example.com", roles=[Role.PAYER])


@pytest.fixture
def other_payer(db: None) -> User:
    return UserFactory(email="other.payer@example.com", roles=[Role.PAYER])


@pytest.fixture
def authenticator() -> SoftAuthenticator:
    return SoftAuthenticator()
