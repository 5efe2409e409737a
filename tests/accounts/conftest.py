"""Fixtures of every accounts test module."""

import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _fresh_rate_limits() -> None:
    """Rate-limit counters (allauth's, 2FA's, passkeys') live in the local-memory cache:
    start each test clean."""
    cache.clear()
