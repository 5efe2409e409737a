"""An administrator resets a user's 2FA (lost phone and recovery codes): audited, with a reason."""

from collections.abc import Iterator

import pytest
from allauth.account.models import EmailAddress
from django.test import Client
from django.urls import reverse
from django.utils import translation
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import AuditEvent, User
from accounts.roles import Role
from accounts.twofactor.services import ResetResult, two_factor_reset
from config.errors import Conflict, PermissionDenied, ValidationFailed
from tests.factories import DEFAULT_PASSWORD, UserFactory
from tests.helpers.twofactor import enrol, verified_client_factory, verify_client

pytestmark = pytest.mark.django_db

REASON = "Lost phone and codes; identity checked on a video call with her passport."


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    with translation.override("en"):
        yield


@pytest.fixture
def administrator() -> User:
    return UserFactory(email="admin@example.com", roles=[Role.ADMINISTRATOR])


@pytest.fixture
def enrolled() -> User:
    """A KYC reviewer with an authenticator app and ten recovery codes."""
    user = UserFactory(email="reviewer@example.com", roles=[Role.KYC_REVIEWER])
    enrol(user)
    return user


def _devices(user: User) -> tuple[int, int, int]:
    return (
        TOTPDevice.objects.filter(user=user).count(),
        StaticDevice.objects.filter(user=user).count(),
        StaticToken.objects.filter(device__user=user).count(),
    )


def _reset_events() -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action="2fa.reset").order_by("id"))


# --- the service ---


def test_an_administrator_removes_every_device_and_code_and_it_is_audited(
    administrator: User, enrolled: User
) -> None:
    TOTPDevice.objects.create(user=enrolled, name="Half-finished setup", confirmed=False)
    assert _devices(enrolled) == (2, 1, 10)

    result = two_factor_reset(actor=administrator, user=enrolled, reason=f"  {REASON}\n")

    assert result == ResetResult(totp_devices_removed=1, recovery_codes_removed=10)
    assert _devices(enrolled) == (0, 0, 0)
    (event,) = _reset_events()
    assert event.actor == administrator
    assert (event.object_type, event.object_id) == ("accounts.user", str(enrolled.pk))
    assert event.before == {"devices": ["Authenticator app"], "recovery_codes": 10}
    assert event.after == {"devices": [], "recovery_codes": 0, "reason": REASON}


def test_an_administrator_cannot_reset_their_own_two_factor(administrator: User) -> None:
    enrol(administrator)

    with pytest.raises(Conflict) as refused:
        two_factor_reset(actor=administrator, user=administrator, reason=REASON)

    assert refused.value.code == "self_two_factor_reset"
    assert _devices(administrator) == (1, 1, 10)
    assert _reset_events() == []


@pytest.mark.parametrize("role", [Role.KYC_REVIEWER, Role.SUPPORT_AGENT, Role.MERCHANT_OWNER])
def test_users_who_cannot_manage_roles_cannot_reset(enrolled: User, role: Role) -> None:
    actor = UserFactory(roles=[role])

    with pytest.raises(PermissionDenied):
        two_factor_reset(actor=actor, user=enrolled, reason=REASON)

    assert _devices(enrolled) == (1, 1, 10)
    assert _reset_events() == []


@pytest.mark.parametrize("reason", ["", "   \n ", "x" * 501])
def test_the_reason_is_mandatory_and_bounded(
    administrator: User, enrolled: User, reason: str
) -> None:
    with pytest.raises(ValidationFailed) as refused:
        two_factor_reset(actor=administrator, user=enrolled, reason=reason)

    assert list(refused.value.details) == ["reason"]
    assert _devices(enrolled) == (1, 1, 10)
    assert _reset_events() == []


def test_a_user_without_two_factor_has_nothing_to_reset(administrator: User) -> None:
    payer = UserFactory(roles=[Role.PAYER])

    with pytest.raises(Conflict) as refused:
        two_factor_reset(actor=administrator, user=payer, reason=REASON)

    assert refused.value.code == "nothing_to_reset"
    assert _reset_events() == []


def test_after_a_reset_the_user_must_set_up_two_factor_again_at_sign_in(
    administrator: User, enrolled: User
) -> None:
    EmailAddress.objects.create(user=enrolled, email=enrolled.email, verified=True, primary=True)
    two_factor_reset(actor=administrator, user=enrolled, reason=REASON)
    client = Client()

    response = client.post(
        reverse("account_login"), {"login": enrolled.email, "password": DEFAULT_PASSWORD}
    )
    assert response.status_code == 302
    wall = client.get(reverse("dashboard"))

    assert wall.status_code == 302
    assert wall["Location"] == f"{reverse('twofactor:setup')}?next=%2F"


def test_a_session_verified_with_a_removed_device_is_verified_no_more(
    administrator: User,
) -> None:
    user = UserFactory(roles=[Role.RISK_ANALYST])
    client = Client()
    verify_client(client, user)
    assert client.get(reverse("dashboard")).status_code == 200

    two_factor_reset(actor=administrator, user=user, reason=REASON)

    response = client.get(reverse("dashboard"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("twofactor:setup"))


# --- the users page ---


def _admin_client(administrator: User) -> Client:
    return verified_client_factory()(administrator)


def test_the_user_page_offers_the_reset_for_a_user_with_two_factor(
    administrator: User, enrolled: User
) -> None:
    html = _admin_client(administrator).get(reverse("user_detail", args=[enrolled.pk]))
    content = html.content.decode()

    assert f'action="{reverse("user_two_factor_reset", args=[enrolled.pk])}"' in content
    assert "Recovery codes left" in content
    assert "Reset two-factor authentication" in content


def test_the_user_page_offers_no_reset_of_ones_own_two_factor(administrator: User) -> None:
    client = _admin_client(administrator)

    content = client.get(reverse("user_detail", args=[administrator.pk])).content.decode()

    assert reverse("user_two_factor_reset", args=[administrator.pk]) not in content
    assert "You cannot reset your own two-factor authentication" in content


def test_resetting_from_the_user_page(administrator: User, enrolled: User) -> None:
    client = _admin_client(administrator)

    response = client.post(
        reverse("user_two_factor_reset", args=[enrolled.pk]), {"reason": REASON}, follow=True
    )

    assert response.redirect_chain == [(reverse("user_detail", args=[enrolled.pk]), 302)]
    assert "Two-factor authentication of reviewer@example.com is reset." in (
        response.content.decode()
    )
    assert _devices(enrolled) == (0, 0, 0)
    (event,) = _reset_events()
    assert event.after == {"devices": [], "recovery_codes": 0, "reason": REASON}


def test_a_reset_without_a_reason_is_refused_and_changes_nothing(
    administrator: User, enrolled: User
) -> None:
    client = _admin_client(administrator)

    response = client.post(reverse("user_two_factor_reset", args=[enrolled.pk]), {"reason": ""})

    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    assert _devices(enrolled) == (1, 1, 10)
    assert _reset_events() == []


def test_a_refused_reset_shows_why_and_keeps_the_typed_reason(administrator: User) -> None:
    # given a user whose devices another administrator removed since the page was loaded
    user = UserFactory(email="risk@example.com", roles=[Role.RISK_ANALYST])
    client = _admin_client(administrator)

    response = client.post(
        reverse("user_two_factor_reset", args=[user.pk]), {"reason": "Lost phone"}
    )

    content = response.content.decode()
    assert response.status_code == 400
    assert "risk@example.com has no two-factor authentication to reset." in content
    assert "Lost phone</textarea>" in content
    assert _reset_events() == []


def test_resetting_ones_own_two_factor_from_the_page_is_refused(administrator: User) -> None:
    client = _admin_client(administrator)

    response = client.post(
        reverse("user_two_factor_reset", args=[administrator.pk]), {"reason": "My own phone"}
    )

    assert response.status_code == 400
    assert "You cannot reset your own two-factor authentication" in response.content.decode()
    assert TOTPDevice.objects.filter(user=administrator).count() == 1
    assert _reset_events() == []


def test_only_administrators_reach_the_reset(enrolled: User) -> None:
    reviewer = UserFactory(roles=[Role.KYC_REVIEWER])
    client = verified_client_factory()(reviewer)

    response = client.post(reverse("user_two_factor_reset", args=[enrolled.pk]), {"reason": REASON})

    assert response.status_code == 403
    assert _devices(enrolled) == (1, 1, 10)
    assert _reset_events() == []


def test_the_reset_accepts_only_post(administrator: User, enrolled: User) -> None:
    response = _admin_client(administrator).get(
        reverse("user_two_factor_reset", args=[enrolled.pk])
    )

    assert response.status_code == 405
    assert _devices(enrolled) == (1, 1, 10)
