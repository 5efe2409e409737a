"""Users and roles administration: who may use it, role changes, deactivation."""

from collections.abc import Iterator

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse
from django.utils import translation

from accounts.models import AuditEvent, User
from accounts.roles import Role
from accounts.services.users import user_deactivate, user_roles_set
from config.errors import Conflict, PermissionDenied
from tests.factories import UserFactory
from tests.helpers.twofactor import verify_client

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    """Build URLs in English: a request to a /zh-hans/ page elsewhere leaves Chinese active."""
    with translation.override("en"):
        yield


@pytest.fixture
def administrator() -> User:
    return UserFactory(email="admin@example.com", roles=[Role.ADMINISTRATOR])


@pytest.fixture
def staff_client(client: Client, administrator: User) -> Client:
    verify_client(client, administrator)
    return client


def _roles_changed_events(user: User) -> list[AuditEvent]:
    return list(
        AuditEvent.objects.filter(action="user.roles_changed", object_id=str(user.pk)).order_by(
            "id"
        )
    )


def _role_set(user: User) -> set[str]:
    return set(User.objects.get(pk=user.pk).groups.values_list("name", flat=True))


# Who may open the pages


def test_anonymous_visitor_is_sent_to_login() -> None:
    response = Client().get(reverse("user_list"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


@pytest.mark.parametrize("role", [Role.RISK_ANALYST, Role.MERCHANT_OWNER, Role.SUPPORT_AGENT])
def test_users_without_manage_roles_get_403(client: Client, role: Role) -> None:
    someone = UserFactory(roles=[role])
    target = UserFactory(roles=[Role.PAYER])
    verify_client(client, someone)

    assert client.get(reverse("user_list")).status_code == 403
    assert client.get(reverse("user_detail", args=[target.pk])).status_code == 403
    response = client.post(
        reverse("user_detail", args=[target.pk]), {"roles": [Role.ADMINISTRATOR.value]}
    )
    assert response.status_code == 403
    assert client.post(reverse("user_deactivate", args=[target.pk])).status_code == 403
    assert _role_set(target) == {"payer"}
    assert User.objects.get(pk=target.pk).is_active
    assert len(_roles_changed_events(target)) == 1  # the factory's grant only


# Listing and searching


def test_list_searches_by_email_or_name_and_filters_by_role(
    staff_client: Client, administrator: User
) -> None:
    wang = UserFactory(email="wang.li@example.com", full_name="Wang Li", roles=[Role.PAYER])
    zhao = UserFactory(email="zhao@shop.example", full_name="Zhao Min", roles=[Role.MERCHANT_OWNER])
    inactive = UserFactory(email="old@example.com", full_name="Old Wang", is_active=False)

    by_text = staff_client.get(reverse("user_list"), {"q": "wang"})
    by_role = staff_client.get(reverse("user_list"), {"role": "merchant_owner"})
    by_status = staff_client.get(reverse("user_list"), {"is_active": "0"})
    everyone = staff_client.get(reverse("user_list"))

    assert list(by_text.context["page"].object_list) == [inactive, wang]
    assert list(by_role.context["page"].object_list) == [zhao]
    assert list(by_status.context["page"].object_list) == [inactive]
    assert list(everyone.context["page"].object_list) == [administrator, inactive, wang, zhao]
    assert "Merchant owner" in by_role.content.decode()


def test_list_htmx_search_returns_the_partial(staff_client: Client) -> None:
    UserFactory(email="wang.li@example.com")

    response = staff_client.get(
        reverse("user_list"), {"q": "wang"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="user-results"
    )

    assert response.content.decode().lstrip().startswith('<section id="user-results"')
    assert [u.email for u in response.context["page"].object_list] == ["wang.li@example.com"]


# Changing roles


def test_role_change_is_saved_and_audited_once_with_actor_and_ip(
    staff_client: Client, administrator: User
) -> None:
    # given a payer
    user = UserFactory(email="payer@example.com", roles=[Role.PAYER])
    events_before = len(_roles_changed_events(user))

    # when an administrator makes them a risk analyst instead
    response = staff_client.post(
        reverse("user_detail", args=[user.pk]), {"roles": [Role.RISK_ANALYST.value]}
    )

    # then the roles are exactly that, recorded as one event by that administrator
    assert response.status_code == 302
    assert response["Location"] == reverse("user_detail", args=[user.pk])
    assert _role_set(user) == {"risk_analyst"}
    new_events = _roles_changed_events(user)[events_before:]
    assert len(new_events) == 1
    event = new_events[0]
    assert (event.before, event.after) == ({"roles": ["payer"]}, {"roles": ["risk_analyst"]})
    assert (event.actor, event.actor_email) == (administrator, "admin@example.com")
    assert event.ip_address == "127.0.0.1"
    assert (event.object_type, event.object_repr) == ("accounts.user", "payer@example.com")


def test_saving_the_same_roles_records_nothing(staff_client: Client) -> None:
    user = UserFactory(roles=[Role.PAYER, Role.SUPPORT_AGENT])
    events_before = _roles_changed_events(user)

    staff_client.post(
        reverse("user_detail", args=[user.pk]),
        {"roles": [Role.SUPPORT_AGENT.value, Role.PAYER.value]},
    )

    assert _role_set(user) == {"payer", "support_agent"}
    assert _roles_changed_events(user) == events_before


def test_groups_that_are_not_roles_are_kept(administrator: User) -> None:
    beta = Group.objects.create(name="beta-testers")
    user = UserFactory(roles=[Role.PAYER])
    user.groups.add(beta)

    user_roles_set(actor=administrator, user=user, roles=[Role.KYC_REVIEWER])

    assert _role_set(user) == {"beta-testers", "kyc_reviewer"}
    assert _roles_changed_events(user)[-1].after == {"roles": ["beta-testers", "kyc_reviewer"]}


def test_service_outside_a_request_still_records_the_actor(administrator: User) -> None:
    user = UserFactory(roles=[Role.PAYER])

    user_roles_set(actor=administrator, user=user, roles=[Role.PAYER, Role.FINANCE_OPERATOR])

    event = _roles_changed_events(user)[-1]
    assert (event.actor, event.ip_address) == (administrator, None)
    assert event.after == {"roles": ["finance_operator", "payer"]}


def test_unknown_role_value_is_refused(staff_client: Client) -> None:
    user = UserFactory(roles=[Role.PAYER])
    events_before = _roles_changed_events(user)

    response = staff_client.post(reverse("user_detail", args=[user.pk]), {"roles": ["superhero"]})

    assert response.status_code == 200
    assert "roles" in response.context["form"].errors
    assert _role_set(user) == {"payer"}
    assert _roles_changed_events(user) == events_before


def test_administrator_cannot_remove_their_own_administrator_role(
    staff_client: Client, administrator: User
) -> None:
    events_before = _roles_changed_events(administrator)

    response = staff_client.post(
        reverse("user_detail", args=[administrator.pk]), {"roles": [Role.PAYER.value]}
    )

    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == [
        "You cannot remove your own administrator role."
    ]
    assert _role_set(administrator) == {"administrator"}
    assert _roles_changed_events(administrator) == events_before


def test_administrator_may_add_roles_to_themselves(administrator: User) -> None:
    user_roles_set(
        actor=administrator, user=administrator, roles=[Role.ADMINISTRATOR, Role.RISK_ANALYST]
    )

    assert _role_set(administrator) == {"administrator", "risk_analyst"}


def test_service_refuses_an_actor_without_manage_roles() -> None:
    analyst = UserFactory(roles=[Role.RISK_ANALYST])
    user = UserFactory(roles=[Role.PAYER])

    admin = UserFactory(roles=[Role.ADMINISTRATOR])

    with pytest.raises(PermissionDenied):
        user_roles_set(actor=analyst, user=user, roles=[Role.ADMINISTRATOR])
    with pytest.raises(Conflict):
        user_roles_set(actor=admin, user=admin, roles=[])

    assert _role_set(user) == {"payer"}
    assert _role_set(admin) == {"administrator"}


# Deactivation


def test_deactivate_and_reactivate_are_audited_and_end_the_session(
    staff_client: Client, administrator: User
) -> None:
    # given a payer signed in elsewhere
    user = UserFactory(email="payer@example.com", roles=[Role.PAYER])
    their_client = Client()
    their_client.force_login(user)
    assert their_client.get(reverse("dashboard")).status_code == 200

    # when an administrator deactivates them
    response = staff_client.post(reverse("user_deactivate", args=[user.pk]))

    # then they are inactive, signed out at their next request, and it is on record
    assert response.status_code == 302
    assert not User.objects.get(pk=user.pk).is_active
    assert their_client.get(reverse("dashboard")).status_code == 302
    event = AuditEvent.objects.get(action="user.deactivated")
    assert (event.actor, event.object_id, event.ip_address) == (
        administrator,
        str(user.pk),
        "127.0.0.1",
    )
    assert (event.before, event.after) == ({"is_active": True}, {"is_active": False})

    # when reactivated, then they can use the portal again and that is on record too
    staff_client.post(reverse("user_reactivate", args=[user.pk]))
    assert User.objects.get(pk=user.pk).is_active
    event = AuditEvent.objects.get(action="user.reactivated")
    assert (event.before, event.after) == ({"is_active": False}, {"is_active": True})


def test_deactivating_an_inactive_user_records_nothing(administrator: User) -> None:
    user = UserFactory(is_active=False)

    user_deactivate(actor=administrator, user=user)

    assert not AuditEvent.objects.filter(action="user.deactivated").exists()


def test_administrator_cannot_deactivate_themselves(
    staff_client: Client, administrator: User
) -> None:
    response = staff_client.post(reverse("user_deactivate", args=[administrator.pk]), follow=True)

    assert [str(m) for m in response.context["messages"]] == [
        "You cannot deactivate or reactivate your own account."
    ]
    assert User.objects.get(pk=administrator.pk).is_active
    assert not AuditEvent.objects.filter(action="user.deactivated").exists()


def test_deactivate_needs_post(staff_client: Client) -> None:
    user = UserFactory()

    assert staff_client.get(reverse("user_deactivate", args=[user.pk])).status_code == 405
    assert User.objects.get(pk=user.pk).is_active
