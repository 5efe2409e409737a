"""Fixtures of the refunds tests; helpers in tests/refunds/support.py."""

from collections.abc import Callable
from typing import Any

import pytest
from django.conf import LazySettings

from merchants.models import ApiMode, Merchant
from refunds import tasks
from tests.helpers.sandbox_acquirer import SandboxAcquirer
from tests.merchants.platform import merchant as new_merchant
from tests.payments.payment_support import UNREACHABLE_URL, ApiShop, api_shop


@pytest.fixture(autouse=True)
def _refund_settings(settings: LazySettings) -> None:
    """Pin the refund rules the tests are written against (the defaults, made explicit)."""
    settings.REFUND_APPROVAL_THRESHOLD = 100_000
    settings.REFUND_MAX_PARTIAL_REFUNDS = 50
    settings.REFUND_WINDOW_DAYS = 365
    settings.REFUND_INSUFFICIENT_BALANCE_POLICY = "refuse"
    settings.REFUND_SLA_HOURS = 24
    settings.REFUND_PAYER_EMAIL_LANGUAGE = "en"


@pytest.fixture
def shop(db: None) -> Merchant:
    """An approved merchant."""
    return new_merchant()


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
    """The session's sandbox acquirer, with get_gateway() pointed at it (notifications go
    nowhere)."""
    sandbox_acquirer.use_in(settings)
    settings.PAYMENT_NOTIFY_BASE_URL = UNREACHABLE_URL
    return sandbox_acquirer


@pytest.fixture
def queued(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, Any]]:
    """Record the refund tasks queued (after commit) instead of sending them to a broker.

    So that a worker started by another test module never races the test for them.
    """
    calls: list[tuple[str, Any]] = []

    def recorder(name: str) -> Callable[..., None]:
        return lambda *args, **kwargs: calls.append((name, args[0] if args else kwargs))

    for name in ("refund_submit_to_gateway", "refund_requery", "refund_payer_notify"):
        monkeypatch.setattr(getattr(tasks, name), "delay", recorder(name))
    return calls
