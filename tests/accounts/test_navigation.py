"""Navigation entries follow the user's roles and the URLs that exist."""

from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest
from django.test import RequestFactory
from django.urls import reverse

from accounts import context_processors
from accounts.context_processors import first_resolvable_url, navigation
from accounts.roles import Role
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_capability_checks(monkeypatch: pytest.MonkeyPatch) -> None:
    # Apps may register team-capability checks in ready(); these tests are about roles.
    monkeypatch.setattr(context_processors, "_capability_checks", [])


def _request(user: Any, path: str = "/") -> HttpRequest:
    request = RequestFactory().get(path)
    request.user = user
    return request


def _keys(user: Any, path: str = "/") -> list[str]:
    return [item.key for item in navigation(_request(user, path))["nav_items"]]


def test_anonymous_users_get_no_navigation() -> None:
    context = navigation(_request(AnonymousUser()))
    assert context["nav_items"] == []
    assert context["nav_sections"] == []
    assert context["user_role_badges"] == []


def test_a_payer_sees_my_payments_in_the_payer_area() -> None:
    payer = UserFactory.create(roles=[Role.PAYER])
    items = navigation(_request(payer))["nav_items"]
    assert [i.key for i in items] == ["dashboard", "payer_payments"]
    assert [(str(i.label), i.url) for i in items if i.key == "payer_payments"] == [
        ("My payments", reverse("payer_home"))
    ]


@pytest.mark.urls("tests.accounts.navigation_urls")
def test_a_payer_sees_only_the_dashboard_while_payer_pages_do_not_exist() -> None:
    payer = UserFactory.create(roles=[Role.PAYER])
    assert _keys(payer) == ["dashboard"]


def test_a_kyc_reviewer_sees_the_kyc_queue_merchants_and_all_payments_but_no_admin_entries() -> (
    None
):
    # view_all_merchants (every KYC reviewer has it) covers every merchant's payments too.
    reviewer = UserFactory.create(roles=[Role.KYC_REVIEWER])
    items = {i.key: i.url for i in navigation(_request(reviewer))["nav_items"]}
    assert list(items) == ["dashboard", "staff_payments", "merchants", "kyc"]
    assert items["kyc"] == reverse("kyc_queue")
    assert items["staff_payments"] == reverse("staff_payment_list")


def test_a_user_without_view_all_merchants_does_not_see_all_payments() -> None:
    owner = UserFactory.create(roles=[Role.MERCHANT_OWNER])
    payer = UserFactory.create(roles=[Role.PAYER])
    assert not owner.has_perm("accounts.view_all_merchants")
    assert "staff_payments" not in _keys(owner)
    assert "staff_payments" not in _keys(payer)


def test_merchant_users_see_webhook_events_after_developers() -> None:
    staff = UserFactory.create(roles=[Role.MERCHANT_STAFF])
    items = {i.key: i.url for i in navigation(_request(staff))["nav_items"]}
    keys = list(items)
    assert keys.index("webhook_events") == keys.index("developers") + 1
    assert items["webhook_events"] == reverse("webhook_events")
    # The entry is a merchant one: an administrator holding every permission has no team.
    admin = UserFactory.create(roles=[Role.ADMINISTRATOR])
    assert "webhook_events" not in _keys(admin)


def test_an_administrator_sees_the_audit_log_and_users() -> None:
    admin = UserFactory.create(roles=[Role.ADMINISTRATOR])
    keys = _keys(admin)
    assert "audit_log" in keys
    assert "users" in keys
    assert keys.index("audit_log") < keys.index("users")
    sections = navigation(_request(admin))["nav_sections"]
    operations = next(s for s in sections if s["key"] == "operations")
    assert [i.url for i in operations["items"] if i.key == "audit_log"] == [reverse("audit_log")]


def test_a_kyc_reviewer_does_not_see_the_audit_log_even_though_it_exists() -> None:
    reviewer = UserFactory.create(roles=[Role.KYC_REVIEWER])
    assert first_resolvable_url(["audit_log"]) is not None
    assert "audit_log" not in _keys(reviewer)


@pytest.mark.urls("tests.accounts.navigation_urls")
def test_an_entry_appears_only_when_its_url_exists() -> None:
    admin = UserFactory.create(roles=[Role.ADMINISTRATOR])
    reviewer = UserFactory.create(roles=[Role.KYC_REVIEWER])
    owner = UserFactory.create(roles=[Role.MERCHANT_OWNER])
    # The administrator may see every operations area, but only the audit log exists here.
    assert _keys(admin) == ["dashboard", "audit_log"]
    # kyc_queue does not exist in this URL configuration, so the reviewer loses it.
    assert _keys(reviewer) == ["dashboard"]
    assert _keys(owner) == ["dashboard", "payments", "team"]


@pytest.mark.urls("tests.accounts.navigation_urls")
def test_merchant_entries_are_for_merchant_users_not_for_administrators() -> None:
    admin = UserFactory.create(roles=[Role.ADMINISTRATOR])
    assert admin.has_perm("accounts.use_merchant_portal")
    assert "payments" not in _keys(admin)
    both = UserFactory.create(roles=[Role.ADMINISTRATOR, Role.MERCHANT_OWNER])
    assert _keys(both) == ["dashboard", "payments", "team", "audit_log"]


@pytest.mark.urls("tests.accounts.navigation_urls")
def test_merchant_staff_see_merchant_entries_grouped_under_merchant() -> None:
    staff = UserFactory.create(roles=[Role.MERCHANT_STAFF])
    sections = navigation(_request(staff))["nav_sections"]
    assert [(s["key"], [i.key for i in s["items"]]) for s in sections] == [
        ("", ["dashboard"]),
        ("merchant", ["payments", "team"]),
    ]


@pytest.mark.urls("tests.accounts.navigation_urls")
def test_a_registered_capability_check_hides_entries_the_team_role_does_not_allow() -> None:
    staff = UserFactory.create(roles=[Role.MERCHANT_STAFF])
    context_processors.register_capability_check(lambda request, capability: capability == "view")
    assert _keys(staff) == ["dashboard", "payments"]


@pytest.mark.urls("tests.accounts.navigation_urls")
def test_the_longest_matching_url_is_the_active_entry() -> None:
    staff = UserFactory.create(roles=[Role.MERCHANT_STAFF])
    on_payment = navigation(_request(staff, "/payments/42/"))["nav_items"]
    assert [i.key for i in on_payment if i.is_active] == ["payments"]
    on_dashboard = navigation(_request(staff, "/"))["nav_items"]
    assert [i.key for i in on_dashboard if i.is_active] == ["dashboard"]
    on_other = navigation(_request(staff, "/elsewhere/"))["nav_items"]
    assert [i.key for i in on_other if i.is_active] == []


def test_role_badges_list_the_users_roles_in_role_order() -> None:
    user = UserFactory.create(roles=[Role.RISK_ANALYST, Role.PAYER])
    badges = navigation(_request(user))["user_role_badges"]
    assert [b["value"] for b in badges] == ["payer", "risk_analyst"]
    assert [str(b["label"]) for b in badges] == ["Payer", "Risk analyst"]


def test_first_resolvable_url_skips_names_that_do_not_resolve() -> None:
    assert first_resolvable_url(["no_such_page", "dashboard"]) == reverse("dashboard")
    assert first_resolvable_url(["no_such_page"]) is None
    # A name that needs arguments cannot be a menu entry.
    assert first_resolvable_url(["user_detail"]) is None


def test_the_security_link_is_the_two_factor_page() -> None:
    user = UserFactory.create(roles=[Role.MERCHANT_OWNER])
    assert context_processors.SECURITY_URL_NAMES == ("twofactor:manage",)
    assert navigation(_request(user))["security_url"] == reverse("twofactor:manage")


@pytest.mark.parametrize(
    ("roles", "offered"),
    [
        ([Role.PAYER], True),
        ([Role.MERCHANT_STAFF], True),
        ([], True),
        ([Role.PAYER, Role.MERCHANT_OWNER], True),  # their passkeys confirm payments
        ([Role.MERCHANT_OWNER], False),
        ([Role.KYC_REVIEWER], False),
        ([Role.ADMINISTRATOR], False),
    ],
)
def test_the_passkeys_link_is_for_users_who_can_use_passkeys(
    roles: list[Role], offered: bool
) -> None:
    user = UserFactory.create(roles=roles)
    expected = reverse("passkey_list") if offered else None
    assert navigation(_request(user))["passkeys_url"] == expected


def test_anonymous_users_get_no_passkeys_link() -> None:
    assert navigation(_request(AnonymousUser()))["passkeys_url"] is None
