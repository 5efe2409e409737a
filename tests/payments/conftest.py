"""Fixtures of the payments tests (tests/payments/test_*.py); helpers in payment_support.py.

Nothing here is autouse: the gateway, ledger and webhook tests below this folder are not
affected.
"""

import pytest
from django.conf import LazySettings

from merchants.models import ApiMode
from tests.helpers.sandbox_acquirer import SandboxAcquirer
from tests.payments.payment_support import UNREACHABLE_URL, ApiShop, api_shop


@pytest.fixture
def live_shop(db: None) -> ApiShop:
    """An approved merchant with a live key, and an API client sending that key."""
    return api_shop(mode=ApiMode.LIVE)


@pytest.fixture
def test_shop(db: None) -> ApiShop:
    """An approved merchant with a test key, and an API client sending that key."""
    return api_shop(mode=ApiMode.TEST)


@pytest.fixture
def acquirer(sandbox_acquirer: SandboxAcquirer, settings: LazySettings) -> SandboxAcquirer:
    """The session's sandbox acquirer, with get_gateway() pointed at it.

    Its notifications go nowhere (a closed port) unless a test points
    PAYMENT_NOTIFY_BASE_URL at a live server.
    """
    sandbox_acquirer.use_in(settings)
    settings.PAYMENT_NOTIFY_BASE_URL = UNREACHABLE_URL
    return sandbox_acquirer
