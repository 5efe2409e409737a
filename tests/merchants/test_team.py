"""The team: invitations by signed single-use link, role changes, removals, the last owner."""

import datetime
import re

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEvent, User
from accounts.roles import Role
from config.errors import Conflict, PermissionDenied
from merchants.models import MerchantInvitation, MerchantMembership, TeamRole
from merchants.services.team import (
    team_invitation_accept,
    team_invitation_create,
    team_invitation_token,
    team_member_remove,
    team_member_role_change,
)
from merchants.tasks import team_invitation_send
from tests.merchants.platform import member, merchant, portal_client, user

pytestmark = pytest.mark.django_db


@pytest.fixture
def send_now(monkeypatch):
    """Run the invitation email task in-process instead of queueing it."""
    monkeypatch.setattr(
        team_invitation_send, "delay", lambda *args: team_invitation_send.apply(args=args)
    )


def invite(actor, email="new@example.com", role=TeamRole.DEVELOPER):
    return team_invitation_create(actor=actor, email=email, role=role)


def roles_of(user):
    return {group.name for group in User.objects.get(pk=user.pk).groups.all()}


def link_path(invitation):
    return reverse("team_invitation", kwargs={"token": team_invitation_token(invitation)})


def test_an_invitation_is_emailed_after_commit_with_a_working_link(
    send_now, django_capture_on_commit_callbacks
):
    owner = member()
    client = portal_client(owner.user)
    # when the owner invites a developer from the team page
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post(
            reverse("team_invite"), {"email": "Dev@Example.com", "role": "developer"}
        )
    assert response.status_code == 302
    # then one invitation is stored, audited and emailed once the transaction committed
    invitation = MerchantInvitation.objects.get()
    assert (invitation.email, invitation.role) == ("dev@example.com", "developer")
    assert len(callbacks) == 1
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["dev@example.com"]
    assert owner.merchant.name in message.subject
    assert "Developer" in message.body
    found = re.search(r"http://localhost:8000(/\S+)", str(message.body))
    assert found is not None
    url = found.group(1)
    assert AuditEvent.objects.filter(action="team.invitation_create").count() == 1
    # and the link opens the invitation
    page = Client().get(url)
    assert page.status_code == 200
    assert page.context["invitation"] == invitation


def test_accepting_while_signed_in_as_the_invited_email_creates_the_membership():
    owner = member()
    invitation = invite(owner, "dev@example.com")
    invitee = user(email="dev@example.com")
    client = Client()
    client.force_login(invitee)
    response = client.post(link_path(invitation))
    assert response.status_code == 302
    membership = MerchantMembership.objects.get(user=invitee)
    assert (membership.merchant, membership.role) == (owner.merchant, TeamRole.DEVELOPER)
    assert roles_of(invitee) == {Role.MERCHANT_STAFF}
    invitation.refresh_from_db()
    assert invitation.accepted_by == invitee
    assert AuditEvent.objects.filter(action="team.invitation_accept").count() == 1
    # the link works only once
    again = client.post(link_path(invitation))
    assert again.status_code == 410
    assert MerchantMembership.objects.filter(user=invitee).count() == 1


def test_another_signed_in_user_cannot_accept():
    owner = member()
    invitation = invite(owner, "dev@example.com")
    stranger = user(email="stranger@example.com")
    with pytest.raises(PermissionDenied) as refused:
        team_invitation_accept(invitation=invitation, user=stranger)
    assert refused.value.code == "invitation_email_mismatch"
    client = Client()
    client.force_login(stranger)
    page = client.get(link_path(invitation))
    assert "This invitation was sent to dev@example.com" in page.content.decode()
    assert client.post(link_path(invitation)).status_code == 403
    assert not MerchantMembership.objects.filter(user=stranger).exists()
    assert MerchantInvitation.objects.get().accepted_at is None


def test_signing_up_through_the_link_creates_a_verified_account_and_the_membership():
    owner = member()
    invitation = invite(owner, "new@example.com", TeamRole.FINANCE)
    client = Client()
    response = client.post(
        link_path(invitation),
        {
            "full_name": "Zhang Wei",
            "password1": "tea-leaves-42-long",
            "password2": "tea-leaves-42-long",
        },
    )
    assert response.status_code == 302
    user = User.objects.get(email="new@example.com")
    assert user.check_password("tea-leaves-42-long")
    assert EmailAddress.objects.get(user=user).verified is True
    assert MerchantMembership.objects.get(user=user).role == TeamRole.FINANCE
    assert roles_of(user) == {Role.MERCHANT_STAFF}
    assert int(client.session["_auth_user_id"]) == user.pk


def test_signing_up_with_a_weak_password_creates_nothing():
    invitation = invite(member(), "new@example.com")
    response = Client().post(link_path(invitation), {"password1": "short", "password2": "short"})
    assert response.status_code == 400
    assert not User.objects.filter(email="new@example.com").exists()
    assert MerchantInvitation.objects.get().accepted_at is None


def test_an_existing_account_is_asked_to_sign_in_not_to_sign_up():
    invitation = invite(member(), "dev@example.com")
    user(email="dev@example.com")
    page = Client().get(link_path(invitation))
    assert page.context["has_account"] is True
    assert "form" not in page.context
    refused = Client().post(link_path(invitation), {"password1": "x", "password2": "x"})
    assert refused.status_code == 200
    assert MerchantMembership.objects.filter(user__email="dev@example.com").count() == 0


def test_an_expired_withdrawn_or_forged_link_is_refused():
    owner = member()
    invitation = invite(owner, "dev@example.com")
    invitee = user(email="dev@example.com")
    client = Client()
    client.force_login(invitee)
    MerchantInvitation.objects.filter(pk=invitation.pk).update(
        expires_at=timezone.now() - datetime.timedelta(seconds=1)
    )
    assert client.post(link_path(invitation)).status_code == 410
    forged = reverse("team_invitation", kwargs={"token": "eyJpIjoiMSJ9:forged:signature"})
    assert client.get(forged).status_code == 404
    assert not MerchantMembership.objects.filter(user=invitee).exists()


def test_an_owner_invitation_gives_the_owner_role_group():
    owner = member()
    invitation = invite(owner, "co@example.com", TeamRole.OWNER)
    co_owner = user(email="co@example.com")
    team_invitation_accept(invitation=invitation, user=co_owner)
    assert roles_of(co_owner) == {Role.MERCHANT_OWNER}


def test_an_admin_cannot_invite_an_owner():
    admin = member(role=TeamRole.ADMIN)
    with pytest.raises(PermissionDenied) as refused:
        invite(admin, "co@example.com", TeamRole.OWNER)
    assert refused.value.code == "owner_required"
    assert MerchantInvitation.objects.count() == 0


def test_a_new_invitation_replaces_the_open_one_and_members_cannot_be_invited():
    owner = member()
    first = invite(owner, "dev@example.com")
    second = invite(owner, "dev@example.com", TeamRole.SUPPORT)
    first.refresh_from_db()
    assert first.revoked_at is not None
    assert second.is_pending
    with pytest.raises(Conflict) as refused:
        invite(owner, owner.user.email)
    assert refused.value.code == "already_member"


def test_changing_a_role_updates_the_groups_and_is_audited():
    owner = member()
    developer = member(owner.merchant, TeamRole.DEVELOPER)
    team_member_role_change(actor=owner, membership=developer, role=TeamRole.OWNER)
    assert roles_of(developer.user) == {Role.MERCHANT_OWNER}
    team_member_role_change(actor=owner, membership=developer, role=TeamRole.READ_ONLY)
    assert roles_of(developer.user) == {Role.MERCHANT_STAFF}
    events = AuditEvent.objects.filter(action="team.member_role_change").order_by("id")
    assert [((e.before or {})["role"], (e.after or {})["role"]) for e in events] == [
        ("developer", "owner"),
        ("owner", "read_only"),
    ]


def test_the_last_owner_can_be_neither_demoted_nor_removed():
    owner = member()
    admin = member(owner.merchant, TeamRole.ADMIN)
    with pytest.raises(Conflict) as demote:
        team_member_role_change(actor=owner, membership=owner, role=TeamRole.ADMIN)
    assert demote.value.code == "last_owner"
    with pytest.raises(Conflict) as remove:
        team_member_remove(actor=owner, membership=owner)
    assert remove.value.code == "last_owner"
    owner.refresh_from_db()
    assert owner.role == TeamRole.OWNER
    assert MerchantMembership.objects.filter(merchant=owner.merchant).count() == 2
    assert not AuditEvent.objects.filter(action__startswith="team.member").exists()
    # with a second owner, the first may step down
    team_member_role_change(actor=owner, membership=admin, role=TeamRole.OWNER)
    team_member_remove(actor=owner, membership=owner)
    assert not MerchantMembership.objects.filter(pk=owner.pk).exists()
    assert roles_of(owner.user) == set()


def test_an_admin_cannot_change_or_remove_an_owner():
    owner = member()
    admin = member(owner.merchant, TeamRole.ADMIN)
    member(owner.merchant, TeamRole.OWNER)
    with pytest.raises(PermissionDenied):
        team_member_role_change(actor=admin, membership=owner, role=TeamRole.SUPPORT)
    with pytest.raises(PermissionDenied):
        team_member_remove(actor=admin, membership=owner)
    owner.refresh_from_db()
    assert owner.role == TeamRole.OWNER


def test_removing_a_member_from_the_portal():
    owner = member()
    support = member(owner.merchant, TeamRole.SUPPORT)
    response = portal_client(owner.user).post(reverse("team_member_remove", args=[support.pk]))
    assert response.status_code == 302
    assert not MerchantMembership.objects.filter(pk=support.pk).exists()
    assert roles_of(support.user) == set()
    event = AuditEvent.objects.get(action="team.member_remove")
    assert event.before == {"role": "support", "user": support.user.email}


def test_a_manager_cannot_touch_another_merchants_member():
    owner = member()
    outsider = member(merchant(), TeamRole.DEVELOPER)
    client = portal_client(owner.user)
    client.post(reverse("team_member_role", args=[outsider.pk]), {f"m{outsider.pk}-role": "admin"})
    client.post(reverse("team_member_remove", args=[outsider.pk]))
    outsider.refresh_from_db()
    assert outsider.role == TeamRole.DEVELOPER
    with pytest.raises(PermissionDenied):
        team_member_remove(actor=owner, membership=outsider)


def test_changing_a_role_from_the_portal():
    owner = member()
    developer = member(owner.merchant, TeamRole.DEVELOPER)
    response = portal_client(owner.user).post(
        reverse("team_member_role", args=[developer.pk]), {f"m{developer.pk}-role": "finance"}
    )
    assert response.status_code == 302
    developer.refresh_from_db()
    assert developer.role == TeamRole.FINANCE


# What each team role may open and do in the portal: one row per role.
PAGES = {
    "team": ("team", "manage_team"),
    "developers": ("developers", "manage_api_keys"),
    "settlement_terms": ("settlement_terms", "view_finance"),
}
ROLE_MATRIX = {
    #                   team   developers  settlement
    TeamRole.OWNER: (True, True, True),
    TeamRole.ADMIN: (True, True, True),
    TeamRole.DEVELOPER: (False, True, False),
    TeamRole.FINANCE: (False, False, True),
    TeamRole.SUPPORT: (False, False, False),
    TeamRole.READ_ONLY: (False, False, False),
}


@pytest.mark.parametrize(("role", "allowed"), ROLE_MATRIX.items())
def test_each_team_role_opens_exactly_its_pages(role, allowed):
    membership = member(role=role)
    client = portal_client(membership.user)
    statuses = tuple(client.get(reverse(name)).status_code for name in PAGES)
    assert statuses == tuple(200 if ok else 403 for ok in allowed)


@pytest.mark.parametrize(("role", "allowed"), [(r, a[0]) for r, a in ROLE_MATRIX.items()])
def test_only_team_managers_can_invite(role, allowed):
    membership = member(role=role)
    response = portal_client(membership.user).post(
        reverse("team_invite"), {"email": "x@example.com", "role": "read_only"}
    )
    assert response.status_code == (302 if allowed else 403)
    assert MerchantInvitation.objects.count() == (1 if allowed else 0)
