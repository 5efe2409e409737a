"""What merchants adds to the portal shell through accounts' hooks: the navigation's team
capability check and the owner's status banner on the dashboard."""

import re
from pathlib import Path
from typing import Any

import pytest
from django.urls import reverse

from accounts import context_processors
from accounts.models import User
from merchants.models import MerchantMembership, MerchantStatus, TeamRole
from merchants.selectors.membership import request_has_capability
from merchants.services.review import application_request_information
from tests.merchants.kyc import application_under_review, reviewer, submitted_application
from tests.merchants.platform import member, merchant, portal_client

pytestmark = pytest.mark.django_db

NAV_KEY = re.compile(r'data-nav="([a-z_]+)"')


def _nav_keys(html: str) -> list[str]:
    return NAV_KEY.findall(html)


def _dashboard(user: User) -> str:
    response = portal_client(user).get(reverse("dashboard"))
    assert response.status_code == 200
    return response.content.decode()


# --- navigation: the team role decides the merchant entries ---


def test_merchants_registers_the_navigation_capability_check() -> None:
    assert request_has_capability in context_processors._capability_checks


def test_a_developer_sees_developers_and_webhook_events_but_not_the_team() -> None:
    developer = member(role=TeamRole.DEVELOPER).user

    keys = _nav_keys(_dashboard(developer))

    assert "developers" in keys
    assert "webhook_events" in keys
    assert "team" not in keys
    assert "merchant_settlement" not in keys


def test_a_read_only_member_sees_payments_but_not_webhook_events() -> None:
    viewer = member(role=TeamRole.READ_ONLY).user

    keys = _nav_keys(_dashboard(viewer))

    assert "webhook_events" not in keys
    assert "developers" not in keys
    assert "team" not in keys


def test_the_owner_sees_every_merchant_entry_of_their_team_role() -> None:
    owner = member(role=TeamRole.OWNER).user

    keys = _nav_keys(_dashboard(owner))

    assert [k for k in keys if k in {"onboarding", "developers", "webhook_events", "team"}] == [
        "onboarding",
        "developers",
        "webhook_events",
        "team",
    ]


def test_a_merchant_user_without_a_team_sees_no_capability_entries() -> None:
    # A merchant staff user whose membership is gone (removed from the team, say).
    former = member(role=TeamRole.DEVELOPER).user
    MerchantMembership.objects.filter(user=former).delete()

    keys = _nav_keys(_dashboard(former))

    assert "webhook_events" not in keys
    assert "developers" not in keys


# --- dashboard: the owner's status banner ---


def test_a_suspended_merchants_owner_sees_why_on_the_dashboard() -> None:
    shop = merchant(status=MerchantStatus.SUSPENDED, status_reason="Chargebacks above 2%.")
    owner = member(of=shop, role=TeamRole.OWNER).user

    html = _dashboard(owner)

    assert 'data-dashboard-section="merchant_status"' in html
    assert 'data-testid="status-banner" data-status="suspended"' in html
    assert "Your merchant account is suspended." in html
    assert "Chargebacks above 2%." in html
    assert 'data-testid="onboarding-link"' not in html
    assert "/static/css/merchants.css" in html


def test_a_draft_merchants_owner_gets_a_shortcut_to_the_application() -> None:
    owner = member(of=merchant(status=MerchantStatus.DRAFT), role=TeamRole.OWNER).user

    html = _dashboard(owner)

    assert 'data-status="draft"' in html
    assert "Finish your merchant application." in html
    assert f'href="{reverse("merchant_onboarding")}" data-testid="onboarding-link"' in html


@pytest.fixture
def _media(settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.mark.usefixtures("_media")
def test_an_owner_asked_for_more_information_sees_the_request_and_a_shortcut() -> None:
    owner, application, taker = application_under_review()
    application_request_information(
        application=application, reviewer=taker, message="Upload the whole licence."
    )

    html = _dashboard(owner)

    assert 'data-status="needs_information"' in html
    assert "Upload the whole licence." in html
    assert "Update your application" in html
    assert f'href="{reverse("merchant_onboarding")}" data-testid="onboarding-link"' in html


@pytest.mark.usefixtures("_media")
def test_a_submitted_application_shows_the_review_banner_without_a_shortcut() -> None:
    owner, _application = submitted_application()

    html = _dashboard(owner)

    assert 'data-status="submitted"' in html
    assert "reviewing your application" in html
    assert 'data-testid="onboarding-link"' not in html


def test_an_approved_merchants_owner_gets_no_status_section() -> None:
    owner = member(of=merchant(status=MerchantStatus.APPROVED), role=TeamRole.OWNER).user

    html = _dashboard(owner)

    assert "data-dashboard-section" not in html
    assert "status-banner" not in html
    assert "/static/css/merchants.css" not in html


def test_team_members_other_than_the_owner_get_no_status_section() -> None:
    shop = merchant(status=MerchantStatus.SUSPENDED, status_reason="Chargebacks above 2%.")
    admin_member = member(of=shop, role=TeamRole.ADMIN).user

    html = _dashboard(admin_member)

    assert "data-dashboard-section" not in html
    assert "Chargebacks above 2%." not in html


def test_operations_staff_get_no_status_section() -> None:
    html = _dashboard(reviewer())

    assert "data-dashboard-section" not in html
