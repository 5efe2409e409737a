"""Helpers of the refunds portal tests (test_portal.py, test_portal_decisions.py)."""

import re
from typing import Any

from django.test import Client

from accounts.models import User
from merchants.models import Merchant, TeamRole
from payments.domain.models import Payment
from refunds.forms import submission_token_new
from tests.merchants.platform import portal_client
from tests.refunds.support import fund, person, succeeded_payment

ROW = re.compile(r'<tr data-refund-id="(re_[0-9a-z]{24})"')
QUEUE_ITEM = re.compile(r'<li class="approval-item" data-refund-id="(re_[0-9a-z]{24})"')
BIG = 150_000  # above the approval threshold of 100,000 (tests/refunds/conftest.py)


def rows(response: Any) -> list[str]:
    """Return the refund ids of a list page's table rows, in order (the page must be 200)."""
    assert response.status_code == 200
    return ROW.findall(response.content.decode())


def member_client(shop: Merchant, role: str = TeamRole.OWNER) -> tuple[Client, User]:
    """Return a portal client signed in (2FA passed) as a new member, and that member."""
    member = person(shop, role)
    return portal_client(member), member


def text(response: Any) -> str:
    return str(response.content.decode())


def refund_post(payment: Payment, **overrides: Any) -> dict[str, Any]:
    """Return the refund form's POST data for `payment` (¥10.00, with a fresh token)."""
    data = {
        "amount": "10.00",
        "reason": "requested_by_customer",
        "reason_text": "",
        "token": submission_token_new(payment),
    }
    data.update(overrides)
    return data


def well_funded_payment(shop: Merchant) -> Payment:
    """A succeeded live payment of ¥2,000.00 whose merchant's balance covers big refunds."""
    fund(shop, 1_000_000)
    return succeeded_payment(shop, amount=200_000)
