"""`manage.py merchant_create`: a merchant, its owner and a test key from the command line."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from accounts.models import AuditEvent, User
from accounts.roles import Role
from merchants.models import ApiKey, Merchant, MerchantEvent, MerchantMembership, TeamRole
from tests.merchants.platform import user

pytestmark = pytest.mark.django_db


def run(*args: str) -> list[str]:
    out = StringIO()
    call_command("merchant_create", *args, stdout=out)
    return out.getvalue().strip().splitlines()


def test_it_creates_a_draft_merchant_with_an_owner_and_prints_a_working_test_key_last():
    lines = run("--name", "Tea House", "--email", "Owner@Example.com")
    merchant = Merchant.objects.get()
    assert (merchant.name, merchant.status) == ("Tea House", "draft")
    owner = User.objects.get(email="owner@example.com")
    assert not owner.has_usable_password()
    assert MerchantMembership.objects.get(merchant=merchant).user == owner
    assert MerchantMembership.objects.get(merchant=merchant).role == TeamRole.OWNER
    assert {g.name for g in owner.groups.all()} == {Role.MERCHANT_OWNER}
    raw_key = lines[-1]
    assert raw_key.startswith("sk_test_")
    assert ApiKey.objects.get().merchant == merchant
    response = Client(headers={"Authorization": f"Bearer {raw_key}"}).get("/api/v1/merchant")
    assert response.json()["id"] == str(merchant.public_id)
    assert AuditEvent.objects.filter(action="merchant.created").count() == 1


def test_approve_walks_the_normal_transitions():
    run("--name", "Tea House", "--email", "owner@example.com", "--approve")
    merchant = Merchant.objects.get()
    assert merchant.status == "approved"
    assert merchant.approved_at is not None
    assert list(MerchantEvent.objects.values_list("to_status", flat=True)) == [
        "submitted",
        "under_review",
        "approved",
    ]


def test_an_invalid_email_is_refused_and_creates_nothing():
    with pytest.raises(CommandError, match="not a valid email address"):
        run("--name", "Tea House", "--email", "not-an-email")
    assert Merchant.objects.count() == 0
    assert User.objects.count() == 0


def test_an_existing_user_may_own_several_merchants():
    owner = user(email="owner@example.com")
    run("--name", "First", "--email", "owner@example.com")
    lines = run("--name", "Second", "--email", "owner@example.com")
    assert "Owner: owner@example.com (existing account)" in lines
    assert "Note: owner@example.com also owns 1 other merchant(s)." in lines
    assert MerchantMembership.objects.filter(user=owner, role=TeamRole.OWNER).count() == 2
    assert User.objects.count() == 1


def test_operations_staff_cannot_own_a_merchant_and_nothing_is_left_behind():
    user(email="ops@example.com", roles=[Role.FINANCE_OPERATOR])
    with pytest.raises(CommandError, match="operations staff"):
        run("--name", "Side business", "--email", "ops@example.com")
    assert Merchant.objects.count() == 0
    assert ApiKey.objects.count() == 0
    assert not AuditEvent.objects.filter(action="merchant.created").exists()


@pytest.mark.django_db(transaction=True)
def test_the_key_is_still_printed_when_a_follow_up_task_cannot_be_queued(monkeypatch):
    # given a broker that refuses the approval email task
    def unreachable(*args: object) -> None:
        raise ConnectionError("broker down")

    monkeypatch.setattr("merchants.tasks.merchant_notify_decision.delay", unreachable)
    err = StringIO()
    out = StringIO()
    # when the merchant is created and approved
    call_command(
        "merchant_create",
        "--name",
        "Tea",
        "--email",
        "o@example.com",
        "--approve",
        stdout=out,
        stderr=err,
    )
    # then everything is committed and the working key is still the last line
    raw_key = out.getvalue().strip().splitlines()[-1]
    assert raw_key.startswith("sk_test_")
    assert Merchant.objects.get().status == "approved"
    assert "broker down" in err.getvalue()
    response = Client(headers={"Authorization": f"Bearer {raw_key}"}).get("/api/v1/merchant")
    assert response.status_code == 200
