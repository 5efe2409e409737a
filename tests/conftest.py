"""Fixtures shared by the whole suite. Factories live in tests/factories.py."""

import pytest
from django.contrib.auth.models import Group

from accounts.roles import Role, sync_role_groups


@pytest.fixture(autouse=True)
def _role_groups(db: None) -> None:
    """Keep the role groups present: transactional tests flush them away."""
    if not Group.objects.filter(name=Role.ADMINISTRATOR).exists():
        sync_role_groups()
