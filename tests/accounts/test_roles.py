import pytest
from django.contrib.auth.models import Group

from accounts.models import AuditEvent
from accounts.roles import ROLE_PERMISSIONS, Role
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_every_role_is_a_group_with_exactly_its_permissions() -> None:
    for role, codenames in ROLE_PERMISSIONS.items():
        group = Group.objects.get(name=role.value)
        assert set(group.permissions.values_list("codename", flat=True)) == codenames


def test_permissions_follow_the_role() -> None:
    reviewer = UserFactory(roles=[Role.KYC_REVIEWER])
    payer = UserFactory(roles=[Role.PAYER])
    assert reviewer.has_perm("accounts.review_kyc")
    assert not reviewer.has_perm("accounts.run_settlement")
    assert payer.has_perm("accounts.use_payer_area")
    assert not payer.has_perm("accounts.review_kyc")


def test_role_change_is_audited_with_before_and_after() -> None:
    user = UserFactory(roles=[Role.PAYER])
    user.groups.add(Group.objects.get(name=Role.RISK_ANALYST))
    events = AuditEvent.objects.filter(action="user.roles_changed", object_id=str(user.pk))
    assert [(e.before, e.after) for e in events.order_by("id")] == [
        ({"roles": []}, {"roles": ["payer"]}),
        ({"roles": ["payer"]}, {"roles": ["payer", "risk_analyst"]}),
    ]


def test_role_removal_from_the_group_side_is_audited() -> None:
    user = UserFactory(roles=[Role.PAYER, Role.SUPPORT_AGENT])
    Group.objects.get(name=Role.SUPPORT_AGENT).user_set.remove(user)
    event = AuditEvent.objects.filter(action="user.roles_changed").order_by("id").last()
    assert event is not None
    assert (event.before, event.after) == (
        {"roles": ["payer", "support_agent"]},
        {"roles": ["payer"]},
    )


def test_audit_rows_cannot_be_changed_or_deleted() -> None:
    from django.db import DatabaseError, transaction

    user = UserFactory(roles=[Role.PAYER])
    event = AuditEvent.objects.get(object_id=str(user.pk))
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(action="tampered")
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).delete()
    assert AuditEvent.objects.get(pk=event.pk).action == "user.roles_changed"
