"""`manage.py seed_demo`: one verified user per role, the approved demo merchant, idempotent."""

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command
from django.test import override_settings
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.demo import DEMO_PASSWORD
from accounts.models import User
from accounts.roles import Role
from merchants.models import Merchant, MerchantEvent, MerchantMembership, MerchantStatus

pytestmark = pytest.mark.django_db

EXPECTED_USERS = {
    "payer@demo.paydesk.local": Role.PAYER,
    "owner@demo.paydesk.local": Role.MERCHANT_OWNER,
    "staff@demo.paydesk.local": Role.MERCHANT_STAFF,
    "support@demo.paydesk.local": Role.SUPPORT_AGENT,
    "risk@demo.paydesk.local": Role.RISK_ANALYST,
    "finance@demo.paydesk.local": Role.FINANCE_OPERATOR,
    "kyc@demo.paydesk.local": Role.KYC_REVIEWER,
    "admin@demo.paydesk.local": Role.ADMINISTRATOR,
}


def snapshot() -> dict[str, object]:
    """Everything seed_demo writes, to compare two runs."""
    return {
        "users": list(User.objects.order_by("email").values()),
        "groups": sorted(User.groups.through.objects.values_list("user_id", "group_id")),
        "emails": list(EmailAddress.objects.order_by("email").values()),
        "merchants": list(Merchant.objects.values()),
        "events": list(MerchantEvent.objects.values()),
        "memberships": list(MerchantMembership.objects.values()),
    }


@override_settings(DEBUG=True)
def test_seed_demo_creates_one_verified_user_per_role_with_the_demo_password() -> None:
    call_command("seed_demo", stdout=None)

    users = {user.email: user for user in User.objects.all()}
    assert set(users) == set(EXPECTED_USERS)
    for email, role in EXPECTED_USERS.items():
        assert users[email].roles == frozenset({role})
        assert users[email].check_password(DEMO_PASSWORD)
        assert list(
            EmailAddress.objects.filter(user=users[email]).values_list(
                "email", "verified", "primary"
            )
        ) == [(email, True, True)]
    assert [u.email for u in User.objects.filter(is_superuser=True)] == ["admin@demo.paydesk.local"]
    assert [u.email for u in User.objects.filter(is_staff=True)] == ["admin@demo.paydesk.local"]
    assert TOTPDevice.objects.count() == 0


@override_settings(DEBUG=True)
def test_seed_demo_creates_the_approved_demo_merchant_with_its_team() -> None:
    call_command("seed_demo")

    merchant = Merchant.objects.get()
    assert merchant.name == "Demo Coffee Roasters"
    assert merchant.status == MerchantStatus.APPROVED
    assert merchant.approved_at is not None
    assert sorted(merchant.memberships.values_list("user__email", "role")) == [
        ("owner@demo.paydesk.local", "owner"),
        ("staff@demo.paydesk.local", "developer"),
    ]
    assert list(merchant.events.values_list("from_status", "to_status")) == [("", "approved")]


@override_settings(DEBUG=True)
def test_seed_demo_twice_changes_nothing() -> None:
    call_command("seed_demo")
    first = snapshot()

    call_command("seed_demo")

    assert snapshot() == first


@override_settings(DEBUG=True)
def test_seed_demo_restores_a_demo_address_marked_unverified() -> None:
    call_command("seed_demo")
    EmailAddress.objects.filter(email="owner@demo.paydesk.local").update(verified=False)

    call_command("seed_demo")

    assert EmailAddress.objects.get(email="owner@demo.paydesk.local").verified is True


def test_seed_demo_refuses_to_run_without_debug() -> None:
    with pytest.raises(CommandError, match="runs only with DEBUG on"):
        call_command("seed_demo")

    assert User.objects.count() == 0
    assert Merchant.objects.count() == 0
    assert Group.objects.filter(name=Role.PAYER).exists()  # groups come from migrate, not seed
